"""Full-batch gradient descent on a binary classifier's loss, every replication at once.

The vanishing gradient, measured: from a saturated start (every prediction
confidently wrong), the squared error's gradient carries mu (1 - mu) ~ 0 and
descent crawls, while the cross-entropy's does not.  Each replication runs
plain gradient descent on the mean loss with step 1/L, L = (curvature bound of
the loss) x lambda_max(X'X / n), its own data set's Lipschitz constant of the
gradient, so neither loss is favoured by a tuned learning rate.

A step is one Python iteration over all active replications (batched matmul);
there is no loop over replications.  A replication stops once its iterate is
within the tightest tolerance of its minimiser (max-norm), or at ``max_steps``;
after it stops, its recorded loss and gradient norm stay at their last values,
as a stopped optimiser's would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .classification import check_loss, curvature_bound, loss_terms

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TOLERANCES = (1e-2, 1e-6)
"""Distances max_j |beta_t,j - beta-hat_j| at which a run has reached its minimiser: a coarse
one (a fraction of a standard error at the study's sample sizes) and a tight one."""
MAX_STEPS = 5000
"""Iteration cap; a run that has not reached the tight tolerance by then is counted as such."""
REWORK = 0.75
"""Re-gather the active replications' data when fewer than this share of the gathered rows is active."""


@dataclass(frozen=True)
class Descent:
    """Per-replication outcome of :func:`descend` (replications on the last axis of the traces).

    Attributes
    ----------
    loss : str
        The loss descended.
    included : (R,) bool
        Replications with a minimiser (a finite target); the others are not run.
    lipschitz : (R,) float
        L of each replication's mean loss; the step is 1/L.
    steps : dict
        Tolerance -> (R,) int, the first step at which max|beta_t - target| <= tolerance;
        -1 if never within ``max_steps`` (or not included).
    excess : (T + 1, R) float
        Mean loss at step t minus the mean loss at the target, for t = 0..T (NaN if not
        included).  Negative beyond rounding only where descent found a lower loss than
        the target: the squared error on a sigmoid is not convex.
    gradient_norm : (T + 1, R) float
        Euclidean norm of the mean loss's gradient at step t.
    minimum : (R,) float
        The mean loss at the target.
    beta : (R, p) float
        Where each run stopped.
    """

    loss: str
    included: NDArray[np.bool_]
    lipschitz: FloatArray
    steps: dict[float, IntArray]
    excess: FloatArray
    gradient_norm: FloatArray
    minimum: FloatArray
    beta: FloatArray

    @property
    def start_gradient_norm(self) -> FloatArray:
        """Gradient norm at the start, per replication."""
        return self.gradient_norm[0]


def _linear(x: FloatArray, b: FloatArray) -> FloatArray:
    """eta = X b per replication: (m, n, p), (m, p) -> (m, n)."""
    return np.matmul(x, b[:, :, None])[:, :, 0]


def _xt(x: FloatArray, v: FloatArray) -> FloatArray:
    """X'v per replication: (m, n, p), (m, n) -> (m, p)."""
    return np.matmul(v[:, None, :], x)[:, 0, :]


def mean_loss_and_gradient(
    loss: str, x: FloatArray, y: FloatArray, beta: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Mean loss (m,) and its gradient (m, p) at ``beta`` (m, p), per replication."""
    n = x.shape[1]
    value, derivative = loss_terms(loss, _linear(x, beta), y)
    return value.mean(axis=1), _xt(x, derivative) / n


def lipschitz_constants(loss: str, x: FloatArray) -> FloatArray:
    """L = sup|l''| x lambda_max(X'X / n) of each replication's mean loss (a valid step is 1/L)."""
    gram = np.matmul(x.transpose(0, 2, 1), x) / x.shape[1]
    return curvature_bound(loss) * np.linalg.eigvalsh(gram)[:, -1]


def descend(
    loss: str,
    x: FloatArray,
    y: FloatArray,
    start: FloatArray,
    target: FloatArray,
    *,
    tolerances: Sequence[float] = TOLERANCES,
    max_steps: int = MAX_STEPS,
) -> Descent:
    """Gradient descent with step 1/L on ``loss`` for every replication, from ``start`` towards ``target``.

    Parameters
    ----------
    loss
        ``"cross_entropy"`` or ``"squared_error"``.
    x : (R, n, p) float64
        Designs.
    y : (R, n)
        Labels 0 or 1.
    start : (p,) or (R, p)
        Starting coefficients (a saturated start: e.g. -5 times the true beta).
    target : (R, p)
        The loss's minimiser per replication (the MLE for the cross-entropy, the
        least-squares fit for the squared error); NaN rows have none and are not run.
    tolerances
        Max-norm distances to the target whose first hitting step is recorded; a run stops at
        the smallest.
    max_steps
        Iteration cap.

    Returns
    -------
    Descent
    """
    check_loss(loss)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 3 or y.shape != x.shape[:2]:
        raise ValueError(f"x must be (R, n, p) and y (R, n); got {x.shape} and {y.shape}")
    if max_steps < 0 or not tolerances or min(tolerances) <= 0:
        raise ValueError(
            f"max_steps = {max_steps} and tolerances = {tuple(tolerances)} are not allowed; "
            "max_steps must be >= 0 and every tolerance > 0"
        )
    r, n, p = x.shape
    target = np.asarray(target, dtype=np.float64)
    beta = np.array(np.broadcast_to(np.asarray(start, dtype=np.float64), (r, p)))
    included = np.isfinite(target).all(axis=1)
    lipschitz = lipschitz_constants(loss, x)
    steps = {float(t): np.full(r, -1, dtype=np.int64) for t in tolerances}
    tight = min(steps)
    excess = np.full((max_steps + 1, r), np.nan)
    gradient_norm = np.full((max_steps + 1, r), np.nan)
    floor = np.full(r, np.nan)
    if included.any():
        floor[included] = mean_loss_and_gradient(loss, x[included], y[included], target[included])[0]
    active = included.copy()
    rows = np.flatnonzero(active)
    xr, yr = x[rows], y[rows]
    last = 0
    with np.errstate(all="ignore"):
        for t in range(max_steps + 1):
            live = active[rows]
            if not live.any():
                break
            if live.mean() < REWORK:
                rows = rows[live]
                xr, yr = x[rows], y[rows]
                live = np.ones(rows.size, dtype=bool)
            last = t
            value, grad = mean_loss_and_gradient(loss, xr, yr, beta[rows])
            idx = rows[live]
            excess[t, idx] = value[live] - floor[idx]
            gradient_norm[t, idx] = np.sqrt(np.einsum("ij,ij->i", grad[live], grad[live]))
            dist = np.abs(beta[idx] - target[idx]).max(axis=1)
            for tol, first in steps.items():
                first[idx[(first[idx] < 0) & (dist <= tol)]] = t
            done = dist <= tight
            active[idx[done]] = False
            if t == max_steps:
                break
            move = idx[~done]
            beta[move] -= grad[live][~done] / lipschitz[move, None]
    excess, gradient_norm = excess[: last + 1], gradient_norm[: last + 1]
    _carry_forward(excess, included)
    _carry_forward(gradient_norm, included)
    return Descent(loss, included, lipschitz, steps, excess, gradient_norm, floor, beta)


def _carry_forward(trace: FloatArray, included: NDArray[np.bool_]) -> None:
    """Fill each included column's values after its run stopped with its last recorded value."""
    recorded = ~np.isnan(trace)
    index = np.where(recorded, np.arange(trace.shape[0])[:, None], 0)
    np.maximum.accumulate(index, axis=0, out=index)
    filled = np.take_along_axis(trace, index, axis=0)
    trace[:, included] = filled[:, included]


def record_steps(last: int, dense: int = 100, points: int = 120) -> IntArray:
    """Steps 0..last at which curves are tabulated: every step up to ``dense``, then geometrically."""
    if last <= dense:
        return np.arange(last + 1, dtype=np.int64)
    tail = np.unique(np.geomspace(dense, last, points).round().astype(np.int64))
    return np.unique(np.concatenate([np.arange(dense + 1), tail, [last]]))


def steps_until_correct(
    loss: str, eta: float, learning_rate: float, y: float = 1.0, max_steps: int = 10**6
) -> int:
    """Steps of gradient descent on one observation (x = 1) until its prediction is right.

    The classic picture of the vanishing gradient: one observation with label ``y``
    and logit ``eta`` (the coefficient, x = 1); count steps until the predicted
    probability of its label reaches 1/2.  Returns -1 if not within ``max_steps``.
    """
    check_loss(loss)
    if y not in (0.0, 1.0):
        raise ValueError(f"y = {y!r} is not allowed; it must be 0 or 1")
    b = np.array([[eta]], dtype=np.float64)
    x = np.ones((1, 1, 1))
    yy = np.array([[y]])
    sign = 1.0 if y == 1.0 else -1.0
    for t in range(max_steps + 1):
        if sign * b[0, 0] >= 0.0:
            return t
        _, grad = mean_loss_and_gradient(loss, x, yy, b)
        b -= learning_rate * grad
    return -1
