"""The KL quadratures of logistic and softmax regression against brute-force integration and Monte Carlo.

References are independent of the rules under test: scipy's adaptive quadrature in the
original variables (split at every kink), explicit loops with scipy's softmax and entropy,
and a large seeded Monte Carlo over the design law.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, log_expit, log_softmax, logsumexp

from mlestudy.theory.kl_glm import categorical_kl
from mlestudy.theory.logistic_gauss import gauss_expectation
from mlestudy.theory.logsumexp_gauss import logsumexp_gauss

SQRT3 = math.sqrt(3.0)
FUNCTIONS = {
    "softplus": lambda t: np.logaddexp(0.0, t),
    "sigmoid": expit,
    "sigmoid_prime": lambda t: np.exp(log_expit(t) + log_expit(-t)),
}


def _quad(f, cuts, epsrel: float = 1e-13) -> float:
    cuts = sorted(set(cuts))
    return sum(
        integrate.quad(f, a, b, epsabs=1e-300, epsrel=epsrel, limit=400)[0]
        for a, b in zip(cuts[:-1], cuts[1:], strict=False)
    )


def _normal_mean(f, m: float, s: float) -> float:
    """E[f(m + s V)] by adaptive quadrature in v, split around the kink v = -m/s."""
    if s == 0:
        return float(f(m))
    k = -m / s
    near = [k + e / s for e in (-40, -20, -5, -1, 0, 1, 5, 20, 40)]
    return _quad(
        lambda v: f(m + s * v) * math.exp(-v * v / 2) / math.sqrt(2 * math.pi),
        [-40, 40, *[c for c in near if -40 < c < 40]],
    )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_logistic_gauss_expectations_at_every_scale(name: str) -> None:
    """Exact to ~1e-15 from s = 0 to s = 1000 (Gauss-Hermite up to s = 1.4, the split rule above)."""
    cases = [
        (m, s)
        for s in (0.0, 1e-3, 0.3, 0.9, 1.39, 1.41, 2.0, 5.0, 30.0, 1000.0)
        for m in (0.0, 0.4, -2.5, 7.0, -30.0)
    ]
    got = gauss_expectation(name, [c[0] for c in cases], [c[1] for c in cases])
    for (m, s), value in zip(cases, got, strict=True):
        want = _normal_mean(FUNCTIONS[name], m, s)
        assert value == pytest.approx(want, rel=2e-15, abs=5e-15 * max(1.0, abs(want))), (m, s)


def test_logistic_gauss_rejects_negative_scales_and_keeps_nan() -> None:
    with pytest.raises(ValueError, match="scale"):
        gauss_expectation("softplus", 0.0, -1.0)
    assert np.isnan(gauss_expectation("sigmoid", np.nan, 1.0))
    with pytest.raises(ValueError, match="name"):
        gauss_expectation("tanh", 0.0, 1.0)


# -- E[log(1 + e^t1 + e^t2)] ------------------------------------------------------------------------------
def _conditional(mean: np.ndarray, cov: np.ndarray) -> tuple[float, float, float, float, float]:
    """t1 ~ N(m1, s1^2) and t2 | t1 ~ N(m2 + slope (t1 - m1), tau^2)."""
    m1, m2 = mean
    s1 = math.sqrt(cov[0, 0])
    slope = cov[0, 1] / cov[0, 0]
    return m1, s1, m2, slope, math.sqrt(max(cov[1, 1] - cov[0, 1] ** 2 / cov[0, 0], 0.0))


def _outer_cuts(m1: float, s1: float, m2: float, slope: float, tau: float) -> list[float]:
    """Where E[A | t1] bends: t1 = 0 and where the conditional mean of t2 crosses 0 or t1."""
    cands = [0.0, m1]
    if slope != 0:
        cands.append(m1 - m2 / slope)
    if slope != 1:
        cands.append((m2 - slope * m1) / (1 - slope))
    lo, hi = m1 - 12 * s1, m1 + 12 * s1
    cuts = [c + e for c in cands for e in (0, -5 * max(1, tau), -1, -0.2, 0.2, 1, 5 * max(1, tau))]
    return [lo, hi, *[c for c in cuts if lo < c < hi]]


def _lse_reference(mean: np.ndarray, cov: np.ndarray) -> float:
    """Nested adaptive quadrature of log(1 + e^t1 + e^t2) in (t1, t2), split at t1 = 0, t2 = 0 and t2 = t1."""
    m1, s1, m2, slope, tau = _conditional(mean, cov)

    def inner(t1: float) -> float:
        mu = m2 + slope * (t1 - m1)
        lo, hi = mu - 12 * tau, mu + 12 * tau

        def f(t2: float) -> float:
            top = max(0.0, t1, t2)
            return (top + math.log(math.exp(-top) + math.exp(t1 - top) + math.exp(t2 - top))) * math.exp(
                -0.5 * ((t2 - mu) / tau) ** 2
            )

        cuts = [lo, hi, *[c for c in (0.0, t1, mu) if lo < c < hi]]
        return _quad(f, cuts, 1e-11) / (tau * math.sqrt(2 * math.pi))

    def g(t1: float) -> float:
        return inner(t1) * math.exp(-0.5 * ((t1 - m1) / s1) ** 2) / (s1 * math.sqrt(2 * math.pi))

    return _quad(g, _outer_cuts(m1, s1, m2, slope, tau), 1e-11)


def _lse_reference_steep(mean: np.ndarray, cov: np.ndarray) -> float:
    """As :func:`_lse_reference`, the inner integral through log(1 + e^t1 + e^t2) = sp(t1) + sp(t2 - sp(t1))
    (elementary algebra) so that it is one softplus expectation: fast enough for steep cases."""
    m1, s1, m2, slope, tau = _conditional(mean, cov)
    softplus = FUNCTIONS["softplus"]

    def inner(t1: float) -> float:
        s = float(softplus(t1))
        return s + _normal_mean(softplus, m2 + slope * (t1 - m1) - s, tau)

    dens1 = stats.norm(m1, s1).pdf
    return _quad(lambda t1: inner(t1) * dens1(t1), _outer_cuts(m1, s1, m2, slope, tau))


def _random_cases(seed: int, scales: tuple[float, ...], rank: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means, covs = [], []
    for scale in scales:
        a = rng.normal(size=(2, rank)) * scale
        means.append(rng.normal(size=2) * 2)
        covs.append(a @ a.T)
    return np.array(means), np.array(covs)


def test_logsumexp_gauss_two_classes_against_2d_quadrature() -> None:
    """The nested rule's Gauss-Hermite path against plain 2-D adaptive quadrature of A."""
    means, covs = _random_cases(5, (0.3, 0.7, 1.2, 2.0), rank=3)
    got = logsumexp_gauss(means, covs)
    for mean, cov, value in zip(means, covs, got, strict=True):
        assert value == pytest.approx(_lse_reference(mean, cov), rel=1e-11)


