"""Batched EM for 1-D normal mixtures: scikit-learn from the same starts, statuses, batch
invariance, the stable E-step, equivariance, starts and input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from mlestudy.fitting import mixture_em_step
from mlestudy.fitting.em import XTOL, em_step, fit_mixture
from mlestudy.fitting.mixture_model import MixtureParams, loglik
from mlestudy.fitting.mixture_starts import kmeans_start, quantile_start, random_starts
from mlestudy.status import Status

TRUTH = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))


def simulate(seed: int, reps: int, n: int, p: MixtureParams = TRUTH) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = (rng.random((reps, n))[..., None] > np.cumsum(p.weights)[:-1]).sum(axis=-1)
    return p.means[labels] + np.sqrt(p.variances[labels]) * rng.standard_normal((reps, n))


def sklearn_fit(x: np.ndarray, start: MixtureParams, steps: int) -> np.ndarray:
    """scikit-learn's EM from ``start`` for exactly ``steps`` iterations (tol = 0: no early stop).

    Returns (3, K): weights, means, variances sorted by mean.  The ConvergenceWarning that tol = 0
    always raises is expected and caught here, and only here.
    """
    gm = GaussianMixture(
        n_components=start.n_components,
        covariance_type="full",
        tol=0.0,
        reg_covar=0.0,
        max_iter=steps,
        init_params="random_from_data",
        weights_init=start.weights,
        means_init=start.means[:, None],
        precisions_init=(1.0 / start.variances)[:, None, None],
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(x[:, None])
    order = np.argsort(gm.means_[:, 0])
    return np.stack([gm.weights_[order], gm.means_[order, 0], gm.covariances_[order, 0, 0]])


@pytest.mark.parametrize("n", [50, 200, 1000])
def test_matches_sklearn_from_the_same_starts(n):
    """100 replications per n (300 in all), started from the same k-means starts.  scikit-learn runs with
    tol = 0 (its log-likelihood criterion cannot certify 1e-8 in the parameters: near the maximum
    the log-likelihood moves by the square of the parameter change) for 10 steps more than plain
    EM needs to meet our criterion; our answer is the accelerated (SQUAREM) one."""
    x = simulate(100 + n, 100, n)
    starts = kmeans_start(x, 2)
    fit = fit_mixture(x, 2, starts=starts)
    plain = fit_mixture(x, 2, starts=starts, accelerate=False, max_iter=20_000)
    ok = fit.status == Status.OK
    assert ok.mean() >= 0.98
    assert (fit.newton_step[ok] <= XTOL).all()
    worst = 0.0
    for i in np.flatnonzero(ok):
        start = MixtureParams(*(a[i] for a in starts.arrays()))
        ref = sklearn_fit(x[i], start, int(plain.n_iter[i]) + 10)
        ours = np.stack([fit.weights[i], fit.means[i], fit.variances[i]])
        worst = max(worst, float(np.max(np.abs(ours - ref) / np.maximum(1.0, np.abs(ref)))))
    assert worst <= 1e-8


def test_sklearn_default_tolerance_stops_early():
    """The issue's point: tol = 1e-3 stops a few steps in, far from the MLE."""
    x = simulate(7, 1, 200)[0]
    start = MixtureParams(*(a[0] for a in kmeans_start(x[None], 2).arrays()))
    gm = GaussianMixture(
        2,
        tol=1e-3,
        reg_covar=0.0,
        weights_init=start.weights,
        means_init=start.means[:, None],
        precisions_init=(1 / start.variances)[:, None, None],
    ).fit(x[:, None])
    fit = fit_mixture(x[None], 2, starts=start)
    assert gm.n_iter_ < 15
    assert np.abs(np.sort(gm.means_[:, 0]) - fit.means[0]).max() > 1e-3


def test_plain_and_accelerated_em_reach_the_same_maximum():
    x = simulate(3, 300, 200)
    fast, plain = fit_mixture(x, 2), fit_mixture(x, 2, accelerate=False, max_iter=20_000)
    both = (fast.status == Status.OK) & (plain.status == Status.OK)
    assert both.mean() > 0.98
    np.testing.assert_allclose(fast.means[both], plain.means[both], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.variances[both], plain.variances[both], rtol=1e-9)
    assert np.median(fast.n_iter) < np.median(plain.n_iter) / 4


