"""Starting values for EM on a 1-D normal mixture, computed from the data.

EM only finds a local maximum near where it starts, so the start is part of
the estimator and must be reproducible: :func:`kmeans_start` (the default) and
:func:`quantile_start` are deterministic functions of the data, and :func:`random_starts` draws from a
generator the caller owns (its own stream), so extra starts never disturb the
data's stream.
"""

from __future__ import annotations

import numpy as np

from .mixture_model import FloatArray, MixtureParams

KMEANS_MAX_ITER = 100


def quantile_start(x: FloatArray, n_components: int) -> MixtureParams:
    """Cut each sorted sample into K equal-count slices; each slice gives one component.

    Deterministic given the data.  Weights are the slice fractions, means and
    variances the slices' own; a slice's variance is smaller than its
    component's (it is truncated), which EM corrects within a few steps.

    Parameters
    ----------
    x
        Data, shape (R, n), with n >= 2K so that every slice has two points.
    n_components
        K.

    Returns
    -------
    MixtureParams
        Arrays of shape (R, K).
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    k = n_components
    if n < 2 * k:
        raise ValueError(f"quantile start: n = {n} is not allowed; it needs n >= 2K = {2 * k}")
    s = np.sort(x, axis=-1)
    edges = [j * n // k for j in range(k + 1)]
    means = np.stack([s[..., a:b].mean(axis=-1) for a, b in zip(edges, edges[1:], strict=False)], axis=-1)
    variances = np.stack([s[..., a:b].var(axis=-1) for a, b in zip(edges, edges[1:], strict=False)], axis=-1)
    counts = np.diff(edges).astype(float)
    weights = np.broadcast_to(counts / n, means.shape).copy()
    return MixtureParams(weights, means, variances)


def kmeans_start(x: FloatArray, n_components: int, max_iter: int = KMEANS_MAX_ITER) -> MixtureParams:
    """1-D k-means (Lloyd) from the quantile-slice means; each cluster gives one component.

    Deterministic given the data.  Weights are the cluster fractions, means the
    cluster means, and every variance the pooled within-cluster variance: a
    common variance keeps any component from starting narrow, which would
    invite it to settle on a few points (a spurious local maximum).  On the
    default two-component example, this start reaches the best maximum found
    from the true parameters far more often than the quantile start does.

    Parameters
    ----------
    x
        Data, shape (R, n), with n >= 2K.
    n_components
        K.
    max_iter
        Cap on Lloyd iterations (in 1-D they stop after a handful).

    Returns
    -------
    MixtureParams
        Arrays of shape (R, K).
    """
    x = np.asarray(x, dtype=float)
    r, n = x.shape
    k = n_components
    if n < 2 * k:
        raise ValueError(f"k-means start: n = {n} is not allowed; it needs n >= 2K = {2 * k}")
    # In 1-D every cluster is a run of the sorted sample, so one sort and a cumulative sum
    # give each Lloyd iteration in O(n) comparisons.
    s = np.sort(x, axis=-1)
    cum = np.zeros((r, n + 1))
    np.cumsum(s, axis=-1, out=cum[:, 1:])
    rows = np.arange(r)[:, None]
    bounds = np.array([j * n // k for j in range(k + 1)])[None, :].repeat(r, axis=0)
    counts, centers = _segment_means(cum, bounds, rows, np.zeros((r, k)))
    for _ in range(max_iter):
        # A point goes to the nearer center: above the midpoint between two sorted centers, the upper one.
        centers = np.sort(centers, axis=-1)
        mid = 0.5 * (centers[:, 1:] + centers[:, :-1])
        new = bounds.copy()
        for j in range(k - 1):
            new[:, j + 1] = (s <= mid[:, j : j + 1]).sum(axis=-1)
        if np.array_equal(new, bounds):
            break
        bounds = new
        counts, centers = _segment_means(cum, bounds, rows, centers)
    labels = np.zeros((r, n), dtype=np.intp)
    index = np.arange(n)
    for j in range(1, k):
        labels += index >= bounds[:, j : j + 1]
    within = ((s - np.take_along_axis(centers, labels, axis=-1)) ** 2).sum(axis=-1)
    weights = np.maximum(counts, 1) / np.maximum(counts, 1).sum(axis=-1, keepdims=True)
    return MixtureParams(weights, centers, np.repeat((within / n)[:, None], k, axis=-1))


def _segment_means(
    cum: FloatArray, bounds: np.ndarray, rows: np.ndarray, old: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Counts and means of the runs [bounds_j, bounds_j+1) of each sorted row; an empty run keeps its old center."""
    counts = np.diff(bounds, axis=-1).astype(float)
    sums = cum[rows, bounds[:, 1:]] - cum[rows, bounds[:, :-1]]
    return counts, np.where(counts > 0, sums / np.maximum(counts, 1), old)


def random_starts(
    x: FloatArray, n_components: int, rng: np.random.Generator | FloatArray, n_starts: int
) -> MixtureParams:
    """k-means++-style random starts: means are data points drawn with D^2 weighting.

    The first mean is a uniformly drawn data point; each further one is a data
    point drawn with probability proportional to its squared distance to the
    nearest mean already chosen (Arthur & Vassilvitskii 2007), which spreads
    the means over the data.  Weights start equal and every variance at the
    sample variance, wide enough that no component starts collapsed.

    The generator is consumed in a fixed order, K draws of shape (R, n_starts),
    so the starts depend only on the generator's state, R and n_starts.  Instead
    of a generator the caller may pass the uniforms themselves, shape
    (R, n_starts, K): a simulation draws them replication by replication from a
    stream of its own, so a replication's starts never depend on its batch.

    Parameters
    ----------
    x
        Data, shape (R, n).
    n_components
        K.
    rng
        The caller's own generator for starts, or uniforms of shape (R, n_starts, K).
    n_starts
        S, starts per replication.

    Returns
    -------
    MixtureParams
        Arrays of shape (R, S, K).
    """
    x = np.asarray(x, dtype=float)
    r, n = x.shape
    k = n_components
    xs = np.broadcast_to(x[:, None, :], (r, n_starts, n))
    means = np.empty((r, n_starts, k))
    dist = np.full((r, n_starts, n), np.inf)
    given = isinstance(rng, np.ndarray)
    if given and rng.shape != (r, n_starts, k):
        raise ValueError(f"random_starts: uniforms must have shape {(r, n_starts, k)}, got {rng.shape}")
    for j in range(k):
        u = rng[:, :, j] if given else rng.random((r, n_starts))
        if j == 0:
            idx = np.minimum((u * n).astype(np.intp), n - 1)
        else:
            cum = np.cumsum(dist, axis=-1)
            target = u * cum[..., -1]
            idx = np.minimum((cum <= target[..., None]).sum(axis=-1), n - 1)
        means[..., j] = np.take_along_axis(xs, idx[..., None], axis=-1)[..., 0]
        np.minimum(dist, (xs - means[..., j : j + 1]) ** 2, out=dist)
    weights = np.full((r, n_starts, k), 1.0 / k)
    variances = np.broadcast_to(x.var(axis=-1)[:, None, None], (r, n_starts, k)).copy()
    return MixtureParams(weights, means, variances)
