"""Gradient descent on cross-entropy and squared error: the losses, their curvature bounds, the batched descent.

References are independent: scikit-learn's ``log_loss`` and finite differences for the
losses, scipy's bounded scalar optimiser for the curvature bounds, a per-replication
loop in plain numpy for the batched descent, and a loop over Python floats for the
one-observation example the issue quotes (11 vs about 11,000 steps).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from glm_helpers import logistic_data
from scipy.optimize import check_grad, minimize_scalar
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_limits

from mlestudy.fitting import glm
from mlestudy.losses.classification import LOSSES, curvature_bound, loss_terms, second_derivative
from mlestudy.losses.gradient_descent import (
    descend,
    lipschitz_constants,
    mean_loss_and_gradient,
    record_steps,
    steps_until_correct,
)
from mlestudy.status import Status


def test_cross_entropy_is_sklearn_log_loss() -> None:
    rng = np.random.default_rng(1)
    eta = rng.normal(scale=4, size=300)
    y = (rng.random(300) < 0.5).astype(float)
    value, _ = loss_terms("cross_entropy", eta, y)
    mu = 1 / (1 + np.exp(-eta))
    assert value.mean() == pytest.approx(log_loss(y, mu), rel=1e-13)
    squared, _ = loss_terms("squared_error", eta, y)
    np.testing.assert_allclose(squared, (y - mu) ** 2, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_derivatives_against_finite_differences(loss: str, y: float) -> None:
    eta = np.linspace(-8, 8, 41)
    h = 1e-5
    labels = np.full_like(eta, y)
    _, d1 = loss_terms(loss, eta, labels)
    up, _ = loss_terms(loss, eta + h, labels)
    down, _ = loss_terms(loss, eta - h, labels)
    np.testing.assert_allclose(d1, (up - down) / (2 * h), atol=1e-9)
    d1_up = loss_terms(loss, eta + h, labels)[1]
    d1_down = loss_terms(loss, eta - h, labels)[1]
    np.testing.assert_allclose(second_derivative(loss, eta, labels), (d1_up - d1_down) / (2 * h), atol=1e-9)


@pytest.mark.parametrize("loss", LOSSES)
def test_curvature_bound_is_the_supremum(loss: str) -> None:
    """sup |l''| over eta and y, found by a bounded optimiser from a grid's best point."""
    best = 0.0
    for y in (0.0, 1.0):

        def f(e: float, y: float = y) -> float:
            return -abs(float(second_derivative(loss, np.array([e]), np.array([y]))[0]))

        grid = np.linspace(-15, 15, 3001)
        start = grid[np.argmin([f(e) for e in grid])]
        res = minimize_scalar(
            f, bounds=(start - 0.02, start + 0.02), method="bounded", options={"xatol": 1e-12}
        )
        best = max(best, -res.fun)
    assert curvature_bound(loss) == pytest.approx(best, rel=1e-10)


def test_squared_error_bound_is_half_the_loose_one() -> None:
    """The exact supremum 0.15406 against 2 (1/16 + 1/(6 sqrt 3)) = 0.3175 from bounding each term apart."""
    loose = 2 * (1 / 16 + 1 / (6 * math.sqrt(3)))
    assert curvature_bound("squared_error") == pytest.approx(0.154059, abs=1e-6)
    assert curvature_bound("squared_error") < 0.5 * loose


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_of_the_mean_loss(loss: str) -> None:
    x, y = logistic_data(2, 3, 40)
    for r in range(3):

        def f(b, r=r):
            return float(mean_loss_and_gradient(loss, x[r : r + 1], y[r : r + 1], b[None])[0][0])

        def g(b, r=r):
            return mean_loss_and_gradient(loss, x[r : r + 1], y[r : r + 1], b[None])[1][0]

        assert check_grad(f, g, np.array([0.3, -0.2, 0.5, 0.1, -0.4])) < 1e-7


