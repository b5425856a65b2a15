"""Figures of one scenario: one panel per parameter *block*, never one per coefficient.

Every figure draws the simulation (points with +/- 2 MCSE bars) next to theory
(lines), so the reader sees at once whether they agree.  A scalar block (p,
sigma2) is drawn on its own scale; a vector block (beta) is drawn in
dimensionless measures on one shared axis -- bias in units of the bound's
standard deviation, variance and MSE over the Cramér–Rao bound -- with one
colour per coefficient, so ten coefficients still make one readable panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
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
from .models.base import Model  # noqa: E402
from .outputs import FIGURE_FORMAT  # noqa: E402

ESTIMATOR_COLOURS = sns.color_palette("colorblind", 8)
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES = ("-", "--", ":", "-.")

MEASURES = {
    # what: (column, mcse column, y label for a scalar block, y label for a vector block)
    # ({hat} and {par} are the block's symbol with and without a hat: E[σ̂²] − σ²)
    "bias": ("bias", "bias_mcse", "bias  E[{hat}] − {par}", "bias / √CRLB"),
    "variance": ("variance", "variance_mcse", "variance  Var({hat})", "Var({hat}) / CRLB"),
    "efficiency": (
        "efficiency",
        "efficiency_mcse",
        "efficiency  CRLB / Var({hat})",
        "efficiency  CRLB / Var",
    ),
    "mse": ("mse", "mse_mcse", "MSE  E[({hat} − {par})²]", "MSE / CRLB"),
    "coverage": ("coverage", "coverage_mcse", "Wald coverage", "Wald coverage"),
}
PANEL_INCHES = (4.6, 3.5)
"""Size of one panel.  Figures are shown at their natural size (SVG), so text keeps its point size."""


def _grid(scenario: Scenario) -> np.ndarray:
    """Integer sample sizes spanning the study, for the theory curves."""
    lo, hi = min(scenario.sample_sizes), max(scenario.sample_sizes)
    return np.unique(np.geomspace(lo, hi, 120).round().astype(int))


@cache
def _crlb(model: Model, n: int) -> dict[str, float]:
    return model.crlb(n)


def _theory(scenario: Scenario, estimator: str, parameter: str, what: str, ns: np.ndarray) -> np.ndarray:
    """Exact theory of one measure at every n of ``ns`` (NaN where there is none)."""
    model = scenario.model
    est = model.estimators[estimator]
    truth = model.theta[parameter]
    out = []
    with np.errstate(all="ignore"):
        for n in map(int, ns):
            if what == "coverage":
                out.append(est.exact_coverage(model, parameter, n, scenario.ci_level))
                continue
            if what == "approx_bias":
                out.append(est.approximate_bias(model, parameter, n))
                continue
            mean, var = est.exact_moments(model, parameter, n)
            crlb = _crlb(model, n)[parameter]
            bias = mean - truth
            out.append(
                {
                    "bias": bias,
                    "variance": var,
                    "efficiency": crlb / var if var > 0 else math.nan,  # var = 0: sigma2-hat at n = 1
                    "mse": var + bias**2,
                }[what]
            )
    return np.asarray(out, dtype=float)


def _scale(scenario: Scenario, parameter: str, what: str, ns: np.ndarray, vector: bool) -> np.ndarray:
    """Divisor that makes a measure dimensionless in a vector block (1 in a scalar block)."""
    if not vector or what in ("efficiency", "coverage"):
        return np.ones(len(ns))
    crlb = np.array([_crlb(scenario.model, int(n))[parameter] for n in ns])
    return np.sqrt(crlb) if what == "bias" else crlb


def _blocks(scenario: Scenario, summary: pd.DataFrame) -> dict[str, list[str]]:
    """Block -> its parameters present in the summary, in the model's order."""
    present = set(summary["parameter"])
    out: dict[str, list[str]] = {}
    for block in scenario.model.blocks:
        names = [p for p in block.flat_names if p in present]
        if names:
            out[block.name] = names
    return out


