"""The contract every model fulfils: i.i.d. families, regression models, mixtures.

A :class:`Model` is *bound* to one scenario's parameter values and design, like
a frozen ``scipy.stats`` distribution: it knows its parameter blocks, how to draw
a batch of data from named random streams, its log-likelihood, the expected
information of a size-n sample and its estimators.  An :class:`Estimator` is a
separate unit with its own fit (estimates, a standard error and a status per
replication, like a statsmodels Results object) and its own exact theory where
it exists.  The pipeline talks only to this contract (SimDesign's Generate /
Analyse / Summarise): adding a model or an estimator never touches rules,
scripts or the report.

Data flow of one batch of replications::

    streams --model.draw--> data --estimator.fit--> Fit(values, se, status)

``draw`` may return raw data (regression: X and y) or a per-replication
reduction of it (a normal sample's mean and sum of squares); the model decides,
and its estimators read what it returns.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..status import Status

FloatArray = NDArray[np.float64]
Data = dict[str, np.ndarray]
"""One batch of data or its reduction; every array has replications on axis 0."""
Streams = Mapping[str, np.random.Generator]
"""The named random streams of one block of replications (see :mod:`mlestudy.seeding`)."""


@dataclass(frozen=True)
class Domain:
    """The interval one parameter element may take, and a start for optimisers.

    ``start`` is a generic starting value for numerical optimisation, chosen
    without looking at the data so the numerical check stays independent of
    the closed form.
    """

    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = True
    upper_open: bool = True
    start: float = 0.0

    def contains(self, value: float) -> bool:
        """Whether ``value`` is an allowed value (finite and inside the interval)."""
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
        """Map to the real line (log / logit), for optimisers."""
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


REAL = Domain()
POSITIVE = Domain(0.0, start=1.0)


def flat_name(block: str, index: tuple[int, ...]) -> str:
    """``sigma2``, ``beta[0]``, ``beta[1,0]``: the name of one element of a block."""
    return f"{block}[{','.join(map(str, index))}]" if index else block


@dataclass(frozen=True)
class Block:
    """A named parameter block: a scalar, a vector or a matrix.

    ``domain`` bounds every element; ``constraint`` names a joint one
    (``"simplex"``: elements sum to one; ``"increasing"``: strictly ordered,
    which identifies mixture components).
    """

    name: str
    shape: tuple[int, ...] = ()
    domain: Domain = REAL
    description: str = ""
    constraint: str = ""

    @property
    def indices(self) -> list[tuple[int, ...]]:
        return list(np.ndindex(*self.shape)) if self.shape else [()]

    @property
    def flat_names(self) -> list[str]:
        """Element names in row-major order."""
        return [flat_name(self.name, i) for i in self.indices]


def block_of(parameter: str) -> tuple[str, str]:
    """``'beta[1,0]'`` -> ``('beta', '1,0')``; ``'sigma2'`` -> ``('sigma2', '')``."""
    if parameter.endswith("]") and "[" in parameter:
        name, _, index = parameter[:-1].partition("[")
        return name, index
    return parameter, ""


@dataclass
class Fit:
    """One estimator's result for a batch: a value, a standard error and a status per replication.

    Like a statsmodels Results object, everything a summary needs comes
    together.  A non-finite value the estimator did not explain is still
    counted (``NONFINITE``), and every replication without a usable estimate
    gets NaN values and NaN standard errors, so nothing unusable can be
    averaged in by mistake.
    """

    values: dict[str, FloatArray]
    se: dict[str, FloatArray]
    status: NDArray[np.int8] = field(default_factory=lambda: np.empty(0, np.int8))

    def __post_init__(self) -> None:
        reps = len(next(iter(self.values.values())))
        if self.status.size == 0:
            self.status = np.zeros(reps, dtype=np.int8)
        else:  # our own copy: flagging a non-finite value must not change a status array shared with another fit
            self.status = np.array(self.status, dtype=np.int8)
        mark_nonfinite(self.values, self.status)
        if self.status.size and Status.failed(self.status).any():
            failed = Status.failed(self.status)
            for group in (self.values, self.se):
                for k, v in group.items():
                    v = np.array(v, dtype=float, copy=True)
                    v[failed] = np.nan
                    group[k] = v

    @classmethod
    def undefined(cls, parameters: Sequence[str], reps: int) -> Fit:
        """An estimator that does not exist at this n (e.g. dividing by n-1 at n=1)."""
        nan = {p: np.full(reps, np.nan) for p in parameters}
        return cls(nan, dict(nan), np.full(reps, Status.UNDEFINED, dtype=np.int8))


def mark_nonfinite(values: Mapping[str, FloatArray], status: NDArray[np.int8]) -> None:
    """Set ``NONFINITE`` where a value is not finite and the status still says usable.

    Fast path: a finite sum (one read, no temporary) proves every value
    finite; only a NaN, an infinity or an overflowing sum looks closer.
    """
    for v in values.values():
        with np.errstate(over="ignore", invalid="ignore"):
            if v.size and math.isfinite(np.add.reduce(v, axis=None)):
                continue
        bad = ~np.isfinite(v)
        status[bad & Status.usable(status)] = Status.NONFINITE


class Estimator(ABC):
    """One estimator of some of a model's parameters.

    Subclasses set ``name``, ``description`` and ``is_mle`` and implement
    :meth:`parameters` and :meth:`fit`; theory methods return NaN (or inf for
    :meth:`finite_moments`) where no closed form is known, and the report says so.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    is_mle: ClassVar[bool] = False
    """The maximum-likelihood estimator, which the numerical check re-fits."""

    @abstractmethod
    def parameters(self, model: Model) -> tuple[str, ...]:
        """Flat names of the parameters this estimator estimates."""

    @abstractmethod
    def fit(self, model: Model, data: Data, n: int) -> Fit:
        """Estimates, standard errors and statuses of one batch of replications."""

    def exact_moments(self, model: Model, parameter: str, n: int) -> tuple[float, float]:
        """Exact finite-sample mean and variance; NaN where no closed form exists."""
        return math.nan, math.nan

    def exact_coverage(self, model: Model, parameter: str, n: int, level: float) -> float:
        """Exact probability that the Wald interval (estimate +/- z se) covers the truth."""
        return math.nan

    def approximate_bias(self, model: Model, parameter: str, n: int) -> float:
        """First-order (O(1/n)) bias where only an approximation is known; NaN otherwise.

        Shown beside the simulation as approximate theory; never compared as if exact.
        """
        return math.nan

    def asymptotic_relative_efficiency(self, model: Model, parameter: str, n: int) -> float:
        """First-order Var(MLE) / Var(this estimator), where theory has it (asymptotic: never judged as exact)."""
        return math.nan

    def exact_no_mle_probability(self, model: Model, n: int) -> float:
        """Exact probability that this estimator does not exist (separation), where theory has it."""
        return math.nan

    def bias_derivative(self, model: Model, parameter: str, n: int) -> float:
        """b'(theta), the derivative of the exact bias in its own parameter; NaN where no closed form is known.

        A biased estimator is bounded by (1 + b')^2 / I_n, not by the Cramér–Rao
        bound 1 / I_n, so its efficiency against the CRLB can exceed 1; the report
        shows this bias-adjusted bound where b' is known.
        """
        return math.nan

    def what_to_see(self, model: Model, rows: Any) -> list[str]:
        """Sentences (HTML-safe text) for the report on what this estimator's numbers show.

        ``rows`` are this estimator's summary rows of one scenario (a DataFrame).
        Optional: the report falls back to :func:`mlestudy.narrative.generic_sentences`.
        """
        return []

    def finite_moments(self, model: Model, parameter: str, n: int) -> float:
        """Highest integer order k with E|estimate|^k finite (``inf`` if all are).

        The summary prints NaN, never a number, for a mean, a variance or a
        Monte Carlo error whose defining moment does not exist.
        """
        return math.inf

    # -- KL divergence of the fitted model (only for estimators of every parameter) ---------------
    def exact_kl(self, model: Model, n: int) -> float:
        """Exact E[KL(true || fitted)] per observation at n, over the replications the summary's ``kl``
        averages (those with a finite KL); ``inf`` where it is infinite, NaN where no closed form is known."""
        return math.nan

    def kl_asymptote(self, model: Model, n: int) -> float:
        """First-order E[KL] = tr(I_1 AVar) / (2n): k/(2n) for the MLE (k parameters), NaN if unknown.

        Asymptotic theory, never judged as exact: 2n E[KL] / k -> 1 for the MLE.
        """
        return len(model.parameter_names) / (2 * n) if self.is_mle else math.nan

    def kl_finite_moments(self, model: Model, n: int) -> float:
        """Highest integer k with E[KL^k] finite over the replications with a finite KL (``inf`` if all).

        ``kl`` needs k >= 1 and ``kl_mcse`` k >= 2; otherwise the summary prints NaN.
        """
        return math.inf


