"""Logistic, Poisson and softmax regression fitted by batched Newton, with existence checks.

Inputs are many replications at once: X (R, n, p) float64 with the intercept as
its first column, y (R, n).  Each model is a canonical-link GLM, so Newton's
method and Fisher scoring coincide and the information at the estimate is
X'WX, whose inverse is the covariance statsmodels reports (its diagonal's square
roots are the Wald standard errors).

Per batch of replications:

1. X'X from the pair products (:mod:`.design`); replications without full column
   rank get ``Status.RANK_DEFICIENT`` (:func:`.separation.rank_deficient`).
2. Start cheaply from sums already at hand: logistic from linear discriminant
   analysis (:func:`_lda_start`); Poisson and softmax from one Fisher-scoring
   step taken at the intercept-only fit beta0 = (link(y-bar), 0, ...), where the
   weights are constant, so the step costs one solve with X'X and no pass over eta.
   Where a start overflows, Newton restarts from the intercept-only fit.
3. :func:`.newton.newton` to a Newton decrement of 1e-10.
4. Replications that did not converge or whose fitted probabilities / means
   reached 0 or 1 numerically (where a non-existent MLE always ends up) are
   handed to the exact LP check; those it confirms get ``Status.NO_MLE``.
   NO_MLE and RANK_DEFICIENT replications get NaN estimates.

Numerics: probabilities and log-likelihoods come from a = exp(-|eta|) and
log1p(a) (never log(0) or exp of a large positive number); softmax uses
log-sum-exp shifted by max(0, max_k eta_k); Poisson means that overflow become
inf, which the step-halving rejects.  Floating-point warnings never escape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from ..status import Status
from . import separation
from .design import pair_index, pair_products, symmetric_from_pairs, weighted_gram
from .newton import MAX_ITER, TOL, NewtonResult, batched_inverse, batched_solve, newton

FloatArray = NDArray[np.float64]

BATCH_FLOATS = 2**20
"""Working memory per batch, in float64 values (8 MiB): about (p(p+1)/2 + p + 12) n
values per replication (pair products, X, and the per-observation temporaries)."""
ETA_FLAG = 20.0
"""A fit with a fitted logit beyond +-20 (probability within 2e-9 of 0 or 1), or a
Poisson log-mean below -20, is checked for non-existence.  When the MLE does not
exist and Newton still meets its tolerance, the observations driving the
recession direction have |eta| of order 40 or more (their residuals must be
below about lambda^2 = 1e-20), so this flag misses none."""


@dataclass(frozen=True)
class GLMFit:
    """Per-replication fits of one GLM.

    Attributes
    ----------
    beta : (R, q) float, or (R, K-1, p) for softmax
        Estimates; NaN where the status is NO_MLE or RANK_DEFICIENT.
    cov : (R, q, q) float
        Inverse information at the estimate (softmax: q = (K-1) p, class-major:
        index (k-1) p + j is beta[k, j]).
    loglik : (R,) float
        Log-likelihood at the estimate (the full one, with log y! for Poisson).
    iterations : (R,) int
        Newton steps.
    status : (R,) int8
        ``Status`` codes: OK, NOT_CONVERGED (estimate kept for diagnosis, not
        usable), NO_MLE, RANK_DEFICIENT.
    """

    beta: FloatArray
    cov: FloatArray
    loglik: FloatArray
    iterations: NDArray[np.int64]
    status: NDArray[np.int8]

    @property
    def se(self) -> FloatArray:
        """Wald standard errors sqrt(diag(cov)), shaped like ``beta``."""
        d = np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))
        return d.reshape(self.beta.shape)


# --------------------------------------------------------------------------- input checks


def _check_design(x: FloatArray, y: np.ndarray, model: str) -> tuple[FloatArray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 3 or x.dtype != np.float64:
        raise ValueError(f"{model}: X must be a float64 array (R, n, p), got {x.dtype} with shape {x.shape}")
    if y.shape != x.shape[:2]:
        raise ValueError(f"{model}: y must have shape (R, n) = {x.shape[:2]}, got {y.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{model}: X has a non-finite value; all entries must be finite")
    return x, y


def _bad_value(y: np.ndarray, bad: NDArray[np.bool_], model: str, allowed: str) -> None:
    if bad.any():
        r, i = np.argwhere(bad)[0]
        raise ValueError(f"{model}: y[{r}, {i}] = {y[r, i].item()!r} is not allowed; y must be {allowed}")


# --------------------------------------------------------------------------- batching


def default_batch(n: int, p: int) -> int:
    """Replications per batch so that one batch's working set is about :data:`BATCH_FLOATS` values."""
    return max(1, BATCH_FLOATS // ((p * (p + 1) // 2 + p + 12) * n))


def _batches(r: int, n: int, p: int, batch: int | None) -> tuple[range, int]:
    if batch is None:
        batch = default_batch(n, p)
    if batch < 1:
        raise ValueError(f"batch = {batch} is not allowed; batch must be a positive number of replications")
    return range(0, r, batch), batch


class _Rows:
    """The batch's arrays restricted to the active replications, recomputed only when they change."""

    def __init__(self, *arrays: np.ndarray) -> None:
        self.arrays = arrays
        self.m = arrays[0].shape[0]
        self.rows: NDArray[np.intp] | None = None
        self.cached: tuple[np.ndarray, ...] = arrays

    def __call__(self, rows: NDArray[np.intp]) -> tuple[np.ndarray, ...]:
        if rows.size == self.m:
            return self.arrays
        if self.rows is None or not np.array_equal(rows, self.rows):
            self.rows = rows
            self.cached = tuple(a[rows] for a in self.arrays)
        return self.cached


# --------------------------------------------------------------------------- models


def _logistic_parts(
    eta: FloatArray, out: FloatArray | None = None, eta_sum: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """mu = sigmoid(eta), w = mu (1 - mu) and sum_i softplus(eta_i) = log(1 + e^eta_i), stably.

    From a = exp(-|eta|) <= 1: mu = 1/(1+a) or a/(1+a), w = a/(1+a)^2,
    softplus = max(eta, 0) + log1p(a), with sum max(eta, 0) = (sum eta + sum |eta|) / 2.
    Written in place: each pass over the (m, n) arrays costs as much as the arithmetic.
    ``out`` (m, 2, n), if given, receives w and mu side by side, for one product with
    the pair products that yields both X'WX and X'mu.  ``eta_sum`` = sum_i eta_i, if the
    caller has it (beta'X'1), saves a pass.
    """
    a = np.abs(eta)
    half = 0.5 * ((eta.sum(axis=1) if eta_sum is None else eta_sum) + a.sum(axis=1))
    np.negative(a, out=a)
    np.exp(a, out=a)
    inv = a + 1.0
    np.reciprocal(inv, out=inv)
    if out is None:
        out = np.empty((eta.shape[0], 2, eta.shape[1]))
    w, mu = out[:, 0], out[:, 1]
    np.multiply(a, inv, out=w)
    np.copyto(mu, inv)
    np.copyto(mu, w, where=eta < 0)
    np.multiply(w, inv, out=w)
    np.log1p(a, out=a)
    return mu, w, half + a.sum(axis=1)


def _linear(x: FloatArray, b: FloatArray) -> FloatArray:
    """eta = X b for each replication: (m, n, p), (m, p) -> (m, n)."""
    return np.matmul(x, b[:, :, None])[:, :, 0]


def _xt(x: FloatArray, v: FloatArray) -> FloatArray:
    """X'v for each replication: (m, n, p), (m, n) -> (m, p)."""
    return np.matmul(v[:, None, :], x)[:, 0, :]


def _fit_batches(
    x: FloatArray,
    batch: int | None,
    fit_batch: Callable[[slice], tuple[FloatArray, FloatArray, FloatArray, np.ndarray, np.ndarray]],
    q: int,
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.int64], NDArray[np.int8]]:
    r, n, p = x.shape
    starts, size = _batches(r, n, p, batch)
    beta = np.empty((r, q))
    cov = np.empty((r, q, q))
    loglik = np.empty(r)
    iterations = np.empty(r, dtype=np.int64)
    status = np.empty(r, dtype=np.int8)
    with np.errstate(all="ignore"):
        for s in starts:
            sl = slice(s, min(s + size, r))
            beta[sl], cov[sl], loglik[sl], iterations[sl], status[sl] = fit_batch(sl)
    return beta, cov, loglik, iterations, status


def _finish(
    res: NewtonResult,
    rank_def: NDArray[np.bool_],
    flagged: NDArray[np.bool_],
    decide: Callable[[NDArray[np.intp]], NDArray[np.bool_]],
) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray, np.ndarray]:
    """Statuses from the fit, the rank check and the LP on flagged replications; NaN where no MLE."""
    status = res.status.copy()
    status[rank_def] = Status.RANK_DEFICIENT
    check = np.flatnonzero(flagged & ~rank_def)
    if check.size:
        status[check[decide(check)]] = Status.NO_MLE
    cov = batched_inverse(res.information)
    none = (status == Status.NO_MLE) | (status == Status.RANK_DEFICIENT)
    beta, loglik = res.beta.copy(), res.loglik.copy()
    beta[none], cov[none], loglik[none] = np.nan, np.nan, np.nan
    return beta, cov, loglik, res.iterations, status


