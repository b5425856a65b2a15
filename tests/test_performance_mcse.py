"""Tests of the performance measures and the calibration of their Monte Carlo SEs."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from scipy import stats

from mlestudy.families import get_family
from mlestudy.performance import performance, wald_covered

# -- textbook values on a hand-computable sample --------------------------------


def test_performance_hand_computed():
    """Every measure of x = (0, 0, 0, 4), truth 0.5, checked against arithmetic by hand.

    mean 1, variance 12/3 = 4, m4 = (1+1+1+81)/4 = 21, squared errors
    (.25, .25, .25, 12.25) with mean 3.25 and sum of squared deviations 108.
    """
    perf = performance(
        np.array([0.0, 0.0, 0.0, 4.0]),
        0.5,
        n_failed=2,
        crlb=2.0,
        exact_mean=1.5,
        exact_variance=3.0,
    )
    expected = {
        "replications": 6,
        "n_failed": 2,
        "n_valid": 4,
        "mean": 1.0,
        "bias": 0.5,
        "bias_mcse": 1.0,
        "relative_bias": 1.0,
        "relative_bias_mcse": 2.0,
        "variance": 4.0,
        "variance_mcse": math.sqrt(5) / 2,
        "variance_mcse_normal": 4 * math.sqrt(2 / 3),
        "mse": 3.25,
        "mse_mcse": 3.0,
        "crlb": 2.0,
        "efficiency": 0.5,
        "efficiency_mcse": math.sqrt(5) / 16,
        "exact_mean": 1.5,
        "exact_variance": 3.0,
        "z_mean": -0.5,
        "z_variance": 2 / math.sqrt(5),
    }
    got = perf.as_dict()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-14), key
    assert math.isnan(got["coverage"]) and math.isnan(got["coverage_mcse"])


def test_performance_mse_is_variance_plus_bias_squared():
    """MSE = (R-1)/R * variance + bias^2 exactly, for any sample."""
    x = np.random.default_rng(3).gamma(2.0, size=1000)
    p = performance(x, 1.7)
    assert p.mse == pytest.approx(p.variance * 999 / 1000 + p.bias**2, rel=1e-12)
    assert p.relative_bias == pytest.approx(p.bias / 1.7, rel=1e-14)


def test_relative_bias_uses_absolute_truth():
    """A negative true value must not flip the sign of the relative bias."""
    p = performance(np.array([-1.0, -3.0]), -2.5)
    assert p.bias == pytest.approx(0.5)
    assert p.relative_bias == pytest.approx(0.2)


# -- MCSE calibration -----------------------------------------------------------

K_STUDIES = 400
R_PER_STUDY = 400
BOOTSTRAP = 2000
MEASURES = [("bias", "bias_mcse"), ("variance", "variance_mcse"), ("mse", "mse_mcse")]


@cache
def _studies(case: str):
    """K independent small studies of one estimator, all drawn in one vectorised call."""
    rng = np.random.default_rng({"normal": 2021, "exponential": 2022}[case])
    if case == "normal":
        fam, theta, n, est, par = get_family("normal"), {"mu": 5.0, "sigma2": 4.0}, 5, "mle", "sigma2"
    else:
        fam, theta, n, est, par = get_family("exponential"), {"rate": 0.5}, 10, "mle", "rate"
    x = fam.sample(rng, theta, (K_STUDIES * R_PER_STUDY, n))
    values = fam.fit(x)[est].values[par].reshape(K_STUDIES, R_PER_STUDY)
    truth = theta[par]
    moments = fam.finite_moments(est, par, n)
    assert moments >= 4
    return [performance(v, truth, finite_moments=moments) for v in values]


def _ratio_and_se(perfs, measure: str, mcse: str, seed: int) -> tuple[float, float]:
    """RMS of the reported MCSE over the empirical SD of the measure, with a bootstrap SE.

    Resampling whole studies keeps the correlation between a study's measure
    and its MCSE, and does not assume the measure is normal across studies
    (for 1/x-bar its variance is visibly skewed).  Checked separately over 150
    independent repeats of the whole design: the bootstrap SE (0.035) matched
    the real spread of the ratio (0.032-0.035), as did sqrt(1/(2(K-1))) = 0.035.
    """
    value = np.array([getattr(p, measure) for p in perfs])
    se = np.array([getattr(p, mcse) for p in perfs])
    ratio = math.sqrt(np.mean(se**2)) / value.std(ddof=1)
    idx = np.random.default_rng(seed).integers(0, value.size, (BOOTSTRAP, value.size))
    boot = np.sqrt(np.mean(se[idx] ** 2, axis=1)) / value[idx].std(axis=1, ddof=1)
    return ratio, float(boot.std(ddof=1))


@pytest.mark.parametrize("case", ["normal", "exponential"])
@pytest.mark.parametrize(("measure", "mcse"), MEASURES)
def test_mcse_matches_spread_across_studies(case, measure, mcse):
    """The reported MCSE of bias, variance and MSE is the real study-to-study SD (within 4 SE)."""
    ratio, se = _ratio_and_se(_studies(case), measure, mcse, seed=7)
    # Guard against a vacuous test: the tolerance must be close to the
    # normal-theory relative SE of an SD from K studies.
    assert se < 2 * math.sqrt(1 / (2 * (K_STUDIES - 1)))
    assert abs(ratio - 1) < 4 * se, (ratio, se)


def _normal_formula_ratio(kurtosis: float, r: int) -> float:
    """Expected RMS(s^2 sqrt(2/(R-1))) / SD(s^2) for estimates of the given kurtosis.

    Var(s^2) = sigma^4 (kurtosis - (R-3)/(R-1)) / R and E[s^4] = sigma^4 + Var(s^2).
    """
    var_s2 = (kurtosis - (r - 3) / (r - 1)) / r
    return math.sqrt(2 / (r - 1)) * math.sqrt(1 + var_s2) / math.sqrt(var_s2)


@pytest.mark.parametrize(
    ("case", "kurtosis"),
    [
        # sigma2-hat ~ chi2_4 * sigma2/5: kurtosis 3 + 12/4.
        ("normal", 6.0),
        # 1/x-bar ~ n * InvGamma(10): excess kurtosis (30a - 66)/((a-3)(a-4)) at a = 10.
        ("exponential", 3 + 234 / 42),
    ],
)
def test_normal_theory_variance_mcse_understates(case, kurtosis):
    """sqrt(2/(R-1)) s^2 assumes normal estimates; for skewed ones it is far too small.

    The fourth-moment form is calibrated (ratio 1, previous test); the normal
    form falls to its theoretical value sqrt(2/(kurtosis-1)) (about 0.52 for
    1/x-bar at n = 10), clearly below 1.
    """
    perfs = _studies(case)
    ratio, se = _ratio_and_se(perfs, "variance", "variance_mcse_normal", seed=8)
    assert ratio + 4 * se < 1
    assert abs(ratio - _normal_formula_ratio(kurtosis, R_PER_STUDY)) < 4 * se, (ratio, se)
    good, good_se = _ratio_and_se(perfs, "variance", "variance_mcse", seed=8)
    assert abs(good - 1) < 4 * good_se


# -- finite-moment gating -------------------------------------------------------

SAMPLE = np.random.default_rng(5).standard_cauchy(500)


def test_no_second_moment_gives_nan_spread():
    """finite_moments = 1: the mean exists, nothing built on a variance may be a number."""
    p = performance(SAMPLE, 0.0, crlb=1.0, exact_variance=1.0, finite_moments=1)
    assert math.isfinite(p.mean) and math.isfinite(p.bias)
    for key in (
        "bias_mcse", "relative_bias_mcse", "variance", "variance_mcse", "variance_mcse_normal",
        "mse", "mse_mcse", "efficiency", "efficiency_mcse", "z_mean", "z_variance",
    ):  # fmt: skip
        assert math.isnan(getattr(p, key)), key


def test_no_first_moment_gives_nan_mean():
    """finite_moments = 0: not even the mean or bias may be reported."""
    p = performance(SAMPLE, 0.0, finite_moments=0)
    assert math.isnan(p.mean) and math.isnan(p.bias) and math.isnan(p.relative_bias)
    assert p.n_valid == SAMPLE.size


def test_third_moment_only_gives_variance_without_mcse():
    """finite_moments = 3: variance and MSE exist, their MCSEs (4th moment) do not."""
    p = performance(SAMPLE, 0.0, crlb=1.0, exact_mean=0.0, exact_variance=1.0, finite_moments=3)
    for key in ("variance", "mse", "bias_mcse", "efficiency", "z_mean"):
        assert math.isfinite(getattr(p, key)), key
    for key in ("variance_mcse", "mse_mcse", "efficiency_mcse", "z_variance"):
        assert math.isnan(getattr(p, key)), key


def test_third_moment_only_gives_nan_normal_variance_mcse():
    """The normal-theory MCSE of the variance is still an MCSE of the variance: NaN when k < 4."""
    p = performance(SAMPLE, 0.0, finite_moments=3)
    assert math.isnan(p.variance_mcse_normal)


def test_infinite_moments_gives_all_measures():
    """With the default (all moments finite) every MCSE is a number."""
    p = performance(np.arange(50.0), 20.0, crlb=1.0)
    for key in ("bias_mcse", "variance_mcse", "mse_mcse", "efficiency_mcse"):
        assert math.isfinite(getattr(p, key)) and getattr(p, key) > 0, key


# -- coverage -------------------------------------------------------------------


def test_wald_covered_by_hand():
    """Intervals estimate +/- z se, closed at the ends, z = Phi^-1(0.975) at level 0.95."""
    z = stats.norm.ppf(0.975)
    est = np.array([-2.5, 0.5, -0.5, 2.5, z, -z, z * 1.0001, 1.0])
    se = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    covered = wald_covered(est, se, 0.0, 0.95)
    np.testing.assert_array_equal(covered, [False, True, True, False, True, True, False, False])
    # At level 0.5 the half-width is 0.674 se: only the estimates 0.5 away qualify.
    np.testing.assert_array_equal(wald_covered(est, se, 0.0, 0.5), [0, 1, 1, 0, 0, 0, 0, 0])


def test_coverage_and_its_mcse():
    """coverage = mean(covered) and coverage_mcse = sqrt(c (1 - c) / R)."""
    covered = np.array([True, False, True, True])
    p = performance(np.arange(4.0), 1.0, covered=covered)
    assert p.coverage == 0.75
    assert p.coverage_mcse == pytest.approx(math.sqrt(0.75 * 0.25 / 4), rel=1e-14)
    full = performance(np.arange(4.0), 1.0, covered=np.ones(4, bool))
    assert full.coverage == 1.0 and full.coverage_mcse == 0.0


def test_wald_coverage_of_known_variance_interval():
    """x-bar +/- z sigma/sqrt(n) has exact coverage 0.95; simulation within 4 MCSE of it."""
    fam = get_family("normal")
    theta = {"mu": 5.0, "sigma2": 4.0}
    n, r = 8, 100_000
    x = fam.sample(np.random.default_rng(77), theta, (r, n))
    mu_hat = fam.fit(x)["mle"].values["mu"]
    se = np.full(r, math.sqrt(theta["sigma2"] / n))
    p = performance(mu_hat, theta["mu"], covered=wald_covered(mu_hat, se, theta["mu"], 0.95))
    assert p.coverage_mcse == pytest.approx(math.sqrt(p.coverage * (1 - p.coverage) / r))
    assert abs(p.coverage - 0.95) < 4 * math.sqrt(0.95 * 0.05 / r)


def test_huge_estimates_overflow_to_nan_not_an_exception():
    """Estimates of order 1e100 have a variance of order 1e200, whose square overflows float64.

    The variance is still reported; its MCSE (which needs that square) is NaN,
    where Python's float power used to raise OverflowError inside the job.
    """
    x = 1e100 * np.array([1.0, -1.0, 2.0, -2.0])
    with np.errstate(over="ignore", invalid="ignore"):
        perf = performance(x, 0.0)
    assert perf.variance == pytest.approx(1e200 * 10 / 3)
    assert math.isnan(perf.variance_mcse)
