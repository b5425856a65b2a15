"""Exact OLS theory (:mod:`mlestudy.theory.linear_regression`) against statsmodels, closed forms and simulation.

- ``ols_batch`` against statsmodels OLS and numpy's lstsq to 1e-10 on fixed,
  random, correlated, discrete and tiny (n = p, p + 1, p + 2) designs;
- closed-form identities: the normal family is p = 1, fixed-design efficiency 1,
  random-design efficiencies and CRLBs from E[xx'];
- seeded simulations: moments of beta-hat and sigma2-hat (also through a
  statsmodels loop at n = p + 2), the average conditional bound, and the exact
  Wald coverage, every comparison within 4 MCSE and the RMS of the z-values
  between 0.6 and 1.6;
- the coverage formulas against numerical integration of the Wald inequality.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import integrate, stats

from mlestudy.families import get_family
from mlestudy.performance import performance, wald_covered
from mlestudy.theory.coverage import coverage_z, exact_coverage, wald_z
from mlestudy.theory.linear_regression import (
    RandomDesign,
    beta_coverage,
    beta_crlb_fixed,
    beta_crlb_random,
    beta_efficiency_random,
    beta_finite_moments,
    beta_moments_fixed,
    beta_moments_random,
    ols_batch,
    sigma2_coverage,
    sigma2_crlb,
    sigma2_moments,
)

LEVELS = (0.9, 0.95, 0.99)
BETA = {2: [1.0, 2.0], 3: [1.0, 2.0, -1.0], 4: [1.0, 2.0, -1.0, 0.5]}


def draw_design(design: RandomDesign, rng: np.random.Generator, reps: int, n: int) -> np.ndarray:
    """(reps, n, p) designs: a column of ones, then the features."""
    d = design.n_features
    if design.features == "normal":
        z = rng.standard_normal((reps, n, d)) @ np.linalg.cholesky(design.feature_covariance()).T
    elif design.features == "uniform":
        z = rng.uniform(-math.sqrt(3), math.sqrt(3), (reps, n, d))
    else:
        z = (rng.random((reps, n, d)) < 0.5).astype(float)
    return np.concatenate([np.ones((reps, n, 1)), z], axis=2)


# -- ols_batch -----------------------------------------------------------------------------------------------
def _compare_with_statsmodels(X: np.ndarray, y: np.ndarray) -> None:
    fit = ols_batch(X, y)
    designs = np.broadcast_to(X, (y.shape[0], *X.shape[-2:]))
    for r in range(y.shape[0]):
        rank = np.linalg.matrix_rank(designs[r])
        assert fit.rank_deficient[r] == (rank < X.shape[-1])
        if fit.rank_deficient[r]:
            assert np.isnan(fit.beta[r]).all() and np.isnan(fit.rss[r]) and np.isnan(fit.xtx_inv[r]).all()
            continue
        ref = sm.OLS(y[r], designs[r]).fit()
        scale = np.abs(ref.params).max()
        np.testing.assert_allclose(fit.beta[r], ref.params, rtol=1e-10, atol=1e-10 * scale)
        np.testing.assert_allclose(fit.rss[r], ref.ssr, rtol=1e-10, atol=1e-10 * (y[r] @ y[r]))
        # (X'X)^-1 is formed from X'X, so its error grows like kappa^2 eps (kappa of the
        # column-scaled X): 1e-10 up to kappa = 200, which one design here (n = p, kappa 9e3) exceeds.
        kappa = np.linalg.cond(designs[r] / np.linalg.norm(designs[r], axis=0))
        tol = max(1e-10, 10 * kappa**2 * np.finfo(float).eps)
        cov = ref.normalized_cov_params
        np.testing.assert_allclose(fit.xtx_inv[r], cov, rtol=tol, atol=tol * np.abs(cov).max())
        lstsq = np.linalg.lstsq(designs[r], y[r], rcond=None)[0]
        np.testing.assert_allclose(fit.beta[r], lstsq, rtol=1e-10, atol=1e-10 * scale)


@pytest.mark.parametrize(
    ("features", "d", "rho", "n"),
    [
        ("normal", 3, 0.0, 6),  # n = p + 2
        ("normal", 3, 0.0, 5),  # n = p + 1
        ("normal", 3, 0.0, 4),  # n = p: RSS = 0
        ("normal", 3, 0.9, 6),
        ("normal", 4, -0.2, 40),
        ("normal", 9, 0.5, 12),  # p = 10
        ("uniform", 2, 0.0, 5),
        ("bernoulli", 2, 0.0, 5),  # rank deficient with probability about 0.4
    ],
)
def test_ols_batch_matches_statsmodels(features: str, d: int, rho: float, n: int) -> None:
    rng = np.random.default_rng(11 + n + d)
    design = RandomDesign(d, features, rho)
    X = draw_design(design, rng, 200, n)
    beta = rng.normal(0, 2, design.p)
    y = X @ beta + rng.normal(0, 1.5, (200, n))
    _compare_with_statsmodels(X, y)
    if features == "bernoulli":
        assert 20 < ols_batch(X, y).rank_deficient.sum() < 180


def test_ols_batch_shared_design_matches_statsmodels() -> None:
    rng = np.random.default_rng(5)
    X = draw_design(RandomDesign(4, "normal", 0.3), rng, 1, 9)[0]
    y = X @ np.array([1.0, -2.0, 0.5, 3.0, 0.0]) + rng.normal(0, 0.7, (100, 9))
    fit = ols_batch(X, y)
    assert fit.xtx_inv.shape == (100, 5, 5)
    _compare_with_statsmodels(X, y)


def test_ols_batch_flags_rank_deficient_designs() -> None:
    rng = np.random.default_rng(2)
    X = draw_design(RandomDesign(2), rng, 6, 8)
    X[1, :, 2] = 3 * X[1, :, 1]  # collinear features
    X[2, :, 1] = 0.0  # a zero column
    X[3, :, 2] = 1.0  # a feature equal to the intercept
    X[4, :, 1] = X[4, :, 1] * 1e-3 + 1.0  # nearly constant, but identified: VIF about 1e6
    fit = ols_batch(X, rng.normal(size=(6, 8)))
    assert fit.rank_deficient.tolist() == [False, True, True, True, False, False]
    assert np.isfinite(fit.beta[[0, 4, 5]]).all()
    under = draw_design(RandomDesign(3), rng, 4, 3)  # n < p
    assert ols_batch(under, rng.normal(size=(4, 3))).rank_deficient.all()
    with pytest.raises(ValueError, match="do not match"):
        ols_batch(X, rng.normal(size=(6, 7)))


# -- closed-form identities --------------------------------------------------------------------------------
def test_normal_family_is_the_one_column_case() -> None:
    normal = get_family("normal")
    theta = {"mu": 0.3, "sigma2": 2.5}
    for n in (1, 2, 3, 10, 1000):
        for estimator in ("mle", "unbiased"):
            family = normal.exact_moments(estimator, "sigma2", theta, n)
            np.testing.assert_allclose(sigma2_moments(estimator, n, 1, 2.5), family, rtol=1e-15)
            for level in LEVELS:
                assert sigma2_coverage(estimator, n, 1, level) == pytest.approx(
                    exact_coverage("normal", estimator, "sigma2", theta, n, level), nan_ok=True, abs=0
                )
        for level in LEVELS:
            assert beta_coverage(n, 1, level) == exact_coverage("normal", "mle", "mu", theta, n, level)
        X = np.ones((n, 1))
        mean, var = beta_moments_fixed(X, [0.3], 2.5)
        assert (mean[0], var[0]) == pytest.approx(normal.exact_moments("mle", "mu", theta, n), rel=1e-14)
        assert sigma2_crlb(n, 2.5) == pytest.approx(normal.crlb(theta, n)["sigma2"], rel=1e-15)


def test_fixed_design_efficiency_is_one() -> None:
    X = draw_design(RandomDesign(3, "normal", 0.4), np.random.default_rng(0), 1, 7)[0]
    _, var = beta_moments_fixed(X, BETA[4], 3.0)
    np.testing.assert_allclose(beta_crlb_fixed(X, 3.0), var, rtol=1e-15)
    np.testing.assert_allclose(var, 3.0 * np.diag(np.linalg.inv(X.T @ X)), rtol=1e-13)


@pytest.mark.parametrize("rho", [0.0, 0.5, -0.3])
@pytest.mark.parametrize("n", [6, 7, 20, 1000])
def test_random_normal_design_efficiency(rho: float, n: int) -> None:
    design = RandomDesign(3, "normal", rho)
    p = design.p
    eff = beta_efficiency_random(design, n)
    assert eff[0] == pytest.approx((n - p - 1) / (n - 2), rel=1e-13)
    np.testing.assert_allclose(eff[1:], (n - p - 1) / n, rtol=1e-13)
    sigma_inv = np.linalg.inv(design.feature_covariance())
    np.testing.assert_allclose(beta_crlb_random(design, n, 2.0)[1:], 2.0 * np.diag(sigma_inv) / n, rtol=1e-13)
    assert beta_crlb_random(design, n, 2.0)[0] == pytest.approx(2.0 / n, rel=1e-13)


def test_random_design_edges_and_other_features() -> None:
    normal = RandomDesign(2)  # p = 3
    mean, var = beta_moments_random(normal, 4, BETA[3], 1.0)  # n = p + 1: no variance
    assert np.isfinite(mean).all() and np.isnan(var).all()
    mean, _ = beta_moments_random(normal, 3, BETA[3], 1.0)  # n = p: no mean
    assert np.isnan(mean).all()
    assert beta_finite_moments(normal, 7) == 4 and beta_finite_moments(None, 7) == math.inf
    assert beta_finite_moments(RandomDesign(2, "uniform"), 7) == 4
    assert beta_finite_moments(RandomDesign(2, "bernoulli"), 7) == math.inf
    for features in ("uniform", "bernoulli"):
        mean, var = beta_moments_random(RandomDesign(2, features), 20, BETA[3], 1.0)
        np.testing.assert_array_equal(mean, BETA[3])
        assert np.isnan(var).all()
    np.testing.assert_allclose(beta_crlb_random(RandomDesign(3, "uniform"), 10, 2.0), 0.2, rtol=1e-14)
    d, n = 3, 10
    crlb = beta_crlb_random(RandomDesign(d, "bernoulli"), n, 2.0)
    assert crlb[0] == pytest.approx(2.0 * (1 + d) / n, rel=1e-13)
    np.testing.assert_allclose(crlb[1:], 4 * 2.0 / n, rtol=1e-13)
    # an empirical E[xx'] of many rows is the second moment
    for design in (RandomDesign(3, "bernoulli"), RandomDesign(3, "uniform"), RandomDesign(3, "normal", 0.6)):
        x = draw_design(design, np.random.default_rng(4), 1, 400_000)[0]
        np.testing.assert_allclose(x.T @ x / len(x), design.second_moment(), atol=0.01)
    assert math.isnan(sigma2_moments("unbiased", 3, 3, 1.0)[0])
    assert sigma2_moments("mle", 3, 3, 1.0) == (0.0, 0.0)
    assert math.isnan(sigma2_moments("mle", 2, 3, 1.0)[0])
    assert beta_coverage(3, 3, 0.95) == 0.0 and sigma2_coverage("mle", 3, 3, 0.95) == 0.0
    assert math.isnan(beta_coverage(2, 3, 0.95)) and math.isnan(sigma2_coverage("unbiased", 3, 3, 0.95))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_features": 0}, r"n_features = 0 is not allowed; it must be an integer >= 1"),
        (
            {"n_features": 2, "features": "gamma"},
            r"features = 'gamma' is not allowed; use one of normal, uniform",
        ),
        (
            {"n_features": 3, "correlation": -0.5},
            r"correlation = -0.5 is not allowed with 3 features; it must be > -0.5",
        ),
        ({"n_features": 2, "correlation": 1.0}, r"correlation = 1.0 is not allowed with 2 features"),
        (
            {"n_features": 2, "features": "uniform", "correlation": 0.2},
            r"only normal features are correlated",
        ),
        (
            {"n_features": 2, "correlation": math.nan},
            r"correlation = nan is not allowed; it must be a finite",
        ),
    ],
)
def test_design_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RandomDesign(**kwargs)


# -- coverage by integration ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "p"), [(3, 2), (5, 4), (6, 4), (12, 5), (40, 10)])
@pytest.mark.parametrize("level", LEVELS)
def test_coverage_against_numerical_integration(n: int, p: int, level: float) -> None:
    """Given X, beta-hat_j - beta_j ~ N(0, sigma2 c) and se^2 = sigma2 W c/n with W ~ chi2_{n-p}:
    P(cover | W) = 2 Phi(z sqrt(W/n)) - 1, integrated over W; sigma2 by the inequality on a grid."""
    z = wald_z(level)
    chi2 = stats.chi2(n - p)
    top = chi2.isf(1e-17)
    brute, _ = integrate.quad(lambda w: chi2.pdf(w) * (2 * stats.norm.cdf(z * math.sqrt(w / n)) - 1), 0, top)
    assert beta_coverage(n, p, level) == pytest.approx(brute, abs=1e-9)
    for estimator, divisor in (("mle", n), ("unbiased", n - p)):
        w = np.linspace(top * 1e-9, top, 400_001)
        est = w / divisor
        flags = wald_covered(est, est * math.sqrt(2 / n), 1.0, level)
        lo, hi = w[flags][[0, -1]]
        assert flags[(w >= lo) & (w <= hi)].all()  # one interval, ends found to the grid step
        step = w[1] - w[0]
        mass = chi2.cdf(hi) - chi2.cdf(lo)
        assert sigma2_coverage(estimator, n, p, level) == pytest.approx(
            mass, abs=2 * step * chi2.pdf(lo) + 2 * step * chi2.pdf(hi) + 1e-12
        )


# -- simulation ---------------------------------------------------------------------------------------------------
REPS = 200_000
CHUNK = 20_000


@cache
def fixed_design(p: int, n: int) -> np.ndarray:
    """One design per (p, n), drawn once from its own seed (correlated features, not centred)."""
    return draw_design(RandomDesign(p - 1, "normal", 0.5), np.random.default_rng(900 + 10 * p + n), 1, n)[
        0
    ] + [
        0.0,
        *([0.7] * (p - 1)),
    ]


CASES = {
    # name: (design or None for fixed, p, n, sigma2)
    "fixed p=4 n=6": (None, 4, 6, 4.0),
    "fixed p=2 n=3": (None, 2, 3, 0.5),
    "fixed p=4 n=20": (None, 4, 20, 4.0),
    "normal p=4 n=5": (RandomDesign(3), 4, 5, 4.0),
    "normal p=4 n=6": (RandomDesign(3), 4, 6, 4.0),
    "normal p=4 n=10": (RandomDesign(3), 4, 10, 4.0),
    "normal p=4 n=30": (RandomDesign(3), 4, 30, 4.0),
    "normal rho=0.6 p=3 n=9": (RandomDesign(2, "normal", 0.6), 3, 9, 2.0),
    "normal rho=-0.3 p=4 n=25": (RandomDesign(3, "normal", -0.3), 4, 25, 1.0),
    "uniform p=3 n=5": (RandomDesign(2, "uniform"), 3, 5, 1.0),
    "uniform p=3 n=20": (RandomDesign(2, "uniform"), 3, 20, 1.0),
    "bernoulli p=3 n=6": (RandomDesign(2, "bernoulli"), 3, 6, 1.0),
    "bernoulli p=3 n=20": (RandomDesign(2, "bernoulli"), 3, 20, 1.0),
}


@cache
def simulate(case: str) -> dict[str, np.ndarray]:
    """beta-hat, RSS and diag((X'X)^-1) of REPS replications, rank-deficient ones dropped."""
    design, p, n, sigma2 = CASES[case]
    rng = np.random.default_rng(sorted(CASES).index(case))
    beta = np.array(BETA[p])
    parts = []
    for _ in range(REPS // CHUNK):
        X = fixed_design(p, n) if design is None else draw_design(design, rng, CHUNK, n)
        y = X @ beta + rng.normal(0.0, math.sqrt(sigma2), (CHUNK, n))
        fit = ols_batch(X, y)
        ok = ~fit.rank_deficient
        parts.append((fit.beta[ok], fit.rss[ok], np.einsum("rjj->rj", fit.xtx_inv)[ok]))
    return {k: np.concatenate([q[i] for q in parts]) for i, k in enumerate(("beta", "rss", "c"))}


@cache
def case_z(case: str) -> tuple[tuple[str, float], ...]:
    """(label, z) of every exact quantity the case has: moments, average conditional bound, coverage."""
    design, p, n, sigma2 = CASES[case]
    s = simulate(case)
    beta = np.array(BETA[p])
    if design is None:
        mean, var = beta_moments_fixed(fixed_design(p, n), beta, sigma2)
    else:
        mean, var = beta_moments_random(design, n, beta, sigma2)
    moments = beta_finite_moments(design, n)
    out = []
    for j in range(p):
        perf = performance(
            s["beta"][:, j], beta[j], exact_mean=mean[j], exact_variance=var[j], finite_moments=moments
        )
        out += [(f"beta[{j}] mean", perf.z_mean), (f"beta[{j}] variance", perf.z_variance)]
        bound = sigma2 * s["c"][:, j]  # average conditional bound: its mean is Var(beta-hat_j)
        if design is not None and np.isfinite(var[j]) and n - p > 3:  # E[c^2] < inf: its MCSE exists
            out.append(
                (
                    f"beta[{j}] avg bound",
                    (bound.mean() - var[j]) / (bound.std(ddof=1) / math.sqrt(bound.size)),
                )
            )
        se = np.sqrt(s["rss"] / n * s["c"][:, j])
        for level in LEVELS:
            sim = float(np.mean(wald_covered(s["beta"][:, j], se, beta[j], level)))
            out.append((f"beta[{j}] coverage {level}", coverage_z(sim, beta_coverage(n, p, level), se.size)))
    for estimator, divisor in (("mle", n), ("unbiased", n - p)):
        est = s["rss"] / divisor
        m, v = sigma2_moments(estimator, n, p, sigma2)
        perf = performance(est, sigma2, exact_mean=m, exact_variance=v)
        out += [(f"sigma2 {estimator} mean", perf.z_mean), (f"sigma2 {estimator} variance", perf.z_variance)]
        for level in LEVELS:
            sim = float(np.mean(wald_covered(est, est * math.sqrt(2 / n), sigma2, level)))
            exact = sigma2_coverage(estimator, n, p, level)
            out.append((f"sigma2 {estimator} coverage {level}", coverage_z(sim, exact, est.size)))
    return tuple((label, z) for label, z in out if not math.isnan(z))


@pytest.mark.parametrize("case", sorted(CASES))
def test_exact_theory_matches_simulation(case: str) -> None:
    rows = case_z(case)
    bad = [r for r in rows if not abs(r[1]) < 4]
    assert not bad, f"{case}: |z| >= 4: {bad}"


def test_z_rms_over_every_case() -> None:
    z = np.array([r[1] for case in CASES for r in case_z(case)])
    rms = float(np.sqrt(np.mean(z**2)))
    assert z.size > 300 and 0.6 <= rms <= 1.6, f"RMS of z = {rms:.3f} over {z.size} comparisons"


def test_what_the_cases_cover() -> None:
    """Each moment is compared only where it and its MCSE exist (E|beta-hat|^k < inf iff k <= n - p)."""
    labels = {case: {r[0] for r in case_z(case)} for case in CASES}
    assert (
        "beta[1] variance" in labels["normal p=4 n=10"] and "beta[0] avg bound" in labels["normal p=4 n=10"]
    )
    assert (
        "beta[1] variance" not in labels["normal p=4 n=5"] and "beta[1] mean" not in labels["normal p=4 n=5"]
    )
    assert "beta[1] mean" in labels["normal p=4 n=6"] and "beta[1] variance" not in labels["normal p=4 n=6"]
    assert "beta[1] variance" in labels["fixed p=4 n=6"]
    assert "beta[2] coverage 0.99" in labels["normal p=4 n=5"]


@pytest.mark.parametrize(("random", "n"), [(False, 6), (True, 6)])
def test_moments_through_statsmodels(random: bool, n: int) -> None:
    """A smaller run where every fit is statsmodels OLS itself: n = p + 2, p = 4."""
    p, sigma2, reps = 4, 4.0, 4000
    beta = np.array(BETA[p])
    rng = np.random.default_rng(31 + random)
    design = RandomDesign(3) if random else None
    X = (
        draw_design(RandomDesign(3), rng, reps, n)
        if random
        else np.broadcast_to(fixed_design(p, n), (reps, n, p))
    )
    y = X @ beta + rng.normal(0, 2.0, (reps, n))
    fits = [sm.OLS(y[r], X[r]).fit() for r in range(reps)]
    params = np.array([f.params for f in fits])
    rss = np.array([f.ssr for f in fits])
    mean, var = (
        beta_moments_random(design, n, beta, sigma2) if random else beta_moments_fixed(X[0], beta, sigma2)
    )
    for j in range(p):
        perf = performance(params[:, j], beta[j], exact_mean=mean[j], exact_variance=var[j],
                           finite_moments=beta_finite_moments(design, n))  # fmt: skip
        assert abs(perf.z_mean) < 4
        if not random:
            assert abs(perf.z_variance) < 4
    for estimator, divisor in (("mle", n), ("unbiased", n - p)):
        m, v = sigma2_moments(estimator, n, p, sigma2)
        perf = performance(rss / divisor, sigma2, exact_mean=m, exact_variance=v)
        assert abs(perf.z_mean) < 4 and abs(perf.z_variance) < 4
