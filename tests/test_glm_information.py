"""Expected information and CRLB of logistic, Poisson and softmax regression against independent computations.

References (tests/glm_reference.py) share no code with mlestudy.theory: statsmodels'
Hessians for X'WX, conditioning on the index with scipy's adaptive quad_vec,
scipy's adaptive cubature, numpy's full-dimensional Gauss-Hermite/Legendre products
on a Cholesky factor, and itertools enumeration.  Tolerances are far below the
1e-6 asked; every product-rule reference first shows that it has converged.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from glm_reference import (
    bernoulli_patterns,
    info_terms,
    normal_cubature,
    normal_product_rule,
    rule_mean,
    single_index_information,
    uniform_cubature,
    uniform_product_rule,
)

from mlestudy.theory.design_quadrature import design_rule, integrate
from mlestudy.theory.glm_families import kron_moment, parameter_names, response_covariance
from mlestudy.theory.glm_information import (
    crlb,
    crlb_fixed_design,
    expected_information,
    information_by_quadrature,
    information_fixed_design,
    poisson_normal_information,
    poisson_normal_information_inverse,
)

SOFTMAX_3 = {
    1: [[0.2, 1.0], [-0.3, -0.7]],
    2: [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]],
    3: [[0.2, 0.8, -0.6, 0.3], [-0.3, 0.5, 0.5, -0.4]],
    4: [[0.2, 0.6, -0.5, 0.3, 0.2], [-0.3, 0.4, 0.3, -0.4, 0.1]],
}
SOFTMAX_4 = {
    1: [[0.2, 1.0], [-0.3, -0.7], [0.1, 0.4]],
    2: [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5], [0.1, -0.4, 0.2]],
    3: [[0.2, 1.0, -1.0, 0.3], [-0.3, 0.5, 0.5, 0.1], [0.1, -0.4, 0.2, 0.7]],
    4: [[0.2, 0.5, -0.5, 0.3, 0.1], [-0.3, 0.4, 0.3, 0.1, -0.2], [0.1, -0.3, 0.2, 0.4, 0.3]],
}
SINGLE_INDEX = {
    "logistic": [[-0.5, 1.0, -1.0, 0.5, 0.25], [1.5, -2.0, 0.3, 0.0, 0.7], [0.0, 0.4, 0.0, -0.3, 0.1]],
    "poisson": [[0.5, 0.3, -0.3, 0.2, 0.1], [-1.0, 0.8, 0.0, -0.5, 0.4]],
}


def close(mine: np.ndarray, ref: np.ndarray, rtol: float) -> None:
    """Entrywise agreement relative to the largest entry (entries that are zero by symmetry included)."""
    np.testing.assert_allclose(mine, ref, rtol=0, atol=rtol * np.abs(ref).max())


def converged_reference(terms, rule_at, low: int, high: int, rtol: float) -> np.ndarray:
    """A product-rule reference at order ``high``, after checking that order ``low`` agrees to rtol / 10."""
    a, b = rule_mean(terms, rule_at(low)), rule_mean(terms, rule_at(high))
    assert np.abs(a - b).max() <= rtol / 10 * np.abs(b).max(), "reference not converged: raise its order"
    return b


# ---------------------------------------------------------------- fixed design


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_design_information_is_statsmodels_hessian(seed: int) -> None:
    """X'WX at beta equals minus statsmodels' Hessian (canonical link: not random), all three models."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(60), rng.standard_normal((60, 3))])
    b = rng.normal(0, 0.7, 4)
    logit = sm.Logit(rng.integers(0, 2, 60), x).hessian(b)
    close(information_fixed_design("logistic", b, x), -logit, 1e-13)
    pois = sm.GLM(rng.poisson(1.0, 60), x, family=sm.families.Poisson()).hessian(b)
    close(information_fixed_design("poisson", b, x), -pois, 1e-13)
    for k in (3, 4):
        bk = rng.normal(0, 0.7, (k - 1, 4))
        mn = sm.MNLogit(rng.integers(0, k, 60), x).hessian(bk.T)  # statsmodels: params (p, K-1), class-major
        close(information_fixed_design("softmax", bk, x), -mn, 1e-13)
    np.testing.assert_allclose(
        crlb_fixed_design("logistic", b, x), np.diag(np.linalg.inv(-logit)), rtol=1e-12, atol=0
    )


