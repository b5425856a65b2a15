"""Figures of one scenario, one concept each.

Every figure draws the simulation (points with +/- 2 MCSE bars) next to the
exact finite-sample theory (lines), so the reader sees at once whether they
agree.  Parameters are facets; estimators are colours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats  # noqa: E402

from .atomic import write_atomic  # noqa: E402
from .config import Scenario  # noqa: E402
from .labels import math_label  # noqa: E402
from .outputs import FIGURE_FORMAT  # noqa: E402

PALETTE = dict(zip(("mle", "unbiased"), sns.color_palette("colorblind", 2), strict=True))


def _colour(estimator: str):
    return PALETTE.get(estimator, "grey")


def _grid(scenario: Scenario) -> np.ndarray:
    """Integer sample sizes spanning the study, for the exact-theory curves."""
    lo, hi = min(scenario.sample_sizes), max(scenario.sample_sizes)
    return np.unique(np.geomspace(lo, hi, 200).round().astype(int))


def _exact_curve(
    scenario: Scenario, estimator: str, parameter: str, what: str
) -> tuple[np.ndarray, np.ndarray]:
    fam = scenario.family_obj
    ns = _grid(scenario)
    values = []
    for n in ns:
        mean, var = fam.exact_moments(estimator, parameter, scenario.params, int(n))
        truth = scenario.params[parameter]
        crlb = fam.crlb(scenario.params, int(n))[parameter]
        efficiency = crlb / var if var > 0 else math.nan  # var = 0: sigma2-hat at n = 1
        values.append(
            {
                "bias": mean - truth,
                "variance": var,
                "efficiency": efficiency,
                "mse": var + (mean - truth) ** 2,
            }[what]
        )
    return ns, np.asarray(values, dtype=float)


PANEL_INCHES = (4.6, 3.5)
"""Size of one panel.  Figures are shown at their natural size (SVG), so text keeps its point size."""


def _facets(summary: pd.DataFrame, sharey: bool = False):
    params = list(dict.fromkeys(summary["parameter"]))
    width, height = PANEL_INCHES
    fig, axes = plt.subplots(
        1,
        len(params),
        figsize=(width * len(params) + 0.4, height),  # the legend adds its rows (_legend)
        squeeze=False,
        sharey=sharey,
        layout="constrained",
    )
    return fig, dict(zip(params, axes[0], strict=True))


def _points(ax, rows: pd.DataFrame, y: str, err: str, estimator: str, offset: float) -> None:
    """Simulated values with +/- 2 MCSE bars; hollow where the MCSE does not exist."""
    x = rows["n"].to_numpy(float) * offset
    has_error = rows[err].notna().to_numpy()
    colour = _colour(estimator)
    ax.errorbar(x[has_error], rows[y][has_error], yerr=2 * rows[err][has_error], fmt="o", ms=4, capsize=3,
                color=colour, label=f"{estimator}: simulated ± 2 MCSE")  # fmt: skip
    if (~has_error & rows[y].notna().to_numpy()).any():
        ax.plot(x[~has_error], rows[y][~has_error], "o", ms=5, mfc="none", color=colour,
                label=f"{estimator}: simulated, no finite MCSE")  # fmt: skip


def _offsets(estimators: list[str]) -> dict[str, float]:
    """Nudge estimators apart on the log axis so error bars don't overlap."""
    k = len(estimators)
    return {e: 1.0 + 0.04 * (i - (k - 1) / 2) for i, e in enumerate(estimators)}


def plot_measure(scenario: Scenario, summary: pd.DataFrame, what: str) -> plt.Figure:
    """Bias, variance, efficiency or MSE against n, with theory."""
    column, err, ylabel = {
        "bias": ("bias", "bias_mcse", "bias  E[{hat}] − {par}"),
        "variance": ("variance", "variance_mcse", "variance  Var({hat})"),
        "efficiency": ("efficiency", "efficiency_mcse", "efficiency  CRLB / Var({hat})"),
        "mse": ("mse", "mse_mcse", "MSE  E[({hat} − {par})²]"),
    }[what]
    fig, axes = _facets(summary)
    for parameter, ax in axes.items():
        part = summary[summary["parameter"] == parameter]
        estimators = list(dict.fromkeys(part["estimator"]))
        offsets = _offsets(estimators)
        for estimator in estimators:
            rows = part[part["estimator"] == estimator].sort_values("n")
            ns, curve = _exact_curve(scenario, estimator, parameter, what)
            if what in ("variance", "mse"):
                curve = np.where(curve > 0, curve, np.nan)  # a zero variance (n = 1) has no log
            if np.isfinite(curve).any():
                ax.plot(
                    ns,
                    curve,
                    "-",
                    color=_colour(estimator),
                    lw=1.2,
                    alpha=0.8,
                    label=f"{estimator}: exact theory",
                )
            _points(ax, rows, column, err, estimator, offsets[estimator])
        if what in ("variance", "mse"):
            crlb = part.drop_duplicates("n").sort_values("n")
            ns = _grid(scenario)
            ax.plot(
                ns,
                crlb["crlb"].iloc[0] * crlb["n"].iloc[0] / ns,
                "k--",
                lw=1,
                label="Cramér–Rao bound 1/(n·I(θ))",
            )
            ax.set_yscale("log")
        if what == "bias":
            ax.axhline(0, color="k", lw=0.8)
        if what == "efficiency":
            ax.axhline(1, color="k", lw=0.8, ls="--", label="efficiency 1 (attains the CRLB)")
        _sample_size_axis(ax, scenario)
        ax.set_ylabel(ylabel.format(hat=math_label(parameter, hat=True), par=math_label(parameter)))
        ax.set_title(f"{scenario.name}: {math_label(parameter)} = {scenario.params[parameter]:g}")
    _legend(fig, axes)
    return fig