def _facets(blocks: list[str]) -> tuple[plt.Figure, dict[str, plt.Axes]]:
    k = len(blocks)
    width, height = PANEL_INCHES
    # The legend adds its rows below (_legend); the panels keep their size.
    fig, axes = plt.subplots(1, k, figsize=(width * k + 0.4, height), squeeze=False, layout="constrained")
    return fig, dict(zip(blocks, axes[0], strict=True))


def _style(estimators: list[str], estimator: str, parameters: list[str], parameter: str) -> dict:
    """Colour by estimator in a scalar block; by coefficient (marker/line by estimator) in a vector block."""
    e = estimators.index(estimator)
    if len(parameters) == 1:
        return {"color": ESTIMATOR_COLOURS[e % 8], "marker": "o", "ls": "-"}
    colours = sns.color_palette("viridis", len(parameters))
    return {"color": colours[parameters.index(parameter)], "marker": MARKERS[e % 6], "ls": LINESTYLES[e % 4]}


def _points(
    ax: plt.Axes, x: np.ndarray, y: np.ndarray, err: np.ndarray, style: dict, label: str | None
) -> None:
    """Simulated values with +/- 2 MCSE bars; hollow where the MCSE does not exist."""
    has_error = np.isfinite(err)
    ax.errorbar(x[has_error], y[has_error], yerr=2 * err[has_error], fmt=style["marker"], ms=4, capsize=3,
                color=style["color"], label=f"{label}: simulated ± 2 MCSE" if label else None)  # fmt: skip
    hollow = ~has_error & np.isfinite(y)
    if hollow.any():
        ax.plot(x[hollow], y[hollow], style["marker"], ms=5, mfc="none", color=style["color"],
                label=f"{label}: simulated, no finite MCSE" if label else "simulated, no finite MCSE (hollow)")  # fmt: skip


def _vector_legend(ax: plt.Axes, estimators: list[str], parameters: list[str], with_theory: set[str]) -> None:
    """Legend proxies of a vector block: a colour per coefficient, a marker and line style per estimator."""
    for parameter in parameters:
        ax.plot(
            [],
            [],
            "s",
            color=_style(estimators, estimators[0], parameters, parameter)["color"],
            label=math_label(parameter),
        )
    for estimator in estimators:
        style = _style(estimators, estimator, parameters, parameters[0])
        ax.errorbar([], [], yerr=[], fmt=style["marker"], color="grey", capsize=3,
                    label=f"{estimator}: simulated ± 2 MCSE")  # fmt: skip
        if estimator in with_theory:
            ax.plot([], [], ls=style["ls"], color="grey", label=f"{estimator}: exact theory")


def plot_measure(scenario: Scenario, summary: pd.DataFrame, what: str) -> plt.Figure:
    """Bias, variance, efficiency, MSE or coverage against n, with theory, one panel per block."""
    column, err_column, scalar_label, vector_label = MEASURES[what]
    blocks = _blocks(scenario, summary)
    fig, axes = _facets(list(blocks))
    estimators = list(dict.fromkeys(summary["estimator"]))
    ns = _grid(scenario)
    for block, ax in axes.items():
        parameters = blocks[block]
        vector = len(parameters) > 1
        with_theory: set[str] = set()
        for estimator in estimators:
            offset = 1.0 + 0.04 * (estimators.index(estimator) - (len(estimators) - 1) / 2)
            for parameter in parameters:
                rows = summary[(summary["estimator"] == estimator) & (summary["parameter"] == parameter)]
                if rows.empty:
                    continue
                rows = rows.sort_values("n")
                style = _style(estimators, estimator, parameters, parameter)
                # A vector block's legend names each coefficient once (by colour) and each
                # estimator once (by marker); see _vector_legend.
                label = None if vector else estimator
                curve = _theory(scenario, estimator, parameter, what, ns) / _scale(
                    scenario, parameter, what, ns, vector
                )
                if what in ("variance", "mse"):
                    curve = np.where(curve > 0, curve, np.nan)  # a zero variance (n = 1) has no log
                if np.isfinite(curve).any():
                    with_theory.add(estimator)
                    ax.plot(ns, curve, ls=style["ls"], color=style["color"], lw=1.2, alpha=0.8,
                            label=f"{label}: exact theory" if label else None)  # fmt: skip
                if what == "bias":  # first-order theory: drawn apart, labelled approximate
                    approx = _theory(scenario, estimator, parameter, "approx_bias", ns) / _scale(
                        scenario, parameter, what, ns, vector
                    )
                    if np.isfinite(approx).any():
                        ax.plot(ns, approx, ls=(0, (1, 1.5)), color=style["color"], lw=1.4,
                                label="first-order bias (approximate theory)")  # fmt: skip
                x = rows["n"].to_numpy(float)
                scale = _scale(scenario, parameter, what, x, vector)
                y = rows[column].to_numpy(float) / scale
                err = rows[err_column].to_numpy(float) / scale
                _points(ax, x * offset, y, err, style, label)
        if vector:
            _vector_legend(ax, estimators, parameters, with_theory)
        _reference_lines(ax, scenario, summary, block, parameters, what, ns, vector)
        _sample_size_axis(ax, scenario)
        hat, par = _symbols(block)
        ax.set_ylabel((vector_label if vector else scalar_label).format(hat=hat, par=par))
        ax.set_title(_block_title(scenario, block, parameters))
    _legend(fig, axes)
    return fig


