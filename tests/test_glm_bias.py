"""First-order (Cordeiro-McCullagh) bias: closed forms by hand, an independent Cox-Snell, quadrature references.

The formula is approximate theory (the O(1/n) term); these tests check that the
O(1/n) term itself is computed exactly.  Its relation to the simulated bias is
tested in test_glm_bias_simulation.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from glm_reference import (
    bernoulli_patterns,
    bias_terms,
    info_terms,
    normal_product_rule,
    rule_mean,
    single_index_bias_coefficient,
    third_cumulant,
    uniform_cubature,
)
from scipy.special import expit

from mlestudy.theory.glm_bias import (
    bias_coefficient_by_quadrature,
    first_order_bias,
    first_order_bias_coefficient,
    first_order_bias_fixed_design,
    poisson_normal_bias_coefficient,
)
from mlestudy.theory.glm_families import response_covariance, third_cumulant_contraction
from mlestudy.theory.glm_information import expected_information, inverse_information


def close(mine: np.ndarray, ref: np.ndarray, rtol: float) -> None:
    np.testing.assert_allclose(mine, ref, rtol=0, atol=rtol * np.abs(ref).max())


# ---------------------------------------------------------------- closed forms by hand


def two_groups(n0: int, n1: int) -> np.ndarray:
    return np.column_stack([np.ones(n0 + n1), np.r_[np.zeros(n0), np.ones(n1)]])


def test_logistic_two_groups_is_delta_method_of_group_logits() -> None:
    """beta_0 = logit(p0-hat), beta_1 = logit(p1-hat) - logit(p0-hat); E logit(p-hat) ~ logit p + (mu - 1/2) / (k mu (1-mu))."""
    beta, n0, n1 = np.array([-0.7, 1.6]), 13, 29
    mu0, mu1 = expit(beta[0]), expit(beta.sum())
    g0 = (mu0 - 0.5) / (n0 * mu0 * (1 - mu0))
    g1 = (mu1 - 0.5) / (n1 * mu1 * (1 - mu1))
    close(first_order_bias_fixed_design("logistic", beta, two_groups(n0, n1)), np.array([g0, g1 - g0]), 1e-14)
    one = first_order_bias_fixed_design("logistic", [0.4], np.ones((20, 1)))
    close(one, np.array([(expit(0.4) - 0.5) / (20 * expit(0.4) * expit(-0.4))]), 1e-14)


def test_poisson_two_groups_is_delta_method_of_log_means() -> None:
    """E log(ybar) ~ log mu - 1 / (2 k mu) in each group."""
    beta, n0, n1 = np.array([0.3, -0.8]), 17, 11
    g0, g1 = -1 / (2 * n0 * np.exp(beta[0])), -1 / (2 * n1 * np.exp(beta.sum()))
    close(first_order_bias_fixed_design("poisson", beta, two_groups(n0, n1)), np.array([g0, g1 - g0]), 1e-14)


def test_softmax_two_groups_is_delta_method_of_log_odds() -> None:
    """beta_k = log(p_k-hat / p_0-hat) per group: E ~ truth - [(1 - p_k)/p_k - (1 - p_0)/p_0] / (2 k)."""
    beta = np.array([[0.2, 0.9], [-0.4, -0.5], [0.1, 0.6]])
    n0, n1 = 31, 23

    def group(eta: np.ndarray, k: int) -> np.ndarray:
        p = np.exp(np.r_[0.0, eta])
        p /= p.sum()
        return -((1 - p[1:]) / p[1:] - (1 - p[0]) / p[0]) / (2 * k)

    g0, g1 = group(beta[:, 0], n0), group(beta.sum(axis=1), n1)
    want = np.column_stack([g0, g1 - g0]).ravel()  # row-major: class k, then coefficient j
    close(first_order_bias_fixed_design("softmax", beta, two_groups(n0, n1)), want, 1e-13)


# ---------------------------------------------------------------- an independent Cox-Snell


def cox_snell_by_differences(model_hessian, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """b = -1/2 I^-1 v, v_r = sum_tu I^tu dI_rt/dtheta_u, dI by central differences of statsmodels' -Hessian.

    With canonical link kappa_{rt,u} = 0 and kappa_{rtu} = -dI_rt/dtheta_u, so this is
    Cox & Snell's b_s = I^{sr} I^{tu} (kappa_{rt,u} + kappa_{rtu} / 2) with no third-cumulant formula.
    """
    info = -model_hessian(theta)
    inv = np.linalg.inv(info)
    q = len(theta)
    d_info = np.empty((q, q, q))
    for u in range(q):
        e = np.zeros(q)
        e[u] = h
        d_info[:, :, u] = (-model_hessian(theta + e) + model_hessian(theta - e)) / (2 * h)
    return -0.5 * inv @ np.einsum("rtu,tu->r", d_info, inv)


@pytest.mark.parametrize("seed", [3, 4])
def test_fixed_design_matches_cox_snell_by_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    x = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    b = rng.normal(0, 0.6, 3)
    logit = sm.Logit(np.zeros(n), x)
    close(first_order_bias_fixed_design("logistic", b, x), cox_snell_by_differences(logit.hessian, b), 1e-7)
    pois = sm.GLM(np.zeros(n), x, family=sm.families.Poisson())
    close(first_order_bias_fixed_design("poisson", b, x), cox_snell_by_differences(pois.hessian, b), 1e-7)
    for k in (3, 4):
        bk = rng.normal(0, 0.6, (k - 1, 3))
        mn = sm.MNLogit(np.arange(n) % k, x)  # the Hessian does not depend on y (canonical link)
        ref = cox_snell_by_differences(lambda t, mn=mn, k=k: mn.hessian(t.reshape(k - 1, 3).T), bk.ravel())
        close(first_order_bias_fixed_design("softmax", bk, x), ref, 1e-7)


@pytest.mark.parametrize(("family", "m"), [("logistic", 1), ("poisson", 1), ("softmax", 2), ("softmax", 3)])
def test_third_cumulant_contraction(family: str, m: int) -> None:
    """g_a = sum_bc T_abc q_bc: against the explicit tensor, and T against finite differences of V(eta)."""
    rng = np.random.default_rng(5)
    eta = rng.normal(0, 1.5, (7, m))
    a = rng.normal(size=(7, m, m))
    q = a + a.transpose(0, 2, 1)
    t = third_cumulant(family, eta)
    close(third_cumulant_contraction(family, eta, q), np.einsum("nabc,nbc->na", t, q), 1e-14)
    h = 1e-6
    for c in range(m):
        e = np.zeros(m)
        e[c] = h
        dv = (response_covariance(family, eta + e) - response_covariance(family, eta - e)) / (2 * h)
        close(t[:, :, :, c], dv, 1e-8)


# ---------------------------------------------------------------- random design: quadrature references


@pytest.mark.parametrize("family", ["logistic", "poisson"])
@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("rho", [0.0, 0.35])
def test_single_index_normal_matches_conditioning(family: str, d: int, rho: float) -> None:
    """b_1 against E[T x (x'Mx) | u] from Gaussian third moments, integrated over u by quad_vec."""
    beta = {"logistic": [-0.5, 1.0, -1.0, 0.5, 0.25], "poisson": [0.5, 0.3, -0.3, 0.2, 0.1]}[family][: d + 1]
    close(
        first_order_bias_coefficient(family, beta, "normal", rho),
        single_index_bias_coefficient(family, beta, rho),
        1e-10,
    )


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.3])
@pytest.mark.parametrize("beta", [[0.5, 0.3, -0.3, 0.2, 0.1], [-1.0, 1.2, 0.0, 0.4], [0.2, -0.7]])
def test_poisson_normal_closed_form(beta: list[float], rho: float) -> None:
    """-(d + 1) / (2c) e_0 against the quadrature (slopes unbiased at first order)."""
    inv = inverse_information(expected_information("poisson", beta, "normal", rho))
    quad = -0.5 * inv @ bias_coefficient_by_quadrature("poisson", beta, "normal", rho).value
    close(quad, poisson_normal_bias_coefficient(beta, rho), 1e-12)
    close(
        single_index_bias_coefficient("poisson", beta, rho), poisson_normal_bias_coefficient(beta, rho), 1e-10
    )


