"""Batched Newton / Fisher scoring over replications, with step-halving.

Every model without a closed-form MLE maximises a concave (or locally concave)
log-likelihood per replication.  This driver runs Newton's method on all
replications of a batch at once: one callback evaluates, for the active
replications only, the log-likelihood, its gradient and the information
(negative Hessian, or its expectation for Fisher scoring); one batched linear
solve gives every replication's step.  Replications leave the active set as
they converge, so the work shrinks with them.

Convergence is judged per replication by the Newton decrement
lambda = sqrt(g' I^-1 g).  It is affine invariant, and it bounds the step in
standard-error units: |d_j| <= lambda * se_j for every coordinate j (Cauchy-
Schwarz in the I-metric), where se_j = sqrt((I^-1)_jj) is the Wald standard
error.  Stopping at lambda <= tol therefore leaves each coefficient within
tol standard errors of the MLE, independently of the scale of the covariates.
The estimate, log-likelihood and information returned are all evaluated at the
same final point.

A step is accepted when the log-likelihood does not fall by more than rounding
(a relative slack of :data:`LOGLIK_RTOL`); otherwise it is halved, per
replication, up to ``max_halvings`` times.

Determinism: every operation here is per replication (batched solves loop over
the batch inside LAPACK, one matrix at a time; no BLAS call mixes replications),
so a replication's bits do not depend on which other replications share its
batch, nor on the number of BLAS threads (tested with threadpoolctl).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..status import Status

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

Evaluate = Callable[[FloatArray, IntArray], tuple[FloatArray, FloatArray, FloatArray]]
"""``evaluate(beta, rows) -> (loglik (m,), gradient (m, q), information (m, q, q))``.

``beta`` holds the current parameters of the m replications listed in ``rows``
(indices into the batch, increasing).  Non-finite log-likelihoods are allowed
(an overflow): such a step is rejected and halved.
"""

TOL = 1e-10
"""Newton decrement at which a replication has converged: each coefficient is then
within 1e-10 of its standard errors of the MLE (see the module docstring)."""
MAX_ITER = 50
MAX_HALVINGS = 40
LOGLIK_RTOL = 1e-12
"""A step whose log-likelihood falls by at most this fraction of |loglik| counts as no
decrease: near the optimum the change (lambda^2 / 2) is below rounding."""


@dataclass(frozen=True)
class NewtonResult:
    """Per-replication outcome of :func:`newton` (replications on the first axis).

    Attributes
    ----------
    beta : (R, q) float
        Final parameters (NaN for replications that were never active).
    loglik : (R,) float
        Log-likelihood at ``beta``.
    gradient : (R, q) float
        Gradient at ``beta``.
    information : (R, q, q) float
        Information at ``beta``; its inverse is the Wald covariance.
    decrement : (R,) float
        Newton decrement lambda at ``beta`` (NaN where the solve failed).
    iterations : (R,) int
        Newton steps taken.
    status : (R,) int8
        ``Status.OK`` (lambda <= tol), ``Status.NOT_CONVERGED`` (iteration cap,
        step-halving exhausted, or a singular / non-finite information), or
        ``Status.UNDEFINED`` for replications the caller left inactive.
    """

    beta: FloatArray
    loglik: FloatArray
    gradient: FloatArray
    information: FloatArray
    decrement: FloatArray
    iterations: NDArray[np.int64]
    status: NDArray[np.int8]


def batched_solve(a: FloatArray, b: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Solve a[i] x[i] = b[i] for a stack of square systems; never raises.

    ``np.linalg.solve`` raises for the whole stack if one matrix is exactly
    singular.  Then each system is solved on its own, which calls the same LAPACK
    routine on the same matrix, so the other replications' bits are unchanged.

    Returns the solutions (m, q) and a mask of replications whose solve succeeded
    with a finite result.
    """
    if a.shape[0] == 0:
        return np.empty_like(b), np.ones(0, dtype=bool)
    with np.errstate(all="ignore"):
        try:
            x = np.linalg.solve(a, b[..., None])[..., 0]
        except np.linalg.LinAlgError:
            x = np.full_like(b, np.nan)
            for i in range(a.shape[0]):  # rare path: only when some matrix is exactly singular
                try:
                    x[i] = np.linalg.solve(a[i], b[i])
                except np.linalg.LinAlgError:
                    pass
    ok = np.isfinite(x).all(axis=1)
    return x, ok


def batched_inverse(a: FloatArray) -> FloatArray:
    """Inverse of each matrix of a stack; NaN where one is singular.  Never raises."""
    if a.shape[0] == 0:
        return np.empty_like(a)
    with np.errstate(all="ignore"):
        try:
            return np.linalg.inv(a)
        except np.linalg.LinAlgError:
            out = np.full_like(a, np.nan)
            for i in range(a.shape[0]):  # rare path, as in batched_solve
                try:
                    out[i] = np.linalg.inv(a[i])
                except np.linalg.LinAlgError:
                    pass
            return out


