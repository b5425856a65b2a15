"""The chapter's view of a scenario: which one, at which n, and its replications regenerated.

The chapter never stores or pastes data: it draws a scenario's replications again
from their keyed streams (:func:`mlestudy.simulate.iter_data`), so they are the
very data sets the simulation fitted (with ``sampler: data``; a scenario that drew
sufficient statistics instead gets the raw data its streams give).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..config import Scenario
from ..models.base import Data, Model
from ..simulate import iter_data

LARGEST_N = 1000
"""The chapter's experiments use a scenario's largest sample size up to this one."""


@dataclass(frozen=True)
class ChapterScenario:
    """What the chapter's jobs need of a scenario: its identity, sample sizes and replications."""

    name: str
    identity: dict[str, Any]
    sample_sizes: tuple[int, ...]
    replications: int

    @classmethod
    def of(cls, scenario: Scenario) -> ChapterScenario:
        return cls(scenario.name, scenario.identity(), tuple(scenario.sample_sizes), scenario.replications)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ChapterScenario:
        """From :meth:`as_params` (what a rule passes)."""
        return cls(
            params["name"],
            dict(params["identity"]),
            tuple(params["sample_sizes"]),
            int(params["replications"]),
        )

    def as_params(self) -> dict[str, Any]:
        """Plain types Snakemake can compare: a change re-runs the chapter's jobs."""
        return {
            "name": self.name,
            "identity": self.identity,
            "sample_sizes": list(self.sample_sizes),
            "replications": self.replications,
        }

    @property
    def family(self) -> str:
        return str(self.identity["family"])

    @cached_property
    def model(self) -> Model:
        from ..jobs import bound_model

        return bound_model(self.name, self.identity)

    @property
    def glm_family(self) -> str | None:
        """'logistic', 'poisson' or 'softmax' for the GLM models, else None."""
        return getattr(self.model, "family_name", None)

    def large_n(self) -> int:
        """The largest sample size up to :data:`LARGEST_N` (the smallest one if all exceed it)."""
        small_enough = [n for n in self.sample_sizes if n <= LARGEST_N]
        return max(small_enough) if small_enough else min(self.sample_sizes)

    def small_n(self) -> int:
        """The smallest sample size."""
        return min(self.sample_sizes)

    def batches(self, n: int, replications: int) -> Iterator[Data]:
        """Raw data of replications 0.. at sample size n, batch by batch (at most the scenario's)."""
        stop = min(replications, self.replications)
        seed = int(self.identity["seed"])
        for _, raw in iter_data(self.model, seed=seed, scenario=self.name, n=n, first=0, stop=stop):
            yield raw

    def data(self, n: int, replications: int) -> Data:
        """Raw data of replications 0..replications-1 at n, batches joined."""
        parts: dict[str, list[np.ndarray]] = {}
        for raw in self.batches(n, replications):
            for k, v in raw.items():
                parts.setdefault(k, []).append(v)
        return {k: np.concatenate(v) for k, v in parts.items()}
