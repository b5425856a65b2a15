"""Exact coverage probability of the study's Wald intervals, and the z of a simulated coverage.

The study's interval is estimate +/- z se with z = ndtri(0.5 + level/2), and it
covers iff ``|estimate - truth| <= z * se`` (:func:`mlestudy.performance.wald_covered`),
where se is the square root of the inverse Fisher information at the estimator's
own estimate over n.  This module gives the probability of that event, exactly,
for every (family, estimator, parameter) where theory has it:

Discrete families (Bernoulli p-hat = k/n, Poisson rate-hat = T/n)
    A sum of the probability mass over the support points k whose interval covers.
    Coverage is decided by the *same floating-point inequality* the simulation
    evaluates (:func:`bernoulli_wald_se`, :func:`poisson_wald_se` and
    :func:`~mlestudy.performance.wald_covered`), so a support point on the edge of
    the interval, and the boundary points with se = 0 (k = 0, k = n; T = 0, which
    never cover), count exactly as they do in the simulation.

    Squaring the inequality shows the covering u = k/n (or T/n) form one interval
    [u1, u2] between the roots of a quadratic (the Wilson-score inversion):
    Bernoulli (1 + z^2/n) u^2 - (2p + z^2/n) u + p^2 <= 0, Poisson
    u^2 - (2 rate + z^2/n) u + rate^2 <= 0.  Rounding can only flip the verdict
    where the real margin g = z se - |u - truth| is within a few ulps of zero.
    g is concave in u, so away from each root it grows at least linearly, by an
    amount of order 1/n per support point (at least 1/(2n) for Poisson once the
    covered set is wider than the windows), while its rounding error is below
    about 4 eps max(u, truth).  So every support point within :data:`WINDOW`
    points of a root is evaluated with the floating-point inequality, the points
    between the two windows are all covered (their probability is one CDF
    difference), and the points outside are all uncovered.  The argument holds
    for n <= about 1e11 (Bernoulli) and n rate <= 2^52 (Poisson, where the totals
    are still exact integers in float64); beyond that the Poisson coverage is NaN.
    Nothing is truncated.  The tests compare it with the plain sum over every
    support point (also with windows of one point), and at n rate up to 4e15 with
    the ends of the covered set found by bisection on the inequality itself.

Normal mean, and OLS coefficients (``p`` columns; the normal family is p = 1)
    se^2 = (RSS/n) c with RSS/sigma2 ~ chi2_{n-p} independent of the estimate, so
    covering is |T| <= z sqrt((n-p)/n) for T ~ t_{n-p}:
    coverage = 2 F_t(z sqrt((n-p)/n); n-p) - 1.  At n = p, RSS = 0 and se = 0: 0.

Normal variance, and OLS sigma2 (estimate = sigma2 W / divisor, W ~ chi2_{n-p})
    se = estimate c with c = z sqrt(2/n) (n, not the divisor, is in the
    information).  Covering |est - sigma2| <= c est means est (1 - c) <= sigma2 <=
    est (1 + c), i.e. divisor/(1 + c) <= W <= divisor/(1 - c), the upper limit
    being absent when c >= 1: coverage = P(divisor/(1 + c) <= W <= divisor/(1 - c)).
    At n = p, W = 0 and se = 0: 0.

Exponential rate (estimate = a/S, a = n for the MLE, n - 1 for the unbiased version)
    G = rate S ~ Gamma(n, 1), se = estimate/sqrt(n), c = z/sqrt(n).  Covering
    est (1 - c) <= rate <= est (1 + c) with est = a rate/G means
    a (1 - c) <= G <= a (1 + c): coverage = P(a max(1 - c, 0) <= G <= a (1 + c)).

All continuous coverages are pivotal: they do not depend on the parameter values.
A level so close to 1 that 0.5 + level/2 rounds to 1 gives z = inf; as in the
simulation, an interval with se > 0 then always covers and one with se = 0 never does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..performance import wald_covered

WINDOW = 64
"""Support points evaluated with the floating-point inequality on each side of each root."""

POISSON_MAX_MEAN = 2.0**52
"""Largest n * rate for which the Poisson coverage is computed (totals exact in float64)."""


# -- the standard errors the study uses (one expression, shared with the simulation) -------------
def bernoulli_wald_se(p_hat: ArrayLike, n: int) -> NDArray[np.float64]:
    """se of p-hat: sqrt(p-hat (1 - p-hat) / n), the inverse information at p-hat over n.

    Written exactly as the study evaluates it (``p * (1.0 - p)``, then ``/ n``,
    then the square root), because ties at the interval's edge depend on rounding.
    """
    p_hat = np.asarray(p_hat, dtype=np.float64)
    return np.sqrt(p_hat * (1.0 - p_hat) / n)


def poisson_wald_se(rate_hat: ArrayLike, n: int) -> NDArray[np.float64]:
    """se of x-bar for Poisson counts: sqrt(rate-hat / n)."""
    return np.sqrt(np.asarray(rate_hat, dtype=np.float64) / n)


def wald_z(level: float) -> float:
    """The interval's multiplier z = ndtri(0.5 + level/2), as :func:`wald_covered` computes it."""
    from scipy import special

    return float(special.ndtri(0.5 + level / 2))


