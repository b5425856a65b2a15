"""Closed-form KL divergences against numerical integration of E_true[log f_true - log f_fit] (scipy)."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import kl_div

from mlestudy.models import model_types
from mlestudy.seeding import design_seed
from mlestudy.theory import kl_divergence as kl


def kl_by_quadrature(true: stats.rv_continuous, fit: stats.rv_continuous, lo: float, hi: float) -> float:
    """KL(true || fit) = int f log(f / g), by adaptive quadrature on the true law's bulk."""

    def integrand(x: float) -> float:
        return math.exp(true.logpdf(x)) * (true.logpdf(x) - fit.logpdf(x))

    points = [true.ppf(q) for q in (1e-6, 0.01, 0.5, 0.99, 1 - 1e-6)]
    cuts = sorted({lo, hi, *[p for p in points if lo < p < hi]})
    return sum(
        integrate.quad(integrand, a, b, epsabs=1e-15, epsrel=1e-12, limit=200)[0]
        for a, b in zip(cuts[:-1], cuts[1:], strict=False)
    )


@pytest.mark.parametrize("mu_hat, s2_hat", [(5.0, 4.0), (5.3, 2.5), (4.0, 9.0), (5.001, 4.002), (-3.0, 0.2)])
def test_normal(mu_hat: float, s2_hat: float) -> None:
    want = kl_by_quadrature(stats.norm(5.0, 2.0), stats.norm(mu_hat, math.sqrt(s2_hat)), -math.inf, math.inf)
    got = float(kl.normal_kl(5.0, 4.0, np.array([mu_hat]), np.array([s2_hat]))[0])
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("rate_hat", [0.5, 0.51, 0.5000001, 0.1, 3.0])
def test_exponential(rate_hat: float) -> None:
    want = kl_by_quadrature(stats.expon(scale=2.0), stats.expon(scale=1 / rate_hat), 0.0, math.inf)
    assert float(kl.exponential_kl(0.5, np.array([rate_hat]))[0]) == pytest.approx(want, rel=1e-8, abs=1e-16)


@pytest.mark.parametrize(
    "shape_hat, rate_hat", [(2.0, 3.0), (2.5, 3.2), (0.7, 1.0), (9.0, 12.0), (2.0001, 3.0)]
)
def test_gamma(shape_hat: float, rate_hat: float) -> None:
    want = kl_by_quadrature(
        stats.gamma(2.0, scale=1 / 3.0), stats.gamma(shape_hat, scale=1 / rate_hat), 0, math.inf
    )
    got = float(kl.gamma_kl(2.0, 3.0, np.array([shape_hat]), np.array([rate_hat]))[0])
    assert got == pytest.approx(want, rel=1e-8, abs=1e-15)