def newton(
    evaluate: Evaluate,
    start: FloatArray,
    *,
    active: NDArray[np.bool_] | None = None,
    fallback: FloatArray | None = None,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
    max_halvings: int = MAX_HALVINGS,
) -> NewtonResult:
    """Maximise R log-likelihoods at once by Newton's method with step-halving.

    Parameters
    ----------
    evaluate
        Callback giving log-likelihood, gradient and information of the listed
        replications at given parameters (see :data:`Evaluate`).
    start : (R, q) float
        Starting parameters.
    active : (R,) bool, optional
        Replications to fit (default: all).  The others are returned with NaN
        and ``Status.UNDEFINED``; the caller gives them their real status.
    fallback : (R, q) float, optional
        A safe start (e.g. the intercept-only fit) for replications whose
        log-likelihood at ``start`` is not finite: a cheap closed-form start can
        overflow where the safe one cannot.
    tol
        Newton decrement at which a replication has converged.
    max_iter
        Newton steps allowed per replication.
    max_halvings
        Halvings of one step before the replication is declared not converged.

    Returns
    -------
    NewtonResult
    """
    start = np.asarray(start, dtype=np.float64)
    r, q = start.shape
    beta = np.full((r, q), np.nan)
    loglik = np.full(r, np.nan)
    gradient = np.full((r, q), np.nan)
    information = np.full((r, q, q), np.nan)
    decrement = np.full(r, np.nan)
    iterations = np.zeros(r, dtype=np.int64)
    status = np.full(r, Status.UNDEFINED, dtype=np.int8)

    rows = np.flatnonzero(np.ones(r, dtype=bool) if active is None else active)
    if rows.size == 0:
        return NewtonResult(beta, loglik, gradient, information, decrement, iterations, status)
    b = start[rows].copy()
    ll, g, info = evaluate(b, rows)
    if fallback is not None and not np.isfinite(ll).all():
        sub = np.flatnonzero(~np.isfinite(ll))
        b[sub] = fallback[rows[sub]]
        ll[sub], g[sub], info[sub] = evaluate(b[sub], rows[sub])
    status[rows] = Status.NOT_CONVERGED

    def record(mask: NDArray[np.bool_], code: Status, lam: FloatArray) -> None:
        """Store the final state of the active replications in ``mask``."""
        if not mask.any():
            return
        idx = rows[mask]
        beta[idx], loglik[idx], gradient[idx], information[idx] = b[mask], ll[mask], g[mask], info[mask]
        decrement[idx] = lam[mask]
        status[idx] = code

    for it in range(max_iter + 1):
        if rows.size == 0:
            break
        step, solved = batched_solve(info, g)
        lam = np.sqrt(np.maximum(np.einsum("ij,ij->i", g, step), 0.0))
        lam[~solved] = np.nan
        converged = solved & (lam <= tol)
        # Stop: converged, no Newton step (the information cannot be inverted), or the cap.
        stop = converged | ~solved | (it == max_iter)
        if stop.any():
            record(converged, Status.OK, lam)
            record(stop & ~converged, Status.NOT_CONVERGED, lam)
            keep = ~stop
            rows, b, ll, g, info, step, lam = (x[keep] for x in (rows, b, ll, g, info, step, lam))
        if rows.size == 0:
            break
        iterations[rows] += 1

        # Step-halving: each replication halves its own step until the log-likelihood does not fall.
        new_b = b + step
        new_ll, new_g, new_info = evaluate(new_b, rows)
        slack = LOGLIK_RTOL * np.abs(ll)
        worse = ~(new_ll >= ll - slack)  # NaN counts as worse
        t = np.ones(rows.size)
        for _ in range(max_halvings):
            if not worse.any():
                break
            sub = np.flatnonzero(worse)
            t[sub] *= 0.5
            trial = b[sub] + t[sub, None] * step[sub]
            s_ll, s_g, s_info = evaluate(trial, rows[sub])
            new_b[sub], new_ll[sub], new_g[sub], new_info[sub] = trial, s_ll, s_g, s_info
            worse[sub] = ~(s_ll >= ll[sub] - slack[sub])
        if worse.any():  # no ascent along the Newton direction: stop these at the last good point
            record(worse, Status.NOT_CONVERGED, lam)
            keep = ~worse
            rows, new_b, new_ll, new_g, new_info = (x[keep] for x in (rows, new_b, new_ll, new_g, new_info))
        b, ll, g, info = new_b, new_ll, new_g, new_info

    return NewtonResult(beta, loglik, gradient, information, decrement, iterations, status)
