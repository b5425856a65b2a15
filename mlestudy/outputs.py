"""The figures every scenario gets, and what each one asks the reader to see.

Kept apart from the plotting code so that the workflow can plan its files
without importing matplotlib.
"""

from __future__ import annotations

FIGURES = ("bias", "variance", "efficiency", "mse", "coverage", "sampling")
"""Figure names, in report order; files are results/figures/<scenario>/<name>.png."""

CAPTIONS = {
    "bias": "Bias against n, one panel per parameter block. Points: simulated bias ± 2 MCSE; lines: exact "
    "finite-sample bias where theory gives it. A block of coefficients is drawn as bias / √CRLB, so every "
    "coefficient shares one axis.",
    "variance": "Variance against n (log scale). Dashed: the Cramér–Rao bound; lines: exact variance where "
    "theory gives it. A block of coefficients is drawn as variance / CRLB (1 = the bound).",
    "efficiency": "Efficiency = CRLB / variance, ± 2 MCSE, with exact efficiency as lines. 1 means the "
    "estimator attains the bound; only a biased estimator can exceed it. Points without bars have no "
    "finite Monte Carlo error (an infinite fourth moment).",
    "mse": "Mean squared error against n (log scale), ± 2 MCSE, with the Cramér–Rao bound dashed; a block "
    "of coefficients is drawn as MSE / CRLB. Where several estimators of one parameter are run, compare "
    "their MSE: an unbiased one need not be the better.",
    "coverage": "Coverage of the Wald interval θ̂ ± z·SE, each replication with its own standard error, "
    "against n, ± 2 MCSE. Lines: exact coverage where theory gives it; dashed: the nominal level.",
    "sampling": "Distribution of (θ̂ − θ)/√CRLB at the smallest and largest n, against N(0, 1), the limit "
    "of an efficient, asymptotically normal estimator.",
}
