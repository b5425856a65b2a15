"""The figures every scenario gets, and what each one asks the reader to see.

Kept apart from the plotting code so that the workflow can plan its files
without importing matplotlib.
"""

from __future__ import annotations

FIGURES = ("bias", "variance", "efficiency", "sampling", "mse")
"""Figure names, in report order; files are results/figures/<scenario>/<name>.svg."""
FIGURE_FORMAT = "svg"
"""Vector figures, shown at their natural size: text stays sharp and at its point size on screen and paper."""

CAPTIONS = {
    "bias": "Bias against n. Points: simulated bias ± 2 MCSE; lines: exact finite-sample bias. "
    "See the MLE of a variance or of an exponential rate start biased and the bias shrink like 1/n; "
    "an unbiased estimator sits on zero.",
    "variance": "Variance against n (log–log). Dashed: the Cramér–Rao bound 1/(n·I(θ)); lines: exact "
    "variance. The MLE's variance approaches the bound; a biased estimator may even fall below it.",
    "efficiency": "Efficiency = CRLB / variance, ± 2 MCSE. Values tend to 1 as n grows: the MLE is "
    "asymptotically efficient. Above 1 is possible only for a biased estimator. Points without bars "
    "have no finite Monte Carlo error (an infinite fourth moment).",
    "sampling": "Sampling distribution of √n(θ̂ − θ) at the smallest and largest n, against its limit "
    "N(0, 1/I(θ)). At small n the shape is skewed or discrete; at large n it is normal.",
    "mse": "Mean squared error against n (log–log), ± 2 MCSE, with the CRLB dashed. Where an unbiased "
    "estimator exists, compare: the biased MLE often has the lower MSE.",
}