def test_logsumexp_gauss_two_classes_steep() -> None:
    """Steep fits (slopes 1.5 to 40: both paths, the graded rule above slope 3) to 1e-12."""
    means, covs = _random_cases(6, (1.5, 3.0, 6.0, 12.0, 40.0), rank=3)
    got = logsumexp_gauss(means, covs)
    for mean, cov, value in zip(means, covs, got, strict=True):
        assert value == pytest.approx(_lse_reference_steep(mean, cov), rel=1e-12)


def test_logsumexp_gauss_on_a_line_of_any_steepness() -> None:
    """Rank-one covariance (one feature): a 1-D integral along the line, slopes up to 100."""
    rng = np.random.default_rng(3)
    for scale in (0.5, 3.0, 10.0, 100.0):
        mean, slope = rng.normal(size=2) * 3, rng.normal(size=2) * scale
        got = logsumexp_gauss(mean[None], np.outer(slope, slope)[None])[0]
        kinks = [-mean[0] / slope[0], -mean[1] / slope[1], (mean[1] - mean[0]) / (slope[0] - slope[1])]
        cuts = [
            c + e
            for c in kinks
            for e in np.concatenate([[0.0], np.geomspace(1e-4, 3, 14), -np.geomspace(1e-4, 3, 14)])
        ]

        def f(v: float, mean=mean, slope=slope) -> float:
            return (
                float(logsumexp([0.0, *(mean + slope * v)])) * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
            )

        want = _quad(f, [-12, 12, *[c for c in cuts if -12 < c < 12]])
        assert got == pytest.approx(want, rel=1e-13)