# ---------------------------------------------------------------- normal features


@pytest.mark.parametrize("family", ["logistic", "poisson"])
@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("rho", [0.0, 0.4, -0.2])
def test_single_index_normal_matches_conditioning_quad(family: str, d: int, rho: float) -> None:
    """Logistic/Poisson I_1 with normal features = adaptive quad over u = b'z of w(b0+u) E[xx'|u]."""
    for beta in SINGLE_INDEX[family]:
        b = beta[: d + 1]
        if not np.any(b[1:]):
            continue
        mine = information_by_quadrature(family, b, "normal", rho).value
        close(mine, single_index_information(family, b, rho), 1e-11)


@pytest.mark.parametrize("d", [1, 2])
def test_logistic_normal_matches_cubature(d: int) -> None:
    """An adaptive cubature over R^d that knows nothing of the index."""
    b = [-0.5, 1.0, -1.0][: d + 1]
    ref = normal_cubature(lambda z: info_terms("logistic", b, z), d, 0.3)
    close(expected_information("logistic", b, "normal", 0.3), ref, 1e-9)


@pytest.mark.parametrize(
    ("k", "d", "rho"), [(3, 1, 0.0), (3, 2, 0.3), (3, 3, -0.3), (4, 1, 0.0), (4, 2, 0.5)]
)
def test_softmax_normal_matches_full_gauss_hermite(k: int, d: int, rho: float) -> None:
    """Softmax I_1 against numpy's Gauss-Hermite product over all d features (Cholesky of Sigma)."""
    beta = (SOFTMAX_3 if k == 3 else SOFTMAX_4)[d]
    ref = converged_reference(
        lambda z: info_terms("softmax", beta, z),
        lambda o: normal_product_rule(d, rho, o),
        *((64, 96) if d < 3 else (48, 64)),
        1e-10,
    )
    close(information_by_quadrature("softmax", beta, "normal", rho).value, ref, 1e-10)


@pytest.mark.parametrize(("k", "d", "rho"), [(3, 4, 0.2), (4, 3, 0.0), (4, 4, -0.1)])
def test_softmax_normal_high_dimension_matches_full_gauss_hermite(k: int, d: int, rho: float) -> None:
    """K = 3 and 4 with d = 3, 4 (a 4-d product of order 24 checked against order 20)."""
    beta = (SOFTMAX_3 if k == 3 else SOFTMAX_4)[d]
    low, high = (20, 24) if d == 4 else (40, 48)
    ref = converged_reference(
        lambda z: info_terms("softmax", beta, z), lambda o: normal_product_rule(d, rho, o), low, high, 1e-8
    )
    close(information_by_quadrature("softmax", beta, "normal", rho).value, ref, 1e-8)


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.25])
@pytest.mark.parametrize("beta", [[0.5, 0.3, -0.3, 0.2, 0.1], [-1.0, 1.2, 0.0, 0.4], [0.2, -0.7]])
def test_poisson_normal_closed_form(beta: list[float], rho: float) -> None:
    """c [[1, m'], [m, Sigma + mm']] against the quadrature and against conditioning + quad; its inverse."""
    closed = poisson_normal_information(beta, rho)
    close(information_by_quadrature("poisson", beta, "normal", rho).value, closed, 1e-12)
    close(single_index_information("poisson", beta, rho), closed, 1e-11)
    close(poisson_normal_information_inverse(beta, rho), np.linalg.inv(closed), 1e-12)
    close(expected_information("poisson", beta, "normal", rho), closed, 0)


def test_poisson_standard_normal_inverse_is_the_issue_formula() -> None:
    """Sigma = I: I_1^-1 = (1/c) [[1 + |b|^2, -b'], [-b, I]], c = exp(beta_0 + |b|^2 / 2) (issue 9)."""
    beta = np.array([0.5, 0.3, -0.3, 0.2, 0.1])
    b = beta[1:]
    c = np.exp(beta[0] + b @ b / 2)
    want = np.block([[np.array([[1 + b @ b]]), -b[None, :]], [-b[:, None], np.eye(4)]]) / c
    close(np.linalg.inv(expected_information("poisson", beta, "normal")), want, 1e-13)