def _sample_size_axis(ax: plt.Axes, scenario: Scenario) -> None:
    """Log-scaled n axis, ticked at the study's own sample sizes."""
    ax.set_xscale("log")
    ax.set_xticks(list(scenario.sample_sizes), [str(n) for n in scenario.sample_sizes])
    ax.minorticks_off()
    ax.set_xlabel("sample size n")


def _legend(fig: plt.Figure, axes: Mapping[str, plt.Axes]) -> None:
    """One legend below all facets, with every entry any facet drew."""
    entries: dict[str, object] = {}
    for ax in axes.values():
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    # Two columns fit under two panels; under one, they would run past its edges.
    ncol = 2 if len(axes) > 1 else 1
    rows = math.ceil(len(entries) / ncol)
    fig.set_figheight(PANEL_INCHES[1] + 0.5 + 0.2 * rows)  # the panel keeps its height
    fig.legend(
        list(entries.values()),
        list(entries),
        loc="outside lower center",
        ncol=ncol,
        frameon=False,
        fontsize=9,
    )


def plot_sampling(scenario: Scenario, estimates: Mapping[int, pd.DataFrame]) -> plt.Figure:
    """Distribution of sqrt(n)(theta-hat - theta) at the smallest and largest n.

    One row per (estimator, parameter).  The limit N(0, 1/I(theta)) is drawn
    over it: the estimator becomes normal, and the small-n panel shows how far
    from normal it starts.
    """
    fam = scenario.family_obj
    pairs = [(e, p) for e in scenario.estimators for p in fam.estimator(e).parameters]
    inv = fam.inverse_fisher_information(scenario.params)
    fig, axes = plt.subplots(
        len(pairs),
        len(estimates),
        figsize=(PANEL_INCHES[0] * len(estimates), 3.2 * len(pairs)),
        squeeze=False,
        layout="constrained",
    )
    for i, (estimator, parameter) in enumerate(pairs):
        j_param = fam.parameter_names.index(parameter)
        sd = math.sqrt(inv[j_param, j_param])
        for j, (n, frame) in enumerate(sorted(estimates.items())):
            ax = axes[i, j]
            values = frame[f"{estimator}.{parameter}"].to_numpy()
            z = math.sqrt(n) * (values[np.isfinite(values)] - scenario.params[parameter])
            lo, hi = np.quantile(z, [0.002, 0.998]) if z.size else (-3 * sd, 3 * sd)
            lo, hi = min(lo, -3.5 * sd), max(hi, 3.5 * sd)
            if z.size:
                sns.histplot(
                    z[(z >= lo) & (z <= hi)],
                    bins=_bins(z, lo, hi),
                    stat="density",
                    ax=ax,
                    color=_colour(estimator),
                    alpha=0.5,
                    edgecolor=None,
                    label=f"{estimator}, {z.size:,} replications",
                    rasterized=True,  # thousands of bars: pixels inside the SVG, not paths
                )
            else:
                ax.text(0.5, 0.5, f"{estimator} is undefined at n = {n}", ha="center", transform=ax.transAxes)
            grid = np.linspace(lo, hi, 400)
            ax.plot(grid, stats.norm.pdf(grid, 0, sd), "k-", lw=1.3, label="limit N(0, 1/I(θ))")
            ax.set_xlim(lo, hi)
            ax.set_title(f"{scenario.name}, {estimator}: {math_label(parameter)}, n = {n}")
            hat, par = math_label(parameter, hat=True).strip("$"), math_label(parameter).strip("$")
            ax.set_xlabel(f"$\\sqrt{{n}}\\,({hat} - {par})$")
            ax.legend(fontsize=8.5, frameon=False)
    return fig


MAX_LATTICE_BINS = 2000
"""Most bins a lattice-centred histogram may have (a lattice can have gaps)."""


def _bins(z: np.ndarray, lo: float, hi: float) -> np.ndarray | int:
    """Histogram bins; centred on the lattice when the estimator is discrete.

    sqrt(n)(k/n - p) takes values on a grid; regular bins would alias it into
    spikes, lattice-centred bins give a density comparable with the normal limit.
    """
    support = np.unique(z[(z >= lo) & (z <= hi)])
    if 1 < support.size <= 400:
        steps = np.diff(support)
        width = float(steps.min())
        on_lattice = np.allclose(steps / width, np.round(steps / width), rtol=0, atol=1e-6)
        # A few hundred values of a continuous estimator (a small study) are no lattice:
        # bins as narrow as their closest pair would number in the millions.
        if on_lattice and (support[-1] - support[0]) / width <= MAX_LATTICE_BINS:
            return np.arange(support[0] - width / 2, support[-1] + width, width)
    return 80


def save(fig: plt.Figure, path: str | Path) -> None:
    """Write the figure (SVG, text kept as text) atomically and free it.

    No date and a fixed id salt, so the same figure is the same bytes.
    Rasterised parts (histogram bars) are embedded at 200 dpi.
    """
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mlestudy"}):
        write_atomic(path, lambda p: fig.savefig(p, format=FIGURE_FORMAT, dpi=200, metadata={"Date": None}))
    plt.close(fig)


def draw_scenario(
    scenario: Scenario,
    summary: pd.DataFrame,
    estimates: Mapping[int, pd.DataFrame],
    outputs: Mapping[str, str | Path],
) -> None:
    """Draw every figure of :data:`FIGURES` for one scenario."""
    sns.set_theme(style="whitegrid", context="paper")
    for what in ("bias", "variance", "efficiency", "mse"):
        save(plot_measure(scenario, summary, what), outputs[what])
    save(plot_sampling(scenario, estimates), outputs["sampling"])
