"""Standard errors of the mixture MLE: the analytic score and observed information against
numerical derivatives, the delta method for the last weight, singular information, and the SEs
against the spread of simulated estimates."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tools.numdiff import approx_fprime, approx_hess3
from test_mixture_em import simulate

from mlestudy.fitting.em import fit_mixture
from mlestudy.fitting.mixture_hessian import covariance, observed_information, standard_errors
from mlestudy.fitting.mixture_model import MixtureParams, loglik
from mlestudy.status import Status

TWO = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))
THREE = MixtureParams(np.array([0.2, 0.5, 0.3]), np.array([-3.0, 0.0, 4.0]), np.array([0.5, 1.0, 2.0]))
SEPARATED = MixtureParams(np.array([0.4, 0.6]), np.array([0.0, 4.0]), np.array([1.0, 1.5]))


def free(p: MixtureParams) -> np.ndarray:
    return np.concatenate([p.weights[:-1], p.means, p.variances])


def unfree(theta: np.ndarray, k: int) -> MixtureParams:
    w = np.append(theta[: k - 1], 1 - theta[: k - 1].sum())
    return MixtureParams(w, theta[k - 1 : 2 * k - 1], theta[2 * k - 1 :])


def fitted(p: MixtureParams, seed: int, n: int) -> tuple[np.ndarray, MixtureParams]:
    x = simulate(seed, 1, n, p)
    fit = fit_mixture(x, p.n_components)
    assert fit.status[0] == Status.OK
    return x[0], MixtureParams(fit.weights[0], fit.means[0], fit.variances[0])


def cases() -> dict[str, tuple[np.ndarray, MixtureParams]]:
    x2, mle2 = fitted(TWO, 31, 150)
    x3, mle3 = fitted(THREE, 32, 300)
    off = MixtureParams(np.array([0.45, 0.55]), np.array([0.4, 2.5]), np.array([1.6, 0.7]))
    return {"two at the MLE": (x2, mle2), "three at the MLE": (x3, mle3), "two off the MLE": (x2, off)}


@pytest.mark.parametrize("name", ["two at the MLE", "three at the MLE", "two off the MLE"])
def test_score_and_information_match_numerical_derivatives(name):
    """Analytic score vs a central difference of the log-likelihood; analytic information vs a
    central difference of the analytic score (error O(h^2) ~ 1e-10) and vs statsmodels'
    approx_hess3 of the log-likelihood itself (error ~ 1e-7 relative)."""
    x, p = cases()[name]
    k = p.n_components
    theta = free(p)
    score, info = observed_information(x, p)

    def f(t: np.ndarray) -> float:
        return float(loglik(x, unfree(t, k)))

    def g(t: np.ndarray) -> np.ndarray:
        return observed_information(x, unfree(t, k))[0]

    scale = np.abs(info).max()
    np.testing.assert_allclose(
        score, approx_fprime(theta, f, centered=True), rtol=0, atol=1e-6 * np.abs(score).max() + 1e-6
    )
    h = 1e-5 * np.maximum(1.0, np.abs(theta))
    jac = np.column_stack(
        [(g(theta + h[j] * e) - g(theta - h[j] * e)) / (2 * h[j]) for j, e in enumerate(np.eye(theta.size))]
    )
    assert np.abs(-jac - info).max() < 1e-8 * scale
    assert np.abs(-approx_hess3(theta, f) - info).max() < 1e-6 * scale


def test_standard_errors_match_a_numerical_hessian_at_the_mle():
    x, p = cases()["three at the MLE"]
    fit = fit_mixture(x[None], 3)
    theta = free(MixtureParams(fit.weights[0], fit.means[0], fit.variances[0]))
    cov = np.linalg.inv(-approx_hess3(theta, lambda t: float(loglik(x, unfree(t, 3)))))
    se_w = np.sqrt(np.append(np.diag(cov)[:2], cov[:2, :2].sum()))
    np.testing.assert_allclose(fit.se_weights[0], se_w, rtol=1e-5)
    np.testing.assert_allclose(fit.se_means[0], np.sqrt(np.diag(cov)[2:5]), rtol=1e-5)
    np.testing.assert_allclose(fit.se_variances[0], np.sqrt(np.diag(cov)[5:]), rtol=1e-5)


def test_last_weight_by_the_delta_method_and_singular_information():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 8, 8))
    info = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(8)
    info[2, :, 0] = info[2, 0, :] = 0.0  # a parameter with no information: singular
    info[3] = -info[3]  # negative definite: not a maximum
    cov = covariance(info)
    np.testing.assert_allclose(cov[:2], np.linalg.inv(info[:2]), rtol=1e-10)
    assert np.isnan(cov[2:]).all()
    se_w, se_m, se_v = standard_errors(cov)
    np.testing.assert_allclose(se_w[:2, 2], np.sqrt(cov[:2, :2, :2].sum(axis=(1, 2))), rtol=1e-14)
    np.testing.assert_allclose(se_m[:2], np.sqrt(np.diagonal(cov[:2], axis1=1, axis2=2)[:, 2:5]), rtol=1e-14)
    assert np.isnan(se_w[2:]).all() and np.isnan(se_v[2:]).all()


def test_standard_errors_agree_with_the_spread_of_the_estimates():
    """1000 replications at n = 1000 of a well-separated mixture (there n Var / CRLB is within a
    few percent of 1, so first-order theory applies): for every parameter, the mean SE and the
    empirical SD of the estimates agree within 3 combined MCSEs (the SD's from the fourth moment)."""
    x = simulate(2024, 1000, 1000, SEPARATED)
    fit = fit_mixture(x, 2)
    ok = Status.usable(fit.status)
    assert ok.all()
    np.testing.assert_allclose(fit.se_weights[:, 0], fit.se_weights[:, 1], rtol=1e-12)
    for block in ("weights", "means", "variances"):
        est, se = getattr(fit, block), getattr(fit, f"se_{block}")
        sd = est.std(axis=0, ddof=1)
        m4 = ((est - est.mean(axis=0)) ** 4).mean(axis=0)
        mcse_sd = np.sqrt((m4 - sd**4) / est.shape[0]) / (2 * sd)
        mcse_se = se.std(axis=0, ddof=1) / np.sqrt(est.shape[0])
        z = (se.mean(axis=0) - sd) / np.hypot(mcse_sd, mcse_se)
        assert (np.abs(z) < 3).all(), (block, z)


def test_one_component_is_the_normal_mle_with_its_closed_form_ses():
    """K = 1: x-bar, the divide-by-n variance, SEs sqrt(v/n) and sqrt(2 v^2 / n), weight 1 with SE 0."""
    x = np.random.default_rng(1).normal(2.0, 3.0, (4, 50))
    fit = fit_mixture(x, 1)
    v = x.var(axis=1)
    assert (fit.status == Status.OK).all()
    np.testing.assert_allclose(fit.means[:, 0], x.mean(axis=1), rtol=1e-14)
    np.testing.assert_allclose(fit.variances[:, 0], v, rtol=1e-14)
    np.testing.assert_allclose(fit.se_means[:, 0], np.sqrt(v / 50), rtol=1e-13)
    np.testing.assert_allclose(fit.se_variances[:, 0], np.sqrt(2 * v * v / 50), rtol=1e-13)
    np.testing.assert_array_equal(fit.weights, 1.0)
    np.testing.assert_array_equal(fit.se_weights, 0.0)