def _lda_start(
    gram: FloatArray, xty: FloatArray, xt1: FloatArray, y: FloatArray, p: int
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Linear discriminant analysis coefficients: a start for logistic regression from sums alone.

    With the intercept first, slopes S^-1 (m1 - m0) and intercept log(n1/n0) - slopes'(m1 + m0)/2,
    S the pooled within-class covariance of the features, whose scatter matrix is
    X'X - n1 m1 m1' - n0 m0 m0': only sums already at hand.  Measured at n = 100
    (the benchmark's logistic data), it lies a median 0.26 standard errors from the MLE
    against 1.2 for one scoring step from the intercept-only fit, which saves about one
    Newton iteration.  Returns the start and where it is finite.
    """
    n = y.shape[1]
    n1 = y.sum(axis=1)
    n0 = n - n1
    with np.errstate(all="ignore"):
        m1 = xty / n1[:, None]
        m0 = (xt1 - xty) / n0[:, None]
        within = gram - n1[:, None, None] * m1[:, :, None] * m1[:, None, :]
        within -= n0[:, None, None] * m0[:, :, None] * m0[:, None, :]
        slopes, solved = batched_solve(within[:, 1:, 1:], (n - 2) * (m1 - m0)[:, 1:])
        start = np.empty((y.shape[0], p))
        start[:, 1:] = slopes
        start[:, 0] = np.log(n1 / n0) - np.einsum("ij,ij->i", slopes, 0.5 * (m1 + m0)[:, 1:])
    return start, solved & np.isfinite(start).all(axis=1)


def logistic(
    x: FloatArray, y: np.ndarray, *, batch: int | None = None, tol: float = TOL, max_iter: int = MAX_ITER
) -> GLMFit:
    """Logistic regression (binary cross-entropy) MLE for each replication.

    Parameters
    ----------
    x : (R, n, p) float64
        Designs, intercept first.
    y : (R, n)
        Responses 0 or 1 (any numeric dtype).
    batch
        Replications fitted together (default: as many as fit in :data:`BATCH_FLOATS`).
    tol, max_iter
        Newton decrement tolerance and iteration cap (see :mod:`.newton`).

    Returns
    -------
    GLMFit
    """
    x, y = _check_design(x, y, "logistic")
    _bad_value(y, (y != 0) & (y != 1), "logistic", "0 or 1")
    y = y.astype(np.float64)
    p = x.shape[2]

    def fit_batch(sl: slice) -> tuple:
        xb, yb = x[sl], y[sl]
        pairs = pair_products(xb)
        gram = weighted_gram(pairs, np.ones(yb.shape), p)
        rank_def = separation.rank_deficient(xb, gram)
        xty = _xt(xb, yb)
        xt1 = xb.sum(axis=1)
        ybar = yb.mean(axis=1)
        v = ybar * (1.0 - ybar)
        start = np.zeros((yb.shape[0], p))
        ok = (v > 0) & ~rank_def
        start[:, 0] = np.where(ok, np.log(ybar / (1.0 - ybar)), 0.0)
        safe = start.copy()
        intercept = bool((xb[:, :, 0] == 1.0).all())
        if intercept and p > 1:
            lda, solved = _lda_start(gram, xty, xt1, yb, p)
        else:
            step, solved = batched_solve(
                np.where(ok[:, None, None], gram, np.eye(p)), xty - ybar[:, None] * xt1
            )
            lda = start + step / np.where(ok, v, 1.0)[:, None]
        start[ok & solved] = lda[ok & solved]
        take = _Rows(xb, pairs, xty, xt1)

        def evaluate(b: FloatArray, rows: NDArray[np.intp]) -> tuple[FloatArray, FloatArray, FloatArray]:
            xr, pr, xtyr, xt1r = take(rows)
            eta = _linear(xr, b)
            parts = np.empty((b.shape[0], 2, eta.shape[1]))
            mu, w, softplus = _logistic_parts(eta, parts, np.einsum("ij,ij->i", b, xt1r))
            ll = np.einsum("ij,ij->i", b, xtyr) - softplus
            if intercept:  # pairs (0, j) are the columns x_j: X'mu comes with X'WX
                sums = np.matmul(pr, parts.transpose(0, 2, 1))
                return ll, xtyr - sums[:, :p, 1], symmetric_from_pairs(sums[:, :, 0], p)
            return ll, xtyr - _xt(xr, mu), weighted_gram(pr, w, p)

        res = newton(evaluate, start, active=~rank_def, fallback=safe, tol=tol, max_iter=max_iter)
        fitted = np.abs(_linear(xb, np.nan_to_num(res.beta)))
        flagged = (res.status != Status.OK) | (fitted.max(axis=1) > ETA_FLAG)
        return _finish(res, rank_def, flagged, lambda i: separation.logistic_separated(xb[i], yb[i]))

    return GLMFit(*_fit_batches(x, batch, fit_batch, p))


def poisson(
    x: FloatArray, y: np.ndarray, *, batch: int | None = None, tol: float = TOL, max_iter: int = MAX_ITER
) -> GLMFit:
    """Poisson regression (log link; Poisson deviance) MLE for each replication.

    Parameters
    ----------
    x : (R, n, p) float64
        Designs, intercept first.
    y : (R, n)
        Non-negative integer counts (any numeric dtype).
    batch, tol, max_iter
        As in :func:`logistic`.

    Returns
    -------
    GLMFit
        ``loglik`` includes the -log(y!) terms, as statsmodels' ``llf`` does.
    """
    x, y = _check_design(x, y, "poisson")
    with np.errstate(invalid="ignore"):
        _bad_value(y, ~((y >= 0) & (np.floor(y) == y) & np.isfinite(y)), "poisson", "a non-negative integer")
    y = y.astype(np.float64)
    p = x.shape[2]

    def fit_batch(sl: slice) -> tuple:
        xb, yb = x[sl], y[sl]
        pairs = pair_products(xb)
        gram = weighted_gram(pairs, np.ones(yb.shape), p)
        rank_def = separation.rank_deficient(xb, gram)
        xty = _xt(xb, yb)
        xt1 = xb.sum(axis=1)
        log_fact = gammaln(yb + 1.0).sum(axis=1)
        ybar = yb.mean(axis=1)
        start = np.zeros((yb.shape[0], p))
        ok = (ybar > 0) & ~rank_def
        start[:, 0] = np.where(ok, np.log(np.where(ok, ybar, 1.0)), 0.0)
        safe = start.copy()
        step, solved = batched_solve(np.where(ok[:, None, None], gram, np.eye(p)), xty - ybar[:, None] * xt1)
        start[ok & solved] += step[ok & solved] / ybar[ok & solved, None]
        take = _Rows(xb, pairs, xty, log_fact)
        intercept = bool((xb[:, :, 0] == 1.0).all())

        def evaluate(b: FloatArray, rows: NDArray[np.intp]) -> tuple[FloatArray, FloatArray, FloatArray]:
            xr, pr, xtyr, lf = take(rows)
            mu = np.exp(_linear(xr, b))
            ll = np.einsum("ij,ij->i", b, xtyr) - mu.sum(axis=1) - lf
            if intercept:  # pairs (0, j) are the columns x_j: X'mu is part of X'WX (W = mu)
                sums = np.matmul(pr, mu[:, :, None])[:, :, 0]
                return ll, xtyr - sums[:, :p], symmetric_from_pairs(sums, p)
            return ll, xtyr - _xt(xr, mu), weighted_gram(pr, mu, p)

        res = newton(evaluate, start, active=~rank_def, fallback=safe, tol=tol, max_iter=max_iter)
        fitted = _linear(xb, np.nan_to_num(res.beta))
        flagged = (res.status != Status.OK) | (fitted.min(axis=1) < -ETA_FLAG)
        return _finish(res, rank_def, flagged, lambda i: separation.poisson_nonexistent(xb[i], yb[i]))

    return GLMFit(*_fit_batches(x, batch, fit_batch, p))


def _softmax_parts(eta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Probabilities of classes 1..K-1 and lse = log(1 + sum_k e^eta_k), by shifted log-sum-exp.

    ``eta`` is (m, K-1, n): classes on the middle axis, so every pass runs along
    contiguous observations (a short last axis of K-1 would cost a loop per element).
    """
    top = np.maximum(eta.max(axis=1), 0.0)
    e = np.exp(eta - top[:, None, :])
    total = np.exp(-top)
    total += e.sum(axis=1)
    e /= total[:, None, :]
    return e, top + np.log(total)


def _block_index(k1: int, p: int) -> NDArray[np.intp]:
    """For entry ((k, j), (l, i)) of the (K-1) p square information, its place in the flattened
    (feature pair, class pair) array of weighted sums."""
    _, _, features = pair_index(p)
    _, _, classes = pair_index(k1)
    f = features.reshape(p, p)
    c = classes.reshape(k1, k1)
    n_class_pairs = k1 * (k1 + 1) // 2
    idx = f[None, :, None, :] * n_class_pairs + c[:, None, :, None]
    return idx.ravel()


def softmax(
    x: FloatArray,
    y: np.ndarray,
    n_classes: int,
    *,
    batch: int | None = None,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> GLMFit:
    """Softmax (multinomial logit, categorical cross-entropy) MLE for each replication.

    Class 0 is the reference (beta_0 = 0); the parameters are beta[k, j] for
    k = 1..K-1 and j = 0..p-1, as in statsmodels' ``MNLogit``.

    Parameters
    ----------
    x : (R, n, p) float64
        Designs, intercept first.
    y : (R, n) integer
        Classes 0..K-1.
    n_classes
        K >= 2.
    batch, tol, max_iter
        As in :func:`logistic`.

    Returns
    -------
    GLMFit
        ``beta`` is (R, K-1, p); ``cov`` is (R, (K-1) p, (K-1) p), class-major.
    """
    x, y = _check_design(x, y, "softmax")
    if not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise ValueError(f"softmax: n_classes = {n_classes!r} is not allowed; it must be an integer >= 2")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"softmax: y has dtype {y.dtype}; it must be integer classes 0..{n_classes - 1}")
    _bad_value(y, (y < 0) | (y >= n_classes), "softmax", f"a class in 0..{n_classes - 1}")
    r, n, p = x.shape
    k1 = n_classes - 1
    q = k1 * p
    ck, cl = np.triu_indices(k1)  # class pairs of the information's blocks

    def fit_batch(sl: slice) -> tuple:
        xb, yb = x[sl], y[sl]
        m = xb.shape[0]
        onehot = (yb[:, :, None] == np.arange(1, n_classes)).astype(np.float64)  # (m, n, K-1)
        pairs = pair_products(xb)
        gram = weighted_gram(pairs, np.ones((m, n)), p)
        rank_def = separation.rank_deficient(xb, gram)
        xty = np.matmul(onehot.transpose(0, 2, 1), xb)  # (m, K-1, p)
        share = np.concatenate([1.0 - onehot.sum(axis=2, keepdims=True), onehot], axis=2).mean(axis=1)
        ok = (share > 0).all(axis=1) & ~rank_def
        safe = np.where(ok[:, None], share, 1.0)
        start = np.zeros((m, k1, p))
        start[:, :, 0] = np.where(ok[:, None], np.log(safe[:, 1:] / safe[:, :1]), 0.0)
        intercepts = start.reshape(m, q).copy()
        # One scoring step from the intercept-only fit: information (diag(s) - s s') (x) X'X.
        rhs = xty - share[:, 1:, None] * xb.sum(axis=1)[:, None, :]
        with np.errstate(all="ignore"):
            try:
                z = np.linalg.solve(np.where(ok[:, None, None], gram, np.eye(p)), rhs.transpose(0, 2, 1))
            except np.linalg.LinAlgError:
                z = np.zeros((m, p, k1))
        z = z.transpose(0, 2, 1)  # (m, K-1, p) = G^-1 gradient_k
        step = z / safe[:, 1:, None] + z.sum(axis=1, keepdims=True) / safe[:, :1, None]
        good = ok & np.isfinite(step).all(axis=(1, 2))
        start[good] += step[good]
        take = _Rows(xb, pairs, xty.reshape(m, q))
        index = _block_index(k1, p)
        diag = (ck == cl)[None, :, None]

        def evaluate(b: FloatArray, rows: NDArray[np.intp]) -> tuple[FloatArray, FloatArray, FloatArray]:
            xr, pr, xtyr = take(rows)
            mm = b.shape[0]
            eta = np.matmul(b.reshape(mm, k1, p), xr.transpose(0, 2, 1))  # (m, K-1, n)
            prob, lse = _softmax_parts(eta)
            ll = np.einsum("ij,ij->i", b, xtyr) - lse.sum(axis=1)
            grad = xtyr - np.matmul(prob, xr).reshape(mm, q)
            w = prob[:, ck] * (diag - prob[:, cl])  # (m, class pairs, n): pi_k (delta_kl - pi_l)
            sums = np.matmul(pr, w.transpose(0, 2, 1))  # (m, feature pairs, class pairs)
            return ll, grad, sums.reshape(mm, -1)[:, index].reshape(mm, q, q)

        res = newton(
            evaluate, start.reshape(m, q), active=~rank_def, fallback=intercepts, tol=tol, max_iter=max_iter
        )
        eta = np.matmul(np.nan_to_num(res.beta).reshape(m, k1, p), xb.transpose(0, 2, 1))
        prob, lse = _softmax_parts(eta)
        smallest = np.minimum(prob.min(axis=(1, 2)), np.exp(-lse).min(axis=1))
        flagged = (res.status != Status.OK) | (smallest < np.exp(-ETA_FLAG))
        return _finish(
            res, rank_def, flagged, lambda i: separation.softmax_separated(xb[i], yb[i], n_classes)
        )

    beta, cov, loglik, iterations, status = _fit_batches(x, batch, fit_batch, q)
    return GLMFit(beta.reshape(r, k1, p), cov, loglik, iterations, status)


@dataclass(frozen=True)
class LeastSquaresFit:
    """Per-replication least-squares fits of the logistic mean (see :func:`least_squares`).

    Attributes
    ----------
    beta : (R, p) float
        Minimisers of sum_i (y_i - sigmoid(x_i'beta))^2; NaN where the MLE is not OK.
    cov : (R, p, p) float
        Sandwich covariance A^-1 B A^-1.
    loss : (R,) float
        sum_i (y_i - mu_i)^2 at ``beta``.
    iterations : (R,) int
        Newton / Gauss-Newton steps.
    status : (R,) int8
        OK, NOT_CONVERGED or NO_MINIMISER (:func:`at_infinity`: the loss is as low at
        infinity, beta NaN); where the MLE (the start) is not OK, its status.
    """

    beta: FloatArray
    cov: FloatArray
    loss: FloatArray
    iterations: NDArray[np.int64]
    status: NDArray[np.int8]

    @property
    def se(self) -> FloatArray:
        """Sandwich standard errors sqrt(diag(cov)); NaN where rounding left a diagonal below 0."""
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))


