"""The covariate law of a regression model: how design rows x = (1, z_1, ..., z_d) are drawn.

A scenario's ``design:`` key says how the d features are drawn (``features``:
one kind for all, or a list with one kind per feature), whether they are
equicorrelated (``correlation``, normal features only) and whether one design
is drawn per scenario (``fixed: true``) or a new one every replication.  Rows
are i.i.d.; an intercept always comes first.

Feature kinds, each chosen so its moments are simple:

- ``normal``: N(0, 1), or N(0, Sigma) with Sigma = (1 - rho) I + rho 11';
- ``uniform``: uniform on (-sqrt(3), sqrt(3)): mean 0, variance 1;
- ``bernoulli``: Bernoulli(0.5) on {0, 1}: mean 1/2, variance 1/4.

Every draw consumes its generator replication by replication, row by row, so
drawing rows in several calls gives the same numbers as one call.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..messages import as_float, shown
from ..theory.linear_regression import RandomDesign
from .base import FloatArray

KINDS = ("normal", "uniform", "bernoulli")
MEAN = {"normal": 0.0, "uniform": 0.0, "bernoulli": 0.5}
VARIANCE = {"normal": 1.0, "uniform": 1.0, "bernoulli": 0.25}
DESIGN_KEYS = frozenset({"features", "fixed", "correlation"})


def design_problems(design: Mapping[str, Any], features: int) -> list[str]:
    """Problems with a ``design:`` mapping for a model with ``features`` features (one message each)."""
    problems = []
    kinds = design.get("features", "normal")
    if isinstance(kinds, list):
        if len(kinds) != features:
            problems.append(
                f"key 'design.features' = {shown(kinds)} is not allowed; it lists {len(kinds)} feature kind(s), "
                f"but params give {features} feature coefficient(s) after the intercept"
            )
        bad = [k for k in kinds if k not in KINDS]
    else:
        bad = [kinds] if kinds not in KINDS else []
    if bad:
        problems.append(
            f"key 'design.features' = {shown(kinds)} is not allowed; each kind must be one of {', '.join(KINDS)}"
        )
    fixed = design.get("fixed", False)
    if not isinstance(fixed, bool):
        problems.append(f"key 'design.fixed' = {fixed!r} is not allowed; it must be true or false")
    rho = design.get("correlation", 0.0)
    value = as_float(rho)
    if (
        not isinstance(rho, (int, float))
        or isinstance(rho, bool)
        or value is None
        or not math.isfinite(value)
    ):
        problems.append(f"key 'design.correlation' = {shown(rho)} is not allowed; it must be a finite number")
    elif rho != 0:
        all_normal = kinds == "normal" or (isinstance(kinds, list) and set(kinds) == {"normal"})
        lower = -1.0 / (features - 1) if features > 1 else -math.inf
        if not all_normal:
            problems.append(
                f"key 'design.correlation' = {rho!r} is not allowed; a correlation needs normal features "
                f"(features are {shown(kinds)})"
            )
        elif features < 2:
            problems.append(
                f"key 'design.correlation' = {rho!r} is not allowed; it needs at least two features "
                f"(params give {features})"
            )
        elif not lower < rho < 1:
            problems.append(
                f"key 'design.correlation' = {rho!r} is not allowed; with {features} features it must be "
                f"> {lower:.6g} and < 1 (a positive definite equicorrelation)"
            )
    return problems


@dataclass(frozen=True)
class Design:
    """The law of the design rows of one scenario (validated by :func:`design_problems`)."""

    kinds: tuple[str, ...]
    correlation: float = 0.0
    fixed: bool = False

    @classmethod
    def from_config(cls, design: Mapping[str, Any], features: int) -> Design:
        kinds = design.get("features", "normal")
        kinds = tuple(kinds) if isinstance(kinds, list) else (kinds,) * features
        # Without features every design is the column of ones: fixed, whatever the key says.
        return cls(
            kinds, float(design.get("correlation", 0.0)), bool(design.get("fixed", False)) or not features
        )

    @property
    def features(self) -> int:
        return len(self.kinds)

    @property
    def columns(self) -> int:
        """p: the intercept and the features."""
        return self.features + 1

    @property
    def gaussian(self) -> bool:
        """All features normal: the exact random-design theory (inverse Wishart) applies."""
        return all(k == "normal" for k in self.kinds)

    @cached_property
    def feature_covariance(self) -> FloatArray:
        """Cov(z): the equicorrelation among normal features, independence otherwise."""
        d = self.features
        cov = np.diag([VARIANCE[k] for k in self.kinds])
        if self.correlation and d:
            cov = (1 - self.correlation) * np.eye(d) + self.correlation * np.ones((d, d))
        return cov

    @cached_property
    def _cholesky(self) -> FloatArray:
        return np.linalg.cholesky(self.feature_covariance) if self.features else np.zeros((0, 0))

    def random_design(self) -> RandomDesign | None:
        """The law in the theory module's terms (one kind for every feature); None for mixed kinds."""
        if not self.kinds or len(set(self.kinds)) > 1:
            return None
        return RandomDesign(self.features, self.kinds[0], self.correlation)

    @cached_property
    def second_moment(self) -> FloatArray:
        """E[x x'] for x = (1, z): the per-observation information of beta is this / sigma2."""
        random = self.random_design()
        if random is not None:
            return random.second_moment()
        mean = np.array([1.0, *(MEAN[k] for k in self.kinds)])
        out = np.outer(mean, mean)
        out[1:, 1:] += self.feature_covariance
        return out

    def draw_features(self, rng: np.random.Generator, rows: int, n: int) -> FloatArray:
        """Design matrices of ``rows`` replications, shape (rows, n, p), intercept first."""
        d = self.features
        x = np.empty((rows, n, d + 1))
        x[..., 0] = 1.0
        if not d:
            return x
        if self.gaussian:
            z = rng.standard_normal((rows, n, d))
            # einsum, not matmul: no BLAS, so a row's bits never depend on the batch it is in.
            x[..., 1:] = np.einsum("rnk,jk->rnj", z, self._cholesky) if self.correlation else z
            return x
        u = rng.random((rows, n, d))
        for j, kind in enumerate(self.kinds):
            if kind == "normal":  # mixed kinds: a normal feature by inversion of its uniform
                from scipy.special import ndtri

                x[..., j + 1] = ndtri(np.maximum(u[..., j], 2.0**-53))  # random() may return 0.0
            elif kind == "uniform":
                x[..., j + 1] = (2.0 * u[..., j] - 1.0) * math.sqrt(3.0)
            else:
                x[..., j + 1] = u[..., j] < 0.5
        return x

    def fixed_matrix(self, seed: np.random.SeedSequence, n: int) -> FloatArray:
        """The scenario's fixed design at sample size n: the first n rows of one sequence, shape (n, p)."""
        return self.draw_features(np.random.Generator(np.random.PCG64(seed)), 1, n)[0]

    def record(self, seed: np.random.SeedSequence, n: int) -> dict[str, Any]:
        """Provenance of a fixed design: its seed and the sha256 of its bytes at sample size n."""
        matrix = self.fixed_matrix(seed, n)
        return {
            "entropy": int(seed.entropy),
            "spawn_key": [int(k) for k in seed.spawn_key],
            "rows": n,
            "columns": int(matrix.shape[1]),
            "sha256": hashlib.sha256(np.ascontiguousarray(matrix).tobytes()).hexdigest(),
        }

    def describe(self) -> str:
        """The design in words, for the report."""
        if len(set(self.kinds)) <= 1:
            kind = self.kinds[0] if self.kinds else "no"
            what = f"{self.features} {kind} feature{'s' if self.features != 1 else ''}"
        else:
            what = "features " + ", ".join(self.kinds)
        if self.correlation:
            what += f" with correlation {self.correlation:g}"
        law = "one design drawn per scenario (fixed)" if self.fixed else "a new design every replication"
        return f"an intercept and {what}; {law}"
