"""Per-observation KL(true || fitted) of logistic and softmax regression, over the design, per replication.

With the canonical link the response given x has cumulant A(eta), eta = B x
(m = 1 logistic: A = softplus; m = K - 1 softmax: A(t) = log(1 + sum_k e^{t_k})),
and the KL of two fits is the Bregman divergence of A,

    D(eta, eta-hat) = A(eta-hat) - A(eta) - pi(eta)'(eta-hat - eta) = sum_k p_k log(p_k / p-hat_k) >= 0,

averaged over x: the n rows of a fixed design, or the design law.  For every
replication at once (no loop over replications):

- fixed design: the mean of D over the rows (exact);
- ``bernoulli`` features: the 2^d patterns of z, each with weight 2^-d (exact);
- ``uniform`` features: a product Gauss-Legendre rule on the cube, its order per
  feature set by the distance of the integrand's complex singularities
  (pi / (sqrt 3 |b_j|) in the unit interval, b_j the largest coefficient of feature
  j in the truth and the fit): the Bernstein-ellipse bound rho^(-2N) below
  :data:`UNIFORM_TOLERANCE`.  A replication needing more than ``budget`` nodes is
  not resolved (NaN; the summary counts them);
- ``normal`` features, z ~ N(0, Sigma): the linear predictors are jointly normal,
  so by the Bregman form and Stein's lemma (E[g(z) z] = Sigma E[grad g])

      KL = E[A(eta-hat)] - E[A(eta)] - sum_k E[pi_k] delta_k0 - sum_kl E[V_kl] delta_kz' Sigma b_l,

  delta = B-hat - B, V = diag(pi) - pi pi'.  E[A(eta-hat)] is an m-dimensional normal
  expectation per replication (:mod:`.logsumexp_gauss`: exact for m <= 2 at every
  scale); the truth's E[A], E[pi] and E[V] are computed once.

Parameter order: :mod:`.glm_families` (beta is (m, p), intercept first).
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_softmax, roots_legendre

from .design_laws import BERNOULLI_PROBABILITY, UNIFORM_HALF_WIDTH, check_design, equicorrelation
from .design_quadrature import expectation
from .glm_families import coefficient_matrix
from .logistic_gauss import gauss_expectation, softplus
from .logsumexp_gauss import TENSOR_BUDGET, logsumexp_gauss

FloatArray = NDArray[np.float64]

UNIFORM_TOLERANCE = 1e-14
"""Target of the a-priori error bound of the uniform-feature rule (per feature)."""
UNIFORM_ORDERS = (
    2,
    3,
    4,
    6,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
    1536,
    2048,
    3072,
    4096,
)
CHUNK = 1 << 20
"""Elements (replications x nodes x classes) evaluated at once."""


def log_probabilities(eta: FloatArray) -> FloatArray:
    """log p_k for k = 0..m (class 0 the reference, eta = 0), by a stable log-softmax; shape (..., m + 1)."""
    zero = np.zeros(eta.shape[:-1] + (1,))
    return log_softmax(np.concatenate([zero, eta], axis=-1), axis=-1)


def cumulant(eta: FloatArray) -> FloatArray:
    """A(eta) = log(1 + sum_k e^{eta_k}) over the last axis, as softplus steps (fast, no overflow).

    log(e^a + e^t) = a + softplus(t - a), starting from a = softplus(eta_1).
    """
    a = softplus(eta[..., 0])
    for k in range(1, eta.shape[-1]):
        a += softplus(eta[..., k] - a)
    return a


def divergence(eta: FloatArray, eta_hat: FloatArray) -> FloatArray:
    """D(eta, eta-hat) = sum_k p_k (log p_k - log p-hat_k) over the last axis (m predictors)."""
    log_p, log_q = log_probabilities(eta), log_probabilities(eta_hat)
    return np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)


def mean_divergence(b: FloatArray, b_hat: FloatArray, x: FloatArray, weights: FloatArray) -> FloatArray:
    """sum_i w_i D(B x_i, B-hat_r x_i) for every replication r, in the Bregman form.

    sum_i w_i D_i = sum_i w_i A(B-hat x_i) - sum_i w_i A(B x_i) - sum_k delta_k' sum_i w_i pi_k(B x_i) x_i:
    everything but the first sum is computed once for the truth, so a replication costs one
    cumulant per node.  The parts are O(1) and their difference O(|delta|^2): rounding leaves
    an absolute error of ~1e-16 sqrt(N), far below any KL a study meets.

    Parameters
    ----------
    b : (m, p) true coefficients.
    b_hat : (R, m, p) fitted coefficients.
    x : (N, p) design rows (intercept first); weights : (N,) summing to 1.

    Returns
    -------
    (R,) weighted sums.
    """
    eta = x @ b.T  # (N, m)
    a_true = float(cumulant(eta) @ weights)
    tilted = np.exp(log_probabilities(eta))[:, 1:]  # pi_k at each node
    gradient = np.einsum("n,nk,ni->ki", weights, tilted, x)  # sum_i w_i pi_k(eta_i) x_i
    out = np.empty(len(b_hat))
    step = max(1, CHUNK // max(1, x.shape[0] * b.shape[0]))
    for a in range(0, len(b_hat), step):
        bh = b_hat[a : a + step]
        eta_hat = np.einsum("ni,rki->rnk", x, bh)
        out[a : a + step] = cumulant(eta_hat) @ weights - a_true - np.einsum("rki,ki->r", bh - b, gradient)
    return out


# -- design laws -------------------------------------------------------------------------------------------
def _enumeration(d: int) -> tuple[FloatArray, FloatArray]:
    """The 2^d Bernoulli patterns as design rows (1, z) and their probabilities."""
    z = np.array(list(itertools.product((0.0, 1.0), repeat=d))).reshape(-1, d)
    k = z.sum(axis=1)
    weights = BERNOULLI_PROBABILITY**k * (1 - BERNOULLI_PROBABILITY) ** (d - k)
    return np.column_stack([np.ones(len(z)), z]), weights


@cache
def _legendre(order: int) -> tuple[FloatArray, FloatArray]:
    x, w = roots_legendre(order)
    return UNIFORM_HALF_WIDTH * x, w / 2


def uniform_orders(slopes: FloatArray, classes: int = 1) -> NDArray[np.int64]:
    """Gauss-Legendre nodes per feature for slopes |b_j| (the largest coefficient of feature j).

    A linear predictor t = c + b_j z_j over z_j in (-sqrt 3, sqrt 3) is t = c + a x, x in
    (-1, 1), a = sqrt(3) |b_j|.  softplus has poles at t = +-i pi, so the integrand is
    analytic inside the Bernstein ellipse rho = delta + sqrt(1 + delta^2), delta = pi / a,
    and N nodes err by ~rho^(-2N) (measured 10x below that for softplus, a = 0.25 .. 8).
    N is the smallest of :data:`UNIFORM_ORDERS` with rho^(-2N) <= :data:`UNIFORM_TOLERANCE`;
    with several classes a is taken 1.5 times larger (the softmax cumulant's complex zeros
    can lie nearer: a margin, checked against adaptive quadrature in the tests).
    """
    a = UNIFORM_HALF_WIDTH * np.asarray(slopes, dtype=float) * (1.5 if classes > 1 else 1.0)
    with np.errstate(divide="ignore"):
        delta = math.pi / a
        rho = delta + np.sqrt(1 + delta * delta)
        need = np.where(a > 0, math.log(1 / UNIFORM_TOLERANCE) / (2 * np.log(rho)), 1.0)
    levels = np.asarray(UNIFORM_ORDERS)
    index = np.searchsorted(levels, need)
    return np.where(index < len(levels), levels[np.minimum(index, len(levels) - 1)], 0)


def _uniform(b: FloatArray, b_hat: FloatArray, budget: int) -> FloatArray:
    slopes = np.maximum(np.abs(b[None, :, 1:]), np.abs(b_hat[:, :, 1:])).max(axis=1)  # (R, d)
    orders = uniform_orders(slopes, b.shape[0])
    out = np.full(len(b_hat), np.nan)
    ok = (orders > 0).all(axis=1) & (np.prod(orders.astype(float), axis=1) <= budget)
    for combo in {tuple(o) for o in orders[ok]}:
        rows = np.flatnonzero(ok & (orders == combo).all(axis=1))
        rules = [_legendre(int(o)) for o in combo]
        z = np.array(list(itertools.product(*[r[0] for r in rules])))
        w = np.prod(np.array(list(itertools.product(*[r[1] for r in rules]))), axis=1)
        out[rows] = mean_divergence(b, b_hat[rows], np.column_stack([np.ones(len(z)), z]), w)
    return out


@cache
def _normal_constants(beta: tuple, correlation: float) -> tuple[float, FloatArray, FloatArray]:
    """E[A(eta)], E[pi(eta)] (m,), E[V(eta)] (m, m) of the truth under normal features."""
    b = coefficient_matrix("softmax" if isinstance(beta[0], tuple) else "logistic", beta)
    m, p = b.shape
    sigma = equicorrelation(p - 1, correlation)
    cov = b[:, 1:] @ sigma @ b[:, 1:].T
    a_mean = float(logsumexp_gauss(b[None, :, 0], cov[None])[0])
    if m == 1:
        s = math.sqrt(max(cov[0, 0], 0.0))
        pi = gauss_expectation("sigmoid", b[0, 0], s).reshape(1)
        v = gauss_expectation("sigmoid_prime", b[0, 0], s).reshape(1, 1)
        return a_mean, pi, v

    def integrand(z: FloatArray, w: FloatArray) -> FloatArray:
        x = np.column_stack([np.ones(len(z)), z])
        prob = np.exp(log_probabilities(x @ b.T))[:, 1:]
        var = np.einsum("na,ab->nab", prob, np.eye(m)) - prob[:, :, None] * prob[:, None, :]
        return np.concatenate([prob, var.reshape(len(z), -1)], axis=1).T @ w

    value = expectation(integrand, "normal", p - 1, correlation, b[:, 1:].T).value
    return a_mean, value[:m], value[m:].reshape(m, m)


def _normal(b: FloatArray, b_hat: FloatArray, correlation: float) -> FloatArray:
    key = tuple(map(tuple, b.tolist())) if len(b) > 1 else tuple(b[0].tolist())
    a_true, pi, v = _normal_constants(key, float(correlation))
    sigma = equicorrelation(b.shape[1] - 1, correlation)
    slopes_hat = b_hat[:, :, 1:]
    cov_hat = np.einsum("rki,ij,rlj->rkl", slopes_hat, sigma, slopes_hat)
    a_hat = logsumexp_gauss(b_hat[:, :, 0], cov_hat)
    delta = b_hat - b
    linear = delta[:, :, 0] @ pi + np.einsum("kl,rki,ij,lj->r", v, delta[:, :, 1:], sigma, b[:, 1:])
    return a_hat - a_true - linear


def categorical_kl(
    family: str,
    beta: ArrayLike,
    beta_hat: ArrayLike,
    *,
    features: str | None = None,
    correlation: float = 0.0,
    x: ArrayLike | None = None,
    budget: int = TENSOR_BUDGET,
) -> FloatArray:
    """Per-observation KL of the true model against each fitted one, over the design.

    Parameters
    ----------
    family : 'logistic' or 'softmax'.
    beta : (p,) or, for softmax, (K-1, p) true coefficients.
    beta_hat : (R, p) or (R, K-1, p) fitted coefficients (flat (R, (K-1) p) is reshaped).
    features, correlation : the random design's law (:mod:`.design_laws`), or
    x : (n, p) a fixed design (then ``features`` is ignored).
    budget : most quadrature nodes per replication (uniform features; normal with K >= 4).

    Returns
    -------
    (R,) KL >= 0 (rounding may leave -1e-16); NaN where beta-hat has a NaN or the
    quadrature would exceed ``budget``.
    """
    if family not in ("logistic", "softmax"):
        raise ValueError(f"family = {family!r} is not allowed; use 'logistic' or 'softmax'")
    b = coefficient_matrix(family, beta)
    m, p = b.shape
    bh = np.asarray(beta_hat, dtype=float).reshape(-1, m, p)
    out = np.full(len(bh), np.nan)
    ok = np.isfinite(bh).all(axis=(1, 2))
    if not ok.any():
        return out
    with np.errstate(over="ignore", under="ignore"):
        if x is not None:
            rows = np.asarray(x, dtype=float)
            out[ok] = mean_divergence(b, bh[ok], rows, np.full(len(rows), 1.0 / len(rows)))
            return out
        check_design(features, p - 1, correlation)
        if features == "bernoulli" and 2 ** (p - 1) > budget:
            return out
        if features == "bernoulli":
            rows, weights = _enumeration(p - 1)
            out[ok] = mean_divergence(b, bh[ok], rows, weights)
        elif features == "uniform":
            out[ok] = _uniform(b, bh[ok], budget)
        else:
            out[ok] = _normal(b, bh[ok], correlation)
    return out