def _check(n: int, level: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"sample size n = {n!r} is not allowed; n must be an integer >= 1")
    if not (isinstance(level, (int, float, np.floating)) and 0 < level < 1):
        raise ValueError(f"level = {level!r} is not allowed; the level must be > 0 and < 1")


# -- discrete families ---------------------------------------------------------------------------
def _window_coverage(
    roots: tuple[float, float],
    support_max: float,
    covers: Callable[[NDArray[np.int64]], NDArray[np.bool_]],
    pmf: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    mass_between: Callable[[int, int], float],
    window: int,
) -> float:
    """P(covered) when the covered support points are the integers in [roots] up to rounding.

    Points within ``window`` of a root are decided by ``covers`` (the floating-point
    inequality) and summed by ``pmf``; the points strictly between the two windows
    are covered and summed by ``mass_between(lo, hi)`` = P(lo <= K <= hi).
    """
    k1, k2 = (min(max(math.floor(r), 0), support_max) for r in roots)
    lo_inner, hi_inner = k1 + window + 1, k2 - window - 1
    edges = [np.arange(max(k1 - window, 0), min(k1 + window, support_max) + 1, dtype=np.int64)]
    edges.append(np.arange(max(k2 - window, 0), min(k2 + window, support_max) + 1, dtype=np.int64))
    k = np.unique(np.concatenate(edges))
    total = math.fsum(pmf(k[covers(k)]))
    if lo_inner <= hi_inner:
        total += mass_between(lo_inner, hi_inner)
    return min(max(total, 0.0), 1.0)


def _quadratic_roots(a: float, b: float, c: float, disc: float) -> tuple[float, float]:
    """Roots u1 <= u2 of a u^2 - b u + c (a, b, c > 0), given the discriminant in closed form.

    b^2 - 4ac cancels catastrophically when z^2/n is small against the parameter
    (for Poisson it would move the roots by about 1e-16 (n rate)^1.5 support
    points, thousands at n rate = 1e14), so the callers pass it factored.
    """
    u2 = (b + math.sqrt(disc)) / (2 * a)
    return c / (a * u2), u2


def bernoulli_coverage(p: float, n: int, level: float, *, window: int = WINDOW) -> float:
    """Exact coverage of the Wald interval p-hat +/- z sqrt(p-hat (1 - p-hat)/n).

    Parameters
    ----------
    p
        Success probability in [0, 1].
    n
        Number of trials.
    level
        Nominal level in (0, 1).
    window
        Support points decided by the floating-point inequality around each root
        (see the module docstring); only the tests change it.

    Returns
    -------
    float
        P(|p-hat - p| <= z se) under Binomial(n, p), with the study's rounding.
    """
    _check(n, level)
    if not 0 <= p <= 1:
        raise ValueError(f"p = {p!r} is not allowed; p must be >= 0 and <= 1")
    from scipy.stats import binom  # here, not at import: keeps scipy.stats off light imports

    z = wald_z(level)

    def covers(k: NDArray[np.int64]) -> NDArray[np.bool_]:
        p_hat = k / n
        with np.errstate(invalid="ignore"):  # z = inf times se = 0 is NaN: not covered, as in the study
            return wald_covered(p_hat, bernoulli_wald_se(p_hat, n), p, level)

    if math.isfinite(z) and 0 < p < 1:
        q = z * z / n
        roots = _quadratic_roots(1 + q, 2 * p + q, p * p, q * (4 * p * (1 - p) + q))
        roots = (n * roots[0], n * roots[1])
    else:  # z = inf covers every k with se > 0; p in {0, 1} puts all mass on one k
        roots = (0.0, float(n))

    def between(lo: int, hi: int) -> float:
        return float(binom.cdf(hi, n, p) - binom.cdf(lo - 1, n, p))

    return _window_coverage(roots, n, covers, lambda k: binom.pmf(k, n, p), between, window)


