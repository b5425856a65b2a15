"""The figures every scenario gets, and what each one asks the reader to see.

Kept apart from the plotting code so that the workflow can plan its files
without importing matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .labels import text_label

if TYPE_CHECKING:
    from .config import Scenario

FIGURES = ("bias", "variance", "efficiency", "sampling", "mse")
"""Figure names, in report order; files are results/figures/<scenario>/<name>.svg."""
FIGURE_FORMAT = "svg"
"""Vector figures, shown at their natural size: text stays sharp and at its point size on screen and paper."""

TITLES = {
    "bias": "bias against n",
    "variance": "variance against n, with the Cramér–Rao bound",
    "efficiency": "efficiency against n",
    "sampling": "sampling distribution at the smallest and largest n",
    "mse": "mean squared error against n",
}
"""A figure's name in words, for the head of its caption."""

CAPTIONS = {
    "bias": "Points: simulated bias ± 2 MCSE; lines: exact finite-sample bias. "
    "See the MLE of a variance or of an exponential rate start biased and the bias shrink like 1/n; "
    "an unbiased estimator sits on zero.",
    "variance": "Log–log axes. Dashed: the Cramér–Rao bound 1/(n·I(θ)); lines: exact "
    "variance. The MLE's variance approaches the bound; a biased estimator may even fall below it.",
    "efficiency": "Efficiency = CRLB / variance, ± 2 MCSE. Values tend to 1 as n grows: the MLE is "
    "asymptotically efficient. Above 1 is possible only for a biased estimator. Points without bars "
    "have no finite Monte Carlo error (an infinite fourth moment).",
    "sampling": "The distribution of √n(θ̂ − θ) against its limit "
    "N(0, 1/I(θ)). At small n the shape is skewed or discrete; at large n it is normal.",
    "mse": "Log–log axes, ± 2 MCSE, with the CRLB dashed. Where an unbiased "
    "estimator exists, compare: the biased MLE often has the lower MSE.",
}

ALT = {
    "bias": "Bias of {estimates} against sample size n ({sizes}), log n axis: simulated points with "
    "± 2 MCSE bars and the exact bias as lines",
    "variance": "Variance of {estimates} against n ({sizes}) on log–log axes: simulated points with "
    "± 2 MCSE bars, exact variance as lines and the Cramér–Rao bound dashed",
    "efficiency": "Efficiency, the Cramér–Rao bound divided by the variance, of {estimates} against n "
    "({sizes}): simulated points with ± 2 MCSE bars, exact efficiency as lines and a dashed line at 1",
    "sampling": "Histograms of √n(θ̂ − θ) for {estimates} at n = {smallest} and n = {largest}, "
    "each with the normal limit N(0, 1/I(θ)) drawn over it",
    "mse": "Mean squared error of {estimates} against n ({sizes}) on log–log axes: simulated points with "
    "± 2 MCSE bars, exact MSE as lines and the Cramér–Rao bound dashed",
}
"""What each figure shows, for its alt text (a screen reader, or a figure that fails to load)."""


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def alt_text(figure: str, scenario: Scenario) -> str:
    """The alt text of one of ``scenario``'s figures, naming its scenario, estimators, parameters and sizes."""
    family = scenario.family_obj
    params = list(dict.fromkeys(p for e in scenario.estimators for p in family.estimator(e).parameters))
    hats = _and([text_label(p, hat=True) for p in params])
    sizes = scenario.sample_sizes
    what = ALT[figure].format(
        estimates=f"{hats} ({_and(list(scenario.estimators))})",
        sizes=f"{sizes[0]} to {sizes[-1]}" if len(sizes) > 1 else f"{sizes[0]}",
        smallest=sizes[0],
        largest=sizes[-1],
    )
    return f"{scenario.name} ({scenario.family}): {what}."