def test_logsumexp_gauss_three_classes_product_rule_and_budget() -> None:
    """m = 3: the product rule against a 1-D integral (rank one) and a large Monte Carlo; over budget: NaN."""
    mean, slope = np.array([0.3, -0.5, 1.0]), np.array([0.6, -0.4, 0.2])
    got = logsumexp_gauss(mean[None], np.outer(slope, slope)[None])[0]
    want = _normal_mean(lambda t: float(logsumexp([0.0, *(mean + slope * t)])), 0.0, 1.0)
    assert got == pytest.approx(want, rel=1e-12)
    rng = np.random.default_rng(8)
    a = rng.normal(size=(3, 4)) * 0.3
    cov = a @ a.T
    got = logsumexp_gauss(mean[None], cov[None])[0]
    draws = rng.multivariate_normal(mean, cov, size=2_000_000)
    values = logsumexp(np.column_stack([np.zeros(len(draws)), draws]), axis=1)
    assert abs(got - values.mean()) < 4.5 * values.std() / math.sqrt(len(values))
    assert np.isnan(logsumexp_gauss(mean[None], (4 * np.eye(3))[None])[0])  # needs more than 2^16 nodes


# -- the KL of logistic and softmax regression ------------------------------------------------------------
def _divergence(b: np.ndarray, bh: np.ndarray, x: np.ndarray) -> float:
    """sum_k p_k log(p_k / q_k) with scipy's log_softmax (an independent implementation)."""
    log_p = log_softmax(np.concatenate([[0.0], b @ x]))
    log_q = log_softmax(np.concatenate([[0.0], bh @ x]))
    return float(np.exp(log_p) @ (log_p - log_q))


def _kl_one_feature(b: np.ndarray, bh: np.ndarray, features: str) -> float:
    """E_z of the divergence for one feature, by quadrature in z split at every linear predictor's kink."""
    kinks = [-row[0] / row[1] for row in (*b, *bh) if row[1] != 0]
    pairs = [(r[0] - s[0]) / (s[1] - r[1]) for r in (*b, *bh) for s in (*b, *bh) if s[1] != r[1]]
    near = [k + e for k in kinks + pairs for e in (0.0, -0.1, 0.1, -1.0, 1.0)]
    if features == "normal":

        def f(z: float) -> float:
            return _divergence(b, bh, np.array([1.0, z])) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

        return _quad(f, [-12, 12, *[c for c in near if -12 < c < 12]])
    return _quad(
        lambda z: _divergence(b, bh, np.array([1.0, z])) / (2 * SQRT3),
        [-SQRT3, SQRT3, *[c for c in near if -SQRT3 < c < SQRT3]],
    )


@pytest.mark.parametrize("family, classes", [("logistic", 1), ("softmax", 2)])
@pytest.mark.parametrize("features", ["normal", "uniform"])
def test_one_feature_against_quadrature_from_near_the_truth_to_nearly_separated(
    family: str, classes: int, features: str
) -> None:
    rng = np.random.default_rng(21 + classes)
    b = rng.normal(size=(classes, 2))
    fits = [b + rng.normal(size=b.shape) * scale for scale in (0.01, 0.3, 1.0)]
    fits += [b * np.array([1.0, 8.0]), b * np.array([0.5, 40.0])]  # steep fits: slopes 8x and 40x the truth
    bh = np.array(fits)
    got = categorical_kl(
        family, b[0] if classes == 1 else b, bh[:, 0] if classes == 1 else bh, features=features
    )
    for value, fit in zip(got, bh, strict=True):
        # abs: the Bregman form's rounding (~1e-16), visible only on the fit nearest the truth
        assert value == pytest.approx(_kl_one_feature(b, fit, features), rel=2e-12, abs=1e-15)