def poisson_coverage(rate: float, n: int, level: float, *, window: int = WINDOW) -> float:
    """Exact coverage of the Wald interval x-bar +/- z sqrt(x-bar/n) for Poisson counts.

    The total T = n x-bar is Poisson(n rate).  NaN when n rate > :data:`POISSON_MAX_MEAN`
    (see the module docstring).

    Parameters
    ----------
    rate
        Mean count per observation, > 0.
    n
        Number of observations.
    level
        Nominal level in (0, 1).
    window
        As in :func:`bernoulli_coverage`.
    """
    _check(n, level)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate = {rate!r} is not allowed; the rate must be > 0 and finite")
    mu = n * rate
    if mu > POISSON_MAX_MEAN:
        return math.nan
    from scipy.stats import poisson

    z = wald_z(level)

    def covers(t: NDArray[np.int64]) -> NDArray[np.bool_]:
        rate_hat = t.astype(np.float64) / n
        return wald_covered(rate_hat, poisson_wald_se(rate_hat, n), rate, level)

    if math.isinf(z):  # every T >= 1 has se > 0 and covers; T = 0 has se = 0 and does not
        return float(-math.expm1(-mu))
    q = z * z / n
    u1, u2 = _quadratic_roots(1.0, 2 * rate + q, rate * rate, q * (4 * rate + q))
    roots = (n * u1, n * u2)
    support_max = math.floor(roots[1]) + window  # nothing above the upper window covers

    def between(lo: int, hi: int) -> float:
        if lo - 1 >= mu:  # both in the upper tail: survival functions keep the digits
            return float(poisson.sf(lo - 1, mu) - poisson.sf(hi, mu))
        return float(poisson.cdf(hi, mu) - poisson.cdf(lo - 1, mu))

    def mass(t: NDArray[np.int64]) -> NDArray[np.float64]:
        # Differences of the CDF, not scipy's pmf: that one is evaluated in log space
        # as t log(mu) - mu - log(t!), and at mu = 1e12 is off by 3e-5 relative.
        # Each difference is within about 1e-16 of its value, which is what a coverage needs.
        upper = t >= mu
        out = np.empty(t.shape)
        out[upper] = poisson.sf(t[upper] - 1, mu) - poisson.sf(t[upper], mu)
        out[~upper] = poisson.cdf(t[~upper], mu) - poisson.cdf(t[~upper] - 1, mu)
        return out

    return _window_coverage(roots, support_max, covers, mass, between, window)


# -- Gaussian pivots: the normal family and linear regression --------------------------------------
def gaussian_mean_coverage(n: int, level: float, p: int = 1) -> float:
    """Exact coverage of beta-hat_j +/- z sqrt((RSS/n) [(X'X)^-1]_jj) under Gaussian errors.

    The normal mean is p = 1 (X a column of ones, RSS = SS): 2 F_t(z sqrt((n-1)/n); n-1) - 1.
    Exact for any design, fixed or random, since it holds conditionally on X.

    Parameters
    ----------
    n
        Sample size.
    level
        Nominal level in (0, 1).
    p
        Number of coefficients (columns of X).

    Returns
    -------
    float
        2 F_t(z sqrt((n-p)/n); n-p) - 1; 0 at n = p (se = 0); NaN for n < p.
    """
    from scipy import special

    _check(n, level)
    nu = n - p
    if nu < 0:
        return math.nan
    if nu == 0:
        return 0.0
    z = wald_z(level)
    if math.isinf(z):
        return 1.0
    return 1.0 - 2.0 * float(special.stdtr(nu, -z * math.sqrt(nu / n)))


def gaussian_variance_coverage(n: int, level: float, divisor: float, p: int = 1) -> float:
    """Exact coverage of s +/- z s sqrt(2/n) for s = RSS/divisor under Gaussian errors.

    Parameters
    ----------
    n
        Sample size (the information's n: se = estimate sqrt(2/n) whatever the divisor).
    level
        Nominal level in (0, 1).
    divisor
        n for the MLE RSS/n, n - p for the unbiased RSS/(n - p).
    p
        Number of coefficients; the normal family is p = 1 (RSS = SS ~ sigma2 chi2_{n-1}).

    Returns
    -------
    float
        P(divisor/(1 + c) <= W <= divisor/(1 - c)), W ~ chi2_{n-p}, c = z sqrt(2/n);
        0 at n = p (the estimate and se are 0); NaN for n < p or divisor <= 0
        (the estimator does not exist).
    """
    from scipy import special

    _check(n, level)
    nu = n - p
    if nu < 0 or divisor <= 0:
        return math.nan
    if nu == 0:
        return 0.0
    c = wald_z(level) * math.sqrt(2.0 / n)
    lower = divisor / (1.0 + c)
    below = float(special.chdtr(nu, lower))
    above = float(special.chdtrc(nu, divisor / (1.0 - c))) if c < 1 else 0.0
    return max(1.0 - below - above, 0.0)


