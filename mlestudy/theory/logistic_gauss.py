"""E[f(m + s V)], V ~ N(0, 1), for the logistic functions f = softplus, sigmoid, sigmoid', at any (m, s).

These are the one-dimensional integrals of the logistic model's KL divergence
over a normal design (the index x'beta-hat is normal), needed for every
replication at once, and accurate to ~1e-15 whatever the scale s -- also for the
nearly separated fits whose slopes reach 100 or more.

Plain Gauss-Hermite does not do that: softplus(t) = log(1 + e^t) has poles at
t = +-i pi, so in v = (t - m)/s they lie at distance pi/s from the real axis and
the error of an N-node rule decays only like 10^(-0.87 (pi/s) sqrt(N)): 1e-11
at N = 32 for s = 1.5, but 1e-4 at N = 128 for s = 10 (measured against
adaptive quadrature).  So two rules, each used where it is exact:

- s <= :data:`SPLIT_SCALE`: Gauss-Hermite with :func:`hermite_order` (s) nodes,
  8 to 96 (measured error < 1e-14);
- s > :data:`SPLIT_SCALE`: split f into the part that only sees the sign of t
  and a remainder that decays like e^(-|t|):

      softplus(t) = t+ + h(|t|),           h(u) = log(1 + e^-u),
      sigmoid(t)  = 1{t > 0} - sign(t) g(|t|), g(u) = sigmoid(-u),
      sigmoid'(t) = k(|t|),                 k(u) = sigmoid(u) sigmoid(-u).

  E[t+] = m Phi(m/s) + s phi(m/s) and P(t > 0) = Phi(m/s) are closed forms; the
  remainder is a one-sided integral int_0^U r(u) [phi_s(u - m) +- phi_s(u + m)] du
  of a function smooth on [0, inf) (its poles are at u = +-i pi) against a
  Gaussian that is smooth on the scale s > 1, done by composite Gauss-Legendre
  (:data:`PANELS` panels of :data:`PANEL_NODES` nodes on [0, U], U = 40, where
  r < 5e-18).  Measured error < 1e-15 for s from 1 to 1000 and |m| <= 1000.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit, ndtr, roots_hermitenorm, roots_legendre

FloatArray = NDArray[np.float64]

SPLIT_SCALE = 1.4
"""Scales above this use the split rule; at or below, Gauss-Hermite."""
HERMITE_ORDERS = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
CUTOFF = 40.0
"""The remainders h, g, k are below 5e-18 beyond u = 40."""
PANELS = 20
PANEL_NODES = 12
CHUNK = 1 << 20
"""Elements evaluated at once (bounds memory: an (rows, nodes) block)."""
FUNCTIONS = ("softplus", "sigmoid", "sigmoid_prime")
_SQRT_2PI = math.sqrt(2 * math.pi)


def hermite_order(scale: ArrayLike, name: str = "sigmoid_prime") -> NDArray[np.int64]:
    """Gauss-Hermite nodes for E[f(m + s V)] to ~1e-14 when f has poles at distance pi from the real axis.

    The error decays like 10^(-c (pi/s) sqrt(N)), so N grows like s^2: the smallest of
    :data:`HERMITE_ORDERS` with N >= 8 + 36 s^2 for softplus (measured error <= 2e-16 at
    s = 0.3 .. 2) and N >= 8 + 44 s^2 for sigmoid and sigmoid', whose poles are stronger
    (measured <= 3e-16 at s = 0.3 .. 1.25).  Scales beyond the largest order get the
    largest (callers switch to a split or graded rule there).
    """
    s2 = np.asarray(scale, dtype=float) ** 2
    need = 8.0 + 36.0 * s2 if name == "softplus" else 8.0 + 44.0 * s2
    levels = np.asarray(HERMITE_ORDERS)
    return levels[np.minimum(np.searchsorted(levels, need), len(levels) - 1)]


@cache
def hermite_rule(order: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Hermite nodes and weights for E[f(V)], V ~ N(0, 1) (weights sum to 1)."""
    x, w = roots_hermitenorm(order)
    return x, w / w.sum()


