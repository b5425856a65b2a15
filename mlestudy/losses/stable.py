"""Naive, clipped and stable forms of the classification losses, against an extended-precision reference.

Binary cross-entropy from a logit eta and a label y:

- *naive*: mu = 1 / (1 + exp(-eta)), then -[y log mu + (1 - y) log(1 - mu)].  Once
  eta > 36.7, mu rounds to 1: log(1 - mu) = -inf, a wrong label costs inf and a right
  one 0 * (-inf) = NaN.
- *clipped*: the same with mu clipped to [eps, 1 - eps] (Keras clips at 1e-7; older
  scikit-learn at 1e-15): always finite, but a confidently wrong observation costs at
  most -log(eps), so the loss is biased down, and a confident right one at least
  -log(1 - eps).
- *stable*: -log sigmoid((2y - 1) eta) from the logit (scipy's ``log_expit``): exact to
  rounding everywhere.

Log-sum-exp and softmax over classes: naive exp(z) overflows once z > 709.8 (inf,
then inf / inf = NaN); the stable forms shift by max(z) first (scipy's
``logsumexp`` and ``softmax``).

The reference evaluates the shifted forms in ``numpy.longdouble``: 64-bit mantissa
on x86-64 Linux (11 bits more than float64).  :data:`REFERENCE_BITS` says what the
platform gives; where longdouble is plain float64 the reference is only as good as
the stable form, and the tables say so.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import log_expit, logsumexp, softmax

FloatArray = NDArray[np.float64]

REFERENCE_BITS = int(np.finfo(np.longdouble).nmant) + 1
"""Mantissa bits of the reference (64 with x87 extended precision, 53 if longdouble is float64)."""
CLIPS = (1e-7, 1e-15)
"""Probability clipping of common libraries: Keras' epsilon, older scikit-learn's log_loss."""


# --------------------------------------------------------------------------- binary cross-entropy


def bce_naive(eta: FloatArray, y: FloatArray) -> FloatArray:
    """-[y log mu + (1 - y) log(1 - mu)] with mu = 1 / (1 + exp(-eta)), as written in a textbook."""
    with np.errstate(all="ignore"):
        mu = 1.0 / (1.0 + np.exp(-eta))
        return -(y * np.log(mu) + (1.0 - y) * np.log(1.0 - mu))


def bce_clipped(eta: FloatArray, y: FloatArray, eps: float) -> FloatArray:
    """The naive form with mu clipped to [eps, 1 - eps] first."""
    with np.errstate(all="ignore"):
        mu = np.clip(1.0 / (1.0 + np.exp(-eta)), eps, 1.0 - eps)
        return -(y * np.log(mu) + (1.0 - y) * np.log(1.0 - mu))


def bce_stable(eta: FloatArray, y: FloatArray) -> FloatArray:
    """-log sigmoid((2y - 1) eta): the cross-entropy from the logit, stable everywhere."""
    return -log_expit((2.0 * y - 1.0) * eta)


def bce_reference(eta: FloatArray, y: FloatArray) -> NDArray[np.longdouble]:
    """softplus(t) = max(t, 0) + log1p(exp(-|t|)), t = (1 - 2y) eta, in longdouble."""
    t = (1.0 - 2.0 * np.asarray(y, dtype=np.longdouble)) * np.asarray(eta, dtype=np.longdouble)
    return np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))


BCE_METHODS = {
    "stable": bce_stable,
    "naive": bce_naive,
    **{f"clip {eps:g}": (lambda eta, y, eps=eps: bce_clipped(eta, y, eps)) for eps in CLIPS},
}
"""Every form compared, by the name the tables use."""


# --------------------------------------------------------------------------- log-sum-exp and softmax


def logsumexp_naive(z: FloatArray, axis: int = -1) -> FloatArray:
    """log(sum(exp(z))) over ``axis`` (the classes), unshifted."""
    with np.errstate(all="ignore"):
        return np.log(np.exp(z).sum(axis=axis))


def softmax_naive(z: FloatArray, axis: int = -1) -> FloatArray:
    """exp(z) / sum(exp(z)) over ``axis``, unshifted."""
    with np.errstate(all="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)


def logsumexp_stable(z: FloatArray, axis: int = -1) -> FloatArray:
    """scipy's shifted log-sum-exp over ``axis``."""
    return logsumexp(z, axis=axis)


