"""Expectations over a random design row by quadrature built for GLM integrands.

Every integrand of the GLM theory (information, first-order bias, least-squares
sandwich) has the form G(B'z) P(z): a smooth function of the m linear indices
B'z (one per non-reference class) times a polynomial P of degree <= 3 in the
features.  The rules below are exact or spectrally accurate for that form:

- ``normal``: write z = S e, S = Sigma^(1/2), e ~ N(0, I), and split e along an
  orthonormal basis [Q, Q_perp] of range(S B): e = Q v + Q_perp w.  The indices
  depend on v alone (r = rank(S B) <= m dimensions), so v gets a product
  Gauss-Hermite rule (``order`` nodes along the steepest direction, proportionally
  fewer along flatter ones) and w, which enters only through the cubic P, gets the
  degree-3 rule with the 2(d - r) points +-sqrt(d - r) e_i (exact).  A d-dimensional
  integral costs order^r * 2(d - r) nodes: one-dimensional for logistic and
  Poisson, (K - 1)-dimensional for softmax.  This is the conditioning of z on the
  indices (E[z | u], Cov[z | u]) done by a change of basis.
- ``uniform``: product Gauss-Legendre on (-sqrt(3), sqrt(3))^d, ``order`` nodes
  for the feature with the largest coefficient and proportionally fewer for
  flatter ones; a feature with zero coefficients gets 2 nodes (exact for the
  cubic).  Costs up to order^d nodes, so d is limited by :data:`MAX_NODES`
  (measured: d <= 6 for coefficients of order 1, in seconds; see benchmarks/glm_theory.py).
- ``bernoulli``: exact enumeration of the 2^d patterns.

:func:`expectation` raises the order until two successive orders agree to a
relative ``tol`` (of the largest entry) and returns the higher-order value; the
change it reports is an error bound in practice because Gaussian rules converge
geometrically for these analytic integrands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import roots_hermitenorm, roots_legendre

from .design_laws import BERNOULLI_PROBABILITY, UNIFORM_HALF_WIDTH, check_design, equicorrelation_sqrt

FloatArray = NDArray[np.float64]
Integrand = Callable[[FloatArray, FloatArray], FloatArray]
"""(z nodes (N, d), weights (N,)) -> the weighted sum over these nodes (any shape)."""

CHUNK = 1 << 16
"""Nodes evaluated at once: bounds memory (N x p x m^2 temporaries) for any rule size."""
MAX_NODES = 1 << 22
"""Largest rule evaluated (4.2 million nodes, a few seconds): beyond it the call raises instead of guessing."""
ORDERS = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)
"""Quadrature orders (nodes per dimension) tried in turn."""
TOLERANCE = 1e-11
"""Relative agreement of two successive orders at which an expectation is accepted.

The accepted (higher-order) value is far better than this: against rules of 1.5x
the order its measured error was at most 6e-15 of the largest entry over logistic,
Poisson and softmax cases with steep indices (benchmarks/glm_theory.py).
"""
RANK_TOLERANCE = 1e-12
"""Singular values of S B below this (relative) count as zero: that direction carries no index."""


@dataclass(frozen=True)
class TensorRule:
    """A product quadrature rule mapped linearly into feature space.

    Node = ``linear @ concatenate(factor points)``; weight = product of factor weights.
    """

    factors: tuple[tuple[FloatArray, FloatArray], ...]
    """(points (n_i, k_i), weights (n_i,)) of each factor; weights sum to 1."""
    linear: FloatArray
    """(d, sum k_i) map from the factors' coordinates to the features z."""
    exact: bool
    """True when the result does not depend on the order (nothing to converge)."""

    @property
    def size(self) -> int:
        """Number of nodes."""
        return math.prod(len(w) for _, w in self.factors)

    def chunks(self, chunk: int = CHUNK) -> Iterator[tuple[FloatArray, FloatArray]]:
        """Yield (z (N, d), weights (N,)) in a fixed order, ``chunk`` nodes at a time."""
        shape = tuple(len(w) for _, w in self.factors)
        total = self.size
        for start in range(0, total, chunk):
            idx = np.arange(start, min(start + chunk, total))
            if not shape:
                yield np.zeros((1, self.linear.shape[0])), np.ones(1)
                continue
            parts = np.unravel_index(idx, shape)
            points = np.concatenate([f[0][i] for f, i in zip(self.factors, parts, strict=True)], axis=1)
            weights = np.ones(len(idx))
            for f, i in zip(self.factors, parts, strict=True):
                weights = weights * f[1][i]
            yield points @ self.linear.T, weights


