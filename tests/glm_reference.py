"""Independent reference computations for the GLM theory tests.

Nothing here imports ``mlestudy.theory``: the per-point integrands are written
from the textbook formulas, and the expectations come from other algorithms --
numpy's Hermite/Legendre rules on a Cholesky factor over all d dimensions,
scipy's adaptive ``cubature`` / ``quad_vec``, conditioning on the index with
explicit Gaussian conditional moments, and plain enumeration with itertools.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy.integrate import cubature, quad_vec
from scipy.special import expit, log_expit, softmax

SQRT3 = math.sqrt(3.0)


def sigma(d: int, rho: float) -> np.ndarray:
    return np.full((d, d), rho) + (1 - rho) * np.eye(d)


def rows(z: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(z)), z])


def coefficients(beta) -> np.ndarray:
    b = np.asarray(beta, dtype=float)
    return b if b.ndim == 2 else b[None, :]


def response_cov(family: str, eta: np.ndarray) -> np.ndarray:
    """Cov[y | x] per point, (N, m, m), from the textbook formulas."""
    if family == "logistic":
        mu = expit(eta[:, 0])
        return (mu * (1 - mu))[:, None, None]
    if family == "poisson":
        return np.exp(eta)[:, :, None]
    probs = softmax(np.column_stack([np.zeros(len(eta)), eta]), axis=1)[:, 1:]
    return probs[:, :, None] * np.eye(probs.shape[1]) - probs[:, :, None] * probs[:, None, :]


def third_cumulant(family: str, eta: np.ndarray) -> np.ndarray:
    """T_abc per point, (N, m, m, m), the explicit multinomial tensor (no contraction shortcut)."""
    if family == "logistic":
        mu = expit(eta[:, 0])
        return (mu * (1 - mu) * (1 - 2 * mu))[:, None, None, None]
    if family == "poisson":
        return np.exp(eta)[:, :, None, None]
    probs = softmax(np.column_stack([np.zeros(len(eta)), eta]), axis=1)[:, 1:]
    eye = np.eye(probs.shape[1])
    return (
        np.einsum("na,ab,ac->nabc", probs, eye, eye)
        - np.einsum("na,nc,ab->nabc", probs, probs, eye)
        - np.einsum("na,nb,ac->nabc", probs, probs, eye)
        - np.einsum("na,nb,bc->nabc", probs, probs, eye)
        + 2 * np.einsum("na,nb,nc->nabc", probs, probs, probs)
    )


def info_terms(family: str, beta, z: np.ndarray) -> np.ndarray:
    """V(eta) kron x x' per point, (N, q, q)."""
    b = coefficients(beta)
    x = rows(z)
    v = response_cov(family, x @ b.T)
    q = v.shape[1] * x.shape[1]
    return np.einsum("nab,nj,nk->najbk", v, x, x).reshape(len(x), q, q)


