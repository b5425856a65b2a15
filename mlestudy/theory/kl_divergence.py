"""Per-observation Kullback-Leibler divergence KL(true || fitted) in closed form.

KL(f_theta || f_theta-hat) = E_theta[log f_theta(Y) - log f_theta-hat(Y)] is the
expected excess negative log-likelihood (cross-entropy minus entropy) of one new
observation: the loss maximum likelihood minimises, measured at the truth.  For a
regression model it is averaged over the covariates: their law (random design) or
the n rows of a fixed design.

Every function here is vectorised over replications (the estimate arguments are
arrays), returns +inf where the fitted model puts zero mass where the truth has
mass (p-hat in {0, 1}, a rate of 0, a variance of 0) and NaN where an estimate is
NaN.  Forms are chosen so that no digits cancel when the fit is close to the truth
(a KL of 1e-8 keeps its relative accuracy): ``x - 1 - log x`` through
:func:`log1pmx`, ``e^x - 1 - x`` through :func:`expm1mx`, Bregman divergences
of the cumulant function rather than differences of log-likelihoods.

- Bernoulli: p log(p/p-hat) + (1 - p) log((1 - p)/(1 - p-hat)).
- Normal: 1/2 [r - 1 - log r + (mu - mu-hat)^2 / sigma2-hat], r = sigma2 / sigma2-hat.
- Exponential: r - 1 - log r, r = rate-hat / rate.
- Poisson: lambda log(lambda/lambda-hat) + lambda-hat - lambda.
- Gamma (shape a, rate b): (a - a') psi(a) - log Gamma(a) + log Gamma(a') + a'(log b - log b')
  + a (b' - b)/b.
- Linear regression: the normal KL given x, averaged: 1/2 [r - 1 - log r + delta' M delta / sigma2-hat],
  delta = beta-hat - beta, M = E[x x'] (random design) or X'X / n (fixed design).
- Poisson regression: E_x[mu (eta - eta-hat) + mu-hat - mu] = E_x[mu expm1mx(eta-hat - eta)];
  through the moment generating function of the features in closed form (normal,
  uniform and Bernoulli features), by the rows of a fixed design.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import bernoulli, expit, gammaln, psi

FloatArray = NDArray[np.float64]

SERIES_BELOW = 0.3
"""|x| below which :func:`expm1mx` and :func:`log1pmx` sum their Taylor series (12 terms: < 1e-17 relative)."""


def expm1mx(x: ArrayLike) -> FloatArray:
    """e^x - 1 - x, accurate to rounding also for tiny x (where it is x^2/2)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < SERIES_BELOW
    xs = np.where(small, x, 0.0)
    term = xs * xs / 2
    series = term.copy()
    for k in range(3, 15):
        term = term * xs / k
        series += term
    with np.errstate(over="ignore"):
        direct = np.expm1(np.where(small, 0.0, x)) - np.where(small, 0.0, x)
    return np.where(small, series, direct)


