"""An i.i.d. scalar family bound to one parameter value: the family side of the model contract.

Every parameter is a scalar block; the data of a batch is reduced at once to
the family's per-replication statistics (the hot path never holds the raw
sample), and the information of a size-n sample is n times the family's
per-observation information.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..messages import as_float, shown
from .base import Block, Data, FloatArray, Model, Streams

if TYPE_CHECKING:  # a runtime import would be circular
    from ..families.base import Family


def inverse_information(family: Family, theta: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-replication inverse Fisher information, NaN where it is singular.

    A fit far in the tail (a gamma rate of 1e200 from data that underflowed)
    can make one replication's information matrix singular in float64, and
    ``numpy.linalg.inv`` then fails the whole batch.  Those replications get NaN
    (no Wald interval, so not covered); the rest are exact.
    """
    with np.errstate(all="ignore"):
        try:
            return family.inverse_fisher_information(theta)
        except np.linalg.LinAlgError:
            info = family.fisher_information(theta)
    out = np.full(info.shape, np.nan)
    for i in np.ndindex(info.shape[:-2]):
        try:
            out[i] = np.linalg.inv(info[i])
        except np.linalg.LinAlgError:
            pass
    return out


class ScalarModel(Model):
    """A :class:`~mlestudy.families.base.Family` at one parameter value."""

    family: ClassVar[Family]

    def __init__(
        self,
        params: Mapping[str, Any],
        design: Mapping[str, Any] | None = None,
        design_seed: np.random.SeedSequence | None = None,
    ) -> None:
        super().__init__({k: float(v) for k, v in params.items()}, design, design_seed)
        self._local = threading.local()

    @classmethod
    def check_config(cls, params: Mapping[str, Any], design: Mapping[str, Any]) -> list[str]:
        fam = cls.family
        problems = []
        for p in fam.parameters:
            if p.name not in params:
                problems.append(
                    f"key 'params.{p.name}' is missing; family {fam.name!r} needs params "
                    f"{', '.join(fam.parameter_names)}"
                )
                continue
            given = params[p.name]
            value = as_float(given)
            if not isinstance(given, (int, float)) or isinstance(given, bool):
                problems.append(f"key 'params.{p.name}' = {shown(given)} is not allowed; it must be a number")
            elif value is None:
                problems.append(
                    f"key 'params.{p.name}' = {shown(given)} is not allowed; it is beyond float64 "
                    f"(about ±1.8e308), and {p.name} must be {p.allowed()}"
                )
            elif not p.contains(value):
                problems.append(
                    f"key 'params.{p.name}' = {shown(given)} is not allowed; {p.name} must be {p.allowed()}"
                )
        for extra in sorted(set(params) - set(fam.parameter_names), key=repr):
            problems.append(
                f"key {shown(f'params.{extra}')} is not a parameter of family {fam.name!r}; its params are "
                f"{', '.join(fam.parameter_names)}"
            )
        if design:
            problems.append(
                f"key 'design' = {shown(dict(design))} is not allowed; family {fam.name!r} has no covariates"
            )
        return problems

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(Block(p.name, (), p, p.description) for p in self.family.parameters)

    # -- data -----------------------------------------------------------------
    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        return {"x": self.family.sample(streams["response"], self.theta, (rows, n))}

    def reduce(self, raw: Data, n: int) -> Data:
        return self.family.statistics(raw["x"])

    def draw(self, streams: Streams, n: int, rows: int) -> Data:
        # One cache-sized scratch buffer per thread, reused batch after batch.
        scratch = getattr(self._local, "scratch", None)
        if scratch is None or scratch.shape[1] != n or scratch.shape[0] < rows:
            scratch = self._local.scratch = np.empty((self.batch_rows(n), n))
        return self.family.draw_statistics(streams["response"], self.theta, scratch[:rows])

    @property
    def has_sufficient_sampler(self) -> bool:
        return self.family.has_sufficient_sampler

    def draw_sufficient(self, streams: Streams, n: int, rows: int) -> Data:
        return self.family.sufficient_statistics(streams["response"], self.theta, n, rows)

    def batch_rows(self, n: int) -> int:
        # About 2^16 draws at once (512 KiB of float64: stays in cache), at most a block.
        from ..seeding import BLOCK_SIZE

        return min(BLOCK_SIZE, max(1, (1 << 16) // n))

    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        return self.family.loglik(raw["x"], theta)

    # -- information ----------------------------------------------------------
    def information(self, n: int) -> FloatArray:
        return n * self.family.fisher_information(self.theta)

    def crlb(self, n: int) -> dict[str, float]:
        # From the family's inverse information, which is exact where the
        # information is infinite (p = 0 gives a bound of exactly 0).
        return self.family.crlb(self.theta, n)

    def kl_divergence(self, theta_hat: Mapping[str, FloatArray], n: int) -> FloatArray:
        return self.family.kl_divergence(self.theta, theta_hat)

    @property
    def has_kl_divergence(self) -> bool:
        from ..families.base import Family

        return type(self.family).kl_divergence is not Family.kl_divergence

    def describe(self) -> str:
        return self.family.description

    def figure_notes(self) -> dict[str, str]:
        return dict(self.family.figure_notes)


@cache
def model_type(family: Family) -> type[ScalarModel]:
    """The :class:`ScalarModel` subclass of one family (made once per family)."""
    return type(
        f"{type(family).__name__}Model",
        (ScalarModel,),
        {
            "family": family,
            "name": family.name,
            "description": family.description,
            "estimator_types": family.estimator_types,
            "example": {"params": {p.name: p.start for p in family.parameters}, "design": {}},
            "__module__": __name__,
        },
    )
