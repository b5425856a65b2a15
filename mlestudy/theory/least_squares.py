"""Least squares on a GLM response: the sandwich covariance and its efficiency against the MLE.

Minimising sum_i |y_i - mu(B x_i)|^2 instead of maximising the likelihood (MSE
on a binary outcome, issue 10) solves sum_i J_i'(y_i - mu_i) = 0 with the
Jacobian J_i = V(eta_i) (x) x_i' of the mean (canonical link: d mu / d eta = V).
Its estimating equation is unbiased, so the estimator is consistent, and as an
M-estimator its asymptotic covariance is the sandwich A^-1 B A^-1 / n with

    A = E[J'J] = E[V^2 (x) x x'],   B = E[J' Cov(y|x) J] = E[V^3 (x) x x'].

For logistic regression V = w = mu(1 - mu): A = E[w^2 x x'], B = E[w^3 x x'].
Its asymptotic relative efficiency against the MLE is [I_1^-1]_jj / V_jj per
coefficient, <= 1 (Cramer-Rao).  First-order (asymptotic) theory: the finite-n
variance ratio approaches it as n grows.  Parameter order: :mod:`.glm_families`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from .design_laws import check_design
from .design_quadrature import FloatArray, expectation
from .glm_families import beta_key, coefficient_matrix, design_matrix, kron_moment, response_covariance
from .glm_information import expected_information, inverse_information


def _sandwich_moments(family: str, b: FloatArray, x: FloatArray, w: FloatArray) -> FloatArray:
    """(sum w V^2 (x) xx', sum w V^3 (x) xx') stacked as (2, q, q)."""
    v = response_covariance(family, x @ b.T)
    v2 = v @ v
    return np.stack([kron_moment(v2 * w[:, None, None], x), kron_moment(v2 @ v * w[:, None, None], x)])


def _sandwich(a: FloatArray, b: FloatArray) -> FloatArray:
    a_inv = inverse_information(a, "least-squares Hessian E[V^2 (x) xx']")
    out = a_inv @ b @ a_inv
    return (out + out.T) / 2


def least_squares_sandwich_fixed_design(family: str, beta: ArrayLike, x: ArrayLike) -> FloatArray:
    """Asymptotic covariance of least squares given the fixed design X: A^-1 B A^-1 (first-order theory).

    A = sum_i V_i^2 (x) x_i x_i', B = sum_i V_i^3 (x) x_i x_i' at the true beta (sums, not means).

    Parameters
    ----------
    family : 'logistic', 'poisson' or 'softmax'.
    beta : (p,) coefficients, or (K-1, p) for softmax.
    x : (n, p) design matrix, first column the intercept.

    Returns
    -------
    (q, q) array in parameter order.
    """
    b = coefficient_matrix(family, beta)
    arr = design_matrix(x, b.shape[1])
    a_mat, b_mat = _sandwich_moments(family, b, arr, np.ones(len(arr)))
    return _sandwich(a_mat, b_mat)


@lru_cache(maxsize=256)
def _least_squares_sandwich(family: str, beta: tuple, features: str, correlation: float) -> FloatArray:
    b = coefficient_matrix(family, beta)
    d = b.shape[1] - 1
    check_design(features, d, correlation)

    def integrand(z: FloatArray, w: FloatArray) -> FloatArray:
        return _sandwich_moments(family, b, np.column_stack([np.ones(len(z)), z]), w)

    a_mat, b_mat = expectation(integrand, features, d, correlation, b[:, 1:].T).value
    out = _sandwich(a_mat, b_mat)
    out.setflags(write=False)
    return out


def least_squares_sandwich(
    family: str, beta: ArrayLike, features: str, correlation: float = 0.0
) -> FloatArray:
    """Per-observation asymptotic covariance A^-1 B A^-1 of least squares in a random design.

    n Cov(beta-hat) -> this as n grows (first-order, asymptotic theory); accurate
    to ~1e-13 as a quadrature.

    Parameters
    ----------
    family, beta, features, correlation : as :func:`.glm_information.expected_information`.

    Returns
    -------
    (q, q) array in parameter order.
    """
    check_design(features, coefficient_matrix(family, beta).shape[1] - 1, correlation)
    return _least_squares_sandwich(family, beta_key(beta), features, float(correlation)).copy()


def least_squares_efficiency(
    family: str, beta: ArrayLike, features: str, correlation: float = 0.0
) -> FloatArray:
    """Asymptotic relative efficiency of least squares against the MLE per coefficient: [I_1^-1]_jj / V_jj.

    For logistic beta = (-0.5, 1, -1, 0.5, 0.25) with normal features: 0.9195,
    0.8664, 0.8664, 0.9115, 0.9279 (issue 10 quotes 0.920, 0.866, 0.866, 0.912, 0.928).

    Parameters
    ----------
    family, beta, features, correlation : as :func:`.glm_information.expected_information`.

    Returns
    -------
    (q,) array in parameter order, each in (0, 1].
    """
    crlb = np.diag(inverse_information(expected_information(family, beta, features, correlation)))
    return crlb / np.diag(least_squares_sandwich(family, beta, features, correlation))
