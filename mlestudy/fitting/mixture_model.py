"""The 1-D normal mixture: parameters, their checks, and the stable log-likelihood.

A K-component mixture has density f(x) = sum_k w_k N(x; m_k, v_k).  Every
batched routine takes parameter arrays of shape (..., K) whose leading axes
match the data's replications, so one call serves a whole batch.  Densities are
combined in log space (log-sum-exp over the components) because the component
densities of a far-out point underflow to 0 long before its log-density is
large: a point 40 standard deviations from every mean has log-density -800,
and exp(-800) is 0 in float64.

Components are identified by increasing means (the likelihood is invariant to
relabelling them), so estimates are reported in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

LOG_2PI = float(np.log(2.0 * np.pi))
SIMPLEX_ATOL = 1e-9
"""How far a weight vector may sum from 1 (it is renormalised exactly)."""


@dataclass(frozen=True)
class MixtureParams:
    """Weights, means and variances of K normal components, each of shape (..., K)."""

    weights: FloatArray
    means: FloatArray
    variances: FloatArray

    @property
    def n_components(self) -> int:
        return int(np.shape(self.means)[-1])

    def broadcast_to(self, shape: tuple[int, ...]) -> MixtureParams:
        """The same parameters with leading axes ``shape`` (read-only broadcast views)."""
        k = self.n_components
        return MixtureParams(
            *(np.broadcast_to(np.asarray(a, dtype=float), shape + (k,)) for a in self.arrays())
        )

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        return (self.weights, self.means, self.variances)

    def sorted_by_means(self) -> MixtureParams:
        """Components reordered by increasing mean (the identification used for reporting)."""
        order = np.argsort(self.means, axis=-1, kind="stable")
        return MixtureParams(*(np.take_along_axis(np.asarray(a), order, axis=-1) for a in self.arrays()))


def parameter_names(n_components: int) -> list[str]:
    """Flat names of every reported parameter: all K weights, then means, then variances."""
    return [f"{block}[{k}]" for block in ("weights", "means", "variances") for k in range(n_components)]


def free_parameter_names(n_components: int) -> list[str]:
    """Flat names of the 3K - 1 free parameters (the last weight is 1 minus the others)."""
    k = n_components
    return parameter_names(k)[: k - 1] + parameter_names(k)[k:]


def check_params(params: MixtureParams, what: str = "params") -> MixtureParams:
    """Validate a parameter set and return it as float arrays with weights summing to 1 exactly.

    Raises
    ------
    ValueError
        One line naming ``what``, the block, the offending value and what is allowed.
    """
    arrays = [np.asarray(a, dtype=float) for a in params.arrays()]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim == 0:
        raise ValueError(
            f"{what}: weights, means and variances must have the same shape (..., K); "
            f"got {[a.shape for a in arrays]}"
        )
    weights, means, variances = arrays
    for name, a in zip(("weights", "means", "variances"), arrays, strict=True):
        bad = ~np.isfinite(a)
        if bad.any():
            raise ValueError(f"{what}: {name} = {float(a[bad].flat[0])!r} is not allowed; it must be finite")
    if (weights <= 0).any():
        raise ValueError(
            f"{what}: weights = {float(weights[weights <= 0].flat[0])!r} is not allowed; weights must be > 0"
        )
    total = weights.sum(axis=-1)
    off = np.abs(total - 1.0) > SIMPLEX_ATOL
    if off.any():
        raise ValueError(
            f"{what}: weights sum to {float(total[off].flat[0])!r}, which is not allowed; they must sum to 1"
        )
    if (variances <= 0).any():
        raise ValueError(
            f"{what}: variances = {float(variances[variances <= 0].flat[0])!r} is not allowed; variances must be > 0"
        )
    return MixtureParams(weights / total[..., None], means, variances)


def log_joint(x: FloatArray, params: MixtureParams) -> FloatArray:
    """log(w_k N(x_i; m_k, v_k)) of shape (..., K, n) for data x of shape (..., n)."""
    w, m, v = params.arrays()
    const = np.log(w) - 0.5 * (LOG_2PI + np.log(v))
    d = x[..., None, :] - m[..., :, None]
    d *= d
    d *= (-0.5 / v)[..., :, None]
    d += const[..., :, None]
    return d


def loglik_and_responsibilities(x: FloatArray, params: MixtureParams) -> tuple[FloatArray, FloatArray]:
    """Log-likelihood per replication (...,) and responsibilities (..., K, n).

    The stable log-sum-exp: subtract each point's largest log-joint before
    exponentiating, so the largest term is exp(0) = 1 and the sum never
    underflows to 0 (nor overflows); the responsibilities reuse the same
    exponentials.
    """
    a = log_joint(x, params)
    top = a.max(axis=-2)
    a -= top[..., None, :]
    np.exp(a, out=a)
    total = a.sum(axis=-2)
    a /= total[..., None, :]
    np.log(total, out=total)
    total += top
    return total.sum(axis=-1), a


def loglik(x: FloatArray, params: MixtureParams) -> FloatArray:
    """Log-likelihood of each replication of x (shape (..., n)) under ``params`` (shape (..., K))."""
    a = log_joint(x, params)
    top = a.max(axis=-2)
    a -= top[..., None, :]
    np.exp(a, out=a)
    return (np.log(a.sum(axis=-2)) + top).sum(axis=-1)
