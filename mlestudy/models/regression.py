"""What every regression model shares: coefficients beta, a design law, a design stream.

A regression model draws each replication's design X (n, p) -- an intercept and
the scenario's features -- from the block's ``design`` stream (or uses the
scenario's fixed design), then its response from the ``response`` stream.  Its
coefficients are a vector ``beta`` (intercept first) or, for a model with one
coefficient vector per non-reference class, a matrix ``beta[k, j]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..messages import as_float, shown
from ..seeding import BLOCK_SIZE
from .base import REAL, Block, FloatArray, Model, Streams
from .design import DESIGN_KEYS, Design, design_problems


def is_number(value: Any) -> bool:
    """A real number as YAML gives it (a bool is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A number with a finite float64 value (an integer beyond 1.8e308 is not, and does not raise)."""
    v = as_float(value) if is_number(value) else None
    return v is not None and math.isfinite(v)


def beta_problems(name: str, beta: Any, matrix: bool) -> list[str]:
    """Problems with ``params.beta``: a finite vector, or a rectangular matrix for ``matrix`` models."""
    if beta is None:
        return [f"key 'params.beta' is missing; family {name!r} needs it (intercept first)"]
    if matrix:
        ok = isinstance(beta, list) and all(
            isinstance(r, list) and all(is_number(b) for b in r) for r in beta
        )
        shape = "a list of rows (one per non-reference class), each a list of numbers, the intercept first"
        if not ok:
            return [f"key 'params.beta' = {shown(beta)} is not allowed; it must be {shape}"]
        if len({len(r) for r in beta}) != 1:
            return [f"key 'params.beta' = {shown(beta)} is not allowed; every row must have the same length"]
        values = [b for r in beta for b in r]
    else:
        if not isinstance(beta, list) or not all(is_number(b) for b in beta):
            return [
                f"key 'params.beta' = {shown(beta)} is not allowed; it must be a list of numbers, the intercept "
                "first and then one coefficient per feature"
            ]
        values = beta
    if not all(is_finite_number(b) for b in values):
        return [
            f"key 'params.beta' = {shown(beta)} is not allowed; every coefficient must be finite "
            "(within float64, about ±1.8e308)"
        ]
    return []


class RegressionModel(Model):
    """A model with covariates: coefficients ``beta`` and a design law (see :mod:`.design`)."""

    streams = ("response", "design")
    design_keys = DESIGN_KEYS
    matrix_beta: ClassVar[bool] = False
    """True when beta is a matrix (one row per non-reference class)."""
    extra_params: ClassVar[tuple[str, ...]] = ()
    """Scalar parameters besides beta (sigma2 for linear regression)."""

    def __init__(
        self,
        params: Mapping[str, Any],
        design: Mapping[str, Any] | None = None,
        design_seed: np.random.SeedSequence | None = None,
    ) -> None:
        super().__init__(params, design, design_seed)
        self.beta = np.asarray(self.params["beta"], dtype=float)
        self.p = self.beta.shape[-1]
        self.law = Design.from_config(self.design, self.p - 1)

    @classmethod
    def check_config(cls, params: Mapping[str, Any], design: Mapping[str, Any]) -> list[str]:
        allowed = ("beta", *cls.extra_params)
        problems = [
            f"key {shown(f'params.{key}')} is not a parameter of family {cls.name!r}; its params are "
            f"{', '.join(allowed)}"
            for key in sorted(set(params) - set(allowed), key=repr)
        ]
        beta = params.get("beta")
        beta_issues = beta_problems(cls.name, beta, cls.matrix_beta)
        problems.extend(beta_issues)
        problems.extend(cls.check_extra_params(params))
        if not beta_issues:
            p = len(beta[0]) if cls.matrix_beta else len(beta)
            problems.extend(design_problems(design, p - 1))
        return problems

    @classmethod
    def check_extra_params(cls, params: Mapping[str, Any]) -> list[str]:
        """Problems with the parameters besides beta (none by default)."""
        return []

    def min_sample_size(self) -> int:
        return self.p + 1

    @property
    def beta_block(self) -> Block:
        return Block("beta", self.beta.shape, REAL, "regression coefficients, intercept first")

    @cached_property
    def coefficients(self) -> tuple[str, ...]:
        """Flat names of beta's elements, row-major (``beta[0]`` or ``beta[1,0]``)."""
        return tuple(self.beta_block.flat_names)

    # -- the design ---------------------------------------------------------------
    def design_matrix(self, streams: Streams, n: int, rows: int) -> FloatArray:
        """X of a batch (rows, n, p): the fixed design repeated, or fresh rows from the design stream."""
        if self.law.fixed:
            return np.broadcast_to(self.fixed_design(n), (rows, n, self.p))
        return self.law.draw_features(streams["design"], rows, n)

    def fixed_design(self, n: int) -> FloatArray:
        """The scenario's fixed design at n: the first n rows of one draw (nested across n)."""
        cache = self.__dict__.setdefault("_designs", {})
        if n not in cache:
            if self.design_seed is None:
                raise ValueError("a fixed design needs the scenario's design seed")
            cache[n] = self.law.fixed_matrix(self.design_seed, n)
        return cache[n]

    def design_record(self, largest_n: int) -> dict[str, Any] | None:
        if not self.law.fixed or self.design_seed is None:
            return None
        return self.law.record(self.design_seed, largest_n)

    def cost(self, n: int, sampler: str = "data") -> int:
        if sampler == "sufficient":
            return self.p + 1
        return n * (1 if self.law.fixed else self.p)

    def batch_rows(self, n: int) -> int:
        # About 2^19 floats of X at once (4 MiB), at most a block.
        return min(BLOCK_SIZE, max(1, (1 << 19) // (n * self.p)))

    def linear_predictor(self, x: FloatArray) -> FloatArray:
        """X beta for every replication and observation: (rows, n), or (rows, n, K-1) for a matrix beta.

        einsum, not BLAS, so a row's bits never depend on the batch it is in.
        """
        if self.beta.ndim == 2:
            return np.einsum("rni,ki->rnk", x, self.beta)
        return np.einsum("rni,i->rn", x, self.beta)

    def describe(self) -> str:
        return f"{self.description}; design: {self.law.describe()}"
