"""A 1-D mixture of K normal components, fitted by batched EM.

Each observation comes from component k with probability ``weights[k]`` and is
then N(``means[k]``, ``variances[k]``); components are identified by increasing
means.  The likelihood is unbounded (a component centred on one observation
with its variance -> 0), so there is no global MLE: the estimate is EM's local
maximum from data-driven starts (:mod:`mlestudy.fitting.em`), and a replication
where a variance collapses is counted as ``DEGENERATE``.  A start at the true
parameters is run too, only to flag ``LOCAL_OPTIMUM`` where it finds a higher
likelihood (the estimate is kept and counted).

Theory: the per-observation Fisher information by quadrature of the score
(:mod:`mlestudy.theory.mixture_information`); not knowing the labels costs
several times the information of the complete data, and n Var / CRLB
approaches 1 only slowly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..fitting.mixture_model import MixtureParams
from .base import POSITIVE, Block, Data, Domain, Estimator, Fit, FloatArray, Model, Streams
from .regression import is_number

RANDOM_STARTS = 4
"""Extra k-means++-style starts of the multistart estimator, drawn from the block's ``starts`` stream."""
BLOCKS = ("weights", "means", "variances")


class MixtureEM(Estimator):
    """EM from the data-driven k-means start."""

    name = "mle"
    is_mle = True
    description = (
        "maximum likelihood by batched EM from a k-means start (a local maximum; statuses per replication)"
    )
    random_starts: ClassVar[int] = 0

    def parameters(self, model: GaussianMixture) -> tuple[str, ...]:
        return model.parameter_names

    def kl_asymptote(self, model: GaussianMixture, n: int) -> float:
        """(3K - 1) / (2n): k counts the free parameters (the weights sum to 1); first-order theory for
        the MLE, which both EM estimators aim at."""
        return len(model.information_parameters) / (2 * n)

    def fit(self, model: GaussianMixture, data: Data, n: int) -> Fit:
        extra = (
            {"rng": data["start_uniforms"], "n_random_starts": self.random_starts}
            if self.random_starts
            else {}
        )
        from ..fitting.em import fit_mixture

        result = fit_mixture(data["x"], model.k, "kmeans", truth=model.truth, **extra)
        return Fit(result.values_by_name(), result.se_by_name(), result.status)


class MixtureEMMultistart(MixtureEM):
    """EM from the k-means start and random starts; the highest converged likelihood wins."""

    name = "mle_multistart"
    is_mle = False
    description = (
        f"batched EM from the k-means start and {RANDOM_STARTS} random k-means++ starts of the scenario's own "
        "stream; the best converged local maximum"
    )
    random_starts = RANDOM_STARTS