def softmax_stable(z: FloatArray, axis: int = -1) -> FloatArray:
    """scipy's shifted softmax over ``axis``."""
    return softmax(z, axis=axis)


def logsumexp_reference(z: FloatArray, axis: int = -1) -> NDArray[np.longdouble]:
    """max(z) + log(sum(exp(z - max(z)))) over ``axis``, in longdouble."""
    return _reference(z, axis)[0]


def _reference(z: FloatArray, axis: int) -> tuple[NDArray[np.longdouble], NDArray[np.longdouble]]:
    """Log-sum-exp and softmax over ``axis``, shifted, in longdouble (one exp pass for both)."""
    zl = np.asarray(z, dtype=np.longdouble)
    top = zl.max(axis=axis, keepdims=True)
    e = np.exp(zl - top)
    total = e.sum(axis=axis, keepdims=True)
    return np.squeeze(top + np.log(total), axis=axis), e / total


# --------------------------------------------------------------------------- comparisons on data


def _relative(value: NDArray, reference: NDArray) -> FloatArray:
    with np.errstate(all="ignore"):
        return np.asarray(np.abs((value - reference) / reference), dtype=np.float64)


def compare_bce(eta: FloatArray, y: FloatArray) -> dict[str, dict[str, FloatArray]]:
    """Each form's per-replication mean loss and its error against the reference.

    Parameters
    ----------
    eta, y : (R, n)
        Logits and labels of R replications.

    Returns
    -------
    dict
        Method -> ``mean_loss`` (R,), ``rel_error`` (R,) of the mean loss (signed:
        value / reference - 1; NaN where the method's mean is not finite),
        ``max_abs_error`` (R,) over observations with a finite loss.
    """
    ref = bce_reference(eta, y)
    ref_mean = ref.mean(axis=1)
    out = {}
    for name, method in BCE_METHODS.items():
        value = method(eta, y)
        mean = value.mean(axis=1)
        with np.errstate(all="ignore"):
            signed = np.asarray((mean - ref_mean) / ref_mean, dtype=np.float64)
            err = np.where(np.isfinite(value), np.abs(value - ref), 0.0)
        signed[~np.isfinite(mean)] = np.nan
        out[name] = {
            "mean_loss": mean,
            "rel_error": signed,
            "max_abs_error": np.asarray(err.max(axis=1), dtype=np.float64),
        }
    return out


def compare_softmax(z: FloatArray, y: NDArray[np.integer]) -> dict[str, dict[str, FloatArray]]:
    """Naive and stable log-likelihood and softmax per replication, against the reference.

    Parameters
    ----------
    z : (K, R, n)
        Logits, class 0 included (the reference class's 0 for softmax regression).  Classes
        on the first axis: reducing over a short last axis costs a loop per element.
    y : (R, n)
        Observed classes.

    Returns
    -------
    dict
        ``naive`` and ``stable`` -> ``loglik_finite`` (R,) bool (sum over observations of
        z_y - logsumexp(z) finite), ``softmax_finite`` (R,) bool (every probability finite),
        ``loglik_rel_error`` (R,) against the reference (NaN where not finite),
        ``softmax_max_error`` (R,) max |p - p_ref| (NaN where a probability is not finite).
    """
    picked = np.take_along_axis(z, np.asarray(y, dtype=np.intp)[None], axis=0)[0]
    lse_ref, p_ref = _reference(z, 0)
    ll_ref = (picked - lse_ref).sum(axis=1)
    out = {}
    for name, lse, soft in (
        ("naive", logsumexp_naive, softmax_naive),
        ("stable", logsumexp_stable, softmax_stable),
    ):
        with np.errstate(all="ignore"):
            ll = (picked - lse(z, axis=0)).sum(axis=1)
            p = soft(z, axis=0)
        ll_ok = np.isfinite(ll)
        p_ok = np.isfinite(p).all(axis=(0, 2))
        rel = _relative(ll, ll_ref)
        rel[~ll_ok] = np.nan
        with np.errstate(all="ignore"):
            perr = np.asarray(np.abs(p - p_ref).max(axis=(0, 2)), dtype=np.float64)
        perr[~p_ok] = np.nan
        out[name] = {
            "loglik_finite": ll_ok,
            "softmax_finite": p_ok,
            "loglik_rel_error": rel,
            "softmax_max_error": perr,
        }
    return out


def nan_max(values: FloatArray) -> float:
    """Largest finite value, NaN if there is none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else math.nan
