"""Per-batch design quantities shared by the GLM kernels: pair products and Gram matrices.

Every Newton iteration of a GLM needs X'WX for a new weight vector w.  The design
X is fixed across iterations, so the products x_ij * x_ik of each observation are
formed once per batch, for the p(p+1)/2 pairs j <= k only (X'WX is symmetric);
each iteration's information is then one batched matrix-vector product over those
pairs, a single pass over memory, and several weight vectors (softmax's class
pairs, least squares' two matrices) share that pass.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@cache
def pair_index(p: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Pairs (j, k), j <= k, of p columns, and for each (j, k) of a p x p matrix its pair number.

    Cached: ``np.triu_indices`` costs more than a small batch's arithmetic.
    """
    j, k = np.triu_indices(p)
    full = np.empty((p, p), dtype=np.intp)
    full[j, k] = full[k, j] = np.arange(j.size)
    return j, k, full.ravel()


def pair_products(x: FloatArray) -> FloatArray:
    """Products of every pair of columns, per observation: (R, n, p) -> (R, p(p+1)/2, n).

    Pair c is (j, k) = ``pair_index(p)[0][c], [1][c]``; the n axis is last and
    contiguous, so the weighted sums of :func:`weighted_gram` stream through it.
    """
    r, n, p = x.shape
    j, k, _ = pair_index(p)
    out = np.empty((r, j.size, n))
    for c in range(j.size):  # p(p+1)/2 strided products, no temporaries
        np.multiply(x[:, :, j[c]], x[:, :, k[c]], out=out[:, c])
    return out


def weighted_gram(pairs: FloatArray, weights: FloatArray, p: int) -> FloatArray:
    """Sum_i w_i x_i x_i' for each replication and each weight vector.

    Parameters
    ----------
    pairs : (R, p(p+1)/2, n)
        From :func:`pair_products`.
    weights : (R, n) or (R, n, s)
        One weight vector per replication, or s of them.
    p
        Number of columns of X.

    Returns
    -------
    (R, p, p) or (R, s, p, p) symmetric matrices.
    """
    single = weights.ndim == 2
    w = weights[..., None] if single else weights
    sums = np.matmul(pairs, w)  # (R, pairs, s): one gemv/gemm per replication
    return symmetric_from_pairs(sums[..., 0] if single else np.moveaxis(sums, -1, 1), p)


def symmetric_from_pairs(sums: FloatArray, p: int) -> FloatArray:
    """Fill symmetric (..., p, p) matrices from their upper-triangle entries (..., p(p+1)/2)."""
    full = pair_index(p)[2]
    return sums[..., full].reshape(sums.shape[:-1] + (p, p))
