"""Exact probability that the logistic MLE exists: intercept plus one Bernoulli(0.5) feature.

With one binary feature the design has two groups (z = 0 and z = 1) and the
likelihood factorises into one binomial per group, with success probabilities
p_0 = sigmoid(beta_0) and p_1 = sigmoid(beta_0 + beta_1).  The MLE exists if and
only if both groups are non-empty and each contains both outcomes: an empty group
leaves beta_1 unidentified (rank-deficient design), and a group with a single
outcome is (quasi-)completely separated, sending its logit to +-infinity.

A group of size k holds a single outcome with probability a(k) = p^k + (1-p)^k
(a(0) = 1 counts the empty group, a(1) = 1 a lone observation), so given the
group sizes (n_0, n_1) the MLE is missing with probability

    a_0(n_0) + a_1(n_1) - a_0(n_0) a_1(n_1)   (a sum of non-negative terms: no cancellation),

and a random design sums this over n_1 ~ Binomial(n, 1/2).  Exact, not asymptotic.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_expit
from scipy.stats import binom

from .design_laws import BERNOULLI_PROBABILITY


def _check(beta: ArrayLike) -> tuple[float, float]:
    b = np.asarray(beta, dtype=float)
    if b.shape != (2,) or not np.all(np.isfinite(b)):
        raise ValueError(
            f"beta = {np.asarray(beta).tolist()!r} is not allowed; the exact existence probability needs "
            "beta = [intercept, slope] (one bernoulli feature), finite"
        )
    return float(b[0]), float(b[1])


def _check_size(name: str, value: int, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ValueError(f"{name} = {value!r} is not allowed; {name} must be an integer >= {least}")
    return int(value)


def _single_outcome(eta: float, k: np.ndarray) -> np.ndarray:
    """a(k) = p^k + (1-p)^k for k >= 1 and a(0) = 1 (an empty group), p = sigmoid(eta).

    Powers from log-probabilities, so p^k underflows gracefully instead of losing digits.
    """
    k = np.asarray(k, dtype=float)
    return np.where(k == 0, 1.0, np.exp(k * log_expit(eta)) + np.exp(k * log_expit(-eta)))


def no_mle_probability_fixed_design(beta: ArrayLike, n0: int, n1: int) -> float:
    """P(no logistic MLE) given n0 rows with z = 0 and n1 rows with z = 1 (exact).

    Parameters
    ----------
    beta : [intercept, slope].
    n0, n1 : group sizes (>= 0).
    """
    b0, b1 = _check(beta)
    a0 = _single_outcome(b0, _check_size("n0", n0, 0))
    a1 = _single_outcome(b0 + b1, _check_size("n1", n1, 0))
    return float(a0 + a1 - a0 * a1)


def no_mle_probability(beta: ArrayLike, n: int) -> float:
    """P(no logistic MLE) for n i.i.d. rows with a Bernoulli(0.5) feature (exact; no cancellation).

    Parameters
    ----------
    beta : [intercept, slope].
    n : sample size (>= 1).

    Returns
    -------
    The probability, accurate to ~1e-13 relative even when it is 1e-60.
    """
    b0, b1 = _check(beta)
    n = _check_size("sample size n", n, 1)
    n1 = np.arange(n + 1)
    a0 = _single_outcome(b0, n - n1)
    a1 = _single_outcome(b0 + b1, n1)
    terms = binom.pmf(n1, n, BERNOULLI_PROBABILITY) * (a0 + a1 - a0 * a1)
    return float(min(1.0, np.sum(terms)))


def mle_existence_probability(beta: ArrayLike, n: int) -> float:
    """P(the logistic MLE exists) for n i.i.d. rows with a Bernoulli(0.5) feature (exact).

    Summed directly over the group sizes as P(n_1) (1 - a_0)(1 - a_1), so it stays
    accurate when the MLE rarely exists; see :func:`no_mle_probability` for the complement.

    Parameters
    ----------
    beta : [intercept, slope].
    n : sample size (>= 1).
    """
    b0, b1 = _check(beta)
    n = _check_size("sample size n", n, 1)
    n1 = np.arange(n + 1)
    both = (n1 >= 2) & (n - n1 >= 2)
    e0 = np.where(both, 1.0 - _single_outcome(b0, n - n1), 0.0)
    e1 = np.where(both, 1.0 - _single_outcome(b0 + b1, n1), 0.0)
    return float(np.sum(binom.pmf(n1, n, BERNOULLI_PROBABILITY) * np.clip(e0, 0, 1) * np.clip(e1, 0, 1)))