@pytest.mark.parametrize("loss", LOSSES)
def test_lipschitz_constant_bounds_the_hessian(loss: str) -> None:
    """L >= the largest Hessian eigenvalue (in absolute value) at random points, per replication."""
    x, y = logistic_data(3, 4, 60)
    lip = lipschitz_constants(loss, x)
    rng = np.random.default_rng(0)
    for r in range(4):
        for _ in range(20):
            b = rng.normal(scale=3, size=5)
            eta = x[r] @ b
            hess = x[r].T @ (second_derivative(loss, eta, y[r])[:, None] * x[r]) / x.shape[1]
            assert np.abs(np.linalg.eigvalsh(hess)).max() <= lip[r] * (1 + 1e-12)


def _reference_descent(loss, x, y, start, target, tols, max_steps):
    """Plain gradient descent, one replication at a time, in numpy without batching."""
    n = x.shape[1]
    out = []
    for r in range(x.shape[0]):
        xr, yr = x[r], y[r]
        lip = curvature_bound(loss) * np.linalg.eigvalsh(xr.T @ xr / n)[-1]
        b = np.array(start, dtype=float)
        floor = loss_terms(loss, xr @ target[r], yr)[0].mean()
        first = {t: -1 for t in tols}
        excess = []
        for t in range(max_steps + 1):
            value, d = loss_terms(loss, xr @ b, yr)
            excess.append(value.mean() - floor)
            dist = np.abs(b - target[r]).max()
            for tol in tols:
                if first[tol] < 0 and dist <= tol:
                    first[tol] = t
            if dist <= min(tols) or t == max_steps:
                break
            b = b - (xr.T @ d / n) / lip
        out.append((b, first, np.array(excess)))
    return out


@pytest.mark.parametrize("loss", LOSSES)
def test_batched_descent_matches_a_loop_over_replications(loss: str) -> None:
    x, y = logistic_data(4, 12, 80)
    mle = glm.logistic(x, y)
    target = mle.beta if loss == "cross_entropy" else glm.least_squares(x, y, mle).beta
    assert (mle.status == Status.OK).all()
    start = -5 * np.array([-0.5, 1.0, -1.0, 0.5, 0.25])
    tols = (1e-2, 1e-6)
    run = descend(loss, x, y, start, target, tolerances=tols, max_steps=3000)
    for r, (b, first, excess) in enumerate(_reference_descent(loss, x, y, start, target, tols, 3000)):
        np.testing.assert_allclose(run.beta[r], b, rtol=1e-12, atol=1e-12)
        assert {t: int(run.steps[t][r]) for t in tols} == first
        stop = len(excess)
        np.testing.assert_allclose(run.excess[:stop, r], excess, rtol=1e-9, atol=1e-13)
        # After its stop, a replication keeps its last value.
        assert (run.excess[stop:, r] == run.excess[stop - 1, r]).all()
    assert (run.steps[1e-2] <= run.steps[1e-6]).all()


def test_a_replication_gets_the_same_bits_alone_or_in_a_batch() -> None:
    x, y = logistic_data(5, 9, 50)
    target = glm.logistic(x, y).beta
    start = np.zeros(5)
    whole = descend("cross_entropy", x, y, start, target, max_steps=400)
    for r in (0, 4, 8):
        alone = descend("cross_entropy", x[r : r + 1], y[r : r + 1], start, target[r : r + 1], max_steps=400)
        assert np.array_equal(alone.beta[0], whole.beta[r])
        assert alone.steps[1e-6][0] == whole.steps[1e-6][r]


def test_same_bits_with_one_or_two_blas_threads() -> None:
    x, y = logistic_data(9, 16, 3000)
    target = glm.logistic(x, y).beta
    runs = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            runs[threads] = descend("squared_error", x, y, np.zeros(5), target, max_steps=60)
    for field in ("beta", "excess", "gradient_norm", "lipschitz"):
        assert np.array_equal(getattr(runs[1], field), getattr(runs[2], field), equal_nan=True), field


