"""The contract every distribution family fulfils.

A family is one self-contained unit: it knows its parameters, how to draw data,
its log-likelihood, its estimators (closed form, or batched numerical fits with a
per-replication status), its Fisher information and, where theory gives them, the
exact finite-sample moments of its estimators.  The pipeline only talks to this
contract, so adding a family never means editing rules or scripts.

Estimation is split in two steps, ``statistics`` (data -> per-replication summary)
and ``estimate`` (summary -> estimates).  Closed-form families reduce each
replication to a few sufficient statistics, which keeps memory flat and lets an
exact sufficient-statistic sampler slot in later; a family without a closed form
can return the data itself from ``statistics`` and fit it in ``estimate``.

What comes next fits the same contract:

- *No closed form*: ``estimate`` iterates (batched Newton across replications)
  and marks each replication ``OK`` or ``NOT_CONVERGED``; see ``gamma.py``.
- *Vector parameters*: a vector is several scalar :class:`Parameter` entries
  (beta0, beta1, ...), and ``fisher_information`` returns the k x k matrix; the
  CRLB of each is the diagonal of its inverse (``normal`` and ``gamma`` do this).
- *Covariates*: a regression family draws its design and responses together in
  ``sample`` (one (replications x n) block per column, or a structured array),
  and ``statistics`` reduces them (X'X and X'y for a linear model).  Settings
  of the design would arrive as a new optional scenario key passed to the
  family; nothing in the rules changes.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..status import Status

FloatArray = NDArray[np.float64]
Theta = Mapping[str, float]


def row_sums(x: FloatArray) -> FloatArray:
    """Sum of each row in float64, fast for short rows too.

    ``x.sum(axis=1)`` pays a per-row overhead that dominates at n = 10;
    einsum's row reduction does not.  Deterministic (no BLAS threads).
    """
    return np.einsum("ij->i", x)


@dataclass(frozen=True)
class Parameter:
    """A scalar parameter and the open/closed interval it may take.

    ``start`` is a generic starting value for numerical optimisation, chosen
    without looking at the data so the numerical check stays independent of the
    closed form.
    """

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = True
    upper_open: bool = True
    start: float = 1.0
    description: str = ""

    def contains(self, value: float) -> bool:
        """Whether ``value`` is an allowed parameter value."""
        if not math.isfinite(value):
            return False
        above = value > self.lower if self.lower_open else value >= self.lower
        below = value < self.upper if self.upper_open else value <= self.upper
        return above and below

    def allowed(self) -> str:
        """Human-readable range, used in error messages."""
        parts = []
        if math.isfinite(self.lower):
            parts.append(f"{'>' if self.lower_open else '>='} {self.lower:g}")
        if math.isfinite(self.upper):
            parts.append(f"{'<' if self.upper_open else '<='} {self.upper:g}")
        return " and ".join(parts) if parts else "any finite number"

    def to_unconstrained(self, value: FloatArray | float) -> FloatArray:
        """Map the parameter to the real line (log / logit), for optimisers."""
        v = np.asarray(value, dtype=float)
        lo, hi = self.lower, self.upper
        if math.isfinite(lo) and math.isfinite(hi):
            u = (v - lo) / (hi - lo)
            return np.log(u) - np.log1p(-u)
        if math.isfinite(lo):
            return np.log(v - lo)
        if math.isfinite(hi):
            return np.log(hi - v)
        return v

    def from_unconstrained(self, z: FloatArray | float) -> FloatArray:
        """Inverse of :meth:`to_unconstrained`."""
        z = np.asarray(z, dtype=float)
        lo, hi = self.lower, self.upper
        if math.isfinite(lo) and math.isfinite(hi):
            return lo + (hi - lo) / (1.0 + np.exp(-z))
        if math.isfinite(lo):
            return lo + np.exp(z)
        if math.isfinite(hi):
            return hi - np.exp(z)
        return z


@dataclass(frozen=True)
class EstimatorInfo:
    """What an estimator estimates and why it is in the study."""

    name: str
    parameters: tuple[str, ...]
    description: str


@dataclass
class Estimate:
    """Per-replication estimates of one estimator, with a status per replication."""

    values: dict[str, FloatArray]
    status: NDArray[np.int8] = field(default_factory=lambda: np.empty(0, np.int8))

    @classmethod
    def undefined(cls, parameters: tuple[str, ...], reps: int) -> Estimate:
        """An estimator that does not exist at this n (e.g. dividing by n-1 at n=1)."""
        return cls(
            {p: np.full(reps, np.nan) for p in parameters}, np.full(reps, Status.UNDEFINED, dtype=np.int8)
        )

    def __post_init__(self) -> None:
        reps = len(next(iter(self.values.values())))
        if self.status.size == 0:
            self.status = np.zeros(reps, dtype=np.int8)
        else:  # our own copy: flagging a non-finite value must not change a status array shared with another estimator
            self.status = np.array(self.status, dtype=np.int8)
        # A non-finite value that the family did not explain is still counted.
        # Fast path: a finite sum (one read, no temporary) proves every value
        # finite; only a NaN, an infinity or an overflowing sum looks closer.
        for v in self.values.values():
            with np.errstate(over="ignore", invalid="ignore"):
                if v.size and math.isfinite(np.add.reduce(v, axis=None)):
                    continue
            bad = ~np.isfinite(v)
            self.status[bad & ~Status.failed(self.status)] = Status.NONFINITE
        if self.status.size and self.status.max() >= Status.UNDEFINED:
            failed = Status.failed(self.status)
            for k, v in self.values.items():
                v = np.array(v, dtype=float, copy=True)
                v[failed] = np.nan
                self.values[k] = v


class Family(ABC):
    """A parametric family with its maximum-likelihood machinery.

    Subclasses set the class attributes and implement the abstract methods;
    they are registered automatically by :mod:`mlestudy.families`.
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    estimators: tuple[EstimatorInfo, ...]

    # -- description ----------------------------------------------------------
    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Parameter names in the order of the Fisher information matrix."""
        return tuple(p.name for p in self.parameters)

    def parameter(self, name: str) -> Parameter:
        """Look a parameter up by name."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def estimator(self, name: str) -> EstimatorInfo:
        """Look an estimator up by name."""
        for e in self.estimators:
            if e.name == name:
                return e
        raise KeyError(name)

    # -- data -----------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator, theta: Theta, size: tuple[int, int]) -> FloatArray:
        """Draw a (replications x n) block of observations.

        Must consume the generator sequentially row by row, so that drawing
        rows in several calls gives the same numbers as one call (the seeding
        scheme relies on this prefix property).
        """

    @abstractmethod
    def loglik(self, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        """Log-likelihood of each row of ``x`` (summed over the last axis)."""

    # -- estimation -----------------------------------------------------------
    @abstractmethod
    def statistics(self, x: FloatArray) -> dict[str, FloatArray]:
        """Reduce each replication (row) to what the estimators need."""

    @abstractmethod
    def estimate(self, stats: Mapping[str, FloatArray], n: int) -> dict[str, Estimate]:
        """All estimators of the family, from :meth:`statistics` output."""

    def draw_statistics(
        self, rng: np.random.Generator, theta: Theta, scratch: FloatArray
    ) -> dict[str, FloatArray]:
        """Statistics of ``len(scratch)`` fresh samples of size ``scratch.shape[1]``.

        The simulation hot path.  ``scratch`` is a reusable cache-sized buffer
        that may be overwritten.  Must consume ``rng`` exactly as
        :meth:`sample` does and agree with ``statistics(sample(...))`` up to
        rounding; families override it to draw in place and reduce in one pass.
        """
        scratch[...] = self.sample(rng, theta, scratch.shape)
        return self.statistics(scratch)

    def sufficient_statistics(
        self, rng: np.random.Generator, theta: Theta, n: int, reps: int
    ) -> dict[str, FloatArray]:
        """Draw :meth:`statistics` of ``reps`` samples of size ``n`` from their exact law.

        The ``sampler: sufficient`` shortcut: exact, not an approximation, and
        O(reps) instead of O(reps * n).  Only families whose statistics have a
        known joint distribution implement it (see :attr:`has_sufficient_sampler`).
        """
        raise NotImplementedError(f"family {self.name!r} has no sufficient-statistic sampler")

    @property
    def has_sufficient_sampler(self) -> bool:
        """Whether :meth:`sufficient_statistics` is implemented."""
        return type(self).sufficient_statistics is not Family.sufficient_statistics

    def fit(self, x: FloatArray) -> dict[str, Estimate]:
        """Estimate from raw data: ``estimate(statistics(x), n)``."""
        return self.estimate(self.statistics(x), x.shape[-1])

    # -- information ----------------------------------------------------------
    @abstractmethod
    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        """Per-observation expected Fisher information, shape (..., k, k)."""

    def inverse_fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        """Inverse of the per-observation information, shape (..., k, k).

        Families override this with a closed form where the information is
        infinite on the boundary (p = 0), so the inverse is exactly 0 there.
        """
        return np.linalg.inv(self.fisher_information(theta))

    def crlb(self, theta: Theta, n: int) -> dict[str, float]:
        """Cramér–Rao lower bound for each parameter at sample size ``n``."""
        inv = self.inverse_fisher_information(theta)
        return {p: float(inv[i, i]) / n for i, p in enumerate(self.parameter_names)}

    # -- finite-sample theory -------------------------------------------------
    def exact_moments(self, estimator: str, parameter: str, theta: Theta, n: int) -> tuple[float, float]:
        """Exact finite-sample mean and variance; NaN where no closed form exists."""
        return math.nan, math.nan

    def finite_moments(self, estimator: str, parameter: str, n: int) -> float:
        """Highest integer order k for which E|estimate|^k is finite.

        ``inf`` for bounded or light-tailed estimators.  The aggregation step
        uses it to print NaN, not a number, for a mean, variance or Monte Carlo
        standard error that does not exist (e.g. the variance of 1/x-bar at n=2).
        """
        return math.inf
