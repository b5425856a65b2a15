"""Expected Fisher information and Cramer-Rao bounds of logistic, Poisson and softmax regression.

A random-design study draws a new design every replication, so its bound is
diag(inv(n I_1)) with the per-observation information I_1 = E[V(eta) (x) x x']
over the design law (:mod:`.design_laws`); a fixed design's bound is
diag(inv(X'WX)) at the true beta, conditional on that X.  I_1 comes from the
quadrature of :mod:`.design_quadrature`, except Poisson with normal features,
which has a closed form: under the tilt e^{b'z} the features are N(Sigma b, Sigma), so
with c = exp(beta_0 + b'Sigma b / 2) and m = Sigma b

    I_1 = c [[1, m'], [m, Sigma + m m']],   I_1^-1 = (1/c) [[1 + b'Sigma b, -b'], [-b, Sigma^-1]].

Both bounds are exact statements about the information, not approximations.
Parameter order: :mod:`.glm_families`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from .design_laws import check_design, equicorrelation
from .design_quadrature import Expectation, FloatArray, expectation
from .glm_families import beta_key, coefficient_matrix, design_matrix, kron_moment, response_covariance


def information_fixed_design(family: str, beta: ArrayLike, x: ArrayLike) -> FloatArray:
    """X'WX = sum_i V(eta_i) (x) x_i x_i' at the true beta: the information of a fixed design.

    Parameters
    ----------
    family : 'logistic', 'poisson' or 'softmax'.
    beta : (p,) coefficients, or (K-1, p) for softmax.
    x : (n, p) design matrix, first column the intercept.

    Returns
    -------
    (q, q) array in parameter order (q = p, or (K-1) p for softmax).
    """
    b = coefficient_matrix(family, beta)
    arr = design_matrix(x, b.shape[1])
    return kron_moment(response_covariance(family, arr @ b.T), arr)


def information_by_quadrature(
    family: str, beta: ArrayLike, features: str, correlation: float = 0.0
) -> Expectation:
    """I_1 = E[V(eta) (x) x x'] by quadrature, with the order reached and its last change."""
    b = coefficient_matrix(family, beta)
    d = b.shape[1] - 1
    check_design(features, d, correlation)

    def integrand(z: FloatArray, w: FloatArray) -> FloatArray:
        x = np.column_stack([np.ones(len(z)), z])
        return kron_moment(response_covariance(family, x @ b.T) * w[:, None, None], x)

    return expectation(integrand, features, d, correlation, b[:, 1:].T)


def poisson_normal_information(beta: ArrayLike, correlation: float = 0.0) -> FloatArray:
    """Closed-form I_1 of Poisson regression with normal features (module docstring)."""
    b = coefficient_matrix("poisson", beta)[0]
    d = b.size - 1
    check_design("normal", d, correlation)
    sigma = equicorrelation(d, correlation)
    m = sigma @ b[1:]
    c = np.exp(b[0] + b[1:] @ m / 2)
    info = np.empty((d + 1, d + 1))
    info[0, 0] = 1.0
    info[0, 1:] = info[1:, 0] = m
    info[1:, 1:] = sigma + np.outer(m, m)
    return c * info


def poisson_normal_information_inverse(beta: ArrayLike, correlation: float = 0.0) -> FloatArray:
    """Closed-form I_1^-1 of Poisson regression with normal features (module docstring)."""
    b = coefficient_matrix("poisson", beta)[0]
    d = b.size - 1
    check_design("normal", d, correlation)
    sigma = equicorrelation(d, correlation)
    slopes = b[1:]
    c = np.exp(b[0] + slopes @ sigma @ slopes / 2)
    inv = np.empty((d + 1, d + 1))
    inv[0, 0] = 1.0 + slopes @ sigma @ slopes
    inv[0, 1:] = inv[1:, 0] = -slopes
    inv[1:, 1:] = np.linalg.inv(sigma)
    return inv / c


@lru_cache(maxsize=256)
def _expected_information(family: str, beta: tuple, features: str, correlation: float) -> FloatArray:
    if family == "poisson" and features == "normal":
        info = poisson_normal_information(beta, correlation)
    else:
        info = information_by_quadrature(family, beta, features, correlation).value
    if not np.all(np.isfinite(info)):
        raise ValueError(f"{family} with beta = {list(beta)!r}: the information is not finite in float64")
    info.setflags(write=False)
    return info


def expected_information(family: str, beta: ArrayLike, features: str, correlation: float = 0.0) -> FloatArray:
    """The per-observation expected information I_1 = E[V(eta) (x) xx'] of a random design.

    Accurate to ~1e-13 relative to its largest entry (two quadrature orders agree to
    1e-11; closed form for Poisson with normal features); cached, so repeated calls
    for a scenario cost nothing.

    Parameters
    ----------
    family : 'logistic', 'poisson' or 'softmax'.
    beta : (p,) coefficients, or (K-1, p) for softmax (row k-1 = class k; class 0 the reference).
    features : 'normal', 'uniform' or 'bernoulli' (:mod:`.design_laws`); p - 1 features.
    correlation : equicorrelation of normal features (0 for the others).

    Returns
    -------
    (q, q) array in parameter order (q = p, or (K-1) p for softmax; beta[k, j] row-major).
    """
    check_design(features, coefficient_matrix(family, beta).shape[1] - 1, correlation)
    return _expected_information(family, beta_key(beta), features, float(correlation)).copy()


def inverse_information(info: FloatArray, what: str = "information") -> FloatArray:
    """inv(info) by Cholesky; ``ValueError`` naming ``what`` when it is singular to working precision.

    Singular means an eigenvalue below q * machine epsilon times the largest (a
    design without full rank, an unidentified coefficient), where the inverse
    would be rounding noise.
    """
    eig = np.linalg.eigvalsh(info)
    if not (eig[0] > len(info) * np.finfo(float).eps * eig[-1] > 0):
        raise ValueError(f"the {what} matrix is singular: the coefficients are not identified")
    try:
        factor = cho_factor(info, lower=True)
    except LinAlgError:
        raise ValueError(f"the {what} matrix is singular: the coefficients are not identified") from None
    return cho_solve(factor, np.eye(len(info)))


def crlb(family: str, beta: ArrayLike, features: str, n: int, correlation: float = 0.0) -> FloatArray:
    """Cramer-Rao bound of each coefficient in a random-design study of size n: diag(inv(n I_1)).

    Parameters
    ----------
    family, beta, features, correlation : as :func:`expected_information`.
    n : sample size.

    Returns
    -------
    (q,) array in parameter order.
    """
    if n < 1:
        raise ValueError(f"sample size n = {n!r} is not allowed; n must be >= 1")
    return np.diag(inverse_information(expected_information(family, beta, features, correlation))) / n


def crlb_fixed_design(family: str, beta: ArrayLike, x: ArrayLike) -> FloatArray:
    """Cramer-Rao bound of each coefficient given the fixed design X: diag(inv(X'WX)).

    Parameters
    ----------
    family, beta : as :func:`expected_information`.
    x : (n, p) design matrix, first column the intercept.

    Returns
    -------
    (q,) array in parameter order; ``ValueError`` when X'WX is singular.
    """
    return np.diag(inverse_information(information_fixed_design(family, beta, x), "X'WX"))