@cache
def _panels() -> tuple[FloatArray, FloatArray]:
    """Nodes and weights of composite Gauss-Legendre on [0, CUTOFF]."""
    x, w = roots_legendre(PANEL_NODES)
    edges = np.linspace(0.0, CUTOFF, PANELS + 1)
    half = np.diff(edges)[:, None] / 2
    nodes = (edges[:-1, None] + half) + half * x
    return nodes.ravel(), (half * w).ravel()


def softplus(t: ArrayLike) -> FloatArray:
    """log(1 + e^t) = max(t, 0) + log1p(e^-|t|), without overflow (4x faster than ``np.logaddexp``)."""
    t = np.asarray(t, dtype=float)
    out = np.abs(t)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(t, 0.0)
    return out


def _pointwise(name: str, t: FloatArray) -> FloatArray:
    if name == "softplus":
        return softplus(t)
    if name == "sigmoid":
        return expit(t)
    return np.exp(log_expit(t) + log_expit(-t))


def _remainder(name: str, u: FloatArray) -> FloatArray:
    """The part of f that decays away from t = 0, at u = |t| >= 0."""
    if name == "softplus":
        return np.log1p(np.exp(-u))
    if name == "sigmoid":
        return expit(-u)
    return np.exp(log_expit(u) + log_expit(-u))


def _hermite_rule(name: str, m: FloatArray, s: FloatArray) -> FloatArray:
    out = np.empty(m.shape)
    orders = hermite_order(s, name)
    for order in np.unique(orders):
        rows = np.flatnonzero(orders == order)
        x, w = hermite_rule(int(order))
        step = max(1, CHUNK // len(x))
        for a in range(0, len(rows), step):
            r = rows[a : a + step]
            out[r] = _pointwise(name, m[r, None] + s[r, None] * x) @ w
    return out


def _split_rule(name: str, m: FloatArray, s: FloatArray) -> FloatArray:
    u, w = _panels()
    r = _remainder(name, u) * w  # the remainder at the nodes, weighted: the same for every row
    out = np.empty(m.shape)
    step = max(1, CHUNK // len(u))
    for a in range(0, len(m), step):
        mm, ss = m[a : a + step, None], s[a : a + step, None]
        right = np.exp(-0.5 * ((u - mm) / ss) ** 2)  # density at t = +u (up to 1/(s sqrt(2 pi)))
        left = np.exp(-0.5 * ((u + mm) / ss) ** 2)  # density at t = -u
        scale = 1.0 / (ss[:, 0] * _SQRT_2PI)
        z = mm[:, 0] / ss[:, 0]
        if name == "softplus":
            base = mm[:, 0] * ndtr(z) + ss[:, 0] * np.exp(-0.5 * z * z) / _SQRT_2PI
            out[a : a + step] = base + scale * ((right + left) @ r)
        elif name == "sigmoid":
            out[a : a + step] = ndtr(z) + scale * ((left - right) @ r)
        else:
            out[a : a + step] = scale * ((right + left) @ r)
    return out


def gauss_expectation(name: str, mean: ArrayLike, scale: ArrayLike) -> FloatArray:
    """E[f(mean + scale V)], V ~ N(0, 1), elementwise over broadcast ``mean`` and ``scale``.

    Parameters
    ----------
    name : 'softplus' (log(1 + e^t)), 'sigmoid' (1/(1 + e^-t)) or 'sigmoid_prime' (sigmoid (1 - sigmoid)).
    mean : means of the normal argument (any shape).
    scale : standard deviations >= 0 (broadcast against ``mean``).

    Returns
    -------
    Array of the broadcast shape; NaN where an input is NaN.
    """
    if name not in FUNCTIONS:
        raise ValueError(f"name = {name!r} is not allowed; use one of {', '.join(FUNCTIONS)}")
    m, s = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(scale, dtype=float))
    shape = m.shape
    m, s = m.ravel(), s.ravel()
    if np.any(s < 0):
        raise ValueError("scale must be >= 0")
    out = np.full(m.shape, np.nan)
    ok = np.isfinite(m) & np.isfinite(s)
    narrow = ok & (s <= SPLIT_SCALE)
    wide = ok & (s > SPLIT_SCALE)
    with np.errstate(over="ignore", under="ignore"):
        if narrow.any():
            out[narrow] = _hermite_rule(name, m[narrow], s[narrow])
        if wide.any():
            out[wide] = _split_rule(name, m[wide], s[wide])
    return out.reshape(shape)