@pytest.mark.parametrize("rate_hat", [3.0, 3.3, 0.2, 3.000001, 40.0])
def test_poisson(rate_hat: float) -> None:
    k = np.arange(0, 120)  # P(k >= 120) < 1e-100 under the truth
    log_p, log_q = stats.poisson.logpmf(k, 3.0), stats.poisson.logpmf(k, rate_hat)
    want = float(np.exp(log_p) @ (log_p - log_q))  # sum p log(p / q) from scipy's log-pmfs
    assert float(kl.poisson_kl(3.0, np.array([rate_hat]))[0]) == pytest.approx(want, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("p_hat", [0.7, 0.1, 0.99, 0.7000001, 0.5])
def test_bernoulli(p_hat: float) -> None:
    want = stats.entropy([0.3, 0.7], [1 - p_hat, p_hat])
    assert float(kl.bernoulli_kl(0.7, np.array([p_hat]))[0]) == pytest.approx(want, rel=1e-9, abs=1e-16)


def test_boundary_is_infinite_and_nan_stays_nan() -> None:
    """Zero mass where the truth has mass: +inf; a NaN estimate: NaN."""
    assert np.array_equal(kl.bernoulli_kl(0.3, np.array([0.0, 1.0])), [np.inf, np.inf])
    assert np.isinf(kl.poisson_kl(2.0, np.array([0.0]))[0])
    assert np.isinf(kl.normal_kl(0.0, 1.0, np.array([0.0]), np.array([0.0]))[0])
    assert np.isinf(kl.linear_regression_kl(1.0, np.zeros((1, 2)), np.array([0.0]), np.eye(2))[0])
    for value in (
        kl.bernoulli_kl(0.3, np.array([np.nan])),
        kl.poisson_kl(2.0, np.array([np.nan])),
        kl.normal_kl(0.0, 1.0, np.array([np.nan]), np.array([1.0])),
        kl.exponential_kl(1.0, np.array([np.nan])),
        kl.gamma_kl(1.0, 1.0, np.array([np.nan]), np.array([1.0])),
    ):
        assert np.isnan(value[0])


def _exact(expression) -> float:
    """An expression in Decimal at 60 digits (an independent high-precision reference)."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        return float(expression(decimal.Decimal))


def test_tiny_divergences_keep_their_relative_accuracy() -> None:
    """Near the truth the KL is ~delta^2 I/2; no digits cancel down to delta = 1e-7 (60-digit references)."""
    for delta in (1e-3, 1e-5, 1e-7):
        q = 0.3 + delta

        def bern(D, q=q):
            p, qq = D("0.3"), D(q)
            return p * (p / qq).ln() + (1 - p) * ((1 - p) / (1 - qq)).ln()

        def pois(D, delta=delta):
            lam, mu = D(3), D(3.0 + delta)
            return lam * (lam / mu).ln() + mu - lam

        def expo(D, delta=delta):
            r = D(1.0 + delta)
            return r - 1 - r.ln()

        assert kl.bernoulli_kl(0.3, np.array([q]))[0] == pytest.approx(_exact(bern), rel=1e-9)
        assert kl.poisson_kl(3.0, np.array([3.0 + delta]))[0] == pytest.approx(_exact(pois), rel=1e-9)
        assert kl.exponential_kl(1.0, np.array([1.0 + delta]))[0] == pytest.approx(_exact(expo), rel=1e-9)
        assert kl.normal_kl(0.0, 1.0, np.array([delta]), np.array([1.0]))[0] == pytest.approx(
            delta**2 / 2, rel=1e-12
        )


def test_series_helpers_against_high_precision() -> None:
    for x in (-0.9, -0.29, -1e-4, 1e-9, 0.1, 0.29, 0.31, 2.0):
        assert kl.expm1mx(np.array([x]))[0] == pytest.approx(
            _exact(lambda D, x=x: D(x).exp() - 1 - D(x)), rel=1e-14
        )
        assert kl.log1pmx(np.array([x]))[0] == pytest.approx(
            _exact(lambda D, x=x: D(x) - (1 + D(x)).ln()), rel=1e-13
        )
    for a in (1e-3, 0.2, 0.49, 0.51, 1.0, 7.0, 300.0):

        def log_sinhc(D, a=a):
            e = D(a).exp()
            return ((e - 1 / e) / (2 * D(a))).ln()

        def coth_minus_inverse(D, a=a):
            e2 = (2 * D(a)).exp()
            return (e2 + 1) / (e2 - 1) - 1 / D(a)

        assert kl.log_sinhc(np.array([a]))[0] == pytest.approx(_exact(log_sinhc), rel=1e-14)
        assert kl.coth_minus_inverse(np.array([a]))[0] == pytest.approx(_exact(coth_minus_inverse), rel=1e-14)


# -- regression models: per-x closed form integrated over the design by scipy ------------------------------
def _bound(name: str, params: dict, design: dict):
    kind = model_types()[name]
    assert kind.check_config(params, design) == []
    return kind(params, design, design_seed(11, name))


def _gauss_1d(f, lo=-12.0, hi=12.0) -> float:
    return integrate.quad(
        lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
        lo,
        hi,
        epsabs=1e-15,
        epsrel=1e-12,
        limit=200,
    )[0]


@pytest.mark.parametrize("features", ["normal", "uniform", "bernoulli"])
def test_linear_regression_against_integration_over_the_design(features: str) -> None:
    model = _bound("linear_regression", {"beta": [1.0, -0.7], "sigma2": 2.0}, {"features": features})
    beta_hat, s2_hat = np.array([1.2, -0.4]), 1.5

    def per_x(z: float) -> float:  # the normal KL given x (checked against quadrature above)
        return float(
            kl.normal_kl(1.0 - 0.7 * z, 2.0, np.array([beta_hat[0] + beta_hat[1] * z]), np.array([s2_hat]))[0]
        )

    if features == "normal":
        want = _gauss_1d(per_x)
    elif features == "uniform":
        want = integrate.quad(lambda z: per_x(z) / (2 * math.sqrt(3)), -math.sqrt(3), math.sqrt(3))[0]
    else:
        want = 0.5 * per_x(0.0) + 0.5 * per_x(1.0)
    got = model.kl_divergence(
        {"beta[0]": beta_hat[:1], "beta[1]": beta_hat[1:], "sigma2": np.array([s2_hat])}, 30
    )
    assert got[0] == pytest.approx(want, rel=1e-8)


def test_linear_regression_fixed_design_is_the_mean_over_its_rows() -> None:
    model = _bound("linear_regression", {"beta": [1.0, -0.7, 0.3], "sigma2": 2.0}, {"fixed": True})
    x = model.fixed_design(12)
    beta_hat, s2_hat = np.array([0.8, -0.5, 0.1]), 2.6
    rows = [
        float(kl.normal_kl(float(xi @ model.beta), 2.0, np.array([xi @ beta_hat]), np.array([s2_hat]))[0])
        for xi in x
    ]
    theta_hat = {f"beta[{j}]": beta_hat[j : j + 1] for j in range(3)} | {"sigma2": np.array([s2_hat])}
    assert model.kl_divergence(theta_hat, 12)[0] == pytest.approx(np.mean(rows), rel=1e-12)


def _poisson_per_x(eta: float, eta_hat: float) -> float:
    """KL between Poisson(e^eta) and Poisson(e^eta-hat): scipy's kl_div (x log(x/y) - x + y)."""
    return float(kl_div(math.exp(eta), math.exp(eta_hat)))


@pytest.mark.parametrize("features", ["normal", "uniform", "bernoulli"])
def test_poisson_regression_closed_form_against_integration(features: str) -> None:
    beta, beta_hat = np.array([0.5, 0.8]), np.array([[0.3, 1.1], [0.5, 0.8], [0.52, 0.79]])
    got = kl.poisson_regression_kl(beta, beta_hat, features)
    for g, bh in zip(got, beta_hat, strict=True):

        def f(z: float, bh=bh) -> float:
            return _poisson_per_x(beta[0] + beta[1] * z, bh[0] + bh[1] * z)

        if features == "normal":
            want = _gauss_1d(f, -15, 15)
        elif features == "uniform":
            want = integrate.quad(
                lambda z: f(z) / (2 * math.sqrt(3)), -math.sqrt(3), math.sqrt(3), epsrel=1e-13
            )[0]
        else:
            want = 0.5 * f(0.0) + 0.5 * f(1.0)
        assert g == pytest.approx(want, rel=1e-9, abs=1e-16)


def test_poisson_regression_correlated_normal_features_against_2d_integration() -> None:
    rho = 0.4
    cov = np.array([[1, rho], [rho, 1]])
    beta, beta_hat = np.array([0.2, 0.5, -0.3]), np.array([[0.1, 0.7, -0.1]])
    got = kl.poisson_regression_kl(beta, beta_hat, "normal", cov)[0]
    law = stats.multivariate_normal([0, 0], cov)

    def f(z2: float, z1: float) -> float:
        z = np.array([z1, z2])
        return _poisson_per_x(beta[0] + beta[1:] @ z, beta_hat[0, 0] + beta_hat[0, 1:] @ z) * law.pdf(z)

    want = integrate.dblquad(f, -9, 9, -9, 9, epsabs=1e-13, epsrel=1e-11)[0]
    assert got == pytest.approx(want, rel=1e-8)


def test_poisson_regression_fixed_design_is_the_mean_over_its_rows() -> None:
    model = _bound("poisson_regression", {"beta": [0.4, 0.3, -0.2]}, {"fixed": True})
    x = model.fixed_design(20)
    beta_hat = np.array([0.5, 0.1, -0.25])
    want = np.mean([_poisson_per_x(xi @ model.beta, xi @ beta_hat) for xi in x])
    theta_hat = {f"beta[{j}]": beta_hat[j : j + 1] for j in range(3)}
    assert model.kl_divergence(theta_hat, 20)[0] == pytest.approx(want, rel=1e-12)
