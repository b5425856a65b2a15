"""Normal(mu, sigma2): the textbook case.

The variance MLE divides by n and is biased by (n-1)/n; the unbiased version
divides by n-1 but has the larger mean squared error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .base import Family, FloatArray, Parameter, ScalarEstimator, Status, Theta, row_sums


def _boundary(ss: FloatArray) -> np.ndarray:
    # sigma2-hat = 0 (n = 1, or a constant sample): the likelihood is unbounded.
    return np.where(ss == 0, np.int8(Status.BOUNDARY), np.int8(Status.OK))


class NormalMLE(ScalarEstimator):
    name = "mle"
    targets = ("mu", "sigma2")
    is_mle = True
    description = "x-bar and sum((x - x-bar)^2)/n (the MLE)"

    def estimate(self, family, stats, n):
        return {"mu": stats["mean"], "sigma2": stats["ss"] / n}, _boundary(stats["ss"])

    def exact_moments(self, model, parameter, n):
        s2 = model.theta["sigma2"]
        if parameter == "mu":
            return model.theta["mu"], s2 / n
        return (n - 1) * s2 / n, 2 * (n - 1) * s2**2 / n**2

    def exact_coverage(self, model, parameter, n, level):
        from ..theory.coverage import gaussian_mean_coverage, gaussian_variance_coverage

        if parameter == "mu":
            return gaussian_mean_coverage(n, level)
        return gaussian_variance_coverage(n, level, divisor=n)

    def bias_derivative(self, model, parameter, n):
        # b(sigma2) = -sigma2/n; mu-bar is unbiased.
        return -1.0 / n if parameter == "sigma2" else 0.0

    def what_to_see(self, model, rows):
        from ..narrative import exact_mean_sentence

        said = exact_mean_sentence(rows, "sigma2", "E[σ̂²] = (n − 1)σ²/n, biased downwards by σ²/n")
        return [said] if said else []

    def exact_kl(self, model, n):
        from ..theory.exact_kl import normal_mle_kl

        return normal_mle_kl(n)

    def kl_finite_moments(self, model, n):
        # KL has the terms sigma2 / sigma2-hat and (mu-hat - mu)^2 / sigma2-hat, both of order 1/W with
        # W ~ chi2_{n-1}: E[W^-k] < inf iff k < (n - 1)/2.
        return max(math.ceil((n - 1) / 2) - 1, 0)


class NormalUnbiased(ScalarEstimator):
    name = "unbiased"
    targets = ("sigma2",)
    description = "sum((x - x-bar)^2)/(n-1) (unbiased for n >= 2)"

    def estimate(self, family, stats, n):
        if n < 2:
            return {}, np.zeros(len(stats["ss"]), np.int8)
        return {"sigma2": stats["ss"] / (n - 1)}, _boundary(stats["ss"])

    def standard_errors(self, family, values, n):
        # The inverse information 2 sigma2^2 at this estimator's own value (mu does not enter).
        return {"sigma2": np.sqrt(2.0 * values["sigma2"] ** 2 / n)}

    def exact_moments(self, model, parameter, n):
        s2 = model.theta["sigma2"]
        if n < 2:
            return math.nan, math.nan
        return s2, 2 * s2**2 / (n - 1)

    def exact_coverage(self, model, parameter, n, level):
        from ..theory.coverage import gaussian_variance_coverage

        return gaussian_variance_coverage(n, level, divisor=n - 1) if n >= 2 else math.nan

    def bias_derivative(self, model, parameter, n):
        return 0.0 if n >= 2 else math.nan

    def what_to_see(self, model, rows):
        from ..narrative import exact_mean_sentence

        said = exact_mean_sentence(rows, "sigma2", "Dividing by n − 1 removes the bias, E[s²] = σ²")
        return [said] if said else []


class Normal(Family):
    name = "normal"
    description = "normal observations with mean mu and variance sigma2"
    figure_notes = {
        "bias": "Here μ̂ = x̄ is unbiased; σ̂² = SS/n is biased by −σ²/n, and SS/(n − 1), where run, is not.",
        "efficiency": "σ̂² = SS/n is biased, so its efficiency against the CRLB exceeds 1 at small n.",
        "sampling": "x̄ is exactly normal at every n, so the μ panel matches N(0, 1) even at the smallest n; "
        "σ̂² is a scaled χ² with n − 1 degrees of freedom, skewed to the right at small n.",
    }
    parameters = (
        Parameter("mu", start=0.0, description="mean"),
        Parameter("sigma2", 0.0, start=1.0, description="variance"),
    )
    estimator_types = (NormalMLE, NormalUnbiased)

    def sample(self, rng: np.random.Generator, theta: Theta, size: tuple[int, int]) -> FloatArray:
        return rng.normal(theta["mu"], math.sqrt(theta["sigma2"]), size)

    def loglik(self, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        mu = np.asarray(theta["mu"], dtype=float)
        s2 = np.asarray(theta["sigma2"], dtype=float)
        n = x.shape[-1]
        ss = ((x - mu[..., None]) ** 2).sum(axis=-1)
        return -0.5 * n * np.log(2 * math.pi * s2) - ss / (2 * s2)

    def statistics(self, x: FloatArray) -> dict[str, FloatArray]:
        mean = x.mean(axis=-1)
        ss = ((x - mean[..., None]) ** 2).sum(axis=-1)
        # A constant sample whose mean is not representable leaves ss of order
        # n (eps * mean)^2 instead of 0; it is the unbounded-likelihood boundary
        # case all the same.  Only rows that small are re-checked, off the hot path.
        suspect = np.flatnonzero(ss <= x.shape[-1] * (4 * np.finfo(float).eps * mean) ** 2)
        if suspect.size:
            rows = x.reshape(-1, x.shape[-1])[suspect]
            ss.reshape(-1)[suspect[(rows == rows[:, :1]).all(axis=-1)]] = 0.0
        return {"mean": mean, "ss": ss}

    def draw_statistics(
        self, rng: np.random.Generator, theta: Theta, scratch: FloatArray
    ) -> dict[str, FloatArray]:
        # Reduce standard draws z in place, then map (z-bar, ss_z) to x = mu + sd z:
        # three passes over a buffer that stays in cache (einsum: row sums without
        # numpy's per-row reduction overhead at small n).  For n >= 2 a constant
        # sample has probability 0; at n = 1, z - z-bar is exactly 0, so ss = 0.
        n = scratch.shape[1]
        rng.standard_normal(out=scratch)
        zbar = row_sums(scratch) / n
        scratch -= zbar[:, None]
        ss = np.einsum("ij,ij->i", scratch, scratch)
        return {"mean": theta["mu"] + math.sqrt(theta["sigma2"]) * zbar, "ss": theta["sigma2"] * ss}

    def sufficient_statistics(
        self, rng: np.random.Generator, theta: Theta, n: int, reps: int
    ) -> dict[str, FloatArray]:
        # x-bar ~ N(mu, sigma2/n) independent of ss/sigma2 ~ chi-square(n-1) (Cochran).
        mean = rng.normal(theta["mu"], math.sqrt(theta["sigma2"] / n), reps)
        ss = theta["sigma2"] * rng.chisquare(n - 1, reps) if n > 1 else np.zeros(reps)
        return {"mean": mean, "ss": ss}

    def kl_divergence(self, theta: Theta, theta_hat: Mapping[str, FloatArray]) -> FloatArray:
        from ..theory.kl_divergence import normal_kl

        return normal_kl(theta["mu"], theta["sigma2"], theta_hat["mu"], theta_hat["sigma2"])

    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        s2 = np.asarray(theta["sigma2"], dtype=float)
        out = np.zeros(s2.shape + (2, 2))
        with np.errstate(divide="ignore"):
            out[..., 0, 0] = 1.0 / s2
            out[..., 1, 1] = 1.0 / (2.0 * s2**2)
        return out

    def inverse_fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        s2 = np.asarray(theta["sigma2"], dtype=float)
        out = np.zeros(s2.shape + (2, 2))
        out[..., 0, 0] = s2
        out[..., 1, 1] = 2.0 * s2**2
        return out