@pytest.mark.parametrize("family", ["logistic", "softmax"])
def test_two_correlated_normal_features_against_2d_quadrature(family: str) -> None:
    rho = -0.35
    b = (
        np.array([[0.2, 0.8, -0.6]])
        if family == "logistic"
        else np.array([[0.2, 0.8, -0.6], [-0.4, 0.3, 0.5]])
    )
    bh = b + np.array([[0.3, -0.2, 0.25]])
    cov = np.array([[1, rho], [rho, 1]])
    got = categorical_kl(
        family,
        b[0] if family == "logistic" else b,
        bh[None, 0] if family == "logistic" else bh[None],
        features="normal",
        correlation=rho,
    )[0]
    law = stats.multivariate_normal([0, 0], cov)
    want = integrate.dblquad(
        lambda z2, z1: _divergence(b, bh, np.array([1.0, z1, z2])) * law.pdf([z1, z2]),
        -8,
        8,
        -8,
        8,
        epsabs=1e-12,
        epsrel=1e-9,
    )[0]
    assert got == pytest.approx(want, rel=1e-8)


@pytest.mark.parametrize(
    "family, beta",
    [("logistic", [-0.5, 1.0, -1.0, 0.5, 0.25]), ("softmax", [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]])],
)
@pytest.mark.parametrize("features", ["normal", "uniform", "bernoulli"])
def test_the_default_coefficients_against_a_large_monte_carlo(family: str, beta: list, features: str) -> None:
    """Four (two) features: the rule against 2e6 seeded design draws, within 4.5 Monte Carlo SEs."""
    b = np.atleast_2d(np.asarray(beta))
    rng = np.random.default_rng(99)
    bh = b + rng.normal(size=b.shape) * 0.3
    got = categorical_kl(family, np.asarray(beta), bh.reshape(1, *np.shape(beta)), features=features)[0]
    d = b.shape[1] - 1
    z = {
        "normal": lambda: rng.standard_normal((2_000_000, d)),
        "uniform": lambda: rng.uniform(-SQRT3, SQRT3, (2_000_000, d)),
        "bernoulli": lambda: (rng.random((2_000_000, d)) < 0.5).astype(float),
    }[features]()
    x = np.column_stack([np.ones(len(z)), z])
    zero = np.zeros((len(x), 1))
    log_p = np.concatenate([zero, x @ b.T], axis=1)
    log_p -= logsumexp(log_p, axis=1, keepdims=True)
    log_q = np.concatenate([zero, x @ bh.T], axis=1)
    log_q -= logsumexp(log_q, axis=1, keepdims=True)
    values = np.sum(np.exp(log_p) * (log_p - log_q), axis=1)
    assert abs(got - values.mean()) < 4.5 * values.std() / math.sqrt(len(values))


def test_bernoulli_enumeration_and_fixed_design_against_explicit_loops() -> None:
    rng = np.random.default_rng(4)
    b = np.array([[0.3, -1.0, 0.5, 0.8], [0.1, 0.4, -0.7, 0.2]])
    bh = b + rng.normal(size=(3, 2, 4)) * 0.4
    got = categorical_kl("softmax", b, bh, features="bernoulli")
    patterns = [np.array([1.0, *z]) for z in np.ndindex(2, 2, 2)]
    for value, fit in zip(got, bh, strict=True):
        assert value == pytest.approx(np.mean([_divergence(b, fit, x) for x in patterns]), rel=1e-12)
    x = np.column_stack([np.ones(17), rng.normal(size=(17, 3))])
    got = categorical_kl("softmax", b, bh, x=x)
    for value, fit in zip(got, bh, strict=True):
        assert value == pytest.approx(np.mean([_divergence(b, fit, row) for row in x]), rel=1e-12)


@pytest.mark.parametrize("features", ["normal", "uniform", "bernoulli"])
def test_zero_at_the_truth_nan_for_nan_fits(features: str) -> None:
    b = np.array([[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]])
    bh = np.stack([b, b + 0.1, np.full_like(b, np.nan)])
    got = categorical_kl("softmax", b, bh, features=features)
    assert abs(got[0]) < 1e-15 and got[1] > 0 and np.isnan(got[2])
    got = categorical_kl("logistic", b[0], bh[:, 0], features=features)
    assert abs(got[0]) < 1e-15 and got[1] > 0 and np.isnan(got[2])


def test_uniform_rule_over_its_budget_is_unresolved() -> None:
    """A fit far too steep for the node budget gives NaN (the summary counts it in kl_unresolved)."""
    b = np.array([0.1, 1.0, -0.5])
    got = categorical_kl("logistic", b, np.array([b, b * 60]), features="uniform", budget=1 << 10)
    assert np.isfinite(got[0]) and np.isnan(got[1])