def _reference_lines(ax, scenario, summary, block, parameters, what, ns, vector) -> None:
    if what in ("variance", "mse"):
        if vector:  # a ratio to the bound, on a linear axis
            ax.axhline(1, color="k", lw=1, ls="--", label="Cramér–Rao bound")
        else:
            bound = [_crlb(scenario.model, int(n))[parameters[0]] for n in ns]
            ax.plot(ns, bound, "k--", lw=1, label="Cramér–Rao bound")
            ax.set_yscale("log")
    elif what == "bias":
        ax.axhline(0, color="k", lw=0.8)
    elif what == "efficiency":
        ax.axhline(1, color="k", lw=0.8, ls="--", label="efficiency 1 (attains the CRLB)")
    elif what == "coverage":
        ax.axhline(scenario.ci_level, color="k", lw=0.8, ls="--", label=f"nominal {scenario.ci_level:g}")


def _symbols(block: str) -> tuple[str, str]:
    """The block's symbol with a hat and without, as mathtext: ($\\hat{\\sigma}^2$, $\\sigma^2$)."""
    return math_label(block, hat=True), math_label(block)


def _block_title(scenario: Scenario, block: str, parameters: list[str]) -> str:
    theta = scenario.model.theta
    if len(parameters) == 1:
        return f"{scenario.name}: {math_label(parameters[0])} = {theta[parameters[0]]:g}"
    values = ", ".join(f"{theta[p]:g}" for p in parameters)
    if len(values) > 40:  # ten coefficients do not fit a panel's title
        values = values[:37].rsplit(", ", 1)[0] + ", …"
    return f"{scenario.name}: {math_label(block)} = ({values})"


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
    # Columns that fit under the panels at 9 pt: one under a single panel, more under more.
    ncol = min(len(axes) + (len(entries) > 8), 4) if len(entries) > 1 else 1
    rows = math.ceil(len(entries) / ncol)
    fig.set_figheight(PANEL_INCHES[1] + 0.45 + 0.2 * rows)  # the panels keep their height
    fig.legend(
        list(entries.values()),
        list(entries),
        loc="outside lower center",
        ncol=ncol,
        frameon=False,
        fontsize=9,
    )