class Model(ABC):
    """A statistical model bound to one scenario's parameters and design.

    Class attributes describe the model type (its ``family:`` name in the
    config); an instance holds the values.  Subclasses implement the abstract
    methods; ``check_config`` validates a scenario's ``params`` and ``design``
    before anything is built from them.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    estimator_types: ClassVar[tuple[type[Estimator], ...]]
    streams: ClassVar[tuple[str, ...]] = ("response",)
    """Named random streams of each block of replications.  The first is the
    stream the i.i.d. families have always drawn from, so adding streams to
    a model never changes existing results."""
    design_keys: ClassVar[frozenset[str]] = frozenset()
    """The ``design:`` keys this model accepts (none for i.i.d. families)."""
    numerical_check: ClassVar[bool] = True
    """Whether a numerical optimiser from a fixed start can confirm the MLE (not for a mixture,
    whose likelihood has local maxima and is unbounded)."""
    example: ClassVar[dict[str, Any]]
    """A valid ``{"params": ..., "design": ...}``, for documentation and the contract's tests."""

    def __init__(
        self,
        params: Mapping[str, Any],
        design: Mapping[str, Any] | None = None,
        design_seed: np.random.SeedSequence | None = None,
    ) -> None:
        self.params = dict(params)
        self.design = dict(design or {})
        self.design_seed = design_seed

    # -- config ---------------------------------------------------------------
    @classmethod
    def estimator_names(cls) -> tuple[str, ...]:
        return tuple(e.name for e in cls.estimator_types)

    @classmethod
    def check_config(cls, params: Mapping[str, Any], design: Mapping[str, Any]) -> list[str]:
        """Problems with a scenario's ``params`` and ``design``, one message each.

        Each message starts with ``key '<key>'`` and says the value and what is
        allowed; the config validator prefixes the scenario.
        """
        return []

    def min_sample_size(self) -> int:
        """The smallest n at which the model is identified."""
        return 1

    # -- parameters -----------------------------------------------------------
    @property
    @abstractmethod
    def blocks(self) -> tuple[Block, ...]:
        """Parameter blocks, in the order of the information matrix."""

    @cached_property
    def parameter_names(self) -> tuple[str, ...]:
        """Flat names of every parameter, in the order of the information matrix."""
        return tuple(name for b in self.blocks for name in b.flat_names)

    @property
    def information_parameters(self) -> tuple[str, ...]:
        """The parameters :meth:`information` is over (all of them, unless some are constrained)."""
        return self.parameter_names

    @cached_property
    def theta(self) -> dict[str, float]:
        """The true value of every flat parameter."""
        out = {}
        for b in self.blocks:
            values = np.asarray(self.params[b.name], dtype=float).reshape(b.shape)
            for index, name in zip(b.indices, b.flat_names, strict=True):
                out[name] = float(values[index]) if index else float(values)
        return out

    @cached_property
    def domains(self) -> dict[str, Domain]:
        """The element domain of every flat parameter."""
        return {name: b.domain for b in self.blocks for name in b.flat_names}

    @cached_property
    def estimators(self) -> dict[str, Estimator]:
        return {e.name: e() for e in self.estimator_types}

    def mle(self) -> Estimator:
        """The maximum-likelihood estimator."""
        return next(e for e in self.estimators.values() if e.is_mle)

    # -- data -----------------------------------------------------------------
    @abstractmethod
    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        """Raw data of ``rows`` replications of size ``n``.

        Must consume each stream sequentially, replication after replication,
        so that drawing rows in several calls gives the same numbers as one
        call (the prefix property the seeding relies on).
        """

    @abstractmethod
    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        """Log-likelihood of each replication of ``raw`` at flat parameters ``theta``."""

    def reduce(self, raw: Data, n: int) -> Data:
        """What the estimators read, from raw data (default: the raw data)."""
        return raw

    def draw(self, streams: Streams, n: int, rows: int) -> Data:
        """``reduce(sample(...))``, the simulation's hot path; models override it to save passes."""
        return self.reduce(self.sample(streams, n, rows), n)

    def batch_rows(self, n: int) -> int:
        """Replications drawn and fitted at once (bounds memory; never changes a result)."""
        return max(1, (1 << 16) // max(1, self.cost(n)))

    def cost(self, n: int, sampler: str = "data") -> int:
        """Work per replication in draw-equivalents (one random number drawn and reduced).

        What a job's run time scales with: it sizes the simulate jobs
        (:mod:`mlestudy.sizing`), their threads, priority and runtime request.
        For closed-form models it is the random numbers drawn; a model whose fit
        dominates (Newton, EM) counts its fitting work too.
        """
        return n if sampler == "data" else 1

    @property
    def has_sufficient_sampler(self) -> bool:
        """Whether :meth:`draw_sufficient` is implemented."""
        return type(self).draw_sufficient is not Model.draw_sufficient

    def draw_sufficient(self, streams: Streams, n: int, rows: int) -> Data:
        """Draw what :meth:`draw` returns directly from its exact law (``sampler: sufficient``)."""
        raise NotImplementedError(f"model {self.name!r} has no sufficient-statistic sampler")

    # -- information ----------------------------------------------------------
    @abstractmethod
    def information(self, n: int) -> FloatArray:
        """Expected Fisher information of a size-``n`` sample at the true parameters.

        i.i.d.: n I_1; random design: n E[w x x']; fixed design: X'WX.
        """

    def crlb(self, n: int) -> dict[str, float]:
        """Cramér–Rao lower bound of every flat parameter at sample size ``n``."""
        inv = np.linalg.inv(self.information(n))
        return {p: float(inv[i, i]) for i, p in enumerate(self.parameter_names)}

    def conditional_bound(self, data: Data, n: int) -> dict[str, FloatArray]:
        """Per-replication bound given the replication's design (random designs only).

        E over designs of this is what the estimator's variance is compared
        with at finite n; its gap to :meth:`crlb` is Jensen's.  Empty for
        models without covariates or with a fixed design.
        """
        return {}

    def design_record(self, largest_n: int) -> dict[str, Any] | None:
        """For a fixed design: its seed and the sha256 of its bytes (provenance); else None."""
        return None

    def figure_notes(self) -> Mapping[str, str]:
        """Figure name -> a sentence about this model's figure, added to the generic caption.

        Optional: a model says here what is particular to its own figures (the
        report never names a model); the generic caption stands alone otherwise.
        """
        return {}

    # -- KL divergence ----------------------------------------------------------
    def kl_divergence(self, theta_hat: Mapping[str, FloatArray], n: int) -> FloatArray:
        """Per-observation KL(true model || fitted model) of each replication.

        E over one new observation of log f_theta(Y) - log f_theta-hat(Y): the expected
        excess cross-entropy of the fit.  For a model with covariates, averaged over the
        covariate law (random design) or over the n rows of the fixed design at n.

        Parameters
        ----------
        theta_hat : every flat parameter's estimates, arrays of one length R.
        n : the sample size (selects the fixed design's rows).

        Returns
        -------
        (R,) array: +inf where the fit gives zero mass where the truth has mass, NaN
        where an estimate is NaN (or a quadrature could not be resolved).
        """
        raise NotImplementedError(f"model {self.name!r} has no KL divergence")

    @property
    def has_kl_divergence(self) -> bool:
        """Whether :meth:`kl_divergence` is implemented."""
        return type(self).kl_divergence is not Model.kl_divergence

    def describe(self) -> str:
        """The data-generating mechanism in words, for the report."""
        return self.description
