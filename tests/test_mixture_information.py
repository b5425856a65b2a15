"""Fisher information of the normal mixture: the issue's numbers, scipy's adaptive quadrature, the
information identity, the complete-data bounds and the convergence of the trapezoidal rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from mlestudy.fitting.mixture_hessian import observed_information
from mlestudy.fitting.mixture_model import MixtureParams
from mlestudy.theory import mixture_information as mi

ISSUE = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))
UNEQUAL = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 1.0]), np.array([0.01, 1.0]))
THREE = MixtureParams(np.array([0.2, 0.5, 0.3]), np.array([-2.0, 0.0, 3.0]), np.array([0.5, 1.0, 2.0]))
EXAMPLES = {"issue": ISSUE, "unequal_variances": UNEQUAL, "three_components": THREE}


def density_score(x: float, p: MixtureParams) -> tuple[np.ndarray, float]:
    """Score as grad f / f from scipy's normal pdf: no log-sum-exp, no responsibilities."""
    w, m, v = p.arrays()
    k = w.size
    phi = norm.pdf(x, m, np.sqrt(v))
    f = float((w * phi).sum())
    d_w = phi[: k - 1] - phi[k - 1]
    d_m = w * phi * (x - m) / v
    d_v = w * phi * ((x - m) ** 2 - v) / (2 * v * v)
    return np.concatenate([d_w, d_m, d_v]) / f, f


def quad_information(p: MixtureParams) -> np.ndarray:
    """Each entry of E[g g'] by QUADPACK's adaptive Gauss–Kronrod, breakpoints at the means.

    Diagonal entries to a relative 1e-11; off-diagonal ones (some near 0) to an absolute
    1e-12 sqrt(I_ii I_jj).
    """
    sd = np.sqrt(p.variances)
    lo, hi = float((p.means - 15 * sd).min()), float((p.means + 15 * sd).max())
    size = 3 * p.n_components - 1

    def entry(i: int, j: int, epsabs: float) -> float:
        def integrand(x: float) -> float:
            g, f = density_score(x, p)
            return g[i] * g[j] * f

        return integrate.quad(
            integrand, lo, hi, points=list(p.means), epsabs=epsabs, epsrel=1e-11, limit=1000
        )[0]

    diag = np.array([entry(i, i, 0.0) for i in range(size)])
    out = np.diag(diag)
    for i in range(size):
        for j in range(i + 1, size):
            out[i, j] = out[j, i] = entry(i, j, 1e-12 * np.sqrt(diag[i] * diag[j]))
    return out


def test_issue_bounds_reproduced():
    """The issue quotes pi 0.874, mu 18.94 and 4.81, sigma2 28.16 and 8.83 per observation."""
    bound = mi.crlb(ISSUE)
    np.testing.assert_array_equal(np.round(bound.weights, 3), [0.874, 0.874])
    np.testing.assert_array_equal(np.round(bound.means, 2), [18.94, 4.81])
    np.testing.assert_array_equal(np.round(bound.variances, 2), [28.16, 8.83])


def test_missing_labels_cost_three_to_six_times_the_information():
    cost = mi.information_cost(ISSUE)
    ratios = np.concatenate(cost.arrays())
    assert 3.0 < ratios.min() < 3.1 and 5.6 < ratios.max() < 6.0
    np.testing.assert_allclose(np.round(cost.means, 2), [5.68, 3.37])


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_information_agrees_with_adaptive_quadrature(name):
    p = EXAMPLES[name]
    ours, ref = mi.fisher_information(p), quad_information(p)
    assert mi.quadrature_change(ours, ref) < 1e-10


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_information_identity_with_the_exact_hessian(name):
    """E[g g'] (the score) equals -E[Hessian] (the analytic observed information), on the same grid."""
    p = EXAMPLES[name]
    spacing = mi.FIRST_SPACING * np.sqrt(p.variances.min()) / 16
    x, weight = mi.quadrature_grid(p, spacing)
    rows = MixtureParams(*(np.broadcast_to(a, (x.size, p.n_components)) for a in p.arrays()))
    with np.errstate(under="ignore"):
        _, info = observed_information(x[:, None], rows)
    minus_hessian = np.einsum("i,ipq->pq", weight, info)
    assert mi.quadrature_change(minus_hessian, mi.fisher_information(p)) < 1e-10


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_quadrature_converges_geometrically(name):
    """Halving the spacing: the first halving still changes I, the next changes it 1000x less, and
    from the third on only rounding is left (measured: 1e-5 / 3e-11 / 1e-16 for the issue's example).
    The accepted result is within 1e-11 of a grid 64 times finer than the first."""
    p = EXAMPLES[name]
    h = mi.FIRST_SPACING * np.sqrt(p.variances.min())
    grids = [mi.fisher_information_at(p, h / 2**j) for j in range(5)]
    changes = [mi.quadrature_change(a, b) for a, b in zip(grids, grids[1:], strict=False)]
    assert changes[0] > 1e-8
    assert changes[1] < changes[0] / 1000
    assert max(changes[2:]) < 1e-13
    final = mi.fisher_information(p)
    assert mi.quadrature_change(final, mi.fisher_information_at(p, h / 64)) < 1e-11


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_complete_data_bounds_and_loewner_order(name):
    """Known labels: w(1 - w), v / w and 2 v^2 / w; and I_complete - I is positive semidefinite."""
    p = EXAMPLES[name]
    w, m, v = p.arrays()
    bound = mi.complete_data_crlb(p)
    np.testing.assert_allclose(bound.weights, w * (1 - w), rtol=1e-13)
    np.testing.assert_allclose(bound.means, v / w, rtol=1e-13)
    np.testing.assert_allclose(bound.variances, 2 * v * v / w, rtol=1e-13)
    gap = mi.complete_data_information(p) - mi.fisher_information(p)
    d = np.sqrt(np.diag(mi.complete_data_information(p)))
    assert np.linalg.eigvalsh(gap / np.outer(d, d)).min() > -1e-10
    assert (np.concatenate(mi.information_cost(p).arrays()) > 1).all()


def test_last_weight_bound_is_the_delta_method():
    info = mi.fisher_information(THREE)
    cov = np.linalg.inv(info)
    bound = mi.crlb(THREE)
    np.testing.assert_allclose(bound.weights[:2], np.diag(cov)[:2], rtol=1e-14)
    np.testing.assert_allclose(bound.weights[2], cov[:2, :2].sum(), rtol=1e-14)


def test_one_component_is_the_normal_information():
    p = MixtureParams(np.array([1.0]), np.array([2.0]), np.array([3.0]))
    np.testing.assert_allclose(
        mi.fisher_information(p), np.diag([1 / 3.0, 1 / (2 * 9.0)]), rtol=1e-11, atol=1e-15
    )


def test_bad_parameters_are_one_clear_line():
    bad = MixtureParams(np.array([0.3, 0.6]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))
    with pytest.raises(
        ValueError,
        match=r"^mixture information: weights sum to 0\.89+\d*, which is not allowed; they must sum to 1$",
    ):
        mi.crlb(bad)
    bad = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"^mixture information: variances = -1\.0 is not allowed"):
        mi.fisher_information(bad)
