"""KL in the contract and the summary: every model implements it; the MLE minimises the empirical
cross-entropy on every replication; the summary's KL columns follow their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlestudy.aggregate import SUMMARY_COLUMNS, summarise_sample_size
from mlestudy.config import validate
from mlestudy.kl_summary import KL_COLUMNS, kl_columns
from mlestudy.models import model_types
from mlestudy.seeding import design_seed
from mlestudy.simulate import iter_data, simulate_range
from mlestudy.status import Status

MODELS = sorted(model_types())


def bound(name: str, fixed: bool = False):
    kind = model_types()[name]
    design = dict(kind.example["design"])
    if fixed:
        design["fixed"] = True
    return kind(kind.example["params"], design, design_seed(3, name))


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_a_kl_that_is_zero_at_the_truth(name: str, fixed: bool) -> None:
    model = bound(name, fixed)
    assert model.has_kl_divergence
    truth = {p: np.array([v, v, np.nan]) for p, v in model.theta.items()}
    moved = {p: v + np.array([0.0, 0.05 * (1 + abs(v[0])), 0.0]) for p, v in truth.items()}
    kl = model.kl_divergence(moved, 40)
    assert kl.shape == (3,)
    assert abs(kl[0]) < 1e-14 and kl[1] > 0 and np.isnan(kl[2])


@pytest.mark.parametrize("name", MODELS)
def test_the_mle_minimises_the_empirical_cross_entropy_on_every_replication(name: str) -> None:
    """On each replication the MLE's average negative log-likelihood is <= that of every other estimator
    (parameters it does not estimate taken from the MLE), of the truth and of nearby perturbations.

    A mixture's likelihood has local maxima and EM finds one of them: there the MLE is only a local
    minimiser of the cross-entropy. It is checked against perturbations, against the truth where no
    start at the truth found a higher likelihood (status OK), and the multistart estimate (whose starts
    include the single start's) must be at least as good as the single start's."""
    model = bound(name)
    local = not model.numerical_check
    n = max(2 * model.min_sample_size(), 12)
    rng = np.random.default_rng(5)
    checked = 0
    for _, raw in iter_data(model, seed=11, scenario=name, n=n, first=0, stop=800):
        data = model.reduce(raw, n)
        fits = {e: est.fit(model, data, n) for e, est in model.estimators.items()}
        mle = fits[model.mle().name]
        ok = Status.usable(mle.status)
        full = {p: np.asarray(mle.values[p], dtype=float) for p in model.parameter_names}
        best = -model.loglik(raw, full) / n
        rivals = {"truth": {p: np.full(len(ok), v) for p, v in model.theta.items()}}
        for e, fit in fits.items():
            rivals[e] = {**full, **{p: np.asarray(v, dtype=float) for p, v in fit.values.items()}}
            ok &= Status.usable(fit.status)
        if local:
            multi = -model.loglik(raw, rivals.pop("mle_multistart")) / n
            both = ok & np.isfinite(best)
            assert np.all(multi[both] <= best[both] + 1e-12 * (1 + np.abs(best[both])))
            assert (multi[both] < best[both] - 1e-9).any()  # the single start does miss the best maximum
            ok &= mle.status == Status.OK
        for i in range(3):
            moved = {p: v + 1e-3 * rng.standard_normal(len(v)) * (1 + np.abs(v)) for p, v in full.items()}
            weights = [p for p in moved if p.startswith("weights[")]
            if weights:  # stay on the simplex: weights summing to more than 1 would raise the "likelihood"
                total = sum(moved[p] for p in weights)
                moved.update({p: moved[p] / total for p in weights})
            rivals[f"perturbed{i}"] = moved
        for label, theta in rivals.items():
            with np.errstate(all="ignore"):
                other = -model.loglik(raw, theta) / n
            good = ok & np.isfinite(best)
            if label.startswith(
                "perturbed"
            ):  # may leave the parameter space (a negative variance): skip those
                good &= np.isfinite(other)
            assert np.all(best[good] <= other[good] + 1e-12 * (1 + np.abs(best[good]))), label
            checked += int(good.sum())
    assert checked > 400


def _scenario(config: dict, replications: int = 4000):
    return validate({"seed": 7, "scenarios": [{**config, "replications": replications}]}).scenarios[0]


def test_summary_has_the_kl_columns_and_fills_them_only_for_estimators_of_every_parameter() -> None:
    assert all(c in SUMMARY_COLUMNS for c in KL_COLUMNS)
    scenario = _scenario(
        {"name": "normal", "family": "normal", "params": {"mu": 0.0, "sigma2": 1.0}, "sample_sizes": [10]}
    )
    frame = simulate_range(scenario.model, seed=7, scenario="normal", n=10, first=0, stop=4000)
    rows = summarise_sample_size(scenario, frame, 10)
    mle = [r for r in rows if r["estimator"] == "mle"]
    assert len(mle) == 2 and all(
        r[c] == mle[0][c] or (math.isnan(r[c]) and math.isnan(mle[0][c])) for r in mle for c in KL_COLUMNS
    )
    assert mle[0]["kl"] > 0 and mle[0]["kl_asymptote"] == pytest.approx(2 / 20)
    unbiased = [r for r in rows if r["estimator"] == "unbiased"]
    assert all(math.isnan(r[c]) for r in unbiased for c in KL_COLUMNS)  # sigma2 only: no fitted model


def test_kl_infinite_counts_the_boundary_and_kl_is_conditional_on_a_finite_kl() -> None:
    scenario = _scenario(
        {"name": "coin", "family": "bernoulli", "params": {"p": 0.7}, "sample_sizes": [2, 5]}
    )
    for n in (2, 5):
        frame = simulate_range(scenario.model, seed=7, scenario="coin", n=n, first=0, stop=4000)
        row = kl_columns(scenario, frame, "mle", n)
        boundary = int((frame["mle.status"] == Status.BOUNDARY).sum())
        assert row["kl_infinite"] == boundary > 0
        assert row["kl_unresolved"] == 0
        assert abs(row["z_kl"]) < 4.5
    # n = 2: the only finite KL is at p-hat = 1/2, so there is no spread and z compares exactly.
    frame = simulate_range(scenario.model, seed=7, scenario="coin", n=2, first=0, stop=4000)
    row = kl_columns(scenario, frame, "mle", 2)
    assert row["kl_mcse"] == 0 and row["z_kl"] == 0


def test_infinite_moments_blank_kl_and_its_mcse() -> None:
    """Normal MLE: E[KL] = inf for n <= 3 (kl NaN, exact_kl inf); at n = 5 the mean exists, its MCSE does not."""
    scenario = _scenario(
        {"name": "normal", "family": "normal", "params": {"mu": 0.0, "sigma2": 1.0}, "sample_sizes": [3, 5]}
    )
    for n, kl_finite, mcse_finite in ((3, False, False), (5, True, False)):
        frame = simulate_range(scenario.model, seed=7, scenario="normal", n=n, first=0, stop=4000)
        row = kl_columns(scenario, frame, "mle", n)
        assert math.isfinite(row["kl"]) == kl_finite and math.isfinite(row["kl_mcse"]) == mcse_finite
        assert math.isnan(row["z_kl"])
    assert kl_columns(scenario, frame, "mle", 3)["exact_kl"] == math.inf


def test_unresolved_replications_are_counted_not_averaged(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = _scenario(
        {"name": "expo", "family": "exponential", "params": {"rate": 1.0}, "sample_sizes": [20]}
    )
    frame = simulate_range(scenario.model, seed=7, scenario="expo", n=20, first=0, stop=4000)
    full = kl_columns(scenario, frame, "mle", 20)
    model = scenario.model
    original = model.kl_divergence

    def some_nan(theta_hat, n):
        out = original(theta_hat, n).copy()
        out[:100] = np.nan
        return out

    monkeypatch.setattr(model, "kl_divergence", some_nan)
    partial = kl_columns(scenario, frame, "mle", 20)
    assert partial["kl_unresolved"] == 100 and full["kl_unresolved"] == 0
    assert partial["kl"] != full["kl"] and math.isfinite(partial["kl"])


def test_least_squares_gets_its_own_first_order_kl() -> None:
    """tr(I_1 A^-1 B A^-1) / (2n) > k / (2n): the price of the wrong loss in KL."""
    scenario = _scenario(
        {
            "name": "lg",
            "family": "logistic_regression",
            "params": {"beta": [-0.5, 1.0, -1.0, 0.5, 0.25]},
            "sample_sizes": [200],
        },
        replications=2000,
    )
    model = scenario.model
    mle, ls = model.estimators["mle"], model.estimators["least_squares"]
    assert mle.kl_asymptote(model, 200) == pytest.approx(5 / 400)
    ratio = ls.kl_asymptote(model, 200) / mle.kl_asymptote(model, 200)
    assert 1.05 < ratio < 1.2  # per-coefficient efficiencies 0.87-0.93
    frame = simulate_range(model, seed=7, scenario="lg", n=200, first=0, stop=2000)
    assert (
        kl_columns(scenario, frame, "least_squares", 200)["kl"]
        > kl_columns(scenario, frame, "mle", 200)["kl"]
    )
