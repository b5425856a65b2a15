"""E[A(t)] for t ~ N(mean, C) and A(t) = log(1 + sum_k e^{t_k}), the softmax cumulant, per replication.

The softmax model's KL divergence over a normal design needs, for every
replication, the expectation of the cumulant A at the fitted linear predictors,
which are jointly normal: t = B-hat x with x = (1, z), z ~ N(0, Sigma).  Like the
softplus (:mod:`.logistic_gauss`), A is nearly piecewise linear with transitions
of width ~1 along the lines t_k = 0 and t_k = t_l, so a product Gauss-Hermite rule
needs ~s^2 nodes per axis of scale s, and a nearly separated fit (s = 10 to 100)
would need millions.

- m = 1 (logistic): :func:`.logistic_gauss.gauss_expectation` ('softplus').
- m = 2 (three classes), exact for every scale, by conditioning:
  A(t1, t2) = softplus(t1) + softplus(t2 - softplus(t1)), and given t1 = m1 + L11 v,
  t2 is normal with mean m2 + L21 v and sd tau = L22 (the Cholesky factor of C), so

      E[A] = E_v[ softplus(t1) + G(m2 + L21 v - softplus(t1), tau) ],  G(mu, tau) = E[softplus(mu + tau V)],

  with G the exact one-dimensional rule.  The outer integrand F(v) is smooth except
  for transitions of known place and width: t1 = 0 (width 1/L11), and where the
  argument of G crosses 0 on either side of it (width max(1, tau)/slope).  When
  those widths are all >= 1/:data:`STEEP`, a Gauss-Hermite rule in v is exact to
  rounding (:func:`.logistic_gauss.hermite_order`, at most 256 nodes); otherwise a composite
  Gauss-Legendre rule on [-9, 9] graded geometrically towards each transition
  (:func:`graded_nodes`) is.
- m >= 3: the product Gauss-Hermite rule of the nested rule's smooth path in all m
  Cholesky coordinates (:func:`_lse_tensor`); a replication that would need more
  than :data:`TENSOR_BUDGET` nodes (moderate slopes already need ~48^3) is not
  resolved (NaN, reported by the caller).
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp, roots_legendre

from .logistic_gauss import HERMITE_ORDERS, SPLIT_SCALE, gauss_expectation, hermite_rule, softplus

FloatArray = NDArray[np.float64]

STEEP = 3.0
"""Outer slopes up to this use Gauss-Hermite in v (at most 256 nodes); steeper ones the graded rule."""
V_MAX = 9.0
"""The outer rule covers v in [-9, 9]: the normal mass outside is 2e-19."""
GRADING = 4.0
LEVELS = 9
"""Graded points p +- w GRADING^k, k = -1 .. LEVELS - 2: transitions down to width 4^-7 ~ 6e-5 of a unit panel."""
GL_NODES = 12
CHUNK = 1 << 18
"""Outer nodes evaluated at once."""
TENSOR_BUDGET = 1 << 16
"""Largest product rule (nodes per replication) used for m >= 3."""
TENSOR_ORDERS = (*HERMITE_ORDERS, 128, 192, 256)
_SQRT_2PI = math.sqrt(2 * math.pi)


ABSOLUTE_TOLERANCE = 1e-13
"""Target error of E[A] on the Gauss-Hermite paths: the KL it enters is >= k/(2n) ~ 1e-6 for any study
(a relative error below 1e-7), at half the nodes of the rounding-level rule."""


def nested_order(scale: FloatArray) -> NDArray[np.int64]:
    """Gauss-Hermite nodes along a Cholesky coordinate of the given slope: N >= 6 + 26 s^2.

    Measured for softplus (whose transition A shares): error <= 1.4e-14 at s = 0.3, 0.6,
    1, 1.5 and 2 (:func:`.logistic_gauss.hermite_order` asks 8 + 36 s^2 for rounding level).
    0 where more than the largest of :data:`TENSOR_ORDERS` would be needed (s > 3.1).
    """
    need = 6.0 + 26.0 * np.asarray(scale, dtype=float) ** 2
    levels = np.asarray(TENSOR_ORDERS)
    index = np.searchsorted(levels, need)
    return np.where(index < len(levels), levels[np.minimum(index, len(levels) - 1)], 0)


def lse0(t: FloatArray) -> FloatArray:
    """A(t) = log(1 + sum_k e^{t_k}) over the last axis (class 0 has t = 0), without overflow."""
    zero = np.zeros(t.shape[:-1] + (1,))
    return logsumexp(np.concatenate([zero, t], axis=-1), axis=-1)


@cache
def _legendre() -> tuple[FloatArray, FloatArray]:
    return roots_legendre(GL_NODES)


def graded_nodes(
    points: FloatArray, widths: FloatArray, lo: float = -V_MAX, hi: float = V_MAX
) -> tuple[NDArray[np.intp], FloatArray, FloatArray]:
    """A composite Gauss-Legendre rule on [lo, hi] per row, graded towards each row's transitions.

    Parameters
    ----------
    points : (R, T) places of the transitions of each row (NaN: none).
    widths : (R, T) their widths (> 0).

    Returns
    -------
    (row, node, weight): flat arrays, one entry per node of every row's rule.  The
    breakpoints are the unit grid lo, lo + 1, ..., hi and, around each transition p of
    width w, p and p +- w 4^k (k = -1, 0, ...), clipped to [lo, hi]; panels of zero width
    are dropped.  Each panel gets :data:`GL_NODES` Gauss-Legendre nodes.
    """
    rows = len(points)
    base = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)
    offsets = GRADING ** np.arange(-1, LEVELS - 1)
    offsets = np.concatenate([[0.0], offsets, -offsets])
    spread = widths[:, :, None] * offsets
    graded = points[:, :, None] + spread
    # Points finer than the unit grid only where the transition is narrower than it.
    useful = np.isfinite(graded) & (np.abs(spread) < 1.0)
    graded = np.where(useful, graded, lo).reshape(rows, -1)
    cuts = np.concatenate([np.broadcast_to(base, (rows, len(base))), np.clip(graded, lo, hi)], axis=1)
    cuts = np.sort(np.concatenate([cuts, np.full((rows, 2), [lo, hi])], axis=1), axis=1)
    left, right = cuts[:, :-1], cuts[:, 1:]
    keep = right - left > 1e-300
    row = np.broadcast_to(np.arange(rows)[:, None], left.shape)[keep]
    a, b = left[keep], right[keep]
    x, w = _legendre()
    half = (b - a)[:, None] / 2
    nodes = (a[:, None] + half) + half * x
    weights = half * w
    return np.repeat(row, GL_NODES), nodes.ravel(), weights.ravel()


def _nested_parameters(mean: FloatArray, cov: FloatArray) -> tuple[FloatArray, ...]:
    """(m1, L11, m2, L21, tau) with the larger-variance index outer (A is symmetric in t1, t2)."""
    swap = cov[:, 1, 1] > cov[:, 0, 0]
    m1 = np.where(swap, mean[:, 1], mean[:, 0])
    m2 = np.where(swap, mean[:, 0], mean[:, 1])
    c11 = np.where(swap, cov[:, 1, 1], cov[:, 0, 0])
    c22 = np.where(swap, cov[:, 0, 0], cov[:, 1, 1])
    l11 = np.sqrt(np.maximum(c11, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        l21 = np.where(l11 > 0, cov[:, 0, 1] / l11, 0.0)
    tau = np.sqrt(np.maximum(c22 - l21 * l21, 0.0))
    return m1, l11, m2, l21, tau


def _outer_integrand(v: FloatArray, m1, l11, m2, l21, tau) -> FloatArray:
    """F(v) = softplus(t1) + G(m2 + L21 v - softplus(t1), tau) (all arguments broadcast)."""
    s1 = softplus(m1 + l11 * v)
    mu = m2 + l21 * v - s1
    return s1 + gauss_expectation("softplus", mu, np.broadcast_to(tau, mu.shape))


def _lse2(mean: FloatArray, cov: FloatArray) -> FloatArray:
    m1, l11, m2, l21, tau = _nested_parameters(mean, cov)
    slope = np.maximum.reduce([l11, np.abs(l21), np.abs(l21 - l11)])
    out = np.empty(len(mean))
    smooth = slope <= STEEP
    outer = nested_order(slope)
    inner = nested_order(tau)
    wide = tau > SPLIT_SCALE  # the inner rule needs the split form: outer nodes times G
    pairs = np.stack([outer, np.where(wide, 0, inner)], axis=1)
    for n_outer, n_inner in {tuple(q) for q in pairs[smooth]}:
        rows = np.flatnonzero(smooth & (pairs == (n_outer, n_inner)).all(axis=1))
        v, wv = hermite_rule(int(n_outer))
        if n_inner == 0:
            r = rows[:, None]
            out[rows] = _outer_integrand(v, m1[r], l11[r], m2[r], l21[r], tau[r]) @ wv
            continue
        # Both rules Gauss-Hermite: the product rule on the Cholesky coordinates, A = s1 + softplus(t2 - s1).
        x, wx = hermite_rule(int(n_inner))
        step = max(1, CHUNK // (len(v) * len(x)))
        for a in range(0, len(rows), step):
            r = rows[a : a + step, None]
            s1 = softplus(m1[r] + l11[r] * v)  # (rows, outer)
            base = m2[r] + l21[r] * v - s1
            inner_mean = softplus(base[:, :, None] + tau[r][:, :, None] * x) @ wx
            out[r[:, 0]] = (s1 + inner_mean) @ wv
    steep = np.flatnonzero(~smooth)
    if steep.size:
        out[steep] = _lse2_graded(m1[steep], l11[steep], m2[steep], l21[steep], tau[steep])
    return out


def _lse2_graded(m1, l11, m2, l21, tau) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        width_g = np.maximum(1.0, tau)
        points = np.stack([-m1 / l11, -m2 / l21, (m1 - m2) / (l21 - l11)], axis=1)
        widths = np.stack([1.0 / l11, width_g / np.abs(l21), width_g / np.abs(l21 - l11)], axis=1)
    widths = np.where(np.isfinite(widths) & (widths > 0), widths, np.inf)
    points = np.where(np.isfinite(points) & np.isfinite(widths), points, np.nan)
    out = np.zeros(len(m1))
    per_row = int(2 * V_MAX + 3 + 3 * (2 * LEVELS + 1)) * GL_NODES  # bound on the nodes of one row
    step = max(1, CHUNK // per_row)
    for a in range(0, len(m1), step):
        sl = slice(a, a + step)
        row, v, w = graded_nodes(points[sl], widths[sl])
        f = _outer_integrand(v, m1[sl][row], l11[sl][row], m2[sl][row], l21[sl][row], tau[sl][row])
        density = np.exp(-0.5 * v * v) / _SQRT_2PI
        out[sl] = np.bincount(row, weights=w * density * f, minlength=len(m1[sl]))
    return out


def semidefinite_cholesky(cov: FloatArray) -> FloatArray:
    """Lower-triangular L with L L' = C for every (m, m) C of a stack, also when C is singular.

    A column whose pivot vanishes (a rank-deficient covariance: fewer features than
    classes) is zero, which ``numpy.linalg.cholesky`` refuses.
    """
    m = cov.shape[-1]
    lower = np.zeros_like(cov)
    for j in range(m):
        pivot = cov[:, j, j] - np.sum(lower[:, j, :j] ** 2, axis=1)
        scale = np.sqrt(np.maximum(pivot, 0.0))
        lower[:, j, j] = scale
        tiny = scale <= 1e-12 * np.sqrt(np.maximum(np.einsum("rii->r", cov), 1e-300))
        for i in range(j + 1, m):
            off = cov[:, i, j] - np.sum(lower[:, i, :j] * lower[:, j, :j], axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                lower[:, i, j] = np.where(tiny, 0.0, off / scale)
    return lower


def _lse_tensor(mean: FloatArray, cov: FloatArray, budget: int) -> FloatArray:
    """m >= 3: a product Gauss-Hermite rule in the Cholesky coordinates t = mean + L v.

    Axis j moves t_k by L_kj (k >= j) and t_k - t_l by L_kj - L_lj, so its order is
    :func:`nested_order` of the largest of those: for m = 2 this is exactly the smooth path
    of the nested rule.  Replications needing more than ``budget`` nodes get NaN.
    """
    m = mean.shape[1]
    lower = semidefinite_cholesky(cov)
    slopes = np.abs(lower).max(axis=1)  # over k for each column j
    for k in range(m):
        for other in range(k):
            slopes = np.maximum(slopes, np.abs(lower[:, k, :] - lower[:, other, :]))
    orders = nested_order(slopes)
    out = np.full(len(mean), np.nan)
    ok = (orders > 0).all(axis=1) & (np.prod(orders.astype(float), axis=1) <= budget)
    for combo in {tuple(o) for o in orders[ok]}:
        rows = np.flatnonzero(ok & (orders == combo).all(axis=1))
        rules = [hermite_rule(int(o)) for o in combo]
        nodes = np.array(list(itertools.product(*[r[0] for r in rules])))
        weights = np.prod(np.array(list(itertools.product(*[r[1] for r in rules]))), axis=1)
        step = max(1, CHUNK // len(nodes))
        for a in range(0, len(rows), step):
            r = rows[a : a + step]
            t = mean[r, None, :] + np.einsum("rij,nj->rni", lower[r], nodes)
            out[r] = lse0(t) @ weights
    return out


def logsumexp_gauss(mean: FloatArray, cov: FloatArray, budget: int = TENSOR_BUDGET) -> FloatArray:
    """E[log(1 + sum_k e^{t_k})] for t ~ N(mean_r, cov_r), every replication r at once.

    Parameters
    ----------
    mean : (R, m) means of the m linear predictors.
    cov : (R, m, m) their covariances (positive semi-definite; singular is fine).
    budget : most nodes per replication of the product rule used for m >= 3.

    Returns
    -------
    (R,) expectations; NaN where an input is NaN, and for m >= 3 where the rule would
    exceed ``budget`` (m <= 2 is always resolved).
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    rows, m = mean.shape
    out = np.full(rows, np.nan)
    ok = np.isfinite(mean).all(axis=1) & np.isfinite(cov).all(axis=(1, 2))
    if not ok.any():
        return out
    with np.errstate(over="ignore", under="ignore"):
        if m == 1:
            out[ok] = gauss_expectation("softplus", mean[ok, 0], np.sqrt(np.maximum(cov[ok, 0, 0], 0.0)))
        elif m == 2:
            out[ok] = _lse2(mean[ok], cov[ok])
        else:
            out[ok] = _lse_tensor(mean[ok], cov[ok], budget)
    return out
