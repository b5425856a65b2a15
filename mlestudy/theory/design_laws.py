"""The laws a random design row x = (1, z_1, ..., z_d) is drawn from.

The theory integrates over these laws, so they are pinned here exactly as the
models draw them (the lead's decision): rows are i.i.d.; the d features are

- ``normal``: z ~ N(0, Sigma), Sigma = (1 - rho) I + rho 11' (equicorrelation
  ``rho``, positive definite for -1/(d-1) < rho < 1);
- ``uniform``: z_j i.i.d. uniform on (-sqrt(3), sqrt(3)) (mean 0, variance 1);
- ``bernoulli``: z_j i.i.d. Bernoulli(0.5) on {0, 1}.

Only ``normal`` has a correlation; the others take rho = 0.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FEATURE_KINDS = ("normal", "uniform", "bernoulli")
UNIFORM_HALF_WIDTH = math.sqrt(3.0)
"""Half-width of the uniform feature law: variance (2a)^2 / 12 = 1."""
BERNOULLI_PROBABILITY = 0.5


def check_design(features: str, d: int, correlation: float) -> None:
    """Raise ``ValueError`` (one line: key, value, what is allowed) for a law that does not exist."""
    if features not in FEATURE_KINDS:
        raise ValueError(f"features = {features!r} is not allowed; use one of {', '.join(FEATURE_KINDS)}")
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 0:
        raise ValueError(f"number of features d = {d!r} is not allowed; d must be an integer >= 0")
    try:
        rho = float(correlation)
    except (TypeError, ValueError):
        raise ValueError(f"correlation = {correlation!r} is not allowed; it must be a number") from None
    if features != "normal":
        if rho != 0.0:
            raise ValueError(
                f"correlation = {correlation!r} is not allowed with {features} features; "
                "only normal features are correlated (use 0)"
            )
        return
    lower = -1.0 / (d - 1) if d >= 2 else -math.inf
    if not (math.isfinite(rho) and lower < rho < 1.0):
        allowed = f"{lower:.6g} < correlation < 1" if d >= 2 else "correlation < 1"
        raise ValueError(
            f"correlation = {correlation!r} is not allowed for d = {d} normal features; {allowed}"
        )


def equicorrelation(d: int, correlation: float) -> NDArray[np.float64]:
    """Sigma = (1 - rho) I + rho 11', the covariance of ``normal`` features."""
    return (1.0 - correlation) * np.eye(d) + correlation * np.ones((d, d))


def equicorrelation_sqrt(d: int, correlation: float) -> NDArray[np.float64]:
    """The symmetric square root of Sigma, in closed form.

    Sigma has eigenvalue 1 + (d-1) rho on 1/sqrt(d) and 1 - rho on its
    complement, so Sigma^(1/2) = sqrt(1-rho) I + (sqrt(1+(d-1)rho) - sqrt(1-rho)) 11'/d.
    """
    if d == 0:
        return np.zeros((0, 0))
    a = math.sqrt(1.0 - correlation)
    b = math.sqrt(1.0 + (d - 1) * correlation)
    return a * np.eye(d) + (b - a) / d * np.ones((d, d))