def test_em_step_matches_the_textbook_formulas():
    x = simulate(11, 5, 40)
    p = MixtureParams(np.array([[0.4, 0.6]] * 5), np.array([[0.5, 2.0]] * 5), np.array([[2.0, 0.5]] * 5))
    ll, new = em_step(x, p)
    dens = p.weights[:, :, None] * norm.pdf(
        x[:, None, :], p.means[:, :, None], np.sqrt(p.variances)[:, :, None]
    )
    r = dens / dens.sum(axis=1, keepdims=True)
    counts = r.sum(axis=-1)
    means = (r * x[:, None, :]).sum(axis=-1) / counts
    variances = (r * (x[:, None, :] - means[:, :, None]) ** 2).sum(axis=-1) / counts
    np.testing.assert_allclose(ll, np.log(dens.sum(axis=1)).sum(axis=-1), rtol=1e-13)
    np.testing.assert_allclose(new.weights, counts / 40, rtol=1e-13)
    np.testing.assert_allclose(new.means, means, rtol=1e-12)
    np.testing.assert_allclose(new.variances, variances, rtol=1e-12)


def test_log_likelihood_survives_where_densities_underflow():
    """A point 40 sd from every mean has density exp(-800) = 0 in float64; its log is fine."""
    x = np.array([[0.1, -0.3, 2.9, 40.0, -45.0, 3.2]])
    p = MixtureParams(np.array([[0.3, 0.7]]), np.array([[0.0, 3.0]]), np.array([[1.0, 1.0]]))
    with np.errstate(under="ignore", divide="ignore"):
        naive = np.log((p.weights[0, :, None] * norm.pdf(x[0], p.means[0, :, None], 1.0)).sum(axis=0))
    assert np.isinf(naive).any()
    terms = np.log(p.weights[0])[:, None] + norm.logpdf(x[0], p.means[0][:, None], 1.0)
    expected = logsumexp(terms, axis=0).sum()
    np.testing.assert_allclose(loglik(x, p), [expected], rtol=1e-14)
    ll, new = em_step(x, p)
    assert np.isfinite(ll).all() and np.isfinite(np.concatenate(new.arrays(), axis=-1)).all()


def collapsing_case() -> tuple[np.ndarray, MixtureParams]:
    """Two-component data, and a start that puts a narrow component with little weight on the
    largest observation: EM shrinks it onto that point."""
    x = simulate(1, 1, 100)
    top = float(x.max())
    start = MixtureParams(
        np.array([0.99, 0.01]), np.array([float(x.mean()), top]), np.array([float(x.var()), 1e-3])
    )
    return x, start


def test_degenerate_collapse_is_detected_not_floored():
    x, start = collapsing_case()
    fit = fit_mixture(x, 2, starts=start)
    assert fit.status.tolist() == [Status.DEGENERATE]
    assert np.isnan(fit.means).all() and np.isnan(fit.se_means).all()
    assert fit.n_iter[0] < 100


def test_the_likelihood_is_unbounded_at_the_collapse():
    """A component centred on a data point: each 100-fold cut of its variance adds log(10) to the
    log-likelihood (its density at the point grows like v^-1/2), without bound."""
    x, start = collapsing_case()
    values = [
        loglik(x, MixtureParams(start.weights, start.means, np.array([1.0, 10.0**-k])))[0]
        for k in range(10, 30, 2)
    ]
    np.testing.assert_allclose(np.diff(values), np.log(10), rtol=1e-6)


def test_a_collapsing_start_loses_to_an_interior_maximum():
    x, bad = collapsing_case()
    good = kmeans_start(x, 2)
    starts = MixtureParams(
        *(np.stack([a[0], b], axis=0)[None] for a, b in zip(good.arrays(), bad.arrays(), strict=True))
    )
    fit = fit_mixture(x, 2, starts=starts)
    assert fit.status.tolist() == [Status.OK]
    assert fit.best_start.tolist() == [0]
    assert fit.start_status.tolist() == [[Status.OK, Status.DEGENERATE]]


def test_a_constant_sample_is_degenerate():
    x = np.vstack([np.full(20, 3.0), simulate(1, 1, 20)])
    fit = fit_mixture(x, 2)
    assert fit.status[0] == Status.DEGENERATE and fit.status[1] == Status.OK


