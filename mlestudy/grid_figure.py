"""The nested-loop plot of a scenario grid (Rücker & Schwarzer 2014, BMC Med Res Methodol 14:129).

Every combination of the grid's axes, and within it every sample size, is one
position on the x axis, ordered like nested loops: the first axis changes
slowest, n fastest.  Three panels share that axis (bias in units of the
Cramér–Rao standard error √CRLB, defined for every parameter value including 0;
Wald coverage against its nominal level; efficiency against 1), each estimate with
± 2 MCSE; below them one step line per axis shows which level every position
has.  Drawn from the summary rows alone (``summary.csv`` of the grid's scenarios).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .grid import Grid, Member  # noqa: E402
from .labels import math_label  # noqa: E402

MEASURES = (
    ("scaled_bias", "scaled_bias_mcse", "bias / √CRLB", 0.0),
    ("coverage", "coverage_mcse", "Wald coverage", None),
    ("efficiency", "efficiency_mcse", "efficiency\nCRLB / variance", 1.0),
)
"""(column, MCSE column, axis label, reference line): the dimensionless measures shown."""


def grid_of(params: Mapping[str, Any]) -> Grid:
    """Rebuild a :class:`Grid` from the plain dict a rule passes (``dataclasses.asdict``)."""
    members = tuple(Member(m["scenario"], tuple(m["values"])) for m in params["members"])
    return Grid(params["name"], tuple(params["axes"]), tuple(tuple(v) for v in params["levels"]), members)


def positions(grid: Grid, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per x position: ``x``, ``scenario``, ``n`` and each axis's level index, in nested-loop order."""
    rows = []
    for member in grid.members:
        sizes = sorted(summary.loc[summary["scenario"] == member.scenario, "n"].unique())
        for n in sizes:
            row: dict[str, Any] = {"x": len(rows), "scenario": member.scenario, "n": int(n)}
            for axis, levels, value in zip(grid.axes, grid.levels, member.values, strict=True):
                row[axis] = levels.index(value)
            rows.append(row)
    return pd.DataFrame(rows)


def _level_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plot_nested_loop(grid: Grid, summary: pd.DataFrame) -> plt.Figure:
    """The nested-loop plot of ``grid`` from its scenarios' summary rows (with the coverage columns)."""
    sns.set_theme(style="whitegrid", context="paper")
    where = positions(grid, summary)
    x_of = {(r.scenario, r.n): r.x for r in where.itertuples()}
    data = summary[summary["scenario"].isin([m.scenario for m in grid.members])].copy()
    data["x"] = [x_of.get((s, n), np.nan) for s, n in zip(data["scenario"], data["n"], strict=True)]
    root = np.sqrt(data["crlb"].where(data["crlb"] > 0))  # a constant: the MCSE scales exactly
    data["scaled_bias"], data["scaled_bias_mcse"] = data["bias"] / root, data["bias_mcse"] / root
    series = list(dict.fromkeys(zip(data["estimator"], data["parameter"], strict=True)))
    loops = [
        math_label(label) if axis.startswith("params.") else label
        for axis, label in zip(grid.axes, grid.labels(), strict=True)
    ]
    loops.append("n")
    width = min(max(6.5, 0.32 * len(where) + 2.5), 14.0)
    fig, axes = plt.subplots(
        len(MEASURES) + 1,
        1,
        figsize=(width, 2.1 * len(MEASURES) + 0.42 * len(loops) + 1.2),
        sharex=True,
        layout="constrained",
        gridspec_kw={"height_ratios": [1.0] * len(MEASURES) + [0.2 * len(loops)]},
    )
    palette = sns.color_palette("colorblind", len(series))
    for ax, (column, err, label, reference) in zip(axes, MEASURES, strict=False):
        for colour, (estimator, parameter) in zip(palette, series, strict=True):
            part = data[(data["estimator"] == estimator) & (data["parameter"] == parameter)].sort_values("x")
            name = f"{estimator}: {math_label(parameter, hat=True)}"
            ax.step(part["x"], part[column], where="mid", color=colour, lw=1.2, label=name)
            ax.errorbar(part["x"], part[column], yerr=2 * part[err], fmt="o", ms=3, capsize=2, color=colour)
        if reference is not None:
            ax.axhline(reference, color="k", lw=0.8, ls="--")
        elif column == "coverage":
            for level in sorted(data["ci_level"].dropna().unique()):
                ax.axhline(level, color="k", lw=0.8, ls="--")
        ax.set_ylabel(label)
    _loops(axes[-1], grid, where, loops)
    axes[0].set_title(f"grid {grid.name}: {len(grid.members)} scenarios × sample sizes, as nested loops")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncol=min(len(labels), 4), frameon=False, fontsize=9
    )
    return fig


def _loops(ax: plt.Axes, grid: Grid, where: pd.DataFrame, loops: Sequence[str]) -> None:
    """One step line per loop (grid axes, then n), each in its own band, levels written where they change."""
    x = where["x"].to_numpy()
    levels = [*grid.levels, sorted(where["n"].unique())]
    indices = [*(where[a].to_numpy() for a in grid.axes), np.searchsorted(levels[-1], where["n"].to_numpy())]
    for band, (name, values, index) in enumerate(zip(loops, levels, indices, strict=True)):
        base = len(loops) - 1 - band
        height = index / max(len(values) - 1, 1) * 0.7
        ax.step(x, base + height, where="mid", color="0.25", lw=1)
        ax.text(-0.6, base + 0.35, name, ha="right", va="center", fontsize=9)
        shown = 0
        for k in range(len(x)):
            if (k == 0 or index[k] != index[k - 1]) and shown < 24:
                ax.text(
                    x[k], base + height[k] + 0.08, _level_text(values[index[k]]), fontsize=7.5, ha="center"
                )
                shown += 1
    ax.set_ylim(-0.2, len(loops))
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_xlim(-0.7 - 0.3 * max(len(n.strip("$\\")) for n in loops), len(x) - 0.4)
    ax.set_xlabel("scenario × n, in nested-loop order (first axis slowest, n fastest)")
    ax.grid(False)