def reference_bias(family, beta, rule) -> np.ndarray:
    inv = np.linalg.inv(rule_mean(lambda z: info_terms(family, beta, z), rule))
    return -0.5 * inv @ rule_mean(lambda z: bias_terms(family, beta, z, inv), rule)


@pytest.mark.parametrize(
    ("beta", "d", "rho"),
    [
        ([[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]], 2, 0.0),
        ([[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5], [0.1, -0.4, 0.2]], 2, 0.4),
        ([[0.2, 0.8, -0.6, 0.3], [-0.3, 0.5, 0.5, -0.4]], 3, -0.2),
    ],
)
def test_softmax_normal_matches_full_gauss_hermite(beta, d: int, rho: float) -> None:
    """Softmax b_1 against numpy's Gauss-Hermite product over all features, with the explicit T tensor."""
    low, high = (64, 96) if d == 2 else (32, 40)
    a = reference_bias("softmax", beta, normal_product_rule(d, rho, low))
    ref = reference_bias("softmax", beta, normal_product_rule(d, rho, high))
    assert np.abs(a - ref).max() < 1e-10 * np.abs(ref).max()
    close(first_order_bias_coefficient("softmax", beta, "normal", rho), ref, 1e-9)


@pytest.mark.parametrize(
    ("family", "beta"),
    [
        ("logistic", [0.3, -1.2, 0.8]),
        ("poisson", [0.5, 0.3, -0.3]),
        ("softmax", [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]]),
    ],
)
def test_uniform_matches_cubature(family: str, beta) -> None:
    inv = np.linalg.inv(uniform_cubature(lambda z: info_terms(family, beta, z), 2))
    ref = -0.5 * inv @ uniform_cubature(lambda z: bias_terms(family, beta, z, inv), 2)
    close(first_order_bias_coefficient(family, beta, "uniform"), ref, 1e-10)