# ---------------------------------------------------------------- uniform features


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize(
    ("family", "beta"),
    [
        ("logistic", [0.3, -1.2, 0.8, 0.4]),
        ("poisson", [0.5, 0.3, -0.3, 0.2]),
        ("softmax", [[0.2, 1.0, -1.0, 0.3], [-0.3, 0.5, 0.5, -0.4]]),
    ],
)
def test_uniform_matches_cubature(family: str, beta, d: int) -> None:
    """Uniform features: scipy's adaptive cubature over the cube."""
    b = np.asarray(beta)[..., : d + 1]
    ref = uniform_cubature(lambda z: info_terms(family, b, z), d)
    close(information_by_quadrature(family, b, "uniform").value, ref, 1e-10)


@pytest.mark.parametrize(
    ("family", "beta"),
    [
        ("logistic", [-0.5, 1.0, -1.0, 0.5, 0.25]),
        ("softmax", [[0.2, 0.6, -0.5, 0.3, 0.2], [-0.3, 0.4, 0.3, -0.4, 0.1]]),
    ],
)
def test_uniform_four_features_matches_legendre_product(family: str, beta) -> None:
    """d = 4: numpy's Gauss-Legendre product of order 20, checked against order 16."""
    ref = converged_reference(
        lambda z: info_terms(family, beta, z), lambda o: uniform_product_rule(4, o), 16, 20, 1e-10
    )
    close(information_by_quadrature(family, beta, "uniform").value, ref, 1e-10)


def test_uniform_zero_slope_uses_two_nodes_exactly() -> None:
    """A feature with zero coefficient enters only polynomially: 2 Gauss-Legendre nodes are exact."""
    beta = [0.3, -1.2, 0.0, 0.8]
    rule = design_rule("uniform", 3, 0.0, np.array([[-1.2], [0.0], [0.8]]), 16)
    # The flatter feature gets max(16 * 0.8 / 1.2, sqrt(8 * 16)) = 12 nodes, the zero-slope one 2.
    assert [len(w) for _, w in rule.factors] == [16, 2, 12]
    ref = uniform_cubature(lambda z: info_terms("logistic", beta, z), 3)
    close(information_by_quadrature("logistic", beta, "uniform").value, ref, 1e-10)


# ---------------------------------------------------------------- bernoulli features


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_bernoulli_is_statsmodels_hessian_on_all_patterns(d: int) -> None:
    """Enumeration: I_1 = X'WX / 2^d over the 2^d patterns (statsmodels' Hessian, itertools patterns)."""
    z, w = bernoulli_patterns(d)
    x = np.column_stack([np.ones(len(z)), z])
    b = np.array([-0.5, 1.0, -1.0, 0.5, 0.25])[: d + 1]
    close(
        expected_information("logistic", b, "bernoulli"),
        -sm.Logit(np.zeros(len(x)), x).hessian(b) * w[0],
        1e-13,
    )
    bk = np.array(SOFTMAX_4[d])
    x4 = np.repeat(x, 4, axis=0)  # every pattern once per class, so MNLogit sees all K = 4 classes
    mn = sm.MNLogit(np.arange(len(x4)) % 4, x4).hessian(bk.T) * w[0] / 4
    close(expected_information("softmax", bk, "bernoulli"), -mn, 1e-13)
    close(
        expected_information("poisson", b, "bernoulli"),
        rule_mean(lambda t: info_terms("poisson", b, t), (z, w)),
        1e-13,
    )


def test_poisson_bernoulli_product_closed_form() -> None:
    """E[e^eta] = e^b0 prod (1 + e^bj)/2 and E[e^eta z_j] = e^b0 e^bj/2 prod_{k != j} (1 + e^bk)/2."""
    b = np.array([0.2, 0.5, -0.4, 0.9])
    info = expected_information("poisson", b, "bernoulli")
    half = (1 + np.exp(b[1:])) / 2
    tilt = np.exp(b[1:]) / 2 / half  # P(z_j = 1) under the tilt
    c = np.exp(b[0]) * half.prod()
    close(info[0, 0:1], np.array([c]), 1e-15)
    close(info[0, 1:], c * tilt, 1e-15)
    second = np.outer(tilt, tilt)
    np.fill_diagonal(second, tilt)
    close(info[1:, 1:], c * second, 1e-15)


# ---------------------------------------------------------------- accuracy, bounds, conventions


