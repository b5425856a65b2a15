"""Unit tests of the family contract: likelihoods, closed forms, theory, edge cases."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

from mlestudy.families import Parameter, Status, get_family, registry
from mlestudy.models.scalar import inverse_information
from mlestudy.numerical import numerical_mle
from mlestudy.simulate import simulate_range

# Default parameter values of the study brief.
THETA = {
    "normal": {"mu": 5.0, "sigma2": 4.0},
    "exponential": {"rate": 0.5},
    "bernoulli": {"p": 0.7},
    "poisson": {"rate": 3.0},
    "gamma": {"shape": 2.5, "rate": 3.0},
}
FAMILIES = sorted(THETA)


def _scipy_logpdf(name: str, x: np.ndarray, theta: dict[str, np.ndarray]) -> np.ndarray:
    """Per-observation log density from scipy, theta broadcast over rows."""
    t = {k: np.asarray(v)[:, None] for k, v in theta.items()}
    if name == "normal":
        return stats.norm.logpdf(x, t["mu"], np.sqrt(t["sigma2"]))
    if name == "exponential":
        return stats.expon.logpdf(x, scale=1.0 / t["rate"])
    if name == "bernoulli":
        return stats.bernoulli.logpmf(x, t["p"])
    if name == "poisson":
        return stats.poisson.logpmf(x, t["rate"])
    if name == "gamma":
        return stats.gamma.logpdf(x, t["shape"], scale=1.0 / t["rate"])
    raise AssertionError(name)


def _random_theta(name: str, rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """One valid parameter value per row, spread over the parameter space."""
    if name == "normal":
        return {"mu": rng.normal(0, 5, rows), "sigma2": rng.uniform(0.1, 10, rows)}
    if name == "bernoulli":
        return {"p": rng.uniform(0.05, 0.95, rows)}
    if name == "gamma":
        return {"shape": rng.uniform(0.3, 8, rows), "rate": rng.uniform(0.1, 10, rows)}
    return {"rate": rng.uniform(0.1, 10, rows)}


# -- log-likelihood -------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
def test_loglik_matches_scipy(name):
    """loglik must be the row sum of scipy's log density, with theta varying by row."""
    fam = get_family(name)
    rng = np.random.default_rng(101)
    rows, n = 40, 7
    x = fam.sample(rng, THETA[name], (rows, n))
    theta = _random_theta(name, rng, rows)
    got = fam.loglik(x, theta)
    assert got.shape == (rows,)
    want = _scipy_logpdf(name, x, theta).sum(axis=-1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# -- closed form vs numerical / statsmodels -------------------------------------


def _interior_rows(name: str, seed: int, n: int, count: int) -> tuple[np.ndarray, dict]:
    """``count`` seeded samples whose closed-form MLE is not on the boundary."""
    fam = get_family(name)
    x = fam.sample(np.random.default_rng(seed), THETA[name], (4 * count, n))
    fit = fam.fit(x)["mle"]
    keep = np.flatnonzero(fit.status == Status.OK)[:count]
    assert keep.size == count, "too few interior samples for this seed"
    return x[keep], {k: v[keep] for k, v in fit.values.items()}


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("n", [4, 25])
def test_closed_form_mle_matches_numerical(name, n):
    """The closed-form MLE must be the optimum the optimiser finds from the likelihood alone."""
    fam = get_family(name)
    x, closed = _interior_rows(name, seed=202 + n, n=n, count=5)
    for i in range(x.shape[0]):
        numeric, success = numerical_mle(fam, x[i])
        assert success
        for p in fam.estimator("mle").targets:
            assert numeric[p] == pytest.approx(closed[p][i], rel=1e-5), (p, i)


def _seeded(name: str, n: int = 30, seed: int = 303) -> np.ndarray:
    x, _ = _interior_rows(name, seed=seed, n=n, count=1)
    return x[0]


def test_poisson_mle_matches_statsmodels_glm():
    """Intercept-only Poisson GLM (log link): exp(const) is the sample mean."""
    x = _seeded("poisson")
    res = sm.GLM(x, np.ones((x.size, 1)), family=sm.families.Poisson()).fit(tol=1e-12)
    fit = get_family("poisson").fit(x[None, :])["mle"]
    assert math.exp(res.params[0]) == pytest.approx(fit.values["rate"][0], rel=1e-8)


def test_bernoulli_mle_matches_statsmodels_glm():
    """Intercept-only binomial GLM (logit link): expit(const) is the sample proportion."""
    x = _seeded("bernoulli")
    res = sm.GLM(x, np.ones((x.size, 1)), family=sm.families.Binomial()).fit(tol=1e-12)
    fit = get_family("bernoulli").fit(x[None, :])["mle"]
    assert expit(res.params[0]) == pytest.approx(fit.values["p"][0], rel=1e-8)


def test_normal_mle_matches_statsmodels_ols():
    """OLS on a constant: coefficient is x-bar and SSR/n the variance MLE."""
    x = _seeded("normal")
    res = sm.OLS(x, np.ones((x.size, 1))).fit()
    fit = get_family("normal").fit(x[None, :])
    assert res.params[0] == pytest.approx(fit["mle"].values["mu"][0], rel=1e-12)
    assert res.ssr / x.size == pytest.approx(fit["mle"].values["sigma2"][0], rel=1e-12)
    # The unbiased estimator is statsmodels' scale (SSR / residual df).
    assert res.scale == pytest.approx(fit["unbiased"].values["sigma2"][0], rel=1e-12)


def test_exponential_mle_matches_scipy_fit():
    """scipy's expon.fit with loc fixed at 0 gives scale = 1/rate-hat."""
    x = _seeded("exponential")
    _, scale = stats.expon.fit(x, floc=0)
    fit = get_family("exponential").fit(x[None, :])["mle"]
    assert 1.0 / scale == pytest.approx(fit.values["rate"][0], rel=1e-12)


# -- exact finite-sample moments vs simulation ----------------------------------

R_MOMENTS = 200_000
MOMENT_NS = (2, 3, 5, 50)


@cache
def _simulated(name: str, n: int):
    """Per-replication estimates, via the production simulation path."""
    return simulate_range(
        get_family(name), THETA[name], seed=7, scenario=f"moments-{name}", n=n, first=0, stop=R_MOMENTS
    )


def _moment_cases():
    for name in FAMILIES:
        fam = get_family(name)
        for est in fam.estimators:
            for p in est.targets:
                for n in MOMENT_NS:
                    yield pytest.param(name, est.name, p, n, id=f"{name}-{est.name}-{p}-n{n}")


@pytest.mark.parametrize(("name", "estimator", "parameter", "n"), list(_moment_cases()))
def test_exact_moments_match_simulation(name, estimator, parameter, n):
    """Exact finite-sample mean and variance agree with a large simulation within 4 MCSE.

    The MCSE of the mean needs a finite 2nd moment; that of the variance a
    finite 4th moment (sqrt((m4 - s^4)/R)).  Where the family says the moment is
    infinite, the theory must say NaN instead of a number.
    """
    fam = get_family(name)
    theta = THETA[name]
    k = fam.finite_moments(estimator, parameter, n)
    exact_mean, exact_var = fam.exact_moments(estimator, parameter, theta, n)
    if math.isnan(exact_mean) and math.isnan(exact_var) and k >= 2:
        pytest.skip(f"{name} has no closed-form finite-sample moments")
    if k < 2:
        assert math.isnan(exact_var)
        pytest.skip("the estimator's variance (and the mean's MCSE) do not exist")
    frame = _simulated(name, n)
    x = frame[f"{estimator}.{parameter}"].to_numpy()
    assert not Status.failed(frame[f"{estimator}.status"].to_numpy()).any()
    r = x.size
    mean = x.mean()
    dev = x - mean
    s2 = dev @ dev / (r - 1)
    assert abs(mean - exact_mean) < 4 * math.sqrt(s2 / r)
    if k < 4:
        pytest.skip("the MCSE of the variance needs a finite 4th moment")
    m4 = np.mean(dev**4)
    var_mcse = math.sqrt((m4 - s2**2) / r)
    assert abs(s2 - exact_var) < 4 * var_mcse


def test_exponential_variance_nan_where_infinite():
    """1/x-bar has no variance at n <= 2 and no mean at n = 1: theory must report NaN."""
    fam = get_family("exponential")
    assert fam.finite_moments("mle", "rate", 2) == 1
    assert math.isnan(fam.exact_moments("mle", "rate", THETA["exponential"], 2)[1])
    assert all(math.isnan(v) for v in fam.exact_moments("mle", "rate", THETA["exponential"], 1))
    assert math.isfinite(fam.exact_moments("unbiased", "rate", THETA["exponential"], 3)[1])


# -- Fisher information ---------------------------------------------------------

R_SCORE = 200_000


def _numerical_score(fam, x: np.ndarray, theta: dict[str, float]) -> np.ndarray:
    """Central-difference gradient of the log-likelihood per row, shape (R, k)."""
    r = x.shape[0]
    base = {p: np.full(r, float(v)) for p, v in theta.items()}
    cols = []
    for p in fam.parameter_names:
        h = 1e-5 * max(1.0, abs(theta[p]))
        up = dict(base, **{p: base[p] + h})
        down = dict(base, **{p: base[p] - h})
        cols.append((fam.loglik(x, up) - fam.loglik(x, down)) / (2 * h))
    return np.column_stack(cols)


@pytest.mark.parametrize("name", FAMILIES)
def test_fisher_information_is_score_variance(name):
    """Per-observation information = covariance of the score, each entry within 4 MCSE.

    Entry (j, k) is a sample mean of s_j s_k (the score has mean 0), so its
    MCSE is sd(s_j s_k)/sqrt(R); on the diagonal that is sqrt((m4 - s^4)/R).
    """
    fam = get_family(name)
    theta = THETA[name]
    x = fam.sample(np.random.default_rng(404), theta, (R_SCORE, 1))
    score = _numerical_score(fam, x, theta)
    # The score has mean zero at the true theta.
    assert np.all(np.abs(score.mean(axis=0)) < 4 * score.std(axis=0, ddof=1) / math.sqrt(R_SCORE))
    centred = score - score.mean(axis=0)
    prods = centred[:, :, None] * centred[:, None, :]
    cov = prods.mean(axis=0)
    mcse = prods.std(axis=0, ddof=1) / math.sqrt(R_SCORE)
    info = fam.fisher_information(theta)
    assert info.shape == (len(fam.parameters),) * 2
    assert np.all(np.abs(cov - info) < 4 * mcse), (cov, info, mcse)


@pytest.mark.parametrize("name", FAMILIES)
def test_inverse_information_and_crlb(name):
    """The closed-form inverse really inverts the information; CRLB = diag(inverse)/n."""
    fam = get_family(name)
    theta = THETA[name]
    info = fam.fisher_information(theta)
    inv = fam.inverse_fisher_information(theta)
    np.testing.assert_allclose(inv @ info, np.eye(len(fam.parameters)), atol=1e-12)
    for n in (1, 7, 50):
        crlb = fam.crlb(theta, n)
        assert set(crlb) == set(fam.parameter_names)
        for i, p in enumerate(fam.parameter_names):
            assert crlb[p] == pytest.approx(inv[i, i] / n, rel=1e-14)


@pytest.mark.parametrize("name", FAMILIES)
def test_information_vectorised_over_theta(name):
    """Information of an array of thetas has shape (R, k, k) and matches the scalar case."""
    fam = get_family(name)
    theta = _random_theta(name, np.random.default_rng(5), 6)
    info = fam.fisher_information(theta)
    inv = fam.inverse_fisher_information(theta)
    k = len(fam.parameters)
    assert info.shape == inv.shape == (6, k, k)
    for i in range(6):
        one = {p: float(v[i]) for p, v in theta.items()}
        np.testing.assert_allclose(info[i], fam.fisher_information(one), rtol=1e-14)
        np.testing.assert_allclose(inv[i] @ info[i], np.eye(k), atol=1e-12)


# -- edge cases -----------------------------------------------------------------


def test_bernoulli_all_zero_is_boundary():
    """p-hat = 0 is a finite estimate on the edge: BOUNDARY, not failed."""
    fit = get_family("bernoulli").fit(np.zeros((2, 6)))["mle"]
    np.testing.assert_array_equal(fit.values["p"], [0.0, 0.0])
    np.testing.assert_array_equal(fit.status, [Status.BOUNDARY] * 2)
    assert not Status.failed(fit.status).any()


def test_bernoulli_all_one_is_boundary():
    """p-hat = 1 is the other edge of the parameter space."""
    fit = get_family("bernoulli").fit(np.ones((1, 4)))["mle"]
    assert fit.values["p"][0] == 1.0
    assert fit.status[0] == Status.BOUNDARY


def test_poisson_all_zero_is_boundary():
    """An all-zero count sample puts rate-hat on the boundary 0."""
    x = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    fit = get_family("poisson").fit(x)["mle"]
    np.testing.assert_array_equal(fit.values["rate"], [0.0, 1 / 3])
    np.testing.assert_array_equal(fit.status, [Status.BOUNDARY, Status.OK])


def test_normal_single_observation():
    """n = 1: the variance MLE is 0 (BOUNDARY); the unbiased one is undefined (NaN)."""
    fit = get_family("normal").fit(np.array([[2.5], [-1.0]]))
    np.testing.assert_array_equal(fit["mle"].values["mu"], [2.5, -1.0])
    np.testing.assert_array_equal(fit["mle"].values["sigma2"], [0.0, 0.0])
    np.testing.assert_array_equal(fit["mle"].status, [Status.BOUNDARY] * 2)
    assert np.isnan(fit["unbiased"].values["sigma2"]).all()
    np.testing.assert_array_equal(fit["unbiased"].status, [Status.UNDEFINED] * 2)
    assert Status.failed(fit["unbiased"].status).all()


def test_exponential_single_observation():
    """n = 1: (n-1)/sum(x) would be 0; it is reported as undefined instead."""
    fit = get_family("exponential").fit(np.array([[2.0]]))
    assert fit["mle"].values["rate"][0] == 0.5
    assert fit["mle"].status[0] == Status.OK
    assert np.isnan(fit["unbiased"].values["rate"][0])
    assert fit["unbiased"].status[0] == Status.UNDEFINED
    assert Status.failed(fit["unbiased"].status).all()


def test_normal_constant_sample_exact_mean_is_boundary():
    """A constant sample whose mean is exact in floating point: sigma2-hat = 0, BOUNDARY."""
    fit = get_family("normal").fit(np.full((1, 4), 5.0))
    assert fit["mle"].values["sigma2"][0] == 0.0
    assert fit["mle"].status[0] == Status.BOUNDARY
    assert fit["unbiased"].status[0] == Status.BOUNDARY


@pytest.mark.parametrize(("value", "n"), [(0.1, 3), (2.7, 7)])
def test_normal_constant_sample_is_boundary(value, n):
    """Any constant sample has sigma2-hat = 0 exactly, whatever its value."""
    fit = get_family("normal").fit(np.full((1, n), value))
    assert fit["mle"].values["sigma2"][0] == 0.0
    assert fit["mle"].status[0] == Status.BOUNDARY


def test_nonfinite_estimate_is_flagged():
    """A zero total for the exponential gives rate-hat = inf, which must be NONFINITE/NaN."""
    fit = get_family("exponential").fit(np.zeros((1, 3)))["mle"]
    assert fit.status[0] == Status.NONFINITE
    assert np.isnan(fit.values["rate"][0])


def test_flagging_a_nonfinite_value_leaves_a_shared_status_alone():
    """Two fits built from one status array (issue 12): flagging one's overflow must not fail the other."""
    from mlestudy.models import Fit

    status = np.array([Status.OK, Status.OK], dtype=np.int8)
    bad = Fit({"rate": np.array([1.0, np.inf])}, {"rate": np.ones(2)}, status)
    good = Fit({"rate": np.array([1.0, 2.0])}, {"rate": np.ones(2)}, status)
    np.testing.assert_array_equal(bad.status, [Status.OK, Status.NONFINITE])
    np.testing.assert_array_equal(good.status, [Status.OK, Status.OK])
    np.testing.assert_array_equal(status, [Status.OK, Status.OK])


# -- registry and parameters ----------------------------------------------------

DOCUMENTED = {
    "bernoulli": (("p",), {"mle": ("p",)}),
    "exponential": (("rate",), {"mle": ("rate",), "unbiased": ("rate",)}),
    "normal": (("mu", "sigma2"), {"mle": ("mu", "sigma2"), "unbiased": ("sigma2",)}),
    "poisson": (("rate",), {"mle": ("rate",)}),
    "gamma": (("shape", "rate"), {"mle": ("shape", "rate")}),
}


def test_registry_has_exactly_the_documented_families():
    """Rules and the validator only ask the registry, so its content is the public API."""
    reg = registry()
    assert list(reg) == sorted(DOCUMENTED)
    for name, (params, estimators) in DOCUMENTED.items():
        fam = reg[name]
        assert fam.name == name
        assert get_family(name) is fam
        assert fam.parameter_names == params
        assert {e.name: e.targets for e in fam.estimators} == estimators


def test_get_family_unknown_lists_known():
    """A typo in a family name gets a KeyError naming the known families."""
    with pytest.raises(KeyError, match="known families: bernoulli, exponential, gamma, normal, poisson"):
        get_family("weibull")


def _parameter_cases():
    for name in FAMILIES:
        for p in get_family(name).parameters:
            yield pytest.param(p, id=f"{name}-{p.name}")
    yield pytest.param(Parameter("upper-only", upper=2.0), id="upper-only")
    yield pytest.param(Parameter("bounded", -1.0, 3.0), id="bounded")


@pytest.mark.parametrize("param", list(_parameter_cases()))
def test_parameter_unconstrained_round_trip(param):
    """to/from_unconstrained are inverse, and any real maps into the open range."""
    lo = param.lower if math.isfinite(param.lower) else -50.0
    hi = param.upper if math.isfinite(param.upper) else 50.0
    values = np.linspace(lo, hi, 103)[1:-1]
    assert all(param.contains(float(v)) for v in values)
    back = param.from_unconstrained(param.to_unconstrained(values))
    np.testing.assert_allclose(back, values, rtol=1e-10, atol=1e-12)
    # |z| <= 8 keeps lo + exp(z) and the logistic well away from rounding to the bound.
    z = np.linspace(-8, 8, 33)
    np.testing.assert_allclose(param.to_unconstrained(param.from_unconstrained(z)), z, atol=1e-9)
    assert all(param.contains(float(v)) for v in param.from_unconstrained(np.linspace(-15, 15, 31)))


def test_parameter_contains_respects_open_ends():
    """Open bounds exclude the endpoint, closed bounds include it; NaN/inf never allowed."""
    p = get_family("bernoulli").parameter("p")
    assert not p.contains(0.0) and not p.contains(1.0) and p.contains(0.5)
    closed = Parameter("q", 0.0, 1.0, lower_open=False)
    assert closed.contains(0.0) and not closed.contains(1.0)
    assert not p.contains(math.nan) and not Parameter("x").contains(math.inf)
    assert p.allowed() == "> 0 and < 1"


# -- gamma: a family fitted numerically -------------------------------------------


def test_gamma_mle_matches_scipy_fit():
    """Batched Newton agrees with scipy's gamma.fit (loc fixed at 0) on several samples."""
    fam = get_family("gamma")
    x = fam.sample(np.random.default_rng(404), THETA["gamma"], (6, 15))
    fit = fam.fit(x)["mle"]
    assert (fit.status == Status.OK).all()
    for i in range(x.shape[0]):
        shape, _, scale = stats.gamma.fit(x[i], floc=0)
        assert fit.values["shape"][i] == pytest.approx(shape, rel=1e-7)
        assert fit.values["rate"][i] == pytest.approx(1.0 / scale, rel=1e-7)


def test_gamma_mle_matches_statsmodels_glm_rate():
    """Gamma GLM (log link), intercept only: the mean-parameter fit exp(const) is x-bar = shape/rate."""
    fam = get_family("gamma")
    x = fam.sample(np.random.default_rng(405), THETA["gamma"], (1, 40))[0]
    res = sm.GLM(x, np.ones((x.size, 1)), family=sm.families.Gamma(sm.families.links.Log())).fit(tol=1e-12)
    fit = fam.fit(x[None, :])["mle"]
    assert math.exp(res.params[0]) == pytest.approx(fit.values["shape"][0] / fit.values["rate"][0], rel=1e-9)


def test_gamma_undefined_and_not_converged_are_counted(monkeypatch):
    """n = 1 has no MLE (UNDEFINED); a Newton run cut short is NOT_CONVERGED; both NaN, both failed."""
    import mlestudy.families.gamma as gamma_module

    fam = get_family("gamma")
    one = fam.fit(np.array([[1.5], [0.2]]))["mle"]
    assert (one.status == Status.UNDEFINED).all() and np.isnan(one.values["shape"]).all()
    x = fam.sample(np.random.default_rng(406), THETA["gamma"], (50, 10))
    monkeypatch.setattr(gamma_module, "NEWTON_MAX_ITER", 1)
    cut = fam.fit(x)["mle"]
    assert (cut.status == Status.NOT_CONVERGED).all()
    assert Status.failed(cut.status).all() and np.isnan(cut.values["rate"]).all()


def test_gamma_moments_exist_only_below_half_n():
    """E[shape-hat^k] is finite iff k < (n-1)/2: no mean at n <= 3, no variance below n = 6."""
    fam = get_family("gamma")
    got = {n: fam.finite_moments("mle", "shape", n) for n in (1, 2, 3, 4, 5, 6, 9, 10)}
    assert got == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 2, 9: 3, 10: 4}