def test_replications_without_a_minimiser_are_not_run() -> None:
    x, y = logistic_data(6, 5, 40)
    target = glm.logistic(x, y).beta.copy()
    target[[1, 3]] = np.nan
    run = descend("cross_entropy", x, y, np.zeros(5), target, max_steps=200)
    assert run.included.tolist() == [True, False, True, False, True]
    assert (run.steps[1e-2][[1, 3]] == -1).all()
    assert np.isnan(run.excess[:, [1, 3]]).all() and np.isfinite(run.excess[:, [0, 2, 4]]).all()


def test_cross_entropy_gets_a_larger_gradient_and_arrives_sooner_from_a_saturated_start() -> None:
    """The default logistic scenario's model at n = 1000 from -5 beta (the issue: 14 vs 219 steps)."""
    beta = np.array([-0.5, 1.0, -1.0, 0.5, 0.25])
    x, y = logistic_data(7, 30, 1000, beta=beta)
    mle = glm.logistic(x, y)
    targets = {"cross_entropy": mle.beta, "squared_error": glm.least_squares(x, y, mle).beta}
    runs = {loss: descend(loss, x, y, -5 * beta, targets[loss], max_steps=2000) for loss in LOSSES}
    ce, se = runs["cross_entropy"], runs["squared_error"]
    assert (ce.start_gradient_norm > 20 * se.start_gradient_norm).all()
    assert (ce.steps[1e-2] >= 0).all() and (se.steps[1e-2] >= 0).all()
    assert (ce.steps[1e-2] < se.steps[1e-2]).all()
    assert np.median(ce.steps[1e-2]) <= 20 and np.median(se.steps[1e-2]) >= 5 * np.median(ce.steps[1e-2])


def _steps_by_hand(loss: str, eta: float, rate: float) -> int:
    """The same count with Python floats: one observation, x = 1, label 1."""
    t = 0
    while eta < 0:
        mu = 1 / (1 + math.exp(-eta))
        grad = (mu - 1) if loss == "cross_entropy" else 2 * (mu - 1) * mu * (1 - mu)
        eta -= rate * grad
        t += 1
    return t


def test_one_observation_counts_the_issue_quotes() -> None:
    """Logit -10, learning rate 1: 11 steps with cross-entropy, about 11,000 with squared error."""
    ce = steps_until_correct("cross_entropy", -10.0, 1.0)
    se = steps_until_correct("squared_error", -10.0, 1.0)
    assert ce == 11 == _steps_by_hand("cross_entropy", -10.0, 1.0)
    assert se == _steps_by_hand("squared_error", -10.0, 1.0)
    assert 10_500 <= se <= 11_500  # "about 11,000": e^10 / 2 steps while mu ~ e^eta
    for loss in LOSSES:
        rate = 1 / curvature_bound(loss)
        assert steps_until_correct(loss, -10.0, rate) == _steps_by_hand(loss, -10.0, rate)
    assert steps_until_correct("cross_entropy", 10.0, 1.0, y=0.0) == 11  # the mirror image
    assert steps_until_correct("squared_error", -10.0, 1.0, max_steps=100) == -1


def test_record_steps_are_dense_then_geometric() -> None:
    assert record_steps(50).tolist() == list(range(51))
    s = record_steps(5000)
    assert s[0] == 0 and s[-1] == 5000 and (np.diff(s) > 0).all() and set(range(101)) <= set(s.tolist())
    assert len(s) < 250


def test_bad_input_is_one_clear_line() -> None:
    x, y = logistic_data(8, 2, 10)
    with pytest.raises(ValueError, match="loss = 'hinge' is not allowed; it must be one of"):
        descend("hinge", x, y, np.zeros(5), np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"x must be \(R, n, p\) and y \(R, n\)"):
        descend("cross_entropy", x[0], y, np.zeros(5), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="every tolerance > 0"):
        descend("cross_entropy", x, y, np.zeros(5), np.zeros((2, 5)), tolerances=(0.0,))
    with pytest.raises(ValueError, match="y = 0.5 is not allowed"):
        steps_until_correct("cross_entropy", -1.0, 1.0, y=0.5)
