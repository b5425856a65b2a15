"""The design-law quadrature rules: exactness where promised, the index reduction, and its limits."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from glm_reference import info_terms, normal_product_rule, rule_mean, sigma
from scipy.special import expit

from mlestudy.theory import design_quadrature as dq
from mlestudy.theory.design_laws import check_design, equicorrelation, equicorrelation_sqrt
from mlestudy.theory.glm_information import expected_information, information_by_quadrature


def moments(rule: dq.TensorRule, degree: int) -> dict[tuple[int, ...], float]:
    """E[prod z_i] for every multi-index of the given degree."""
    d = rule.linear.shape[0]
    out = {}
    for idx in itertools.combinations_with_replacement(range(d), degree):
        out[idx] = float(dq.integrate(rule, lambda z, w, idx=idx: w @ np.prod(z[:, list(idx)], axis=1)))
    return out


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_degree3_rule_is_exact_to_degree_three(m: int) -> None:
    points, weights = dq.normal_degree3(m)
    assert weights.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(weights @ points, 0, atol=1e-15)
    np.testing.assert_allclose((points.T * weights) @ points, np.eye(m), atol=1e-14)
    third = np.einsum("n,ni,nj,nk->ijk", weights, points, points, points)
    np.testing.assert_allclose(third, 0, atol=1e-14)


@pytest.mark.parametrize(("d", "rho"), [(1, 0.0), (3, 0.5), (4, -0.3)])
@pytest.mark.parametrize("m", [1, 2])
def test_normal_rule_reproduces_gaussian_moments(d: int, rho: float, m: int) -> None:
    """Whatever the index directions: E z = 0, E zz' = Sigma, third moments 0, exactly."""
    rng = np.random.default_rng(d + 10 * m)
    rule = dq.design_rule("normal", d, rho, rng.normal(size=(d, m)), 8)
    s = equicorrelation(d, rho)
    for v in moments(rule, 1).values():
        assert v == pytest.approx(0, abs=1e-14)
    for (i, j), v in moments(rule, 2).items():
        assert v == pytest.approx(s[i, j], abs=1e-14)
    for v in moments(rule, 3).values():
        assert v == pytest.approx(0, abs=1e-14)


def test_normal_rule_integrates_the_index_in_one_dimension() -> None:
    """E[sigmoid(b0 + b'z)] with d = 4 equals a 1-d Gauss-Hermite over u ~ N(0, b'Sigma b)."""
    b, rho = np.array([1.0, -1.0, 0.5, 0.25]), 0.3
    rule = dq.design_rule("normal", 4, rho, b[:, None], 64)
    assert [len(w) for _, w in rule.factors] == [64, 6]  # 64 on the index, 2(d - 1) for the rest
    got = dq.integrate(rule, lambda z, w: w @ expit(-0.5 + z @ b))
    x, w = np.polynomial.hermite_e.hermegauss(64)
    sd = np.sqrt(b @ sigma(4, rho) @ b)
    assert got == pytest.approx(w @ expit(-0.5 + sd * x) / w.sum(), abs=1e-15)


def test_uniform_and_bernoulli_moments() -> None:
    rule = dq.design_rule("uniform", 2, 0.0, np.array([[1.0], [0.3]]), 8)
    assert moments(rule, 2) == pytest.approx({(0, 0): 1.0, (0, 1): 0.0, (1, 1): 1.0}, abs=1e-14)
    assert dq.integrate(rule, lambda z, w: w @ z[:, 0] ** 4) == pytest.approx(9 / 5, abs=1e-14)
    rule = dq.design_rule("bernoulli", 3, 0.0, np.ones((3, 1)), 8)
    assert rule.size == 8 and rule.exact
    assert moments(rule, 2) == pytest.approx({k: 0.5 if k[0] == k[1] else 0.25 for k in moments(rule, 2)})


def test_sqrt_of_equicorrelation() -> None:
    for d, rho in [(1, 0.0), (2, 0.7), (5, -0.2)]:
        root = equicorrelation_sqrt(d, rho)
        np.testing.assert_allclose(root @ root, equicorrelation(d, rho), atol=1e-15)
        np.testing.assert_allclose(root, root.T)


