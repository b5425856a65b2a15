"""Maximum likelihood for 1-D normal mixtures by EM, batched over replications and starts.

All replications (and all starts of each) iterate together as rows of one
array; a row leaves the active set when it has converged, collapsed or hit the
iteration cap, and no row's arithmetic depends on any other row, so a
replication's answer does not depend on which others share the batch.

The data are standardised per replication (x -> (x - mean)/sd) before fitting
and the answer mapped back: the MLE is equivariant, and on this scale the
tolerances and the collapse floor mean the same for every data set.

How the iteration converges (SQUAREM, a linear-rate estimate of the distance
left, certified by the Newton step from the exact Hessian) is in
:mod:`.mixture_iteration`, the step itself in :mod:`.mixture_em_step`.  At the
estimate, the Newton step's size is reported (``newton_step``) and the observed
information gives the SEs (:mod:`.mixture_hessian`).

Statuses (``mlestudy.status``).  ``DEGENERATE``: a component variance fell below
``variance_floor`` times the sample variance.  The mixture likelihood is
unbounded (a component centred on one data point with variance -> 0 sends it to
+infinity), so no global MLE exists; the estimate is the best *interior* local
maximum over the starts, and a start that heads for the singularity is reported,
never floored and continued.  ``NOT_CONVERGED``: the cap of ``max_iter`` EM
steps was reached.  ``NONFINITE``: a step produced a non-finite value (a
component whose weight underflowed to 0).  With several starts, the estimate is
the converged start of highest likelihood, and a replication fails only if no
start converged.  ``LOCAL_OPTIMUM``: a start at the true parameters (``truth``,
from the caller) converged to a log-likelihood strictly higher than the
estimate's; the estimate is kept (usable) and flagged (a truth start that
collapses or does not converge flags nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..status import Status
from .mixture_em_step import EMStep
from .mixture_hessian import standard_errors
from .mixture_iteration import (
    MAX_ITER,
    VARIANCE_FLOOR,
    XTOL,
    iterate,
    newton_step,
    row_chunks,
    stack,
    unstack,
)
from .mixture_model import FloatArray, MixtureParams, check_params, loglik, parameter_names
from .mixture_starts import kmeans_start, quantile_start, random_starts

START_RULES = {"kmeans": kmeans_start, "quantile": quantile_start}
"""Deterministic data-driven starts, by name."""
LOCAL_OPTIMUM_RTOL = 1e-9
"""The truth start must beat the estimate's log-likelihood by this much (relative) to flag it."""


@dataclass(frozen=True)
class MixtureFit:
    """Per-replication result of :func:`fit_mixture`; components sorted by increasing mean.

    Estimates and SEs are NaN where ``status`` is not usable; SEs are also NaN
    where the observed information is singular.  ``covariance`` is the inverse
    observed information over the free parameters (K-1 weights, K means, K
    variances).  ``n_iter`` counts the EM steps of the winning start,
    ``best_start`` is its index (starts in the order: given or rule-based,
    random, truth).  ``start_status`` and ``start_loglik`` are per start, shape
    (R, S).
    """

    weights: FloatArray
    means: FloatArray
    variances: FloatArray
    se_weights: FloatArray
    se_means: FloatArray
    se_variances: FloatArray
    covariance: FloatArray
    loglik: FloatArray
    status: NDArray[np.int8]
    n_iter: NDArray[np.int64]
    best_start: NDArray[np.int64]
    newton_step: FloatArray
    truth_loglik: FloatArray
    start_status: NDArray[np.int8]
    start_loglik: FloatArray

    @property
    def params(self) -> MixtureParams:
        return MixtureParams(self.weights, self.means, self.variances)

    def values_by_name(self) -> dict[str, FloatArray]:
        """Estimates keyed by flat parameter name (``weights[0]``, ..., ``variances[K-1]``)."""
        return _by_name((self.weights, self.means, self.variances))

    def se_by_name(self) -> dict[str, FloatArray]:
        """Standard errors keyed by flat parameter name, as :meth:`values_by_name`."""
        return _by_name((self.se_weights, self.se_means, self.se_variances))


def _by_name(blocks: tuple[FloatArray, FloatArray, FloatArray]) -> dict[str, FloatArray]:
    k = blocks[0].shape[-1]
    return dict(zip(parameter_names(k), (b[:, j] for b in blocks for j in range(k)), strict=True))


def em_step(x: FloatArray, params: MixtureParams) -> tuple[FloatArray, MixtureParams]:
    """One EM step on every row of x (R, n): the log-likelihood at ``params`` (R, K) and the update."""
    x = np.asarray(x, dtype=float)
    step = EMStep(params.n_components, x.shape[-1])
    ll, new = step(x, stack(MixtureParams(*(np.asarray(p, dtype=float) for p in params.arrays()))))
    return ll, unstack(new)


