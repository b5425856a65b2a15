"""Zip plot of the Wald intervals (Morris, White & Crowther 2019, Figure 4).

Each replication's interval θ̂ ± z·SE, ranked by |θ̂ − θ|/SE: the intervals that
miss the truth sit at the top, and the rank where they start is one minus the
coverage.  It shows *which* intervals miss (too short, or shifted by bias), not
only how many.  Drawn at the smallest and largest n, from the chunk files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from .config import Scenario
from .labels import math_label
from .status import Status

SHOWN = 200
"""Intervals drawn per panel, evenly spaced in rank: the figure stays small whatever R is."""
MAX_PANELS = 3
"""Parameters shown per n: the MLE's first element of each block, then the other estimators'."""


def zip_targets(scenario: Scenario) -> list[tuple[str, str]]:
    """(estimator, parameter) pairs the zip plot shows: the first element of each estimated block, MLE first."""
    model = scenario.model
    order = sorted(scenario.estimators, key=lambda e: not model.estimators[e].is_mle)
    out = []
    for e in order:
        targets = model.estimators[e].parameters(model)
        for block in model.blocks:
            names = [p for p in block.flat_names if p in targets]
            if names:
                out.append((e, names[0]))
    return out[:MAX_PANELS]


def zip_data(
    values: np.ndarray, se: np.ndarray, truth: float, level: float, shown: int | None = None
) -> dict[str, np.ndarray]:
    """Rank (fractional centile of |z|, 0-100), lower and upper limits and cover flags, sorted by |z|.

    With ``shown``, only that many intervals evenly spaced in rank, found by a
    partial sort (a million replications need no full one); ``coverage`` and
    ``count`` always describe every interval.
    """
    from scipy.special import ndtri

    ok = np.isfinite(values) & np.isfinite(se)
    values, se = values[ok], se[ok]
    z = ndtri(0.5 + level / 2)
    with np.errstate(all="ignore"):
        score = np.abs(values - truth) / se
    score = np.where(np.isnan(score), np.inf, score)  # se = 0 and a miss: ranked last
    count = len(score)
    if shown is None or shown >= count:
        at = np.arange(count)
        order = np.argsort(score, kind="stable")
    else:
        at = np.unique(np.linspace(0, count - 1, shown).round().astype(int))
        order = np.argpartition(score, at)[at]
    lo, hi = values[order] - z * se[order], values[order] + z * se[order]
    covered = np.count_nonzero((values - z * se <= truth) & (truth <= values + z * se))
    return {
        "rank": 100 * (at + 0.5) / max(count, 1),
        "lo": lo,
        "hi": hi,
        "covers": (lo <= truth) & (truth <= hi),
        "coverage": covered / count if count else np.nan,
        "count": count,
    }


def plot_zip(scenario: Scenario, estimates: Mapping[int, pd.DataFrame]) -> plt.Figure:
    """One panel per (n, shown parameter): SHOWN intervals by rank, the truth and the nominal level marked."""
    model = scenario.model
    targets = zip_targets(scenario)
    ns = sorted(estimates)
    fig, axes = plt.subplots(len(ns), len(targets), figsize=(3.6 * len(targets), 3.1 * len(ns)), squeeze=False,
                             layout="constrained")  # fmt: skip
    for i, n in enumerate(ns):
        frame = estimates[n]
        for j, (estimator, parameter) in enumerate(targets):
            ax = axes[i, j]
            usable = Status.usable(frame[f"{estimator}.status"].to_numpy())
            values = frame[f"{estimator}.{parameter}"].to_numpy()[usable]
            se = frame[f"{estimator}.se.{parameter}"].to_numpy()[usable]
            truth = model.theta[parameter]
            d = zip_data(values, se, truth, scenario.ci_level, shown=SHOWN)
            if d["count"]:
                for covers, colour in ((True, "#4c72b0"), (False, "#c44e52")):
                    k = np.flatnonzero(d["covers"] == covers)
                    segs = np.stack(
                        [np.c_[d["lo"][k], d["rank"][k]], np.c_[d["hi"][k], d["rank"][k]]], axis=1
                    )
                    ax.add_collection(LineCollection(segs, colors=colour, linewidths=0.9))
                    # A zero-width interval (SE = 0, e.g. p-hat on the boundary) is a point: drawn as a tick.
                    point = k[d["hi"][k] == d["lo"][k]]
                    ax.plot(d["lo"][point], d["rank"][point], "|", color=colour, ms=4, mew=0.9)
                coverage = float(d["coverage"])
                mcse = math.sqrt(coverage * (1 - coverage) / d["count"])
                ax.axhspan(
                    100 * (coverage - 2 * mcse), 100 * (coverage + 2 * mcse), color="0.6", alpha=0.35, lw=0
                )
                finite = np.isfinite(d["lo"]) & np.isfinite(d["hi"])
                lo, hi = np.quantile(d["lo"][finite], 0.02), np.quantile(d["hi"][finite], 0.98)
                pad = 0.05 * (hi - lo) if hi > lo else 1.0
                ax.set_xlim(min(lo, truth) - pad, max(hi, truth) + pad)
            ax.axvline(truth, color="k", lw=0.9)
            ax.axhline(
                100 * scenario.ci_level, color="k", lw=0.9, ls="--", label=f"nominal {scenario.ci_level:g}"
            )
            ax.set_ylim(0, 100)
            ax.set_title(
                f"{scenario.name}: {math_label(parameter, hat=True)} ({estimator}), n = {n}", fontsize=9
            )
            ax.set_xlabel("Wald interval")
            ax.set_ylabel("centile of |θ̂ − θ|/SE" if j == 0 else "")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color="#4c72b0", lw=1.2, label="covers θ"),
        Line2D([], [], color="#c44e52", lw=1.2, label="misses θ"),
        Patch(color="0.6", alpha=0.35, label="simulated coverage ± 2 MCSE"),
        Line2D([], [], color="k", lw=0.9, ls="--", label=f"nominal {scenario.ci_level:g}"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2 if len(targets) == 1 else 4, fontsize=9,
               frameon=False)  # fmt: skip
    return fig