class GaussianMixture(Model):
    name = "gaussian_mixture"
    description = "a mixture of normal components (1-D), components identified by increasing means"
    estimator_types = (MixtureEM, MixtureEMMultistart)

    def figure_notes(self) -> dict[str, str]:
        return {
            "bias": "A mixture's MLE has no closed form (EM), so no exact line is drawn; the components are "
            "ordered by their means, which makes the labels identifiable.",
        }

    streams = ("response", "labels", "starts")
    numerical_check = False
    example: ClassVar[dict[str, Any]] = {
        "params": {"weights": [0.3, 0.7], "means": [0.0, 3.0], "variances": [1.0, 1.0]},
        "design": {},
    }

    def __init__(
        self,
        params: Mapping[str, Any],
        design: Mapping[str, Any] | None = None,
        design_seed: np.random.SeedSequence | None = None,
    ) -> None:
        super().__init__(params, design, design_seed)
        self.truth = MixtureParams(*(np.asarray(self.params[b], dtype=float) for b in BLOCKS))
        self.k = len(self.truth.means)

    @classmethod
    def check_config(cls, params: Mapping[str, Any], design: Mapping[str, Any]) -> list[str]:
        problems = [
            f"key 'params.{key}' is not a parameter of family {cls.name!r}; its params are {', '.join(BLOCKS)}"
            for key in sorted(set(params) - set(BLOCKS))
        ]
        if design:
            problems.append(
                f"key 'design' = {dict(design)!r} is not allowed; family {cls.name!r} has no covariates"
            )
        lists = {}
        for block in BLOCKS:
            value = params.get(block)
            if value is None:
                problems.append(
                    f"key 'params.{block}' is missing; family {cls.name!r} needs {', '.join(BLOCKS)}"
                )
            elif not isinstance(value, list) or len(value) < 2 or not all(is_number(v) for v in value):
                problems.append(
                    f"key 'params.{block}' = {value!r} is not allowed; it must be a list of at least two numbers "
                    "(one per component)"
                )
            elif not all(math.isfinite(v) for v in value):
                problems.append(
                    f"key 'params.{block}' = {value!r} is not allowed; every value must be finite"
                )
            else:
                lists[block] = value
        if len(lists) == 3 and len({len(v) for v in lists.values()}) > 1:
            problems.append(
                f"key 'params' = {dict(params)!r} is not allowed; weights, means and variances must have one "
                "value per component (the same length)"
            )
        elif len(lists) == 3:
            weights, means, variances = lists["weights"], lists["means"], lists["variances"]
            if min(weights) <= 0 or abs(sum(weights) - 1) > 1e-9:
                problems.append(
                    f"key 'params.weights' = {weights!r} is not allowed; weights must be > 0 and sum to 1"
                )
            if any(b <= a for a, b in zip(means, means[1:], strict=False)):
                problems.append(
                    f"key 'params.means' = {means!r} is not allowed; means must increase strictly (that is how "
                    "components are identified)"
                )
            if min(variances) <= 0:
                problems.append(
                    f"key 'params.variances' = {variances!r} is not allowed; variances must be > 0"
                )
        return problems

    def min_sample_size(self) -> int:
        return 3 * self.k  # EM's starts need a few observations per component

    @property
    def blocks(self) -> tuple[Block, ...]:
        k = (self.k,)
        return (
            Block("weights", k, Domain(0.0, 1.0, start=0.5), "mixing weights (sum to 1)", "simplex"),
            Block("means", k, Domain(), "component means", "increasing"),
            Block("variances", k, POSITIVE, "component variances"),
        )

    # -- data -----------------------------------------------------------------
    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        u = streams["labels"].random((rows, n))
        component = np.searchsorted(np.cumsum(self.truth.weights)[:-1], u, side="right")
        z = streams["response"].standard_normal((rows, n))
        x = self.truth.means[component] + np.sqrt(self.truth.variances)[component] * z
        starts = streams["starts"].random((rows, RANDOM_STARTS, self.k))
        return {"x": x, "start_uniforms": starts}

    def cost(self, n: int, sampler: str = "data") -> int:
        # EM's iterations (tens, over K components, plus the start at the truth) dominate the draws.
        return 50 * self.k * n

    def batch_rows(self, n: int) -> int:
        from ..seeding import BLOCK_SIZE

        return min(BLOCK_SIZE, max(1, (1 << 18) // n))

    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        x = raw["x"]
        parts = []
        for k in range(self.k):
            w, m, v = (np.asarray(theta[f"{b}[{k}]"], dtype=float)[..., None] for b in BLOCKS)
            parts.append(np.log(w) - 0.5 * np.log(2 * math.pi * v) - (x - m) ** 2 / (2 * v))
        from scipy.special import logsumexp

        return logsumexp(np.stack(parts), axis=0).sum(axis=-1)

    # -- information ----------------------------------------------------------
    @cached_property
    def _per_observation_crlb(self) -> dict[str, float]:
        from ..theory import mixture_information

        bound = mixture_information.crlb(self.truth)
        return {f"{b}[{k}]": float(getattr(bound, b)[k]) for b in BLOCKS for k in range(self.k)}

    def information(self, n: int) -> FloatArray:
        """The information of the free parameters (K-1 weights, then means and variances) of a size-n sample."""
        from ..theory import mixture_information

        return n * mixture_information.fisher_information(self.truth)

    @property
    def information_parameters(self) -> tuple[str, ...]:
        return tuple(p for p in self.parameter_names if p != f"weights[{self.k - 1}]")

    def crlb(self, n: int) -> dict[str, float]:
        # The last weight is 1 minus the others: its bound by the delta method.
        return {p: v / n for p, v in self._per_observation_crlb.items()}

    def complete_data_crlb(self, n: int) -> dict[str, float]:
        """Bounds if the component labels were observed: what not knowing them costs."""
        from ..theory import mixture_information

        bound = mixture_information.complete_data_crlb(self.truth)
        return {f"{b}[{k}]": float(getattr(bound, b)[k]) / n for b in BLOCKS for k in range(self.k)}

    # -- KL divergence ----------------------------------------------------------
    def kl_divergence(self, theta_hat: Mapping[str, FloatArray], n: int) -> FloatArray:
        """KL(true || fitted) per observation by Gauss–Hermite quadrature over the true mixture
        (:mod:`mlestudy.theory.mixture_kl`); invariant under relabelling of the fitted components."""
        from ..theory.mixture_kl import mixture_kl

        fitted = [
            np.column_stack([np.asarray(theta_hat[f"{b}[{k}]"], dtype=float) for k in range(self.k)])
            for b in BLOCKS
        ]
        return mixture_kl(self.truth, *fitted)
