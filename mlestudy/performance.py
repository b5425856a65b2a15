"""Performance measures of an estimator and their Monte Carlo standard errors.

Formulas follow Morris, White & Crowther (2019), *Using simulation studies to
evaluate statistical methods*, Stat Med 38:2074, Table 6, with one correction:
the MCSE of the empirical variance uses the sample fourth central moment,
sqrt((m4 - s^4) / R), instead of assuming normally distributed estimates (that
formula understates the error of 1/x-bar's spread about 4-fold at n = 5).

A measure whose defining moment does not exist is NaN, never a number: the
caller passes ``finite_moments``, the highest finite moment order of the
estimator (see :meth:`mlestudy.families.base.Family.finite_moments`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Performance:
    """One estimator's performance for one parameter at one sample size."""

    replications: int
    n_failed: int
    n_valid: int
    mean: float
    bias: float
    bias_mcse: float
    relative_bias: float
    relative_bias_mcse: float
    variance: float
    variance_mcse: float
    variance_mcse_normal: float
    mse: float
    mse_mcse: float
    crlb: float
    efficiency: float
    efficiency_mcse: float
    exact_mean: float
    exact_variance: float
    z_mean: float
    z_variance: float
    coverage: float
    coverage_mcse: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _ratio(num: float, den: float) -> float:
    """num/den, NaN when either is missing or the denominator is zero."""
    if not (math.isfinite(num) and math.isfinite(den)) or den == 0:
        return math.nan
    return num / den


def performance(
    estimates: NDArray[np.float64],
    true_value: float,
    *,
    n_failed: int = 0,
    crlb: float = math.nan,
    exact_mean: float = math.nan,
    exact_variance: float = math.nan,
    finite_moments: float = math.inf,
    covered: NDArray[np.bool_] | None = None,
) -> Performance:
    """Summarise the finite estimates of one (estimator, parameter, n).

    Parameters
    ----------
    estimates
        Estimates of the replications that did not fail (finite values).
    true_value
        The data-generating parameter value.
    n_failed
        Replications without a usable estimate (reported, not summarised).
    crlb, exact_mean, exact_variance
        Theory to compare with; NaN where unknown.
    finite_moments
        Highest integer k with finite E|estimate|^k.  The mean needs k >= 1;
        the variance and the MCSE of the mean k >= 2; the MCSEs of the variance,
        the MSE and the efficiency k >= 4.
    covered
        Per-replication indicator that a confidence interval covered the truth.
    """
    x = np.asarray(estimates, dtype=np.float64)
    r = x.size
    nan = math.nan
    has = {k: finite_moments >= k for k in (1, 2, 4)}
    mean = float(x.mean()) if r and has[1] else nan
    dev = x - mean
    variance = float(dev @ dev / (r - 1)) if r > 1 and has[2] else nan
    bias_mcse = math.sqrt(variance / r) if has[2] and r > 1 else nan
    m4 = float(np.mean(dev**4)) if has[4] and r > 1 else nan
    # variance * variance, not variance**2: a float power raises OverflowError, a product is inf.
    variance_mcse = math.sqrt(max(m4 - variance * variance, 0.0) / r) if has[4] and r > 1 else nan
    err2 = (x - true_value) ** 2
    mse = float(err2.mean()) if has[2] and r else nan
    mse_mcse = math.sqrt(float(((err2 - mse) ** 2).sum()) / (r * (r - 1))) if has[4] and r > 1 else nan
    bias = mean - true_value
    efficiency = _ratio(crlb, variance)
    efficiency_mcse = abs(efficiency) / variance * variance_mcse if math.isfinite(efficiency) else nan
    if covered is not None and covered.size:
        coverage = float(np.mean(covered))
        coverage_mcse = math.sqrt(coverage * (1 - coverage) / covered.size)
    else:
        coverage = coverage_mcse = nan
    return Performance(
        replications=r + n_failed,
        n_failed=n_failed,
        n_valid=r,
        mean=mean,
        bias=bias,
        bias_mcse=bias_mcse,
        relative_bias=_ratio(bias, abs(true_value)),
        relative_bias_mcse=_ratio(bias_mcse, abs(true_value)),
        variance=variance,
        variance_mcse=variance_mcse,
        variance_mcse_normal=variance * math.sqrt(2 / (r - 1)) if has[4] and r > 1 else nan,
        mse=mse,
        mse_mcse=mse_mcse,
        crlb=crlb,
        efficiency=efficiency,
        efficiency_mcse=efficiency_mcse,
        exact_mean=exact_mean,
        exact_variance=exact_variance,
        z_mean=_ratio(mean - exact_mean, bias_mcse),
        z_variance=_ratio(variance - exact_variance, variance_mcse),
        coverage=coverage,
        coverage_mcse=coverage_mcse,
    )


def wald_covered(
    estimates: NDArray[np.float64],
    standard_errors: NDArray[np.float64],
    true_value: float,
    level: float,
) -> NDArray[np.bool_]:
    """Whether each Wald interval estimate +/- z * se contains the truth."""
    from scipy.special import ndtri  # here: importing scipy.special costs a job about 0.3 s

    z = ndtri(0.5 + level / 2)  # what scipy.stats.norm.ppf computes, without importing scipy.stats
    return np.abs(estimates - true_value) <= z * standard_errors


def mean_with_mcse(values: NDArray[np.float64]) -> tuple[float, float]:
    """Mean of per-replication values and its Monte Carlo standard error (NaN for fewer than 2)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return (float(x.mean()) if x.size else math.nan), math.nan
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
