"""When the raw likelihood of a sample underflows to exactly 0 in float64, its log being fine.

The likelihood of n observations is a product of n densities; each factor is
typically below 1, so the product shrinks geometrically and reaches 0 (the
smallest float64, 4.9e-324, has log -744.4) after about 744.4 / H observations,
H = E[-log f(x)] the per-observation entropy (1.419 nats for N(0, 1): n ~ 525).
The log-likelihood, a sum, stays finite.  A density above 1 on average (a tiny
variance) makes the product overflow to inf instead, after about 709.8 / |H|.

Measured here on a scenario's own data: the observations of its replications
at one sample size, in replication order, are cut into consecutive windows;
each window's running product prod_{i <= k} f(x_i) is computed the naive way,
in float64 (``numpy.cumprod``, sequential), and the first k at which it is 0
or inf is that window's sample size.  For i.i.d. data and random designs the
concatenated observations are an i.i.d. sample of the model; for a fixed design
they repeat its design points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..models.base import Data, Model

FloatArray = NDArray[np.float64]

LOG_SMALLEST = math.log(math.ulp(0.0))
"""log of the smallest positive float64 (a subnormal): -744.44."""
LOG_LARGEST = math.log(np.finfo(np.float64).max)
"""log of the largest float64: 709.78."""
WINDOWS = 1000
"""Windows measured per scenario (fewer if its replications run out)."""
MARGIN = 1.5
"""Window length as a multiple of the first-order sample size 744.4 / H: windows that never
underflow are counted as censored, never dropped."""
MAX_WINDOW = 200_000
"""Longest window: a mean log-density near 0 would need an absurd one; say censored instead."""


def pointwise_loglik(model: Model, raw: Data, n: int) -> FloatArray:
    """log f(x_i) of every observation, (R, n), from the model's own log-likelihood.

    Arrays of raw data have replications on axis 0; those with n observations on
    axis 1 are cut into single observations, each seen as a replication of size 1,
    which gives its log-density; any other array (a mixture's random starts: one
    per replication) is repeated for each of its replication's observations.
    """
    arrays = {k: np.asarray(v) for k, v in raw.items()}
    r = len(next(iter(arrays.values())))
    single = {
        k: v.reshape(r * n, 1, *v.shape[2:]) if v.ndim >= 2 and v.shape[1] == n else np.repeat(v, n, axis=0)
        for k, v in arrays.items()
    }
    return np.asarray(model.loglik(single, model.theta), dtype=np.float64).reshape(r, n)


@dataclass(frozen=True)
class Underflow:
    """Per-window outcome of :func:`first_zero_product`.

    Attributes
    ----------
    sample_size : (W,) int
        First k at which the running product of densities is 0 (or inf); 0 if never (censored).
    loglik : (W,) float
        The log-likelihood (a sum of logs) at that k; NaN where censored.
    overflow : (W,) bool
        The product overflowed to inf rather than underflowing to 0.
    """

    sample_size: NDArray[np.int64]
    loglik: FloatArray
    overflow: NDArray[np.bool_]

    @property
    def censored(self) -> int:
        return int((self.sample_size == 0).sum())


def first_zero_product(logf: FloatArray) -> Underflow:
    """The first k at which prod_{i <= k} f_i leaves the positive floats, per row of log-densities.

    The densities are ``exp(logf)`` and their product is accumulated in float64 from the left,
    as a naive likelihood would be.
    """
    logf = np.atleast_2d(np.asarray(logf, dtype=np.float64))
    with np.errstate(over="ignore", under="ignore"):
        product = np.cumprod(np.exp(logf), axis=1)
    out = (product == 0.0) | ~np.isfinite(product)
    hit = out.any(axis=1)
    k = np.where(hit, out.argmax(axis=1) + 1, 0).astype(np.int64)
    rows = np.flatnonzero(hit)
    loglik = np.full(len(logf), np.nan)
    overflow = np.zeros(len(logf), dtype=bool)
    if rows.size:
        loglik[rows] = np.cumsum(logf[rows], axis=1)[np.arange(rows.size), k[rows] - 1]
        overflow[rows] = product[rows, k[rows] - 1] > 1.0
    return Underflow(k, loglik, overflow)


def window_length(mean_logf: float) -> int:
    """Observations per window: :data:`MARGIN` times the first-order sample size, capped."""
    if not math.isfinite(mean_logf) or mean_logf == 0.0:
        return MAX_WINDOW
    limit = -LOG_SMALLEST if mean_logf < 0 else LOG_LARGEST
    return int(min(MAX_WINDOW, max(2, math.ceil(MARGIN * limit / abs(mean_logf)))))


def underflow_windows(
    model: Model, batches: Iterable[Data], n: int, windows: int = WINDOWS
) -> tuple[Underflow, dict]:
    """Measure :func:`first_zero_product` on consecutive windows of a scenario's observations.

    Parameters
    ----------
    model
        The scenario's bound model (its ``loglik`` gives the densities).
    batches
        Raw data batches in replication order (:func:`mlestudy.simulate.iter_data`); consumed
        only as far as needed.
    n
        Their sample size.
    windows
        Windows wanted.

    Returns
    -------
    Underflow, dict
        The per-window outcome, and ``observations`` used, ``window`` length and
        ``mean_logf`` (the mean log-density over the observations used).
    """
    chunks: list[FloatArray] = []
    have = 0
    length = 0
    for raw in batches:
        logf = pointwise_loglik(model, raw, n).ravel()
        if not length:
            length = window_length(float(logf.mean()))
        chunks.append(logf)
        have += logf.size
        if have >= windows * length:
            break
    stream = np.concatenate(chunks) if chunks else np.empty(0)
    count = min(windows, stream.size // length) if length else 0
    used = stream[: count * length]
    result = first_zero_product(used.reshape(count, length))
    info = {
        "observations": int(used.size),
        "window": int(length),
        "mean_logf": float(used.mean()) if used.size else math.nan,
    }
    return result, info