RAY_SLACK = 1e-8
"""Per observation: a saturated term (|eta| > 20) differs from its limit by < 2 exp(-20) = 4e-9."""


def at_infinity(eta: FloatArray, y: FloatArray, loss: FloatArray) -> NDArray[np.bool_]:
    """Whether the squared error's infimum is not at the fit: no finite minimiser (least squares).

    The loss S(beta) = sum_i (y_i - sigmoid(x_i'beta))^2 is bounded, so it can decrease
    all the way to infinity: along the fit's own ray t beta-hat, t -> inf, it tends to
    S_inf = sum_i (y_i - H(eta_i))^2 with H the step function (1/2 at 0).  Where
    S_inf <= S(beta-hat) + RAY_SLACK n, the loss is as low at infinity as at the fit, so the
    fit is no finite global minimiser: on nearly separated data Newton then runs off to
    |beta| ~ 1e4 with every |eta_i| > 20 (and S = S_inf up to e^-20 per observation).

    Parameters
    ----------
    eta : (R, n) linear predictors at the fits; y : (R, n) responses; loss : (R,) S at the fits.
    """
    limit = np.where(eta > 0, 1.0, np.where(eta < 0, 0.0, 0.5))
    s_inf = np.einsum("ij,ij->i", y - limit, y - limit)
    return s_inf <= loss + RAY_SLACK * eta.shape[1]