def plot_sampling(scenario: Scenario, estimates: Mapping[int, pd.DataFrame]) -> plt.Figure:
    """Distribution of (theta-hat - theta)/sqrt(CRLB) at the smallest and largest n, against N(0, 1).

    One row per (estimator, block), one column per n.  An efficient,
    asymptotically normal estimator approaches N(0, 1); the small-n panel shows
    how far from it the estimator starts.  A vector block overlays its
    coefficients as outlines.
    """
    model = scenario.model
    pairs = []
    for e in scenario.estimators:
        targets = model.estimators[e].parameters(model)
        for block in model.blocks:
            names = [p for p in block.flat_names if p in targets]
            if names:
                pairs.append((e, block.name, names))
    fig, axes = plt.subplots(len(pairs), len(estimates), figsize=(PANEL_INCHES[0] * len(estimates), 3.2 * len(pairs)),
                             squeeze=False, layout="constrained")  # fmt: skip
    for i, (estimator, block, names) in enumerate(pairs):
        vector = len(names) > 1  # a block's coefficients: outlines, one shared legend title
        for j, (n, frame) in enumerate(sorted(estimates.items())):
            ax = axes[i, j]
            crlb = _crlb(model, n)
            zs = {}
            for p in names:
                values = frame[f"{estimator}.{p}"].to_numpy()
                with np.errstate(all="ignore"):
                    z = (values[np.isfinite(values)] - model.theta[p]) / math.sqrt(crlb[p])
                zs[p] = z[np.isfinite(z)]
            pooled = np.concatenate(list(zs.values()))
            lo, hi = np.quantile(pooled, [0.002, 0.998]) if pooled.size else (-3.5, 3.5)
            lo, hi = min(lo, -3.5), max(hi, 3.5)
            if not pooled.size:
                ax.text(0.5, 0.5, f"{estimator} is undefined at n = {n}", ha="center", transform=ax.transAxes)
            for p, z in zs.items():
                if not z.size:
                    continue
                style = _style(list(scenario.estimators), estimator, names, p)
                # numpy bins, matplotlib draws: seaborn's histplot spends seconds per
                # million replications inspecting its input (a 10^9-draw study's figures).
                density, edges = np.histogram(z[(z >= lo) & (z <= hi)], bins=_bins(z, lo, hi), density=True)
                label = math_label(p, hat=True) if vector else f"{estimator} {math_label(p, hat=True)}, {z.size:,} replications"  # fmt: skip
                ax.stairs(density, edges, fill=not vector, alpha=1.0 if vector else 0.5, color=style["color"],
                          label=label)  # fmt: skip
            grid = np.linspace(lo, hi, 400)
            ax.plot(grid, stats.norm.pdf(grid), "k-", lw=1.3, label="N(0, 1): efficient and normal")
            ax.set_xlim(lo, hi)
            # A block's coefficients share one legend title (estimator, replications) and sit
            # three to a row; the y-axis leaves room above the bars for the legend's rows.
            columns = 3 if vector else 1
            title = f"{estimator}, {_replications(zs)} replications" if vector else None
            rows = math.ceil((len(names) + 1) / columns) + vector
            _legend_headroom(ax, rows)
            ax.set_title(f"{scenario.name}, {estimator}: {math_label(block)}, n = {n}")
            hat, par = (s.strip("$") for s in _symbols(block))
            ax.set_xlabel(f"$({hat} - {par})\\,/\\,\\sqrt{{\\mathrm{{CRLB}}}}$")
            ax.legend(fontsize=8.5, title_fontsize=8.5, frameon=False, loc="upper left", ncols=columns, title=title,
                      alignment="left")  # fmt: skip
    return fig


def _replications(zs: Mapping[str, np.ndarray]) -> str:
    """The replications behind a block's histograms: one count, or a range where the coefficients differ."""
    sizes = sorted({z.size for z in zs.values()})
    return f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,}"


LEGEND_LINE = 0.09
"""Share of a sampling panel's height one legend row takes (8.5 pt text in a panel about 2.3 in high)."""


def _legend_headroom(ax: plt.Axes, rows: int) -> None:
    """Raise the top of the y-axis so the legend sits above the bars and curves, not over them."""
    share = min(0.6, 0.06 + LEGEND_LINE * rows)
    ax.set_ylim(0, ax.get_ylim()[1] / (1 - share))


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
    """Draw every figure of :data:`~mlestudy.outputs.FIGURES` for one scenario."""
    sns.set_theme(style="whitegrid", context="paper")
    for what in MEASURES:
        save(plot_measure(scenario, summary, what), outputs[what])
    save(plot_sampling(scenario, estimates), outputs["sampling"])
    from .zip_plot import plot_zip  # its own module: one concept per file

    save(plot_zip(scenario, estimates), outputs["zip"])