def gauss_hermite(order: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Hermite rule for E[f(v)], v ~ N(0, 1): points (order, 1), weights summing to 1."""
    x, w = roots_hermitenorm(order)
    return x[:, None], w / w.sum()


def gauss_legendre_uniform(order: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre rule for E[f(z)], z ~ U(-sqrt(3), sqrt(3)): points (order, 1), weights summing to 1."""
    x, w = roots_legendre(order)
    return UNIFORM_HALF_WIDTH * x[:, None], w / w.sum()


def normal_degree3(m: int) -> tuple[FloatArray, FloatArray]:
    """The 2m points +-sqrt(m) e_i, weights 1/(2m): exact for every polynomial of degree <= 3 in N(0, I_m)."""
    points = math.sqrt(m) * np.concatenate([np.eye(m), -np.eye(m)])
    return points, np.full(2 * m, 1.0 / (2 * m))


def index_order(order: int, relative_scale: float) -> int:
    """Gauss-Hermite order along an index direction whose scale is ``relative_scale`` of the steepest.

    The integrand's poles lie at a distance inversely proportional to the scale, so a
    flatter direction needs proportionally fewer nodes; the floor sqrt(8 order) keeps
    every direction refining as ``order`` grows, so a convergence check sees them all.
    """
    return min(order, max(math.ceil(order * relative_scale), math.ceil(math.sqrt(8 * order))))


def design_rule(features: str, d: int, correlation: float, directions: FloatArray, order: int) -> TensorRule:
    """The rule for E[G(directions' z) P(z)], P of degree <= 3, under one feature law.

    ``directions`` is (d, m): the slopes of each linear index (the intercept is not part of z).
    """
    directions = np.asarray(directions, dtype=float)
    directions = directions[:, None] if directions.ndim == 1 else directions
    if d == 0:  # intercept only: the single point z = () is exact
        return TensorRule((), np.zeros((0, 0)), exact=True)
    if features == "bernoulli":
        point = (np.array([[0.0], [1.0]]), np.array([1 - BERNOULLI_PROBABILITY, BERNOULLI_PROBABILITY]))
        return TensorRule((point,) * d, np.eye(d), exact=True)
    if features == "uniform":
        scale = np.abs(directions).max(axis=1)
        top = scale.max(initial=0.0)
        factors = tuple(gauss_legendre_uniform(index_order(order, s / top) if s > 0 else 2) for s in scale)
        return TensorRule(factors, np.eye(d), exact=top == 0)
    root = equicorrelation_sqrt(d, correlation)
    basis, singular, _ = np.linalg.svd(root @ directions, full_matrices=True)
    top = singular.max(initial=0.0)
    r = int(np.sum(singular > RANK_TOLERANCE * top)) if top > 0 else 0
    factors: tuple[tuple[FloatArray, FloatArray], ...] = tuple(
        gauss_hermite(index_order(order, s / top)) for s in singular[:r]
    )
    if d > r:
        factors = (*factors, normal_degree3(d - r))
    return TensorRule(factors, root @ basis, exact=r == 0)


@dataclass(frozen=True)
class Expectation:
    """A converged expectation and how it was obtained."""

    value: FloatArray
    order: int | None
    """Nodes per index dimension of the accepted rule (None: exact rule, order irrelevant)."""
    nodes: int
    """Nodes of the accepted rule."""
    change: float
    """max |value - value at the previous order| / max |value| (0 for an exact rule)."""


def integrate(rule: TensorRule, integrand: Integrand) -> FloatArray:
    """Sum ``integrand`` over all chunks of ``rule`` (fixed order: the same bits every call)."""
    total: FloatArray | None = None
    for z, w in rule.chunks():
        part = np.asarray(integrand(z, w), dtype=float)
        total = part if total is None else total + part
    assert total is not None
    return total


def expectation(
    integrand: Integrand,
    features: str,
    d: int,
    correlation: float,
    directions: FloatArray,
    tol: float = TOLERANCE,
) -> Expectation:
    """E[integrand] over the design law, the order raised until two successive orders agree to ``tol``.

    Parameters
    ----------
    integrand : (z (N, d), weights (N,)) -> the weighted sum over those nodes; of the
        form G(directions' z) P(z) with P of degree <= 3 for the rules to be exact in P.
    features, d, correlation : the design law (:mod:`.design_laws`).
    directions : (d, m) slopes of the linear indices G depends on.
    tol : relative agreement (of the largest entry) of two successive orders.

    Returns
    -------
    Expectation
        The value at the accepted order, the order, the node count and the last change.

    Raises
    ------
    ValueError
        An invalid law; a value that is not finite in float64; or a rule that would
        exceed :data:`MAX_NODES` before converging (uniform features with large d, very
        steep indices) -- naming the law and the accuracy reached.
    """
    check_design(features, d, correlation)
    previous: FloatArray | None = None
    change = math.inf
    for order in ORDERS:
        rule = design_rule(features, d, correlation, directions, order)
        if rule.size > MAX_NODES:
            reached = (
                f"at relative accuracy {change:.2g}" if math.isfinite(change) else "before two orders agreed"
            )
            raise ValueError(
                f"{features} features with d = {d}: the quadrature needs more than {MAX_NODES} nodes "
                f"(order {order}) and stopped {reached} (wanted {tol:g})"
            )
        value = integrate(rule, integrand)
        if not np.all(np.isfinite(value)):
            raise ValueError(
                f"{features} features with d = {d}: the expectation is not finite in float64 "
                "(the linear predictor overflows; use smaller coefficients)"
            )
        if rule.exact:
            return Expectation(value, None, rule.size, 0.0)
        if previous is not None:
            scale = float(np.max(np.abs(value), initial=0.0))
            change = float(np.max(np.abs(value - previous), initial=0.0)) / (scale if scale > 0 else 1.0)
            if change <= tol:
                return Expectation(value, order, rule.size, change)
        previous = value
    raise ValueError(
        f"{features} features with d = {d}: the quadrature did not converge by order {ORDERS[-1]} "
        f"(relative change {change:.2g}, wanted {tol:g}); the indices are too steep"
    )
