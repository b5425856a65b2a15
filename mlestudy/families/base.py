"""The i.i.d. scalar families: a distribution with its maximum-likelihood machinery.

A :class:`Family` is the *unfrozen* distribution (like ``scipy.stats.norm``):
its methods take the parameter values, so the math is tested directly.  Binding
it to a scenario's values (:meth:`Family.bind`) gives a
:class:`~mlestudy.models.base.Model`, which is what the pipeline uses.

Estimation is split in two steps, ``statistics`` (data -> per-replication
summary) and each estimator's closed form (summary -> estimates).  Closed-form
families reduce each replication to a few sufficient statistics, which keeps
memory flat and lets an exact sufficient-statistic sampler slot in; a family
without a closed form (gamma) iterates over the replications of a batch at once
and marks each one ``OK`` or ``NOT_CONVERGED``.

Each estimator is its own unit (:class:`ScalarEstimator`): its closed form, its
per-replication status and Wald standard error, and its exact theory.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..models.base import Data, Domain, Estimator, Fit
from ..status import Status  # noqa: F401 - re-exported for the families

if TYPE_CHECKING:
    from ..models.scalar import ScalarModel

FloatArray = NDArray[np.float64]
Theta = Mapping[str, float]


def row_sums(x: FloatArray) -> FloatArray:
    """Sum of each row in float64, fast for short rows too.

    ``x.sum(axis=1)`` pays a per-row overhead that dominates at n = 10;
    einsum's row reduction does not.  Deterministic (no BLAS threads).
    """
    return np.einsum("ij->i", x)


@dataclass(frozen=True)
class Parameter(Domain):
    """A named scalar parameter of a family and the interval it may take."""

    name: str = ""
    description: str = ""

    def __init__(
        self,
        name: str,
        lower: float = -math.inf,
        upper: float = math.inf,
        lower_open: bool = True,
        upper_open: bool = True,
        start: float = 1.0,
        description: str = "",
    ) -> None:
        super().__init__(lower, upper, lower_open, upper_open, start)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "description", description)


Estimate = Fit
"""The old name of :class:`~mlestudy.models.base.Fit`."""


class ScalarEstimator(Estimator):
    """An estimator of an i.i.d. family, computed from the family's statistics.

    Subclasses set ``targets`` (the parameters they estimate) and implement
    :meth:`estimate`.  The Wald standard error is sqrt(inverse information at
    the estimate / n); an estimator of only some parameters overrides
    :meth:`standard_errors` with its own, since the information at a point
    needs every parameter.
    """

    targets: ClassVar[tuple[str, ...]]

    def parameters(self, model: ScalarModel | None = None) -> tuple[str, ...]:
        return self.targets

    @abstractmethod
    def estimate(self, family: Family, stats: Mapping[str, NDArray], n: int) -> tuple[dict, NDArray[np.int8]]:
        """Closed form (or batched iteration): values per target and a status per replication."""

    def standard_errors(self, family: Family, values: Mapping[str, NDArray], n: int) -> dict[str, NDArray]:
        """Wald standard errors sqrt([I(theta-hat)^-1]_jj / n) of every target."""
        from ..models.scalar import inverse_information

        inv = inverse_information(family, values)
        return {
            p: np.sqrt(inv[:, j, j] / n) for j, p in enumerate(family.parameter_names) if p in self.targets
        }

    def fit(self, model: ScalarModel, data: Data, n: int) -> Fit:
        return self.fit_statistics(model.family, data, n)

    def fit_statistics(self, family: Family, stats: Mapping[str, NDArray], n: int) -> Fit:
        """:meth:`fit` without a bound model: the family and its statistics are enough."""
        values, status = self.estimate(family, stats, n)
        if not values:
            return Fit.undefined(self.targets, len(status))
        return Fit(values, self.standard_errors(family, values, n), status)


class Family(ABC):
    """A parametric family with its maximum-likelihood machinery.

    Subclasses set the class attributes and implement the abstract methods;
    they are registered automatically by :mod:`mlestudy.families`.
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    estimator_types: tuple[type[ScalarEstimator], ...]
    figure_notes: ClassVar[dict[str, str]] = {}
    """Figure name -> what is particular to this family's figure (see Model.figure_notes)."""

    @property
    def estimators(self) -> tuple[ScalarEstimator, ...]:
        """One instance of each estimator, in the family's order."""
        return tuple(e() for e in self.estimator_types)

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

    def estimator(self, name: str) -> ScalarEstimator:
        """Look an estimator up by name."""
        for e in self.estimator_types:
            if e.name == name:
                return e()
        raise KeyError(name)

    def bind(self, theta: Mapping[str, float]) -> ScalarModel:
        """The family at one parameter value, as a :class:`~mlestudy.models.base.Model`."""
        from ..models.scalar import model_type

        return model_type(self)(theta)

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

    def estimate(self, stats: Mapping[str, FloatArray], n: int) -> dict[str, Fit]:
        """Every estimator of the family, from :meth:`statistics` output."""
        return {e.name: e().fit_statistics(self, stats, n) for e in self.estimator_types}

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

    def fit(self, x: FloatArray) -> dict[str, Fit]:
        """Estimate from raw data: ``estimate(statistics(x), n)``."""
        return self.estimate(self.statistics(x), x.shape[-1])

    def kl_divergence(self, theta: Theta, theta_hat: Mapping[str, FloatArray]) -> FloatArray:
        """KL(f_theta || f_theta-hat) of one observation, for arrays of estimates (see
        :meth:`mlestudy.models.base.Model.kl_divergence`); families implement it in closed form."""
        raise NotImplementedError(f"family {self.name!r} has no KL divergence")

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
        return self.estimator(estimator).exact_moments(self.bind(theta), parameter, n)

    def exact_coverage(self, estimator: str, parameter: str, theta: Theta, n: int, level: float) -> float:
        """Exact coverage of the estimator's Wald interval; NaN where unknown."""
        return self.estimator(estimator).exact_coverage(self.bind(theta), parameter, n, level)

    def finite_moments(self, estimator: str, parameter: str, n: int) -> float:
        """Highest integer order k for which E|estimate|^k is finite (see :class:`Estimator`)."""
        return self.estimator(estimator).finite_moments(None, parameter, n)  # type: ignore[arg-type]