def log1pmx(x: ArrayLike) -> FloatArray:
    """x - log(1 + x) (>= 0), accurate to rounding also for tiny x (where it is x^2/2); +inf at x = -1."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < SERIES_BELOW
    xs = np.where(small, x, 0.0)
    # x - log1p(x) = sum_{k>=2} (-1)^k x^k / k
    series = np.zeros_like(xs)
    power = xs * xs
    for k in range(2, 40):
        series += (power if k % 2 == 0 else -power) / k
        power = power * xs
    with np.errstate(divide="ignore", invalid="ignore"):
        big = np.where(small, 0.0, x)
        direct = big - np.log1p(big)
    return np.where(small, series, direct)


def ratio_divergence(r: ArrayLike) -> FloatArray:
    """r - 1 - log r for r > 0 (the KL of two scale families); +inf at r = 0 and r = inf, NaN for NaN."""
    r = np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore"):
        out = log1pmx(r - 1.0)
    return np.where(np.isinf(r), np.inf, out)


# -- i.i.d. families -------------------------------------------------------------------------------------
def bernoulli_kl(p: float, p_hat: ArrayLike) -> FloatArray:
    """KL(Bernoulli(p) || Bernoulli(p-hat)); +inf at p-hat in {0, 1} (for 0 < p < 1).

    p (r1 - 1 - log r1) + (1 - p)(r0 - 1 - log r0), r1 = p-hat/p, r0 = (1 - p-hat)/(1 - p):
    the linear parts cancel exactly, and each term is >= 0, so nothing cancels near p-hat = p.
    """
    q = np.asarray(p_hat, dtype=float)
    return p * ratio_divergence(q / p) + (1 - p) * ratio_divergence((1 - q) / (1 - p))


def normal_kl(mu: float, sigma2: float, mu_hat: ArrayLike, sigma2_hat: ArrayLike) -> FloatArray:
    """KL(N(mu, sigma2) || N(mu-hat, sigma2-hat)); +inf at sigma2-hat = 0."""
    s2 = np.asarray(sigma2_hat, dtype=float)
    d = np.asarray(mu_hat, dtype=float) - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s2 == 0, np.inf, 0.5 * (ratio_divergence(sigma2 / s2) + d * d / s2))


def exponential_kl(rate: float, rate_hat: ArrayLike) -> FloatArray:
    """KL(Exp(rate) || Exp(rate-hat)) = r - 1 - log r with r = rate-hat / rate."""
    return ratio_divergence(np.asarray(rate_hat, dtype=float) / rate)


def poisson_kl(rate: float, rate_hat: ArrayLike) -> FloatArray:
    """KL(Poisson(rate) || Poisson(rate-hat)) = rate (r - 1 - log r), r = rate-hat / rate; +inf at 0."""
    return rate * ratio_divergence(np.asarray(rate_hat, dtype=float) / rate)


def gamma_kl(shape: float, rate: float, shape_hat: ArrayLike, rate_hat: ArrayLike) -> FloatArray:
    """KL(Gamma(a, b) || Gamma(a', b')) (shape, rate).

    (a - a') psi(a) - log Gamma(a) + log Gamma(a') + a'(log b - log b') + a (b' - b) / b,
    written as a Bregman divergence of the log-partition in the natural parameters
    (a - 1, -b), so each part is >= 0: the shape part lgamma(a') - lgamma(a) - psi(a)(a' - a)
    plus a' times log1pmx-type terms of b'/b.
    """
    a2 = np.asarray(shape_hat, dtype=float)
    b2 = np.asarray(rate_hat, dtype=float)
    # Shape part: Bregman divergence of lgamma (convex): >= 0.
    shape_part = gammaln(a2) - gammaln(shape) - psi(shape) * (a2 - shape)
    # Rate part: a' (log b - log b') + a (b' - b) / b = a' [(u - 1) - log u] + (a - a')(u - 1), u = b'/b.
    u = b2 / rate
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_part = a2 * ratio_divergence(u) + (shape - a2) * (u - 1.0)
    return shape_part + rate_part


# -- linear regression -----------------------------------------------------------------------------------
def linear_regression_kl(
    sigma2: float, delta: FloatArray, sigma2_hat: ArrayLike, second_moment: FloatArray
) -> FloatArray:
    """Per-observation KL of y | x ~ N(x'beta, sigma2) against N(x'beta-hat, sigma2-hat), averaged over x.

    Parameters
    ----------
    sigma2 : the true error variance.
    delta : (R, p) beta-hat - beta of each replication.
    sigma2_hat : (R,) fitted error variances; 0 gives +inf.
    second_moment : (p, p) E[x x'] of the design law, or X'X / n of a fixed design.

    Returns
    -------
    (R,) 1/2 [r - 1 - log r + delta' M delta / sigma2-hat], r = sigma2 / sigma2-hat.
    """
    s2 = np.asarray(sigma2_hat, dtype=float)
    quad = np.einsum("ri,ij,rj->r", delta, second_moment, delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s2 == 0, np.inf, 0.5 * (ratio_divergence(sigma2 / s2) + quad / s2))


# -- Poisson regression ------------------------------------------------------------------------------------
_SINHC_TERMS = 14
_B = bernoulli(2 * _SINHC_TERMS)
_COTH_COEF = np.array([4.0**k * _B[2 * k] / math.factorial(2 * k) for k in range(1, _SINHC_TERMS + 1)])
"""coth(a) - 1/a = sum_k c_k a^(2k-1), k >= 1 (c_k = 4^k B_2k / (2k)!); converges for |a| < pi."""
SINHC_SERIES_BELOW = 0.5
"""|a| below which log(sinh a / a) and coth a - 1/a use the series (14 terms: error < 1e-22 there)."""


def _odd_series(a: FloatArray, coefficients: FloatArray, power_offset: int) -> FloatArray:
    """sum_k coefficients[k-1] a^(2k + power_offset) by Horner's rule in a^2."""
    s = a * a
    out = np.zeros_like(a)
    for c in coefficients[::-1]:
        out = out * s + c
    return out * a ** (2 + power_offset)


def log_sinhc(a: ArrayLike) -> FloatArray:
    """log(sinh(a) / a), accurate to rounding for every real a (a^2/6 near 0, |a| - log(2|a|) far out)."""
    a = np.abs(np.asarray(a, dtype=float))
    small = a < SINHC_SERIES_BELOW
    series = _odd_series(np.where(small, a, 0.0), _COTH_COEF / (2 * np.arange(1, _SINHC_TERMS + 1)), 0)
    big = np.where(small, 1.0, a)
    direct = big + np.log1p(-np.exp(-2 * big)) - math.log(2.0) - np.log(big)
    return np.where(small, series, direct)


def coth_minus_inverse(a: ArrayLike) -> FloatArray:
    """coth(a) - 1/a (a/3 near 0), accurate to rounding for every real a."""
    a = np.asarray(a, dtype=float)
    small = np.abs(a) < SINHC_SERIES_BELOW
    series = _odd_series(np.where(small, a, 0.0), _COTH_COEF, -1)
    big = np.where(small, 1.0, a)
    return np.where(small, series, 1.0 / np.tanh(big) - 1.0 / big)


def log_mgf(kind: str, t: ArrayLike) -> FloatArray:
    """K(t) = log E[e^{t z}] of one standardised feature law.

    normal: t^2/2; uniform on (-sqrt 3, sqrt 3): log(sinh(a)/a), a = sqrt(3) t;
    Bernoulli(1/2) on {0, 1}: log((1 + e^t)/2).
    """
    t = np.asarray(t, dtype=float)
    if kind == "normal":
        return t * t / 2
    if kind == "bernoulli":
        return np.logaddexp(0.0, t) - math.log(2.0)
    return log_sinhc(math.sqrt(3.0) * t)


def log_mgf_derivative(kind: str, t: ArrayLike) -> FloatArray:
    """K'(t) = E[z e^{t z}] / E[e^{t z}]: the mean of the feature tilted by e^{t z}."""
    t = np.asarray(t, dtype=float)
    if kind == "normal":
        return t.copy()
    if kind == "bernoulli":
        return expit(t)
    return math.sqrt(3.0) * coth_minus_inverse(math.sqrt(3.0) * t)


def poisson_regression_kl(
    beta: ArrayLike,
    beta_hat: FloatArray,
    kind: str,
    covariance: FloatArray | None = None,
) -> FloatArray:
    """E_x KL(Poisson(e^{x'beta}) || Poisson(e^{x'beta-hat})) over a random design, in closed form.

    With c = E[e^eta] and the tilted features, KL = c [expm1mx(Delta) + R] where
    Delta = log E[e^{eta-hat}] - log E[e^eta] - L, L the part linear in delta = beta-hat - beta
    (so c L = E[e^eta x'delta]), and R >= 0 the Bregman remainder of the features'
    log mgf.  Normal features N(0, Sigma): log E[e^{b'z}] = b'Sigma b / 2, so
    R = delta_z' Sigma delta_z / 2.  Independent uniform or Bernoulli features: the
    log mgf is a sum over features, R = sum_j [K(b-hat_j) - K(b_j) - K'(b_j) delta_j].

    Parameters
    ----------
    beta : (p,) true coefficients, intercept first.
    beta_hat : (R, p) fitted coefficients.
    kind : 'normal', 'uniform' or 'bernoulli' (one law for every feature).
    covariance : (d, d) Sigma of normal features (identity when None).

    Returns
    -------
    (R,) per-observation KL.
    """
    beta = np.asarray(beta, dtype=float)
    bh = np.asarray(beta_hat, dtype=float)
    delta = bh - beta
    b, dz = beta[1:], delta[:, 1:]
    if kind == "normal":
        sigma = np.eye(len(b)) if covariance is None else covariance
        log_c = beta[0] + b @ sigma @ b / 2
        remainder = np.einsum("ri,ij,rj->r", dz, sigma, dz) / 2
    else:
        log_c = beta[0] + float(np.sum(log_mgf(kind, b)))
        slope = log_mgf_derivative(kind, b)
        remainder = np.sum(log_mgf(kind, bh[:, 1:]) - log_mgf(kind, b) - slope * dz, axis=1)
    # Delta - L = remainder: log E[e^{eta-hat}] - log c = delta_0 + L_z + remainder, and the
    # linear part delta_0 + L_z is exactly what E[e^eta x'delta] / c subtracts.
    with np.errstate(over="ignore", invalid="ignore"):
        linear = delta[:, 0] + (dz @ (sigma @ b) if kind == "normal" else dz @ slope)
        return math.exp(log_c) * (expm1mx(linear + remainder) + remainder)


def poisson_regression_kl_fixed(beta: ArrayLike, beta_hat: FloatArray, x: FloatArray) -> FloatArray:
    """Per-observation KL of Poisson regression averaged over the rows of a fixed design X (n, p).

    (1/n) sum_i mu_i expm1mx(eta-hat_i - eta_i), mu_i = e^{eta_i}.
    """
    beta = np.asarray(beta, dtype=float)
    eta = x @ beta
    mu = np.exp(eta)
    out = np.empty(len(beta_hat))
    step = max(1, (1 << 20) // max(1, len(x)))
    for start in range(0, len(beta_hat), step):
        diff = np.einsum("ni,ri->rn", x, beta_hat[start : start + step] - beta)
        out[start : start + step] = expm1mx(diff) @ mu / len(x)
    return out