def test_local_optimum_is_flagged_and_kept():
    """A start with one wide and one narrow component converges to a lower maximum on some
    replications; the start at the truth finds the higher one there, and only there."""
    x = simulate(12345, 20, 200)
    bad = MixtureParams(np.array([0.5, 0.5]), np.array([1.3, 3.1]), np.array([3.2, 0.5]))
    fit = fit_mixture(x, 2, starts=bad, truth=TRUTH)
    flagged = fit.status == Status.LOCAL_OPTIMUM
    assert 1 <= flagged.sum() < flagged.size
    assert Status.usable(fit.status).all()
    assert np.isfinite(fit.means[flagged]).all() and np.isfinite(fit.se_means[flagged]).all()
    assert (fit.truth_loglik[flagged] > fit.loglik[flagged] + 0.1).all()
    assert (fit.truth_loglik[~flagged] <= fit.loglik[~flagged] + 1e-6).all()
    # The higher maximum is a maximum in its own right: fitting from the truth reaches it.
    from_truth = fit_mixture(x[flagged], 2, starts=TRUTH)
    np.testing.assert_allclose(from_truth.loglik, fit.truth_loglik[flagged], rtol=1e-12)
    # The default data-driven start finds the higher maximum on these data.
    assert (fit_mixture(x, 2, truth=TRUTH).status == Status.OK).all()


def test_batch_composition_and_chunking_do_not_change_any_answer(monkeypatch):
    x = simulate(21, 24, 51)
    x[3] = 1.5  # constant: degenerate
    x[7, 0] = 30.0  # an outlier
    fits = {"batch": fit_mixture(x, 2, truth=TRUTH)}
    order = np.random.default_rng(0).permutation(24)
    shuffled = fit_mixture(x[order], 2, truth=TRUTH)
    fits["permuted"] = type(shuffled)(
        **{k: getattr(shuffled, k)[np.argsort(order)] for k in shuffled.__dataclass_fields__}
    )
    singles = [fit_mixture(x[i : i + 1], 2, truth=TRUTH) for i in range(24)]
    fits["one by one"] = type(singles[0])(
        **{k: np.concatenate([getattr(s, k) for s in singles]) for k in singles[0].__dataclass_fields__}
    )
    monkeypatch.setattr(mixture_em_step, "CHUNK_ELEMENTS", 3 * 2 * 51)
    fits["small chunks"] = fit_mixture(x, 2, truth=TRUTH)
    ref = fits.pop("batch")
    for name, other in fits.items():
        for field in ref.__dataclass_fields__:
            np.testing.assert_array_equal(
                getattr(other, field), getattr(ref, field), err_msg=f"{name}: {field}"
            )


def test_equivariant_under_affine_maps_of_the_data():
    x = simulate(8, 50, 100)
    a, b = 1e3, -5e4
    f, g = fit_mixture(x, 2), fit_mixture(a * x + b, 2)
    np.testing.assert_array_equal(f.status, g.status)
    np.testing.assert_allclose(g.weights, f.weights, rtol=1e-9)
    np.testing.assert_allclose(g.means, a * f.means + b, rtol=1e-12, atol=1e-9 * a)
    np.testing.assert_allclose(g.variances, a * a * f.variances, rtol=1e-9)
    np.testing.assert_allclose(g.se_means, a * f.se_means, rtol=1e-7)
    np.testing.assert_allclose(g.se_variances, a * a * f.se_variances, rtol=1e-7)
    np.testing.assert_allclose(g.loglik, f.loglik - 100 * np.log(a), rtol=1e-12)


def test_random_starts_come_from_the_callers_generator_only():
    x = simulate(9, 30, 100)
    f1 = fit_mixture(x, 2, rng=np.random.default_rng(4), n_random_starts=3)
    f2 = fit_mixture(x, 2, rng=np.random.default_rng(4), n_random_starts=3)
    for field in f1.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(f1, field), getattr(f2, field))
    # The documented consumption: K uniform draws of shape (R, S).
    used, fresh = np.random.default_rng(4), np.random.default_rng(4)
    random_starts(x, 2, used, 3)
    fresh.random((30, 3))
    fresh.random((30, 3))
    assert used.bit_generator.state == fresh.bit_generator.state
    single = fit_mixture(x, 2)
    assert f1.start_status.shape == (30, 4)
    assert (f1.loglik >= single.loglik - 1e-9 * np.abs(single.loglik)).all()


