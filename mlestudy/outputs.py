"""The figures every scenario gets, and what each one asks the reader to see.

Kept apart from the plotting code so that the workflow can plan its files
without importing matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .labels import text_label

if TYPE_CHECKING:
    from .config import Scenario

FIGURES = ("bias", "variance", "efficiency", "mse", "coverage", "zip", "sampling")
"""Figure names, in report order; files are results/figures/<scenario>/<name>.svg."""
FIGURE_FORMAT = "svg"
"""Vector figures, shown at their natural size: text stays sharp and at its point size on screen and paper."""

TITLES = {
    "bias": "bias against n",
    "variance": "variance against n, with the Cramér–Rao bound",
    "efficiency": "efficiency against n",
    "mse": "mean squared error against n",
    "coverage": "coverage of the Wald interval against n",
    "zip": "zip plot of the Wald intervals at the smallest and largest n",
    "sampling": "sampling distribution at the smallest and largest n",
}
"""A figure's name in words, for the head of its caption."""

CAPTIONS = {
    "bias": [
        ("", "Bias against n, one panel per parameter block. Points: simulated bias ± 2 MCSE."),
        ("theory", "Lines: exact finite-sample bias."),
        ("vector", "A block of coefficients is drawn as bias / √CRLB, so every coefficient shares one axis."),
    ],
    "variance": [
        ("", "Variance against n, ± 2 MCSE. Dashed: the Cramér–Rao bound."),
        ("scalar", "A parameter on its own is drawn on a log scale."),
        ("theory", "Lines: exact variance."),
        ("vector", "A block of coefficients is drawn as variance / CRLB (1 = the bound), on a linear axis."),
    ],
    "efficiency": [
        (
            "",
            "Efficiency = CRLB / variance, ± 2 MCSE; dashed at 1, where an unbiased estimator attains the "
            "bound. Only a biased estimator can exceed 1.",
        ),
        ("theory", "Lines: exact efficiency."),
        ("infinite", "Points without bars have no finite Monte Carlo error (an infinite fourth moment)."),
    ],
    "mse": [
        ("", "Mean squared error against n, ± 2 MCSE, with the Cramér–Rao bound dashed."),
        ("scalar", "A parameter on its own is drawn on a log scale."),
        ("theory", "Lines: exact MSE."),
        ("vector", "A block of coefficients is drawn as MSE / CRLB, on a linear axis."),
        ("several", "Compare the estimators' MSE: an unbiased one need not be the better."),
    ],
    "coverage": [
        (
            "",
            "Coverage of the Wald interval θ̂ ± z·SE, each replication with its own standard error, against "
            "n, ± 2 MCSE; dashed: the nominal level.",
        ),
        ("theory", "Lines: exact coverage."),
    ],
    "zip": [
        (
            "",
            "Zip plot (Morris, White & Crowther 2019): 200 of the Wald intervals θ̂ ± z·SE, evenly spaced in "
            "their rank by |θ̂ − θ|/SE (each replication's own SE), for the first element of each estimated block. "
            "Blue intervals cover the truth (vertical line), red ones miss it; red starts where the grey band, "
            "the simulated coverage ± 2 MCSE, crosses, and the dashed line is the nominal level. Intervals that "
            "miss on one side only point to bias; short ones to a standard error too small. A zero-width "
            "interval (SE = 0) is a tick.",
        ),
    ],
    "sampling": [
        (
            "",
            "Distribution of (θ̂ − θ)/√CRLB at the smallest and largest n, against N(0, 1), the limit of an "
            "efficient, asymptotically normal estimator.",
        ),
    ],
}
"""The generic caption of each figure as (condition, sentence) pairs, true of every model.

A sentence with a condition is kept only when the scenario's figure draws it
(``theory``: exact lines; ``vector``: a block of several coefficients; ``scalar``: a
block of one, drawn on its own scale;
``infinite``: a point without a finite MCSE; ``several``: more than one estimator).
What is particular to a model's figure is the model's to add
(:meth:`mlestudy.models.base.Model.figure_notes`); see :func:`mlestudy.narrative.captions`.
"""

ALT = {
    "bias": "Bias of {estimates} against sample size n ({sizes}), log n axis: simulated points with "
    "± 2 MCSE bars and the exact bias as lines where theory gives it",
    "variance": "Variance of {estimates} against n ({sizes}), log n axis: simulated points with "
    "± 2 MCSE bars, exact variance as lines where theory gives it and the Cramér–Rao bound dashed",
    "efficiency": "Efficiency, the Cramér–Rao bound divided by the variance, of {estimates} against n "
    "({sizes}): simulated points with ± 2 MCSE bars, exact efficiency as lines where theory gives it and a "
    "dashed line at 1",
    "mse": "Mean squared error of {estimates} against n ({sizes}), log n axis: simulated points with "
    "± 2 MCSE bars, exact MSE as lines where theory gives it and the Cramér–Rao bound dashed",
    "coverage": "Coverage of the {level} Wald interval of {estimates} against n ({sizes}): simulated "
    "points with ± 2 MCSE bars, exact coverage as lines where theory gives it and the nominal level dashed",
    "zip": "Zip plot of {estimates}'s {level} Wald intervals at n = {smallest} and n = {largest}: 200 "
    "intervals as horizontal lines ranked by |estimate − truth|/SE, covering ones blue, missing ones red, the "
    "truth as a vertical line and the nominal level dashed",
    "sampling": "Histograms of (estimate − truth)/√CRLB for {estimates} at n = {smallest} and "
    "n = {largest}, each with the standard normal density drawn over it",
}
"""What each figure shows, for its alt text (a screen reader, or a figure that fails to load)."""


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def estimated_blocks(scenario: Scenario) -> list[str]:
    """The parameter blocks some estimator of the scenario estimates, in the model's order."""
    model = scenario.model
    targets = {p for e in scenario.estimators for p in model.estimators[e].parameters(model)}
    return [b.name for b in model.blocks if targets & set(b.flat_names)]


def alt_text(figure: str, scenario: Scenario) -> str:
    """The alt text of one of ``scenario``'s figures, naming its scenario, estimators, blocks and sizes."""
    hats = _and([text_label(b, hat=True) for b in estimated_blocks(scenario)])
    sizes = scenario.sample_sizes
    what = ALT[figure].format(
        estimates=f"{hats} ({_and(list(scenario.estimators))})",
        sizes=f"{sizes[0]} to {sizes[-1]}" if len(sizes) > 1 else f"{sizes[0]}",
        smallest=sizes[0],
        largest=sizes[-1],
        level=f"{100 * scenario.ci_level:g}%",
    )
    about = f" {scenario.description.strip()}" if scenario.description.strip() else ""
    return f"{scenario.name} ({scenario.family}): {what}.{about}"
