"""First-order bias of the GLM maximum-likelihood estimator (Cordeiro & McCullagh 1991).

APPROXIMATE theory: this is the O(1/n) term of the bias only.  The true bias of
the MLE (conditional on its existence) differs at O(1/n^2): for logistic
regression at n = 50 it is about 1.4 times this, and the ratio tends to 1 as n
grows.  Never judge a simulation against it as if it were exact.

With canonical link the second derivatives of the log-likelihood are not random,
so the Cox-Snell formula keeps only the third cumulants: with I = X'WX and
T_i = A'''(eta_i) (:mod:`.glm_families`),

    b = -1/2 I^-1 sum_i g_i (x) x_i,   g_ia = sum_bc T_abc(eta_i) x_i' [I^-1]_bc x_i.

For logistic regression g_i = mu_i(1 - mu_i)(1 - 2 mu_i) x_i' I^-1 x_i, which is
Cordeiro & McCullagh's b = I^-1 sum_i x_i h_i (mu_i - 1/2), h_i the hat-matrix
diagonal; for Poisson (log link) b = -1/2 I^-1 sum_i x_i h_i; softmax uses the
multinomial third cumulant.

A random design has the same O(1/n) term with X'WX replaced by n I_1 and sums by
n expectations over the design law: b = b_1 / n with

    b_1 = -1/2 I_1^-1 E[g(x) (x) x],   g computed with I_1^-1.

For Poisson with normal features b_1 is closed: under the tilt e^{b'z} the
features are N(Sigma b, Sigma), and b_1 = -(d + 1) / (2c) e_0 with
c = exp(beta_0 + b'Sigma b / 2): only the intercept is biased at first order.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from .design_laws import check_design, equicorrelation
from .design_quadrature import Expectation, FloatArray, expectation
from .glm_families import (
    beta_key,
    coefficient_matrix,
    design_matrix,
    kron_moment,
    response_covariance,
    third_cumulant_contraction,
)
from .glm_information import expected_information, inverse_information


def quadratic_forms(x: FloatArray, inverse: FloatArray, m: int) -> FloatArray:
    """q[n, b, c] = x_n' [inverse]_bc x_n for the p x p blocks of a (m p, m p) matrix, (N, m, m)."""
    n, p = x.shape
    blocks = inverse.reshape(m, p, m, p).transpose(0, 2, 1, 3).reshape(m * m, p * p)
    xx = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    return np.einsum("nJ,BJ->nB", xx, blocks).reshape(n, m, m)


def _third_moment_sum(
    family: str, b: FloatArray, x: FloatArray, inverse: FloatArray, w: FloatArray
) -> FloatArray:
    """sum_n w_n g_n (x) x_n in parameter order, g from the third cumulant contracted with ``inverse``."""
    eta = x @ b.T
    g = third_cumulant_contraction(family, eta, quadratic_forms(x, inverse, b.shape[0]))
    return np.einsum("na,nj->aj", g * w[:, None], x).reshape(-1)


def first_order_bias_fixed_design(family: str, beta: ArrayLike, x: ArrayLike) -> FloatArray:
    """APPROXIMATE O(1/n) bias of the MLE given the fixed design X.

    b = -1/2 (X'WX)^-1 sum_i g_i (x) x_i at the true beta (module docstring); for
    logistic regression (X'WX)^-1 sum_i x_i h_i (mu_i - 1/2).  The true bias differs
    at O(1/n^2).

    Parameters
    ----------
    family : 'logistic', 'poisson' or 'softmax'.
    beta : (p,) coefficients, or (K-1, p) for softmax.
    x : (n, p) design matrix, first column the intercept.

    Returns
    -------
    (q,) array in parameter order.
    """
    b = coefficient_matrix(family, beta)
    arr = design_matrix(x, b.shape[1])
    inverse = inverse_information(kron_moment(response_covariance(family, arr @ b.T), arr), "X'WX")
    return -0.5 * inverse @ _third_moment_sum(family, b, arr, inverse, np.ones(len(arr)))


def bias_coefficient_by_quadrature(
    family: str, beta: ArrayLike, features: str, correlation: float = 0.0
) -> Expectation:
    """E[g(x) (x) x] (with I_1^-1 inside g) by quadrature; b_1 = -1/2 I_1^-1 times its value."""
    b = coefficient_matrix(family, beta)
    d = b.shape[1] - 1
    check_design(features, d, correlation)
    inverse = inverse_information(expected_information(family, beta, features, correlation))

    def integrand(z: FloatArray, w: FloatArray) -> FloatArray:
        return _third_moment_sum(family, b, np.column_stack([np.ones(len(z)), z]), inverse, w)

    return expectation(integrand, features, d, correlation, b[:, 1:].T)


def poisson_normal_bias_coefficient(beta: ArrayLike, correlation: float = 0.0) -> FloatArray:
    """Closed-form b_1 of Poisson regression with normal features: -(d + 1) / (2c) on the intercept only."""
    b = coefficient_matrix("poisson", beta)[0]
    d = b.size - 1
    check_design("normal", d, correlation)
    c = math.exp(b[0] + b[1:] @ equicorrelation(d, correlation) @ b[1:] / 2)
    out = np.zeros(d + 1)
    out[0] = -(d + 1) / (2 * c)
    return out


@lru_cache(maxsize=256)
def _bias_coefficient(family: str, beta: tuple, features: str, correlation: float) -> FloatArray:
    if family == "poisson" and features == "normal":
        out = poisson_normal_bias_coefficient(beta, correlation)
    else:
        inverse = inverse_information(expected_information(family, beta, features, correlation))
        out = -0.5 * inverse @ bias_coefficient_by_quadrature(family, beta, features, correlation).value
    out.setflags(write=False)
    return out


def first_order_bias_coefficient(
    family: str, beta: ArrayLike, features: str, correlation: float = 0.0
) -> FloatArray:
    """b_1 with bias ~ b_1 / n in a random-design study: APPROXIMATE (first-order) theory.

    Accurate to ~1e-13 as a quadrature (closed form for Poisson with normal
    features); as a description of the MLE's bias it is only the O(1/n) term.

    Parameters
    ----------
    family, beta, features, correlation : as :func:`.glm_information.expected_information`.

    Returns
    -------
    (q,) array in parameter order.
    """
    check_design(features, coefficient_matrix(family, beta).shape[1] - 1, correlation)
    return _bias_coefficient(family, beta_key(beta), features, float(correlation)).copy()


def first_order_bias(
    family: str, beta: ArrayLike, features: str, n: int, correlation: float = 0.0
) -> FloatArray:
    """APPROXIMATE O(1/n) bias b_1 / n of the MLE in a random-design study of size n.

    Parameters
    ----------
    family, beta, features, correlation : as :func:`.glm_information.expected_information`.
    n : sample size.

    Returns
    -------
    (q,) array in parameter order.
    """
    if n < 1:
        raise ValueError(f"sample size n = {n!r} is not allowed; n must be >= 1")
    return first_order_bias_coefficient(family, beta, features, correlation) / n
