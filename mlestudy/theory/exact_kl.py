"""Exact finite-n expectations of the per-observation KL(true || fitted) where they exist.

The summary's ``kl`` averages the KL over the replications where it is finite, so
each function here is the expectation of exactly that: unconditional where the KL
is always finite, conditional on a finite KL (the fit off the boundary) for the
Bernoulli and Poisson families, whose unconditional E[KL] is infinite.  ``inf``
where the expectation itself is infinite, NaN where it is undefined.

Derivations (W ~ chi2_nu, E[log W] = psi(nu/2) + log 2, E[1/W] = 1/(nu - 2) for nu > 2):

- Normal MLE (k = 2): KL = 1/2 [r - 1 - log r + (mu-hat - mu)^2 / sigma2-hat] with
  n sigma2-hat / sigma2 = W ~ chi2_{n-1} independent of sqrt(n)(mu-hat - mu)/sigma = Z, so
  r = n / W and the last term is Z^2 / W:
  E[KL] = 1/2 [psi((n-1)/2) + log(2/n) + (n + 1)/(n - 3) - 1], finite for n > 3.
- Exponential: KL = r - 1 - log r, r = rate-hat / rate = c / G with G = rate * sum(x) ~ Gamma(n, 1),
  c = n (MLE) or n - 1 (unbiased): E[KL] = c/(n - 1) - 1 - log c + psi(n), i.e.
  psi(n) - log n + 1/(n - 1) (MLE) and psi(n) - log(n - 1) (unbiased), finite for n > 1.
- Linear regression, MLE (k = p + 1), given X: beta-hat - beta ~ N(0, sigma2 (X'X)^-1)
  independent of RSS = sigma2 W, W ~ chi2_{n-p}, and KL = 1/2 [r - 1 - log r + delta' M delta / sigma2-hat],
  r = n / W, M = E[x x'] (random) or X'X / n (fixed).  E[delta' M delta / sigma2-hat] =
  tr(M E[(X'X)^-1]) n / (n - p - 2):
  fixed design: 1/2 [psi((n-p)/2) + log(2/n) + n/(n-p-2) - 1] + p / (2 (n - p - 2));
  random Gaussian design x = (1, z), z ~ N(0, Sigma) (any Sigma): E[(X'X)^-1] has
  intercept entry 1/n + d/(n (n - d - 2)) and slope block Sigma^-1 / (n - d - 2), zero
  in between, so tr(M E[(X'X)^-1]) = 1/n + d (n + 1) / (n (n - p - 1)) with d = p - 1:
  1/2 [psi((n-p)/2) + log(2/n) + n/(n-p-2) - 1] + [1 + d (n + 1)/(n - p - 1)] / (2 (n - p - 2)).
  Both finite for n > p + 2.
- Bernoulli: E[KL | 0 < k < n] = sum_{k=1}^{n-1} P(k) KL(p, k/n) / (1 - p^n - (1 - p)^n).
- Poisson: E[KL | sum x > 0] = sum_{t >= 1} P(t) KL(lambda, t/n) / (1 - e^{-n lambda}), T ~ Poisson(n lambda)
  (summed until the tail is below 1e-17).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import psi

from .kl_divergence import bernoulli_kl, poisson_kl


def _variance_part(nu: int, n: int) -> float:
    """E[r - 1 - log r] for r = n / W, W ~ chi2_nu: psi(nu/2) + log(2/n) + n/(nu - 2) - 1 (nu > 2)."""
    return float(psi(nu / 2) + math.log(2.0 / n) + n / (nu - 2) - 1.0)


def normal_mle_kl(n: int) -> float:
    """E[KL] of the normal MLE (x-bar, RSS/n) at n; ``inf`` for n <= 3."""
    if n <= 3:
        return math.inf
    return 0.5 * _variance_part(n - 1, n) + 0.5 / (n - 3)


def exponential_kl(n: int, numerator: int) -> float:
    """E[KL] of rate-hat = numerator / sum(x) (n: the MLE; n - 1: unbiased); ``inf`` for n <= 1."""
    if n <= 1:
        return math.inf
    return float(numerator / (n - 1) - 1.0 - math.log(numerator) + psi(n))


def linear_regression_fixed_kl(n: int, p: int) -> float:
    """E[KL] of the linear-regression MLE for any fixed full-rank design with p columns; ``inf`` for n <= p + 2."""
    if n <= p + 2:
        return math.inf
    return 0.5 * _variance_part(n - p, n) + p / (2 * (n - p - 2))


def linear_regression_gaussian_kl(n: int, p: int) -> float:
    """E[KL] of the linear-regression MLE for a random design of p - 1 normal features (any correlation)."""
    if n <= p + 2:
        return math.inf
    d = p - 1
    return 0.5 * _variance_part(n - p, n) + (1.0 + d * (n + 1) / (n - p - 1)) / (2 * (n - p - 2))


def bernoulli_conditional_kl(prob: float, n: int) -> float:
    """E[KL | 0 < k < n] of p-hat = k/n (the KL is infinite on the boundary); NaN for n = 1."""
    if n < 2:
        return math.nan
    from scipy import stats  # here, not at the top: importing scipy.stats costs every aggregate job 0.6 s

    k = np.arange(1, n)
    weights = stats.binom.pmf(k, n, prob)
    inside = 1.0 - prob**n - (1.0 - prob) ** n
    return float(weights @ bernoulli_kl(prob, k / n) / inside)


MAX_TERMS = 2_000_000
"""Most terms :func:`poisson_conditional_kl` sums (n rate up to about 6e8)."""


def poisson_conditional_kl(rate: float, n: int) -> float:
    """E[KL | sum x > 0] of rate-hat = x-bar (the KL is infinite at rate-hat = 0)."""
    mean = n * rate
    top = math.ceil(mean + 40 * math.sqrt(mean) + 60)  # P(T > top) < 1e-17 (Chernoff)
    bottom = max(1, math.floor(mean - 40 * math.sqrt(mean)))  # P(T < bottom) < 1e-17 likewise
    if top - bottom > MAX_TERMS:
        return math.nan  # a rate far beyond any count table: no exact value rather than a huge array
    from scipy import stats  # see bernoulli_conditional_kl

    t = np.arange(bottom, top + 1)
    weights = stats.poisson.pmf(t, mean)
    return float(weights @ poisson_kl(rate, t / n) / -math.expm1(-mean))
