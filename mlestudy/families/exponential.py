"""Exponential(rate): waiting times.

The MLE 1/x-bar over-estimates the rate by n/(n-1); its k-th moment exists only
for k < n (sum of the data is Gamma(n, rate)), so its variance is infinite at
n <= 2 and the Monte Carlo error of that variance is infinite at n <= 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .base import Family, FloatArray, Parameter, ScalarEstimator, Theta, row_sums


class ExponentialMLE(ScalarEstimator):
    name = "mle"
    targets = ("rate",)
    is_mle = True
    description = "1/x-bar (the MLE; biased upwards by n/(n-1))"

    def estimate(self, family, stats, n):
        with np.errstate(divide="ignore"):
            return {"rate": n / stats["total"]}, np.zeros(len(stats["total"]), np.int8)

    def exact_moments(self, model, parameter, n):
        lam = model.theta["rate"]
        mean = n * lam / (n - 1) if n > 1 else math.nan
        var = n**2 * lam**2 / ((n - 1) ** 2 * (n - 2)) if n > 2 else math.nan
        return mean, var

    def exact_coverage(self, model, parameter, n, level):
        from ..theory.coverage import exponential_rate_coverage

        return exponential_rate_coverage(n, level, numerator=n)

    def bias_derivative(self, model, parameter, n):
        # b(lambda) = lambda/(n - 1).
        return 1.0 / (n - 1) if n > 1 else math.nan

    def what_to_see(self, model, rows):
        from ..narrative import exact_mean_sentence

        said = exact_mean_sentence(rows, "rate", "E[λ̂] = nλ/(n − 1): 1/x̄ over-estimates the rate")
        return [said] if said else []

    def finite_moments(self, model, parameter, n):
        # E[(1/S)^k] < inf iff k < n for S ~ Gamma(n, rate).
        return n - 1

    def exact_kl(self, model, n):
        from ..theory.exact_kl import exponential_kl

        return exponential_kl(n, n)

    def kl_finite_moments(self, model, n):
        # KL = r - 1 - log r with r proportional to 1/S: E[KL^k] < inf iff k < n.
        return n - 1


class ExponentialUnbiased(ExponentialMLE):
    name = "unbiased"
    is_mle = False
    description = "(n-1)/sum(x) (unbiased for n >= 2)"

    def estimate(self, family, stats, n):
        if n < 2:
            return {}, np.full(len(stats["total"]), 0, np.int8)
        with np.errstate(divide="ignore"):
            return {"rate": (n - 1) / stats["total"]}, np.zeros(len(stats["total"]), np.int8)

    def standard_errors(self, family, values, n):
        # The inverse information rate^2 at this estimator's own value.
        return {"rate": np.sqrt(values["rate"] ** 2 / n)}

    def exact_moments(self, model, parameter, n):
        lam = model.theta["rate"]
        return (lam if n > 1 else math.nan), (lam**2 / (n - 2) if n > 2 else math.nan)

    def exact_coverage(self, model, parameter, n, level):
        from ..theory.coverage import exponential_rate_coverage

        return exponential_rate_coverage(n, level, numerator=n - 1) if n >= 2 else math.nan

    def bias_derivative(self, model, parameter, n):
        return 0.0 if n > 1 else math.nan

    def what_to_see(self, model, rows):
        from ..narrative import exact_mean_sentence

        said = exact_mean_sentence(rows, "rate", "(n − 1)/Σx is unbiased, E = λ")
        return [said] if said else []

    def exact_kl(self, model, n):
        from ..theory.exact_kl import exponential_kl

        return exponential_kl(n, n - 1) if n >= 2 else math.nan

    def kl_asymptote(self, model, n):
        # (n - 1)/sum(x) is first-order equivalent to the MLE: 2n E[KL] / k -> 1 as well.
        return len(model.parameter_names) / (2 * n)


class Exponential(Family):
    name = "exponential"
    description = "exponential waiting times with rate lambda (mean 1/lambda)"
    parameters = (Parameter("rate", 0.0, start=1.0, description="events per unit time"),)
    estimator_types = (ExponentialMLE, ExponentialUnbiased)
    figure_notes = {
        "bias": "Here 1/x̄ is biased upwards by λ/(n − 1); (n − 1)/Σx, where run, is unbiased.",
        "variance": "The variance of 1/x̄ is infinite at n ≤ 2, so no point is drawn there.",
        "sampling": "1/x̄ follows an inverse gamma law: skewed to the right at small n.",
    }

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

    def kl_divergence(self, theta: Theta, theta_hat: Mapping[str, FloatArray]) -> FloatArray:
        from ..theory.kl_divergence import exponential_kl

        return exponential_kl(theta["rate"], theta_hat["rate"])

    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        lam = np.asarray(theta["rate"], dtype=float)
        return (1.0 / lam**2)[..., None, None]

    def inverse_fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        return (np.asarray(theta["rate"], dtype=float) ** 2)[..., None, None]