@pytest.mark.parametrize(
    ("family", "beta", "features", "rho", "order"),
    [
        ("logistic", [-0.5, 1.0, -1.0, 0.5, 0.25], "normal", 0.0, 1024),
        ("logistic", [1.0, 3.0, -2.0], "normal", 0.5, 2048),
        ("softmax", [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]], "normal", 0.0, 256),
        ("logistic", [-0.5, 1.0, -1.0, 0.5], "uniform", 0.0, 64),
    ],
)
def test_accepted_order_has_stopped_changing(
    family: str, beta, features: str, rho: float, order: int
) -> None:
    """The accepted value equals a rule of far higher order to 1e-12 (relative): the result is converged."""
    got = information_by_quadrature(family, beta, features, rho)
    assert got.change <= 1e-11
    b = np.atleast_2d(np.asarray(beta, dtype=float))
    rule = design_rule(features, b.shape[1] - 1, rho, b[:, 1:].T, order)

    def integrand(z: np.ndarray, w: np.ndarray) -> np.ndarray:
        x = np.column_stack([np.ones(len(z)), z])
        return kron_moment(response_covariance(family, x @ b.T) * w[:, None, None], x)

    close(got.value, integrate(rule, integrand), 1e-12)


def test_crlb_is_diagonal_of_inverse_over_n() -> None:
    beta = [-0.5, 1.0, -1.0, 0.5, 0.25]
    inv = np.linalg.inv(expected_information("logistic", beta, "normal"))
    np.testing.assert_allclose(crlb("logistic", beta, "normal", 200), np.diag(inv) / 200, rtol=1e-13)
    # The issue-9 scenario: per-observation bounds of the intercept and the slopes.
    np.testing.assert_allclose(
        np.diag(inv), [6.12079155, 8.14406459, 8.14406459, 6.41959133, 5.98847301], rtol=1e-8
    )


def test_cache_returns_private_copies() -> None:
    beta = [0.1, 0.7, -0.2]
    first = expected_information("logistic", beta, "normal")
    first[:] = 0
    assert expected_information("logistic", beta, "normal")[0, 0] > 0


def test_parameter_order() -> None:
    assert parameter_names("logistic", [1, 2, 3]) == ["beta[0]", "beta[1]", "beta[2]"]
    assert parameter_names("softmax", [[1, 2], [3, 4]]) == [
        "beta[1,0]",
        "beta[1,1]",
        "beta[2,0]",
        "beta[2,1]",
    ]
    # Row-major: the block of class k is I_1[(k-1)p : kp, (k-1)p : kp].
    b = np.array([[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]])
    info = expected_information("softmax", b, "bernoulli")
    z, w = bernoulli_patterns(2)
    x = np.column_stack([np.ones(4), z])
    from scipy.special import softmax

    pi = softmax(np.column_stack([np.zeros(4), x @ b.T]), axis=1)
    block_21 = (w * -pi[:, 2] * pi[:, 1] * x.T) @ x
    close(info[3:, :3], block_21, 1e-14)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: expected_information("probit", [0, 1], "normal"), ["family", "'probit'", "logistic"]),
        (lambda: expected_information("logistic", [0, 1], "gamma"), ["features", "'gamma'", "normal"]),
        (
            lambda: expected_information("logistic", [0, 1, 1, 1], "normal", -0.6),
            ["correlation", "-0.6", "-0.5"],
        ),
        (lambda: expected_information("logistic", [0, 1, 1], "normal", 1.0), ["correlation", "1.0", "< 1"]),
        (lambda: expected_information("logistic", [0, 1], "uniform", 0.3), ["correlation", "0.3", "normal"]),
        (lambda: expected_information("softmax", [0, 1], "normal"), ["beta", "(K-1, p)"]),
        (lambda: expected_information("logistic", [0, np.nan], "normal"), ["beta", "nan", "finite"]),
        (
            lambda: information_fixed_design("logistic", [0, 1], np.ones((3, 3))),
            ["design X", "(3, 3)", "(n, 2)"],
        ),
        (lambda: crlb("logistic", [0, 1], "normal", 0), ["sample size n", "0", ">= 1"]),
        (lambda: crlb_fixed_design("logistic", [0, 1], np.ones((5, 2))), ["singular", "not identified"]),
    ],
)
def test_bad_input_is_one_clear_line(call, words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message