def test_gamma_shape_equation_accurate_for_large_shapes():
    """log(a) - digamma(a) by series matches the direct form where both are exact, and
    keeps Newton converging when the shape estimate is huge (near-constant samples at n = 2)."""
    from scipy.special import digamma, polygamma

    from mlestudy.families.gamma import SERIES_FROM, d_log_minus_digamma, log_minus_digamma

    a = np.array([SERIES_FROM, 25.0, 40.0])
    np.testing.assert_allclose(log_minus_digamma(a), np.log(a) - digamma(a), rtol=1e-13)
    np.testing.assert_allclose(d_log_minus_digamma(a), 1 / a - polygamma(1, a), rtol=1e-10)
    # Reference values 1/(2a) + 1/(12a^2) at a = 1e9 (higher terms below float precision).
    assert log_minus_digamma(1e9) == pytest.approx(0.5e-9 + 1 / 12e18, rel=1e-15)
    fam = get_family("gamma")
    fit = fam.fit(fam.sample(np.random.default_rng(1), {"shape": 2.0, "rate": 1.0}, (20000, 2)))["mle"]
    assert (fit.status == Status.OK).all()


def test_singular_information_of_one_replication_gives_nan_not_an_error():
    """A gamma fit far in the tail (rate 6e179) has a singular information matrix in float64.

    ``inverse_information`` inverts the others exactly and gives that one NaN,
    where numpy.linalg.inv used to fail the whole aggregation job.
    """
    gamma = get_family("gamma")
    theta = {"shape": np.array([2.0, 0.0165, 0.5]), "rate": np.array([1.0, 6.1e179, 3.0])}
    with pytest.raises(np.linalg.LinAlgError), np.errstate(over="ignore"):
        gamma.inverse_fisher_information(theta)
    inv = inverse_information(gamma, theta)
    assert np.isnan(inv[1]).all()
    for i in (0, 2):
        one = {k: v[i] for k, v in theta.items()}
        np.testing.assert_allclose(inv[i], np.linalg.inv(gamma.fisher_information(one)), rtol=1e-14)