def least_squares(
    x: FloatArray,
    y: np.ndarray,
    start: GLMFit,
    *,
    batch: int | None = None,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> LeastSquaresFit:
    """Least squares on a binary outcome: minimise sum_i (y_i - sigmoid(x_i'beta))^2 per replication.

    Batched Newton with step-halving (:func:`.newton.newton` on -S/2), started at
    the logistic MLE: both estimating equations are unbiased at the true beta, so
    the MLE lies near the consistent root and the fit does not wander to another
    stationary point.  The curvature matrix of each step is the exact negative
    Hessian where it is positive definite, and the Gauss-Newton matrix
    J'J = sum_i w_i^2 x_i x_i' (w = mu (1 - mu)) where it is not.  Pure
    Gauss-Newton converges only linearly here, because the residuals y - mu do not
    vanish: measured at n = 100 it needed 14-50 steps and missed the 1e-10
    decrement in 3 of 30 replications within 50; the exact Hessian restores
    Newton's quadratic convergence near the root, and the decrement stop then
    leaves each coefficient within 1e-10 of its standard errors of the minimiser.

    Standard errors are the sandwich A^-1 B A^-1 of the M-estimator with
    estimating function psi_i = (y_i - mu_i) w_i x_i, where

    * A = sum_i w_i^2 x_i x_i' (the Gauss-Newton matrix at the estimate): the
      exact negative Hessian adds -sum_i (y_i - mu_i) w_i (1 - 2 mu_i) x_i x_i',
      whose expectation given X is zero; dropping it keeps A positive definite in
      small samples and matches the theory's A = E[w^2 x x'];
    * B = sum_i (y_i - mu_i)^2 w_i^2 x_i x_i', the empirical variance of psi,
      which stays valid even if the mean model is wrong (E[(y-mu)^2|x] = w under
      the model gives the theory's B = E[w^3 x x']).

    Parameters
    ----------
    x : (R, n, p) float64
        Designs, intercept first.
    y : (R, n)
        Responses 0 or 1.
    start : GLMFit
        :func:`logistic` on the same data; replications whose MLE is not OK keep
        its status (NO_MLE, RANK_DEFICIENT, NOT_CONVERGED) and NaN here.
    batch, tol, max_iter
        As in :func:`logistic`.

    Returns
    -------
    LeastSquaresFit
    """
    x, y = _check_design(x, y, "least_squares")
    _bad_value(y, (y != 0) & (y != 1), "least_squares", "0 or 1")
    y = y.astype(np.float64)
    r, n, p = x.shape
    if start.beta.shape != (r, p):
        raise ValueError(f"least_squares: start.beta must have shape {(r, p)}, got {start.beta.shape}")

    def fit_batch(sl: slice) -> tuple:
        xb, yb = x[sl], y[sl]
        pairs = pair_products(xb)
        usable = start.status[sl] == Status.OK
        take = _Rows(xb, pairs, yb)

        def evaluate(b: FloatArray, rows: NDArray[np.intp]) -> tuple[FloatArray, FloatArray, FloatArray]:
            xr, pr, yr = take(rows)
            mu, w, _ = _logistic_parts(_linear(xr, b))
            resid = yr - mu
            # Gauss-Newton matrix and exact negative Hessian of -S/2, from one pass over the pairs.
            weights = np.stack([w * w, w * (w - resid * (1.0 - 2.0 * mu))], axis=2)
            gn, hessian = np.moveaxis(weighted_gram(pr, weights, p), 1, 0)
            exact = np.linalg.eigvalsh(hessian)[:, 0] > 0.0
            info = np.where(exact[:, None, None], hessian, gn)
            return -0.5 * np.einsum("ij,ij->i", resid, resid), _xt(xr, resid * w), info

        res = newton(
            evaluate,
            np.where(usable[:, None], start.beta[sl], 0.0),
            active=usable,
            tol=tol,
            max_iter=max_iter,
        )
        status = np.where(usable, res.status, start.status[sl]).astype(np.int8)
        eta = _linear(xb, np.nan_to_num(res.beta))
        mu, w, _ = _logistic_parts(eta)
        status[usable & (status == Status.OK) & at_infinity(eta, yb, -2.0 * res.loglik)] = Status.NO_MINIMISER
        usable = usable & (status != Status.NO_MINIMISER)
        a, meat = np.moveaxis(weighted_gram(pairs, np.stack([w * w, ((yb - mu) * w) ** 2], axis=2), p), 1, 0)
        bread = batched_inverse(a)
        cov = bread @ meat @ bread
        beta, loss = res.beta.copy(), -2.0 * res.loglik
        beta[~usable], cov[~usable], loss[~usable] = np.nan, np.nan, np.nan
        return beta, cov, loss, res.iterations, status

    beta, cov, loss, iterations, status = _fit_batches(x, batch, fit_batch, p)
    return LeastSquaresFit(beta, cov, loss, iterations, status)
