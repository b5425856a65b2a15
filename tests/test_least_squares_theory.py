"""Least squares on a GLM response: sandwich covariance A^-1 B A^-1 and efficiency against the MLE.

Checked against the issue's numbers, a closed form (Poisson with normal features,
where E[e^{k eta} xx'] is a tilted normal moment), an independent sandwich from a
finite-difference Jacobian of the mean, quadrature references, and a seeded
simulation of least-squares fits (scipy's least_squares checks the batched fitter).
"""

from __future__ import annotations

import numpy as np
import pytest
from glm_reference import (
    bernoulli_patterns,
    least_squares_terms,
    normal_product_rule,
    rule_mean,
    sigma,
    uniform_cubature,
)
from scipy.optimize import least_squares
from scipy.special import expit, softmax

from mlestudy.theory.glm_information import expected_information
from mlestudy.theory.least_squares import (
    least_squares_efficiency,
    least_squares_sandwich,
    least_squares_sandwich_fixed_design,
)


def close(mine: np.ndarray, ref: np.ndarray, rtol: float) -> None:
    np.testing.assert_allclose(mine, ref, rtol=0, atol=rtol * np.abs(ref).max())


def sandwich(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a_inv = np.linalg.inv(a)
    return a_inv @ b @ a_inv


def test_issue_ten_efficiencies() -> None:
    """beta = (-0.5, 1, -1, 0.5, 0.25), normal features.

    Issue 10 quotes 0.920, 0.866, 0.866, 0.912, 0.928; the quadrature (confirmed by
    conditioning + quad_vec, to 1e-8 here) gives 0.91946 for the intercept, so the
    issue's third decimal is met to 6e-4 and the exact values are pinned below.
    """
    are = least_squares_efficiency("logistic", [-0.5, 1.0, -1.0, 0.5, 0.25], "normal")
    np.testing.assert_allclose(are, [0.920, 0.866, 0.866, 0.912, 0.928], rtol=0, atol=6e-4)
    np.testing.assert_allclose(are, [0.91945564, 0.86644276, 0.86644276, 0.91151375, 0.92792475], rtol=1e-8)


@pytest.mark.parametrize("rho", [0.0, 0.3])
@pytest.mark.parametrize("beta", [[0.5, 0.3, -0.3, 0.2, 0.1], [-0.2, 0.6, -0.4]])
def test_poisson_normal_closed_form(beta: list[float], rho: float) -> None:
    """E[e^{k eta} xx'] = c_k [[1, m_k'], [m_k, Sigma + m_k m_k']], c_k = e^{k b0 + k^2 b'Sigma b / 2}, m_k = k Sigma b."""
    b = np.asarray(beta)
    s = sigma(b.size - 1, rho)

    def tilted(k: int) -> np.ndarray:
        m = k * s @ b[1:]
        c = np.exp(k * b[0] + k * k * b[1:] @ s @ b[1:] / 2)
        return c * np.block([[np.ones((1, 1)), m[None, :]], [m[:, None], s + np.outer(m, m)]])

    close(least_squares_sandwich("poisson", beta, "normal", rho), sandwich(tilted(2), tilted(3)), 1e-11)


def jacobian_sandwich(family: str, beta: np.ndarray, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """A = J'J, B = J' Cov(y) J with J = d mean / d theta by central differences (no V^2, V^3 formula)."""
    shape = beta.shape

    def mean(theta: np.ndarray) -> np.ndarray:
        eta = x @ theta.reshape(shape).T if theta.size > x.shape[1] else x @ theta
        if family == "logistic":
            return expit(eta)
        if family == "poisson":
            return np.exp(eta)
        return softmax(np.column_stack([np.zeros(len(x)), eta]), axis=1)[:, 1:]

    theta = beta.ravel()
    cols = []
    for u in range(theta.size):
        e = np.zeros(theta.size)
        e[u] = h
        cols.append(((mean(theta + e) - mean(theta - e)) / (2 * h)).reshape(len(x), -1))
    jac = np.stack(cols, axis=-1)  # (n, m, q)
    mu = mean(theta).reshape(len(x), -1)
    if family == "softmax":
        cov = mu[:, :, None] * np.eye(mu.shape[1]) - mu[:, :, None] * mu[:, None, :]
    else:
        cov = (mu * (1 - mu) if family == "logistic" else mu)[:, :, None]
    a = np.einsum("nau,nav->uv", jac, jac)
    b = np.einsum("nau,nab,nbv->uv", jac, cov, jac)
    return sandwich(a, b)


@pytest.mark.parametrize(
    ("family", "beta"),
    [
        ("logistic", np.array([-0.3, 0.8, -0.5])),
        ("poisson", np.array([0.4, 0.3, -0.6])),
        ("softmax", np.array([[0.2, 0.7, -0.4], [-0.1, -0.5, 0.6]])),
    ],
)
def test_fixed_design_matches_jacobian_sandwich(family: str, beta: np.ndarray) -> None:
    rng = np.random.default_rng(8)
    x = np.column_stack([np.ones(50), rng.standard_normal((50, 2))])
    close(least_squares_sandwich_fixed_design(family, beta, x), jacobian_sandwich(family, beta, x), 1e-7)


@pytest.mark.parametrize(
    ("family", "beta"),
    [
        ("logistic", [0.3, -1.2, 0.8]),
        ("poisson", [0.5, 0.3, -0.3]),
        ("softmax", [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]]),
    ],
)
def test_random_design_matches_references(family: str, beta) -> None:
    """Uniform (cubature), normal (Gauss-Hermite product) and Bernoulli (enumeration) features."""

    def terms(z):
        return least_squares_terms(family, beta, z)

    ref = uniform_cubature(terms, 2)
    close(least_squares_sandwich(family, beta, "uniform"), sandwich(*ref), 1e-10)
    low, ref = (rule_mean(terms, normal_product_rule(2, 0.2, order)) for order in (64, 96))
    assert np.abs(low - ref).max() < 1e-10 * np.abs(ref).max()
    close(least_squares_sandwich(family, beta, "normal", 0.2), sandwich(*ref), 1e-9)
    ref = rule_mean(terms, bernoulli_patterns(2))
    close(least_squares_sandwich(family, beta, "bernoulli"), sandwich(*ref), 1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_efficiency_never_exceeds_one(seed: int) -> None:
    """Cramer-Rao: no consistent estimator beats the MLE asymptotically, whatever beta and features."""
    rng = np.random.default_rng(seed)
    for family, shape in [("logistic", (4,)), ("poisson", (4,)), ("softmax", (2, 3))]:
        beta = rng.normal(0, 0.8, shape)
        for features in ("normal", "uniform", "bernoulli"):
            are = least_squares_efficiency(family, beta, features)
            assert np.all(are <= 1 + 1e-12) and np.all(are > 0)
    inv = np.linalg.inv(expected_information("logistic", [0, 0, 0], "normal"))
    # At beta = 0 the weight is constant (1/4), so least squares IS the MLE to first order.
    np.testing.assert_allclose(least_squares_sandwich("logistic", [0, 0, 0], "normal"), inv, rtol=1e-12)


def batched_least_squares(x: np.ndarray, y: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Gauss-Newton for sum (y - sigmoid(x'b))^2 over all replications (rows of y) with a shared design."""
    p = x.shape[1]
    xx = (x[:, :, None] * x[:, None, :]).reshape(len(x), p * p)
    b = np.tile(start, (len(y), 1))
    for _ in range(50):
        mu = expit(b @ x.T)
        w = mu * (1 - mu)  # J = w x, so J'J = sum w^2 xx' and J'r = sum w (y - mu) x
        step = np.linalg.solve(((w * w) @ xx).reshape(-1, p, p), ((w * (y - mu)) @ x)[..., None])[..., 0]
        b = b + step
        if np.abs(step).max() < 1e-12:
            return b
    raise AssertionError("Gauss-Newton did not converge")


def test_simulated_least_squares_variance_is_the_sandwich() -> None:
    """4,000 seeded replications at n = 1000 (fixed design): variance of each coefficient within 4 MCSE."""
    rng = np.random.default_rng(77)
    beta = np.array([-0.5, 1.0, -1.0])
    n, reps = 1000, 4000
    x = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    y = (rng.random((reps, n)) < expit(x @ beta)).astype(float)
    est = batched_least_squares(x, y, beta)
    for r in range(3):  # the batched fitter is the least-squares minimiser (scipy, from a different start)
        ref = least_squares(
            lambda t, r=r: y[r] - expit(x @ t), np.zeros(3), xtol=1e-14, ftol=1e-14, gtol=1e-14
        ).x
        np.testing.assert_allclose(est[r], ref, atol=1e-8)
    dev = est - est.mean(axis=0)
    var = (dev**2).sum(axis=0) / (reps - 1)
    mcse = np.sqrt(((dev**4).mean(axis=0) - var**2) / reps)
    theory = np.diag(least_squares_sandwich_fixed_design("logistic", beta, x))
    mle = np.diag(np.linalg.inv((x.T * (expit(x @ beta) * expit(-x @ beta))) @ x))
    assert np.all(np.abs(var - theory) <= 4 * mcse)
    assert np.all(theory > mle)  # less efficient than the MLE