def _validate_data(x: FloatArray, n_components: int) -> FloatArray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"fit_mixture: x must have shape (R, n); got shape {x.shape}")
    if not isinstance(n_components, int | np.integer) or n_components < 1:
        raise ValueError(f"fit_mixture: K = {n_components!r} is not allowed; K must be an integer >= 1")
    need = 3 * n_components
    if x.shape[1] < need:
        raise ValueError(
            f"fit_mixture: n = {x.shape[1]} is not allowed; K = {n_components} components need n >= 3K = {need}"
        )
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"fit_mixture: x = {float(x[bad][0])!r} is not allowed; the data must be finite")
    return x


def _validate_settings(*, max_iter: int, xtol: float, variance_floor: float, n_random_starts: int) -> None:
    checks = (
        ("max_iter", max_iter, isinstance(max_iter, int | np.integer) and max_iter >= 2, "an integer >= 2"),
        ("xtol", xtol, np.isfinite(xtol) and xtol > 0, "a finite number > 0"),
        (
            "variance_floor",
            variance_floor,
            np.isfinite(variance_floor) and variance_floor > 0,
            "a finite number > 0",
        ),
        (
            "n_random_starts",
            n_random_starts,
            isinstance(n_random_starts, int | np.integer) and n_random_starts >= 0,
            "an integer >= 0",
        ),
    )
    for name, value, ok, allowed in checks:
        if not ok:
            raise ValueError(f"fit_mixture: {name} = {value!r} is not allowed; it must be {allowed}")


def _as_starts(starts: MixtureParams, r: int, k: int, what: str) -> MixtureParams:
    """Given starts as arrays (K,), (R, K) or (R, S, K) -> checked arrays (R, S, K)."""
    p = check_params(starts, what)
    if p.n_components != k:
        raise ValueError(f"{what}: {p.n_components} components is not allowed; K = {k}")
    shape = np.shape(p.means)
    if len(shape) == 1:
        return p.broadcast_to((r, 1))
    if len(shape) == 2 and shape[0] == r:
        return MixtureParams(*(a[:, None, :] for a in p.arrays()))
    if len(shape) == 3 and shape[0] == r:
        return p
    raise ValueError(f"{what}: shape {shape} is not allowed; use (K,), (R, K) or (R, S, K) with R = {r}")


def fit_mixture(
    x: FloatArray,
    n_components: int,
    starts: MixtureParams | str = "kmeans",
    *,
    rng: np.random.Generator | FloatArray | None = None,
    n_random_starts: int = 0,
    truth: MixtureParams | None = None,
    xtol: float = XTOL,
    max_iter: int = MAX_ITER,
    variance_floor: float = VARIANCE_FLOOR,
    accelerate: bool = True,
) -> MixtureFit:
    """Fit a K-component 1-D normal mixture to every replication by batched EM.

    Parameters
    ----------
    x
        Data, shape (R, n), finite, n >= 3K.
    n_components
        K >= 1.
    starts
        ``"kmeans"`` (:func:`kmeans_start`) or ``"quantile"``
        (:func:`quantile_start`), both deterministic given the data, or given
        starting values, arrays of shape (K,), (R, K) or (R, S, K).
    rng
        The caller's own generator for random starts, or their uniforms, shape
        (R, n_random_starts, K) (see :func:`random_starts`); needed when
        ``n_random_starts > 0``.
    n_random_starts
        Extra k-means++-style starts per replication (:func:`random_starts`).
    truth
        The true parameters, shape (K,) or (R, K): one more start, used only to
        flag ``LOCAL_OPTIMUM``, never as the estimate.
    xtol
        Target distance to the maximiser (see the module docstring).
    max_iter
        Cap on EM steps per start.
    variance_floor
        Collapse threshold, relative to the sample variance.
    accelerate
        SQUAREM extrapolation (on by default; off gives plain EM).

    Returns
    -------
    MixtureFit
    """
    x = _validate_data(x, n_components)
    _validate_settings(
        max_iter=max_iter, xtol=xtol, variance_floor=variance_floor, n_random_starts=n_random_starts
    )
    r, n = x.shape
    k = n_components
    center = x.mean(axis=1)
    scale = x.std(axis=1)
    constant = scale == 0
    scale = np.where(constant, 1.0, scale)
    z = (x - center[:, None]) / scale[:, None]
    theta0, n_est = _starts_z(z, k, starts, rng, n_random_starts, truth, center, scale)
    s = theta0.shape[1]

    zrep = np.repeat(z, s, axis=0)
    theta, status, steps = iterate(
        zrep, theta0.reshape(r * s, 3, k), xtol, max_iter, variance_floor, accelerate
    )
    status[np.repeat(constant, s)] = Status.DEGENERATE
    ll = np.full(r * s, np.nan)
    ok = np.flatnonzero(status == Status.OK)
    for c in row_chunks(ok.size, k * n):
        ll[ok[c]] = loglik(zrep[ok[c]], unstack(theta[ok[c]]))
    theta, status, steps = theta.reshape(r, s, 3, k), status.reshape(r, s), steps.reshape(r, s)
    ll = ll.reshape(r, s) - n * np.log(scale)[:, None]

    best, final, best_ll, truth_ll = _select(status, ll, n_est, truth is not None)
    found = np.isfinite(best_ll)
    rows = np.arange(r)
    est_z = unstack(theta[rows, best]).sorted_by_means()
    cov, newton = _covariance(z, est_z, found, scale)
    se_w, se_m, se_v = standard_errors(cov)
    est = _from_z(est_z, center[:, None], scale[:, None])
    return MixtureFit(
        *(np.where(found[:, None], a, np.nan) for a in est.arrays()),
        se_weights=se_w,
        se_means=se_m,
        se_variances=se_v,
        covariance=cov,
        loglik=best_ll,
        status=final,
        n_iter=steps[rows, best],
        best_start=best.astype(np.int64),
        newton_step=newton,
        truth_loglik=truth_ll,
        start_status=status,
        start_loglik=np.where(status == Status.OK, ll, np.nan),
    )


