"""The model-SE measures of Morris, White & Crowther (2019), each with its Monte Carlo SE.

Does each replication's own standard error describe the spread of the estimates?
Empirical SE (the spread), average model SE (what the intervals use), their
relative error, and coverage with the bias taken out (so that a poor coverage can
be told apart: bias, or a standard error of the wrong size).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .performance import wald_covered

COLUMNS = (
    "emp_se",
    "emp_se_mcse",
    "model_se",
    "model_se_mcse",
    "rel_error_model_se",
    "rel_error_model_se_mcse",
    "be_coverage",
    "be_coverage_mcse",
)
"""Summary columns this module adds (documented in the README)."""


def model_se_measures(
    estimates: NDArray[np.float64],
    standard_errors: NDArray[np.float64],
    level: float,
    finite_moments: float = math.inf,
) -> dict[str, float]:
    """Empirical SE, model SE, relative error in model SE (%) and bias-eliminated coverage, with MCSEs.

    Parameters
    ----------
    estimates, standard_errors
        The usable replications' estimates and their own standard errors (same length R).
    level
        Level of the Wald interval.
    finite_moments
        Highest finite moment of the estimate; the SE measures need the second and
        their MCSEs the fourth (the SE is assumed no heavier-tailed than the estimate).

    Notes
    -----
    Model SE is sqrt(mean(se^2)) (Morris et al. 2019, Table 6). The MCSEs of the
    empirical SE and of the relative error use the delta method on the pair
    (mean(se^2), sample variance) with each replication's influence, so that the
    correlation between an estimate's deviation and its own SE is counted (Morris's
    table gives the formula for independent parts under normality). Bias-eliminated
    coverage centres the interval on the mean estimate instead of the truth; its MCSE is
    Morris's binomial sqrt(p(1 - p)/R), which ignores that the centre is estimated (with an
    SE proportional to the estimate it overstates the spread over repeated studies by about
    20 %: tests/test_model_se.py).
    """
    x = np.asarray(estimates, dtype=float)
    se = np.asarray(standard_errors, dtype=float)
    r = len(x)
    out = dict.fromkeys(COLUMNS, math.nan)
    if r < 2:
        return out
    covered = wald_covered(x, se, float(x.mean()), level)
    p = float(covered.mean())
    out["be_coverage"], out["be_coverage_mcse"] = p, math.sqrt(p * (1 - p) / r)
    if finite_moments < 2:
        return out
    dev2 = (x - x.mean()) ** 2
    variance = float(dev2.sum() / (r - 1))
    se2 = se**2
    mean_se2 = float(se2.mean())
    out["emp_se"] = math.sqrt(variance)
    out["model_se"] = math.sqrt(mean_se2)
    ratio = out["model_se"] / out["emp_se"] if variance > 0 else math.nan
    out["rel_error_model_se"] = 100 * (ratio - 1)
    if finite_moments < 4:
        return out
    # Influence of each replication on log(variance) and on log(mean se^2).
    infl_v = (dev2 - variance) / variance if variance > 0 else np.full(r, math.nan)
    infl_a = (se2 - mean_se2) / mean_se2 if mean_se2 > 0 else np.zeros(r)
    sd = lambda a: float(np.std(a, ddof=1)) / math.sqrt(r)  # noqa: E731
    out["emp_se_mcse"] = out["emp_se"] * 0.5 * sd(infl_v)
    out["model_se_mcse"] = out["model_se"] * 0.5 * sd(infl_a)
    out["rel_error_model_se_mcse"] = 100 * ratio * 0.5 * sd(infl_a - infl_v)
    return out
