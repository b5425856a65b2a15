"""Exponential(rate): waiting times.

The MLE 1/x-bar over-estimates the rate by n/(n-1); its k-th moment exists only
for k < n (sum of the data is Gamma(n, rate)), so its variance is infinite at
n <= 2 and the Monte Carlo error of that variance is infinite at n <= 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .base import Estimate, EstimatorInfo, Family, FloatArray, Parameter, Theta, row_sums


class Exponential(Family):
    name = "exponential"
    description = "exponential waiting times with rate lambda (mean 1/lambda)"
    parameters = (Parameter("rate", 0.0, start=1.0, description="events per unit time"),)
    estimators = (
        EstimatorInfo("mle", ("rate",), "1/x-bar (the MLE; biased upwards by n/(n-1))"),
        EstimatorInfo("unbiased", ("rate",), "(n-1)/sum(x) (unbiased for n >= 2)"),
    )

    def sample(self, rng: np.random.Generator, theta: Theta, size: tuple[int, int]) -> FloatArray:
        return rng.exponential(1.0 / theta["rate"], size)

    def loglik(self, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        lam = np.asarray(theta["rate"], dtype=float)
        return x.shape[-1] * np.log(lam) - lam * x.sum(axis=-1)

    def statistics(self, x: FloatArray) -> dict[str, FloatArray]:
        return {"total": x.sum(axis=-1)}

    def draw_statistics(
        self, rng: np.random.Generator, theta: Theta, scratch: FloatArray
    ) -> dict[str, FloatArray]:
        # exponential(scale) is scale * standard_exponential: draw in place, scale the sum.
        rng.standard_exponential(out=scratch)
        return {"total": row_sums(scratch) / theta["rate"]}

    def sufficient_statistics(
        self, rng: np.random.Generator, theta: Theta, n: int, reps: int
    ) -> dict[str, FloatArray]:
        # A sum of n exponentials with rate lambda is Gamma(n, scale 1/lambda).
        return {"total": rng.standard_gamma(n, reps) / theta["rate"]}

    def estimate(self, stats: Mapping[str, FloatArray], n: int) -> dict[str, Estimate]:
        total = stats["total"]
        with np.errstate(divide="ignore"):
            mle = n / total
            unbiased = (n - 1) / total
        return {
            "mle": Estimate({"rate": mle}),
            "unbiased": Estimate({"rate": unbiased}) if n >= 2 else Estimate.undefined(("rate",), total.size),
        }

    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        lam = np.asarray(theta["rate"], dtype=float)
        return (1.0 / lam**2)[..., None, None]

    def inverse_fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        return (np.asarray(theta["rate"], dtype=float) ** 2)[..., None, None]

    def exact_moments(self, estimator: str, parameter: str, theta: Theta, n: int) -> tuple[float, float]:
        lam = theta["rate"]
        if estimator == "mle":
            mean = n * lam / (n - 1) if n > 1 else math.nan
            var = n**2 * lam**2 / ((n - 1) ** 2 * (n - 2)) if n > 2 else math.nan
        else:
            mean = lam if n > 1 else math.nan
            var = lam**2 / (n - 2) if n > 2 else math.nan
        return mean, var

    def finite_moments(self, estimator: str, parameter: str, n: int) -> float:
        # E[(1/S)^k] < inf iff k < n for S ~ Gamma(n, rate).
        return n - 1