def test_index_order_keeps_every_direction_refining() -> None:
    for ratio in (1.0, 0.5, 0.01, 1e-9):
        orders = [dq.index_order(o, ratio) for o in dq.ORDERS]
        assert all(b > a for a, b in zip(orders, orders[1:], strict=False))
        assert all(o <= top for o, top in zip(orders, dq.ORDERS, strict=True))


def test_collinear_softmax_slopes_reduce_the_rank() -> None:
    """Class 2's slopes are twice class 1's: one index direction (r = 1), same answer as the full product."""
    beta = [[0.2, 0.6, -0.4], [-0.3, 1.2, -0.8]]
    rule = dq.design_rule("normal", 2, 0.3, np.array(beta)[:, 1:].T, 16)
    assert [len(w) for _, w in rule.factors] == [16, 2]
    ref = rule_mean(lambda z: info_terms("softmax", beta, z), normal_product_rule(2, 0.3, 96))
    got = information_by_quadrature("softmax", beta, "normal", 0.3).value
    np.testing.assert_allclose(got, ref, atol=1e-11 * np.abs(ref).max())


@pytest.mark.parametrize("features", ["normal", "uniform", "bernoulli"])
def test_zero_slopes_and_no_features_are_exact(features: str) -> None:
    """b = 0: the weight is constant, the rule is exact at any order; d = 0: the intercept-only model."""
    w = expit(0.3) * expit(-0.3)
    assert expected_information("logistic", [0.3], features)[0, 0] == pytest.approx(w, rel=1e-15)
    got = information_by_quadrature("logistic", [0.3, 0.0, 0.0], features)
    assert got.order is None
    second = np.eye(2) if features != "bernoulli" else np.array([[0.5, 0.25], [0.25, 0.5]])
    mean = np.zeros(2) if features != "bernoulli" else np.full(2, 0.5)
    want = w * np.block([[np.ones((1, 1)), mean[None, :]], [mean[:, None], second]])
    np.testing.assert_allclose(got.value, want, atol=1e-15)


def test_too_many_nodes_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dq, "MAX_NODES", 10_000)
    with pytest.raises(ValueError) as err:
        information_by_quadrature("logistic", [0.1, 1.0, -1.0, 0.5, 0.7], "uniform")
    message = str(err.value)
    assert "\n" not in message
    assert "uniform features with d = 4" in message and "10000 nodes" in message


def test_check_design() -> None:
    check_design("normal", 3, -0.49)
    check_design("normal", 1, -5.0)  # one feature: any correlation < 1 is harmless
    for bad in [("normal", 3, -0.5), ("normal", 2, np.nan), ("normal", -1, 0.0), ("normal", True, 0.0)]:
        with pytest.raises(ValueError):
            check_design(*bad)


DIGEST = """
import hashlib, numpy as np
from mlestudy.theory.glm_bias import first_order_bias_coefficient
from mlestudy.theory.glm_information import expected_information
from mlestudy.theory.least_squares import least_squares_sandwich
h = hashlib.sha256()
for fam, b in [("logistic", [-0.5, 1, -1, 0.5, 0.25]), ("softmax", [[0.2, 1, -1], [-0.3, 0.5, 0.5]])]:
    for kind, rho in [("normal", 0.3), ("bernoulli", 0.0)]:
        for f in (expected_information, first_order_bias_coefficient, least_squares_sandwich):
            h.update(np.ascontiguousarray(f(fam, b, kind, rho)).tobytes())
print(h.hexdigest())
"""


def test_same_bits_with_one_or_two_blas_threads() -> None:
    """The theory columns of a study must not depend on the machine's thread count."""
    root = Path(__file__).resolve().parents[1]
    digests = set()
    for threads in ("1", "2"):
        env = {
            **os.environ,
            "OPENBLAS_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        env["PYTHONPATH"] = str(root)
        out = subprocess.run(
            [sys.executable, "-c", DIGEST], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