def bias_terms(family: str, beta, z: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """g (x) x per point with g_a = sum_bc T_abc x'[inverse]_bc x, (N, q)."""
    b = coefficients(beta)
    m, p = b.shape
    x = rows(z)
    t = third_cumulant(family, x @ b.T)
    blocks = inverse.reshape(m, p, m, p)
    q = np.einsum("nj,bjck,nk->nbc", x, blocks, x)
    g = np.einsum("nabc,nbc->na", t, q)
    return np.stack([np.kron(gi, xi) for gi, xi in zip(g, x, strict=True)])


def least_squares_terms(family: str, beta, z: np.ndarray) -> np.ndarray:
    """(V^2 kron xx', V^3 kron xx') per point, (N, 2, q, q)."""
    b = coefficients(beta)
    x = rows(z)
    v = response_cov(family, x @ b.T)
    out = []
    for vi, xi in zip(v, x, strict=True):
        xx = np.outer(xi, xi)
        out.append([np.kron(vi @ vi, xx), np.kron(vi @ vi @ vi, xx)])
    return np.array(out)


def normal_product_rule(d: int, rho: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Full d-dimensional Gauss-Hermite product (numpy's rule) on the Cholesky factor of Sigma."""
    x, w = hermegauss(order)
    w = w / w.sum()
    grid = np.array(list(itertools.product(x, repeat=d)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=d))), axis=1)
    return grid @ np.linalg.cholesky(sigma(d, rho)).T, weights


def uniform_product_rule(d: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Full d-dimensional Gauss-Legendre product (numpy's rule) on (-sqrt 3, sqrt 3)^d."""
    x, w = leggauss(order)
    grid = SQRT3 * np.array(list(itertools.product(x, repeat=d)))
    weights = np.prod(np.array(list(itertools.product(w / 2, repeat=d))), axis=1)
    return grid, weights


def bernoulli_patterns(d: int) -> tuple[np.ndarray, np.ndarray]:
    """All 2^d feature patterns, each with probability 2^-d."""
    grid = np.array(list(itertools.product([0.0, 1.0], repeat=d))).reshape(-1, d)
    return grid, np.full(len(grid), 0.5**d)


def rule_mean(
    terms: Callable[[np.ndarray], np.ndarray], rule: tuple[np.ndarray, np.ndarray], chunk: int = 20000
) -> np.ndarray:
    """sum_i w_i terms(z_i), ``chunk`` points at a time (bounded memory)."""
    z, w = rule
    return sum(
        np.tensordot(w[i : i + chunk], terms(z[i : i + chunk]), axes=1) for i in range(0, len(z), chunk)
    )


def uniform_cubature(terms: Callable[[np.ndarray], np.ndarray], d: int, rtol: float = 1e-11) -> np.ndarray:
    """E[terms(z)] for uniform features by scipy's adaptive cubature over the cube."""
    density = (2 * SQRT3) ** -d
    res = cubature(lambda z: terms(z) * density, [-SQRT3] * d, [SQRT3] * d, rtol=rtol, atol=1e-14)
    assert res.status == "converged"
    return res.estimate


def normal_cubature(terms: Callable[[np.ndarray], np.ndarray], d: int, rho: float) -> np.ndarray:
    """E[terms(z)] for normal features by scipy's adaptive cubature on R^d (slow beyond d = 2)."""
    s = sigma(d, rho)
    prec = np.linalg.inv(s)
    norm = 1 / math.sqrt((2 * math.pi) ** d * np.linalg.det(s))

    def f(z: np.ndarray) -> np.ndarray:
        dens = norm * np.exp(-0.5 * np.einsum("ni,ij,nj->n", z, prec, z))
        t = terms(z)
        return t * dens.reshape((-1,) + (1,) * (t.ndim - 1))

    res = cubature(f, [-np.inf] * d, [np.inf] * d, rtol=1e-11, atol=1e-14)
    assert res.status == "converged"
    return res.estimate


def single_index_information(family: str, beta, rho: float) -> np.ndarray:
    """I_1 for logistic/Poisson with normal features by conditioning on u = b'z and adaptive quad_vec.

    E[w(eta) x x'] = E_u[w(b0 + u) E[x x' | u]], with E[z | u] = Sigma b u / s2 and
    Cov[z | u] = Sigma - Sigma b b' Sigma / s2, s2 = b' Sigma b.
    """
    b = np.asarray(beta, dtype=float)
    d = b.size - 1
    s = sigma(d, rho)
    sb = s @ b[1:]
    s2 = b[1:] @ sb
    cond_cov = s - np.outer(sb, sb) / s2
    sd = math.sqrt(s2)

    def f(t: float) -> np.ndarray:  # u = sd * t, t ~ N(0, 1)
        u = sd * t
        eta = b[0] + u
        log_weight = log_expit(eta) + log_expit(-eta) if family == "logistic" else eta
        mean = np.concatenate([[1.0], sb * u / s2])
        second = np.outer(mean, mean)
        second[1:, 1:] += cond_cov
        return second * math.exp(log_weight - t * t / 2) / math.sqrt(2 * math.pi)

    value, err = quad_vec(f, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)
    assert err < 1e-11
    return value


def single_index_bias_coefficient(family: str, beta, rho: float) -> np.ndarray:
    """b_1 = -1/2 I_1^-1 E[T(eta) x (x' I_1^-1 x)] for logistic/Poisson, normal features, by conditioning.

    Given u = b'z, x = (1, z) is Gaussian with mean nu and covariance Gamma = diag(0, Cov[z | u]),
    so E[x (x'Mx) | u] = nu (nu'M nu + tr(M Gamma)) + 2 Gamma M nu; the u-integral is quad_vec's.
    """
    b = np.asarray(beta, dtype=float)
    d = b.size - 1
    s = sigma(d, rho)
    sb = s @ b[1:]
    s2 = b[1:] @ sb
    gamma = np.zeros((d + 1, d + 1))
    gamma[1:, 1:] = s - np.outer(sb, sb) / s2
    sd = math.sqrt(s2)
    m = np.linalg.inv(single_index_information(family, beta, rho))

    def f(t: float) -> np.ndarray:
        eta = b[0] + sd * t
        if family == "logistic":
            log_w = log_expit(eta) + log_expit(-eta)
            third = math.exp(log_w - t * t / 2) * (1 - 2 * expit(eta))
        else:
            third = math.exp(eta - t * t / 2)
        nu = np.concatenate([[1.0], sb * sd * t / s2])
        moment = nu * (nu @ m @ nu + np.trace(m @ gamma)) + 2 * gamma @ m @ nu
        return third * moment / math.sqrt(2 * math.pi)

    value, err = quad_vec(f, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)
    assert err < 1e-10
    return -0.5 * m @ value
