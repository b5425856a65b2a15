"""The EM iteration for 1-D normal mixtures: SQUAREM-accelerated, stopped by a certified distance.

Every row (one start of one replication) iterates on its own; rows leave the
active set when they converge, collapse or reach the cap, and each keeps its
own step count, so no row's result depends on the rest of the batch.

Convergence.  EM converges linearly, with rate rho = the largest fraction of
missing information; a step of size s then leaves about s rho/(1 - rho) to go.
Every iteration takes two plain EM steps s1 and s2; when s2 rho/(1 - rho) <=
``xtol`` (rho estimated by s2/s1) or s2 is at the rounding level, the row is a
candidate, in the norm max_k(|dw_k|, |dm_k|/sd_k, |dv_k|/v_k).  A candidate is
accepted only if the Newton step J^-1 g from the exact Hessian
(:mod:`.mixture_hessian`), an estimate of the distance to the stationary point
that is accurate to second order, is itself within ``xtol`` and J is positive
definite (a local maximum, not a saddle).  Where the EM steps have stalled at
rounding level short of that (a flat likelihood: rho -> 1, each step
1e-14 while 1e-10 remains), the Newton step is taken to finish.  A
log-likelihood criterion cannot certify the parameters: near the maximum the
log-likelihood changes by the *square* of the parameter change.

Acceleration.  After the two plain steps, SQUAREM (Varadhan & Roland 2008,
scheme S3) extrapolates along them with step length alpha and takes one EM step
from the extrapolated point.  If that point leaves the parameter space or its
likelihood is below the first plain step's, the iteration keeps the plain steps
instead, so the likelihood never decreases.  alpha is capped; the cap starts at
1 (plain steps), grows by ``STEP_FACTOR`` after an accepted step that used it
all and shrinks after a rejected one (the step-length control of the SQUAREM
package): an unbounded alpha overshoots on the curved paths mixtures take and
is then rejected step after step.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..status import Status
from . import mixture_em_step
from .mixture_em_step import EMStep
from .mixture_hessian import covariance, observed_information
from .mixture_model import FloatArray, MixtureParams

XTOL = 1e-11
"""Target distance to the maximiser, in max_k(|dw_k|, |dm_k|/sd_k, |dv_k|/v_k)."""
ROUNDING_STEP = 1e-14
"""A step this small is rounding noise: the iteration has reached a fixed point in float64."""
MAX_ITER = 5000
"""Cap on EM steps (E-step + M-step evaluations) per start."""
VARIANCE_FLOOR = 1e-8
"""A component variance below this fraction of the sample variance is a collapse."""
POLISH_MAX = 1e-6
"""Largest Newton step (scaled) taken to finish a fit whose EM steps stalled at rounding level."""
STEP_FACTOR = 4.0
"""SQUAREM's step-length cap starts at 1 (a plain double step) and is widened or narrowed by this factor."""


def stack(p: MixtureParams) -> FloatArray:
    """Parameters as one array (..., 3, K): rows weights, means, variances."""
    return np.stack(p.arrays(), axis=-2)


def unstack(t: FloatArray) -> MixtureParams:
    """The inverse of :func:`stack` (views)."""
    return MixtureParams(t[..., 0, :], t[..., 1, :], t[..., 2, :])


def _scaled_step(a: FloatArray, b: FloatArray) -> FloatArray:
    """max_k(|dw_k|, |dm_k|/sd_k, |dv_k|/v_k) between stacked parameters a and b (scales from b)."""
    d = np.abs(a - b)
    v = b[..., 2, :]
    d[..., 1, :] /= np.sqrt(v)
    d[..., 2, :] /= v
    return d.max(axis=(-2, -1))


def _newton_size(delta: FloatArray, v: FloatArray, k: int) -> FloatArray:
    """Scaled size max_k(|dw_k|, |dm_k|/sd_k, |dv_k|/v_k) of a step in the free parameters."""
    parts = [
        np.abs(delta[:, : k - 1]),
        np.abs(delta[:, k - 1 : 2 * k - 1]) / np.sqrt(v),
        np.abs(delta[:, 2 * k - 1 :]) / v,
    ]
    return np.concatenate(parts, axis=1).max(axis=1, initial=0.0)


