"""Least squares on a binary outcome can have no finite minimiser: the squared error is bounded, so on
nearly separated data it is as low at infinity as anywhere.  Such fits get status NO_MINIMISER,
are counted (n_no_minimiser) and left out of the measures."""

from __future__ import annotations

import numpy as np
import yaml
from scipy import optimize
from scipy.special import expit

from mlestudy.aggregate import summarise_sample_size
from mlestudy.config import validate
from mlestudy.fitting import glm
from mlestudy.simulate import simulate_range
from mlestudy.status import Status


def _loss(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((y - expit(x @ beta)) ** 2))


def _data() -> tuple[np.ndarray, np.ndarray]:
    """Replication 0: one y = 1 among the y = 0 (the MLE exists, the squared error is lowest at infinity,
    misfitting that one point: S_inf = 1); replication 1: overlapping classes (finite optima for both)."""
    x0 = np.array([-2.1, -1.0, -1.0, -0.8, -0.2, 0.6, 1.9, 2.2])
    y0 = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    x1 = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
    y1 = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    x = np.stack([np.column_stack([np.ones(8), x0]), np.column_stack([np.ones(8), x1])])
    return x, np.stack([y0, y1])


def test_a_nearly_separated_sample_has_no_least_squares_minimiser() -> None:
    x, y = _data()
    mle = glm.logistic(x, y)
    assert (mle.status == Status.OK).all()
    ls = glm.least_squares(x, y, mle)
    assert ls.status.tolist() == [Status.NO_MINIMISER, Status.OK]
    assert np.isnan(ls.beta[0]).all() and np.isfinite(ls.beta[1]).all()
    # Independently (scipy): BFGS from the MLE stops at a finite local minimum, but the squared error there
    # is above its limit at infinity, S_inf = 1 (misfit the lone y = 1), which a steep threshold between
    # -0.2 and 0.6 approaches: no finite point is the minimiser.
    local = optimize.minimize(_loss, mle.beta[0], args=(x[0], y[0]), method="BFGS", options={"gtol": 1e-12})
    steep = [_loss(t * np.array([-0.2, 1.0]), x[0], y[0]) for t in (10.0, 20.0, 40.0)]
    assert (
        local.fun > 1.02 and all(local.fun > v > 1.0 for v in steep) and steep == sorted(steep, reverse=True)
    )
    # Replication 1: scipy's minimum is the engine's, and the loss rises along the ray (finite minimiser).
    near = optimize.minimize(_loss, mle.beta[1], args=(x[1], y[1]), method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(ls.beta[1], near.x, rtol=1e-6, atol=1e-8)
    assert _loss(2 * ls.beta[1], x[1], y[1]) > ls.loss[1]


def test_the_criterion_compares_the_loss_with_its_limit_along_the_ray() -> None:
    eta = np.array([[30.0, -30.0, 25.0], [0.5, -0.2, 1.0], [0.0, 40.0, -40.0]])
    y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    loss = np.sum((y - expit(eta)) ** 2, axis=1)
    # Saturated (S = S_inf = 1 up to e^-25), interior (S = 1.17 < S_inf = 2), a point on the hyperplane.
    assert glm.at_infinity(eta, y, loss).tolist() == [True, False, True]


def test_logistic_scenario_counts_and_excludes_them() -> None:
    """The default logistic scenario at n = 30: fits with no minimiser are counted, none is usable, and
    the least-squares variance ratio is no longer driven by runaway fits (it was ~1e-7 at n <= 100)."""
    config = yaml.safe_load(open("config.yaml"))
    scenario = next(s for s in config["scenarios"] if s["name"] == "logistic")
    sc = validate(
        {"seed": config["seed"], "scenarios": [{**scenario, "replications": 2000, "sample_sizes": [30, 100]}]}
    ).scenarios[0]
    for n in (30, 100):
        frame = simulate_range(sc.model, seed=sc.seed, scenario=sc.name, n=n, first=0, stop=2000)
        status = frame["least_squares.status"].to_numpy()
        rows = [r for r in summarise_sample_size(sc, frame, n) if r["estimator"] == "least_squares"]
        flagged = int((status == Status.NO_MINIMISER).sum())
        assert all(r["n_no_minimiser"] == flagged for r in rows)
        beta = np.column_stack([frame[f"least_squares.{p}"] for p in sc.model.coefficients])
        ok = Status.usable(status)
        assert np.isnan(beta[status == Status.NO_MINIMISER]).all() and np.abs(beta[ok]).max() < 1e3
        assert min(r["rel_efficiency"] for r in rows) > 0.05, [r["rel_efficiency"] for r in rows]
        if n == 30:
            assert flagged > 100