def test_starts_are_deterministic_and_sensible():
    x = simulate(10, 40, 300)
    k1, k2 = kmeans_start(x, 2), kmeans_start(x.copy(), 2)
    for a, b in zip(k1.arrays(), k2.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    q = quantile_start(x, 2)
    np.testing.assert_allclose(q.weights, 0.5)
    assert (np.diff(k1.means, axis=1) > 0).all() and (k1.variances > 0).all()
    np.testing.assert_allclose(k1.weights.sum(axis=1), 1.0, rtol=1e-15)


def test_values_and_ses_by_flat_name():
    fit = fit_mixture(simulate(15, 3, 100), 2)
    values, se = fit.values_by_name(), fit.se_by_name()
    names = ["weights[0]", "weights[1]", "means[0]", "means[1]", "variances[0]", "variances[1]"]
    assert list(values) == names and list(se) == names
    np.testing.assert_array_equal(values["means[1]"], fit.means[:, 1])
    np.testing.assert_array_equal(se["variances[0]"], fit.se_variances[:, 0])


def test_output_is_sorted_by_means_and_weights_on_the_simplex():
    x = simulate(
        12, 100, 150, MixtureParams(np.array([0.2, 0.5, 0.3]), np.array([-3.0, 0.0, 4.0]), np.ones(3))
    )
    fit = fit_mixture(x, 3, rng=np.random.default_rng(1), n_random_starts=2)
    ok = Status.usable(fit.status)
    assert ok.mean() > 0.9
    assert (np.diff(fit.means[ok], axis=1) > 0).all()
    np.testing.assert_allclose(fit.weights[ok].sum(axis=1), 1.0, rtol=1e-14)


def test_no_warnings_escape():
    """Collapsing starts, a constant sample, tiny-scale data, n = 2K: statuses, never warnings."""
    x = np.vstack(
        [simulate(13, 3, 100), np.full(100, -2.0), collapsing_case()[0], simulate(14, 1, 100) * 1e-150]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_mixture(x, 2, rng=np.random.default_rng(0), n_random_starts=2, truth=TRUTH)
        fit_mixture(x[:, :6], 2)
    assert Status.usable(fit.status[:3]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": np.zeros(10)}, r"^fit_mixture: x must have shape \(R, n\); got shape \(10,\)$"),
        (
            {"x": np.array([[0.0, np.nan] * 5])},
            r"^fit_mixture: x = nan is not allowed; the data must be finite$",
        ),
        ({"n_components": 0}, r"^fit_mixture: K = 0 is not allowed; K must be an integer >= 1$"),
        ({"x": np.ones((2, 5))}, r"^fit_mixture: n = 5 is not allowed; K = 2 components need n >= 3K = 6$"),
        (
            {"starts": "best"},
            r"^fit_mixture: starts = 'best' is not allowed; use one of \['kmeans', 'quantile'\]",
        ),
        (
            {"starts": MixtureParams(np.array([0.5, 0.6]), np.zeros(2), np.ones(2))},
            r"^fit_mixture: starts: weights sum to 1\.1, which is not allowed; they must sum to 1$",
        ),
        (
            {"starts": MixtureParams(np.array([0.5, 0.5]), np.zeros(2), np.array([1.0, 0.0]))},
            r"^fit_mixture: starts: variances = 0\.0 is not allowed; variances must be > 0$",
        ),
        (
            {"truth": MixtureParams(np.ones(3) / 3, np.zeros(3), np.ones(3))},
            r"^fit_mixture: truth: 3 components is not allowed; K = 2$",
        ),
        ({"n_random_starts": 2}, r"^fit_mixture: n_random_starts > 0 needs rng"),
        ({"max_iter": 1}, r"^fit_mixture: max_iter = 1 is not allowed; it must be an integer >= 2$"),
        ({"xtol": 0.0}, r"^fit_mixture: xtol = 0\.0 is not allowed; it must be a finite number > 0$"),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, message):
    args = {"x": simulate(1, 2, 20), "n_components": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        fit_mixture(**args)