def newton_step(z: FloatArray, params: MixtureParams) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The Newton step J^-1 g from the exact Hessian at ``params``, for data z (B, n).

    Returns its scaled size (inf where J is not positive definite), the step
    itself in the free parameters (B, 3K - 1) and J^-1 (B, 3K - 1, 3K - 1).
    """
    k = params.n_components
    b, n = z.shape
    p = 3 * k - 1
    size, delta, cov = np.empty(b), np.empty((b, p)), np.empty((b, p, p))
    for c in row_chunks(b, k * n):
        score, info = observed_information(z[c], MixtureParams(*(np.asarray(a)[c] for a in params.arrays())))
        cov[c] = covariance(info)
        # Multiply and sum along contiguous rows: the result of a row never depends on the batch
        # (einsum picks its loop order from the strides of the whole operand).
        delta[c] = (cov[c] * score[:, None, :]).sum(axis=-1)
        size[c] = _newton_size(delta[c], np.asarray(params.variances)[c], k)
    return np.where(np.isfinite(size), size, np.inf), delta, cov


def _add_free_step(t: FloatArray, delta: FloatArray) -> FloatArray:
    """Stacked parameters (B, 3, K) moved by a step in the free parameters (B, 3K - 1)."""
    k = t.shape[-1]
    out = t.copy()
    out[:, 0, : k - 1] += delta[:, : k - 1]
    out[:, 0, k - 1] -= delta[:, : k - 1].sum(axis=-1)
    out[:, 1, :] += delta[:, k - 1 : 2 * k - 1]
    out[:, 2, :] += delta[:, 2 * k - 1 :]
    return out


def iterate(
    z: FloatArray, theta: FloatArray, xtol: float, max_iter: int, floor: float, accelerate: bool
) -> tuple[FloatArray, NDArray[np.int8], NDArray[np.int64]]:
    """Iterate every row of stacked parameters ``theta`` (B, 3, K) on data z (B, n) to its own end.

    A row is done when the cheap linear-rate estimate of its remaining distance
    and then the Newton step from the exact Hessian are both within ``xtol``.
    """
    b, n = z.shape
    step = EMStep(theta.shape[-1], n)
    status = np.full(b, Status.NOT_CONVERGED, dtype=np.int8)
    steps = np.zeros(b, dtype=np.int64)
    out = theta.copy()
    idx = np.arange(b)
    zz, t0 = z, theta
    cap = np.ones(b)
    used = np.zeros(b, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        while idx.size:
            _, t1 = step(zz, t0)
            ll1, t2 = step(zz, t1)
            used += 2
            s1, s2 = _scaled_step(t1, t0), _scaled_step(t2, t1)
            rho = s2 / s1
            err = np.where(rho < 1, s2 * rho / (1 - rho), np.inf)
            collapsed = (t1[:, 2, :] < floor).any(axis=-1) | (t2[:, 2, :] < floor).any(axis=-1)
            done = ((err <= xtol) | (s2 <= ROUNDING_STEP)) & ~collapsed & np.isfinite(t2).all(axis=(-2, -1))
            polished = np.zeros_like(done)
            if done.any():
                cand = np.flatnonzero(done)
                size, delta, _ = newton_step(zz[cand], unstack(t2[cand]))
                done[cand] = size <= xtol
                # EM stalled at rounding level short of xtol (a flat likelihood, rho -> 1): finish
                # with the Newton step, whose error is of the order of its size squared.
                stall = (s2[cand] <= ROUNDING_STEP) & (size > xtol) & (size <= POLISH_MAX)
                polished[cand[stall]] = True
                t2[cand[stall]] = _add_free_step(t2[cand[stall]], delta[stall])
            new = t2
            go = ~done & ~polished & (used + 1 <= max_iter)
            if accelerate and go.any():
                r = t1[go] - t0[go]
                u = t2[go] - 2 * t1[go] + t0[go]
                alpha = np.sqrt((r * r).sum(axis=(-2, -1)) / (u * u).sum(axis=(-2, -1)))
                alpha = np.where(np.isfinite(alpha), np.clip(alpha, 1.0, cap[go]), 1.0)
                tx = t0[go] + 2 * alpha[:, None, None] * r + (alpha * alpha)[:, None, None] * u
                w = tx[:, 0, :]
                feasible = (w > 0).all(axis=-1) & (w < 1).all(axis=-1) & (tx[:, 2, :] > floor).all(axis=-1)
                tx[~feasible] = t2[go][~feasible]
                tx[:, 0, :] /= tx[:, 0, :].sum(axis=-1, keepdims=True)
                llx, t3 = step(zz[go], tx)
                used[go] += 1
                accept = feasible & (llx >= ll1[go])
                new = t2.copy()
                new[go] = np.where(accept[:, None, None], t3, t2[go])
                # Varadhan & Roland's step-length control: widen the cap after a step that used it
                # all and was accepted, narrow it after a rejected full-length step.
                at_cap = alpha >= cap[go]
                cap[go] = np.where(
                    at_cap & accept,
                    cap[go] * STEP_FACTOR,
                    np.where(at_cap & ~accept, np.maximum(1.0, cap[go] / STEP_FACTOR), cap[go]),
                )
            new = np.where(done[:, None, None], t2, new)
            collapsed |= (new[:, 2, :] < floor).any(axis=-1)
            nonfinite = ~np.isfinite(new).all(axis=(-2, -1)) & ~collapsed
            done &= ~collapsed
            status[idx[done]] = Status.OK
            status[idx[collapsed]] = Status.DEGENERATE
            status[idx[nonfinite]] = Status.NONFINITE
            out[idx] = new
            steps[idx] = used
            # Every row keeps its own count, so the cap does not depend on the rest of the batch.
            keep = ~(done | collapsed | nonfinite) & (used + 2 <= max_iter)
            if keep.all():
                t0 = new
            else:
                idx, zz, t0, cap, used = idx[keep], zz[keep], new[keep], cap[keep], used[keep]
    return out, status, steps


def row_chunks(rows: int, row_len: int) -> list[slice]:
    """Slices of rows whose working arrays (rows x K x n) stay cache-sized."""
    per = max(1, mixture_em_step.CHUNK_ELEMENTS // max(row_len, 1))
    return [slice(a, min(a + per, rows)) for a in range(0, rows, per)]