def _starts_z(
    z: FloatArray,
    k: int,
    starts: MixtureParams | str,
    rng: np.random.Generator | FloatArray | None,
    n_random_starts: int,
    truth: MixtureParams | None,
    center: FloatArray,
    scale: FloatArray,
) -> tuple[FloatArray, int]:
    """All starts on the standardised scale, stacked (R, S, 3, K): rule or given, random, truth last.

    Also returns how many come before the truth (the candidates for the estimate).
    """
    r = z.shape[0]
    c, sc = center[:, None, None], scale[:, None, None]
    if isinstance(starts, str):
        if starts not in START_RULES:
            raise ValueError(
                f"fit_mixture: starts = {starts!r} is not allowed; use one of {sorted(START_RULES)} or MixtureParams"
            )
        blocks = [MixtureParams(*(a[:, None, :] for a in START_RULES[starts](z, k).arrays()))]
    else:
        blocks = [_to_z(_as_starts(starts, r, k, "fit_mixture: starts"), c, sc)]
    if n_random_starts:
        if rng is None:
            raise ValueError("fit_mixture: n_random_starts > 0 needs rng, the caller's generator for starts")
        blocks.append(random_starts(z, k, rng, n_random_starts))
    n_est = sum(np.shape(b.means)[1] for b in blocks)
    if truth is not None:
        tp = _as_starts(truth, r, k, "fit_mixture: truth")
        if np.shape(tp.means)[1] != 1:
            raise ValueError("fit_mixture: truth must have shape (K,) or (R, K)")
        blocks.append(_to_z(tp, c, sc))
    return np.concatenate([stack(MixtureParams(*map(np.asarray, b.arrays()))) for b in blocks], axis=1), n_est


def _select(
    status: NDArray[np.int8], ll: FloatArray, n_est: int, has_truth: bool
) -> tuple[NDArray[np.intp], NDArray[np.int8], FloatArray, FloatArray]:
    """Per replication: the winning start, the final status, its log-likelihood and the truth start's.

    The estimate is the converged start of highest likelihood (the truth start
    excluded; ties go to the first).  Without one: NOT_CONVERGED if a start hit
    the cap, NONFINITE if every start did, else DEGENERATE.
    """
    r = status.shape[0]
    cand = np.where(status[:, :n_est] == Status.OK, ll[:, :n_est], -np.inf)
    best = np.argmax(cand, axis=1)
    best_ll = cand[np.arange(r), best]
    found = np.isfinite(best_ll)
    final = np.where(found, Status.OK, Status.DEGENERATE).astype(np.int8)
    final[~found & (status[:, :n_est] == Status.NOT_CONVERGED).any(axis=1)] = Status.NOT_CONVERGED
    final[~found & (status[:, :n_est] == Status.NONFINITE).all(axis=1)] = Status.NONFINITE
    best_ll = np.where(found, best_ll, np.nan)
    truth_ll = np.full(r, np.nan)
    if has_truth:
        truth_ll = np.where(status[:, -1] == Status.OK, ll[:, -1], np.nan)
        higher = truth_ll > best_ll + LOCAL_OPTIMUM_RTOL * np.maximum(1.0, np.abs(best_ll))
        final[found & higher] = Status.LOCAL_OPTIMUM
    return best, final, best_ll, truth_ll


def _covariance(
    z: FloatArray, est_z: MixtureParams, found: NDArray[np.bool_], scale: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Inverse observed information on the data's scale (R, P, P) and the Newton step's size (R,)."""
    r = z.shape[0]
    k = est_z.n_components
    p = 3 * k - 1
    cov = np.full((r, p, p), np.nan)
    newton = np.full(r, np.nan)
    f = np.flatnonzero(found)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        newton[f], _, cov[f] = newton_step(z[f], MixtureParams(*(a[f] for a in est_z.arrays())))
    # Back to the data's scale: weights unchanged, means times sd, variances times sd^2.
    unit = np.concatenate(
        [np.ones((r, k - 1)), np.repeat(scale[:, None], k, 1), np.repeat(scale[:, None] ** 2, k, 1)], axis=1
    )
    return cov * unit[:, :, None] * unit[:, None, :], newton


def _to_z(p: MixtureParams, center: FloatArray, scale: FloatArray) -> MixtureParams:
    return MixtureParams(p.weights, (p.means - center) / scale, p.variances / scale**2)


def _from_z(p: MixtureParams, center: FloatArray, scale: FloatArray) -> MixtureParams:
    return MixtureParams(p.weights, center + scale * p.means, p.variances * scale**2)
