"""The three canonical-link GLM response laws, through their cumulant function.

With canonical link the log-likelihood of one observation is y'eta - A(eta), with
eta = B x the m linear predictors (B is (m, p)).  Everything the theory needs is a
derivative of A:

- the mean A'(eta) and the covariance V(eta) = A''(eta) of y given x (the weight
  of the information, m x m);
- the third cumulant T(eta) = A'''(eta), which sets the first-order bias.

``logistic``: A = log(1 + e^eta), V = mu(1 - mu), T = mu(1 - mu)(1 - 2 mu).
``poisson``:  A = e^eta, V = T = e^eta.
``softmax``:  A = log(1 + sum_k e^eta_k) over the K - 1 non-reference classes
(class 0 has eta = 0); V = diag(pi) - pi pi', and T_abc = pi_a d_ab d_ac
- pi_a pi_c d_ab - pi_a pi_b d_ac - pi_a pi_b d_bc + 2 pi_a pi_b pi_c.

Parameter order (all of ``mlestudy.theory``): logistic and Poisson beta[j],
j = 0..p-1 (beta[0] the intercept); softmax beta[k, j] for classes k = 1..K-1,
flattened row-major (k major, j minor) -- row k-1 of the (K-1, p) array is class k.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

FloatArray = NDArray[np.float64]
FAMILIES = ("logistic", "poisson", "softmax")


def coefficient_matrix(family: str, beta: ArrayLike) -> FloatArray:
    """beta as an (m, p) float array (m = 1 for logistic and Poisson, K - 1 for softmax), validated."""
    if family not in FAMILIES:
        raise ValueError(f"family = {family!r} is not allowed; use one of {', '.join(FAMILIES)}")
    b = np.asarray(beta, dtype=float)
    want = "a (K-1, p) array, one row per non-reference class" if family == "softmax" else "a 1-d array"
    if (family == "softmax" and b.ndim != 2) or (family != "softmax" and b.ndim != 1) or b.size == 0:
        raise ValueError(
            f"beta = {np.asarray(beta).tolist()!r} is not allowed for {family}; beta must be {want}"
        )
    if not np.all(np.isfinite(b)):
        raise ValueError(f"beta = {b.tolist()!r} is not allowed; every coefficient must be finite")
    return b if b.ndim == 2 else b[None, :]


def design_matrix(x: ArrayLike, p: int) -> FloatArray:
    """A fixed design (n, p) matching beta's p columns, finite."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != p or arr.shape[0] == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"design X of shape {arr.shape} is not allowed; X must be a finite (n, {p}) matrix, "
            "its first column the intercept"
        )
    return arr


def beta_key(beta: ArrayLike) -> tuple:
    """beta as a hashable nested tuple of floats (the cache key)."""
    b = np.asarray(beta, dtype=float)
    return tuple(map(tuple, b.tolist())) if b.ndim == 2 else tuple(b.tolist())


def parameter_names(family: str, beta: ArrayLike) -> list[str]:
    """Flat parameter names in the order every function here uses: beta[j], or beta[k,j] with k = 1..K-1."""
    b = coefficient_matrix(family, beta)
    if family != "softmax":
        return [f"beta[{j}]" for j in range(b.shape[1])]
    return [f"beta[{k + 1},{j}]" for k in range(b.shape[0]) for j in range(b.shape[1])]


def _softmax_probabilities(eta: FloatArray) -> FloatArray:
    """pi_k for the non-reference classes, by a shifted log-sum-exp (no overflow)."""
    top = np.maximum(eta.max(axis=1, keepdims=True), 0.0)
    e = np.exp(eta - top)
    return e / (np.exp(-top) + e.sum(axis=1, keepdims=True))


def mean(family: str, eta: FloatArray) -> FloatArray:
    """E[y | x] = A'(eta), (N, m)."""
    if family == "logistic":
        return expit(eta)
    if family == "poisson":
        return np.exp(eta)
    return _softmax_probabilities(eta)


def response_covariance(family: str, eta: FloatArray) -> FloatArray:
    """V(eta) = Cov[y | x] = A''(eta), (N, m, m): the per-observation information weight."""
    if family == "logistic":
        return (expit(eta) * expit(-eta))[:, :, None]
    if family == "poisson":
        return np.exp(eta)[:, :, None]
    pi = _softmax_probabilities(eta)
    return np.einsum("na,ab->nab", pi, np.eye(pi.shape[1])) - pi[:, :, None] * pi[:, None, :]


def third_cumulant_contraction(family: str, eta: FloatArray, q: FloatArray) -> FloatArray:
    """g_a = sum_bc T_abc(eta) q_bc for a symmetric (N, m, m) ``q``; returns (N, m).

    The bias needs T only contracted with x' [I^-1]_bc x, so T (m^3 per node) is never formed.
    """
    if family == "logistic":
        w = expit(eta) * expit(-eta)
        return -w * np.tanh(eta / 2) * q[:, :, 0]
    if family == "poisson":
        return np.exp(eta) * q[:, :, 0]
    pi = _softmax_probabilities(eta)
    diag = np.einsum("naa->na", q)
    q_pi = np.einsum("nab,nb->na", q, pi)
    pi_q_pi = np.einsum("na,na->n", pi, q_pi)
    pi_diag = np.einsum("na,na->n", pi, diag)
    return pi * (diag - 2 * q_pi - pi_diag[:, None] + 2 * pi_q_pi[:, None])


def kron_moment(weights: FloatArray, x: FloatArray) -> FloatArray:
    """sum_n W_n (x) x_n x_n' for (N, m, m) ``weights``: the (m p, m p) matrix in parameter order.

    A two-operand einsum (4x faster than the three-operand one), not BLAS: the
    same bits whatever the number of threads.
    """
    n, m, p = weights.shape[0], weights.shape[1], x.shape[1]
    xx = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    out = np.einsum("nA,nB->AB", weights.reshape(n, m * m), xx)
    return out.reshape(m, m, p, p).transpose(0, 2, 1, 3).reshape(m * p, m * p)