@pytest.mark.parametrize(
    ("family", "beta"),
    [
        ("logistic", [-0.5, 1.0, -1.0, 0.5, 0.25]),
        ("poisson", [0.5, 0.3, -0.3, 0.2, 0.1]),
        ("softmax", [[0.2, 1.0, -1.0, 0.3], [-0.3, 0.5, 0.5, 0.1], [0.1, -0.4, 0.2, 0.7]]),
    ],
)
def test_bernoulli_matches_enumeration(family: str, beta) -> None:
    d = np.shape(beta)[-1] - 1
    close(
        first_order_bias_coefficient(family, beta, "bernoulli"),
        reference_bias(family, beta, bernoulli_patterns(d)),
        1e-13,
    )


def test_random_design_is_the_large_n_limit_of_the_fixed_design() -> None:
    """n * (fixed-design bias) over the 2^d patterns repeated r times equals b_1 for every r (Bernoulli law)."""
    beta = [-0.5, 1.0, -1.0, 0.5]
    z, _ = bernoulli_patterns(3)
    x = np.column_stack([np.ones(len(z)), z])
    for reps in (1, 5):
        xr = np.repeat(x, reps, axis=0)
        close(
            len(xr) * first_order_bias_fixed_design("logistic", beta, xr),
            first_order_bias_coefficient("logistic", beta, "bernoulli"),
            1e-13,
        )


def test_issue_scenario_and_scaling() -> None:
    """beta = (-0.5, 1, -1, 0.5, 0.25), normal features: slopes' b_1 proportional to b; bias is b_1 / n."""
    beta = np.array([-0.5, 1.0, -1.0, 0.5, 0.25])
    b1 = first_order_bias_coefficient("logistic", beta, "normal")
    close(b1[1:] / beta[1:], np.full(4, b1[1] / beta[1]), 1e-12)
    np.testing.assert_allclose(b1, [-3.31612456, 7.81575284, -7.81575284, 3.90787642, 1.95393821], rtol=1e-8)
    np.testing.assert_allclose(first_order_bias("logistic", beta, "normal", 50), b1 / 50, rtol=1e-15)