def exponential_rate_coverage(n: int, level: float, numerator: float) -> float:
    """Exact coverage of r +/- z r/sqrt(n) for the exponential rate estimate r = numerator / sum(x).

    Parameters
    ----------
    n
        Sample size.
    level
        Nominal level in (0, 1).
    numerator
        n for the MLE 1/x-bar, n - 1 for the unbiased (n - 1)/sum(x).

    Returns
    -------
    float
        P(a max(1 - c, 0) <= G <= a (1 + c)), G ~ Gamma(n, 1), a = numerator,
        c = z/sqrt(n); NaN when numerator <= 0 (the unbiased estimator at n = 1).
    """
    from scipy import special

    _check(n, level)
    if numerator <= 0:
        return math.nan
    c = wald_z(level) / math.sqrt(n)
    below = float(special.gammainc(n, numerator * (1.0 - c))) if c < 1 else 0.0
    above = float(special.gammaincc(n, numerator * (1.0 + c)))
    return max(1.0 - below - above, 0.0)


# -- dispatch for the scalar families --------------------------------------------------------------
def exact_coverage(
    family: str, estimator: str, parameter: str, theta: Mapping[str, float], n: int, level: float
) -> float:
    """Exact Wald coverage of one (family, estimator, parameter) of the scalar families.

    NaN where theory gives none (gamma) or the estimator does not exist at this n
    (the unbiased variance and rate at n = 1).  Linear regression: see
    :mod:`mlestudy.theory.linear_regression`.
    """
    key = (family, estimator, parameter)
    if key == ("bernoulli", "mle", "p"):
        return bernoulli_coverage(theta["p"], n, level)
    if key == ("poisson", "mle", "rate"):
        return poisson_coverage(theta["rate"], n, level)
    if key == ("normal", "mle", "mu"):
        return gaussian_mean_coverage(n, level)
    if key == ("normal", "mle", "sigma2"):
        return gaussian_variance_coverage(n, level, divisor=n)
    if key == ("normal", "unbiased", "sigma2"):
        return gaussian_variance_coverage(n, level, divisor=n - 1)
    if key == ("exponential", "mle", "rate"):
        return exponential_rate_coverage(n, level, numerator=n)
    if key == ("exponential", "unbiased", "rate"):
        return exponential_rate_coverage(n, level, numerator=n - 1)
    _check(n, level)
    return math.nan


# -- the z of a simulated coverage -----------------------------------------------------------------
def coverage_z(simulated: ArrayLike, exact: ArrayLike, n_usable: ArrayLike) -> NDArray[np.float64] | float:
    """z = (simulated - exact) / sqrt(exact (1 - exact) / n_usable), the MCSE under the exact coverage.

    The binomial standard error is taken at the *exact* coverage (the null
    hypothesis), not at the simulated one, so a simulated 0 or 1 still gets a
    finite z.  When the exact coverage is 0 or 1 every replication must agree
    with it: z = 0 if the simulated coverage equals it and +/-inf (the sign of
    simulated - exact) otherwise; a single disagreeing replication is then a
    certain contradiction, not a 4-sigma one.  NaN when either coverage is NaN or
    no replication is usable.

    Parameters
    ----------
    simulated
        Observed coverage (fraction of usable replications whose interval covered).
    exact
        Exact coverage probability.
    n_usable
        Number of replications the simulated coverage is over.
    """
    sim = np.asarray(simulated, dtype=np.float64)
    ex = np.asarray(exact, dtype=np.float64)
    r = np.asarray(n_usable, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (sim - ex) / np.sqrt(ex * (1.0 - ex) / r)
    degenerate = (ex == 0) | (ex == 1)
    diff = sim - ex
    z = np.where(degenerate, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)), z)
    z = np.where(np.isnan(sim) | np.isnan(ex) | ~(r > 0), np.nan, z)
    return float(z) if z.ndim == 0 else z
