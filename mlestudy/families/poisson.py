"""Poisson(rate): counts.  rate-hat = x-bar is unbiased and attains the CRLB exactly."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import Family, FloatArray, Parameter, ScalarEstimator, Status, Theta


class PoissonMLE(ScalarEstimator):
    name = "mle"
    targets = ("rate",)
    is_mle = True
    description = "sample mean x-bar (the MLE; unbiased)"

    def estimate(self, family, stats, n):
        rate = stats["total"] / n
        # An all-zero sample puts the MLE on the boundary rate = 0.
        return {"rate": rate}, np.where(rate == 0, np.int8(Status.BOUNDARY), np.int8(Status.OK))

    def exact_moments(self, model, parameter, n):
        lam = model.theta["rate"]
        return lam, lam / n

    def exact_coverage(self, model, parameter, n, level):
        from ..theory.coverage import poisson_coverage

        return poisson_coverage(model.theta["rate"], n, level)

    def exact_kl(self, model, n):
        from ..theory.exact_kl import poisson_conditional_kl

        return poisson_conditional_kl(model.theta["rate"], n)


class Poisson(Family):
    name = "poisson"
    description = "Poisson counts with mean (rate) lambda"
    figure_notes = {
        "coverage": "Exact coverage is a sum over the Poisson law of the total; it jumps with n because the "
        "total is a count.",
        "sampling": "x̄ takes values on a lattice of step 1/n, and at small n the bins are centred on it, one bar "
        "per value.",
    }
    parameters = (Parameter("rate", 0.0, start=1.0, description="mean count per observation"),)
    estimator_types = (PoissonMLE,)

    def sample(self, rng: np.random.Generator, theta: Theta, size: tuple[int, int]) -> FloatArray:
        return rng.poisson(theta["rate"], size).astype(np.float64)

    def loglik(self, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        from scipy.special import gammaln  # only here: keeps scipy off the simulation jobs' imports

        lam = np.asarray(theta["rate"], dtype=float)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(x > 0, x * np.log(lam), 0.0) - lam - gammaln(x + 1.0)
        return terms.sum(axis=-1)

    def statistics(self, x: FloatArray) -> dict[str, FloatArray]:
        return {"total": x.sum(axis=-1)}

    def draw_statistics(
        self, rng: np.random.Generator, theta: Theta, scratch: FloatArray
    ) -> dict[str, FloatArray]:
        # numpy's poisson has no out=; the counts are summed in float64, as
        # statistics() does, because an int64 sum wraps round for n * rate > 9.2e18.
        counts = rng.poisson(theta["rate"], scratch.shape)
        return {"total": np.add.reduce(counts, axis=1, dtype=np.float64)}

    def sufficient_statistics(
        self, rng: np.random.Generator, theta: Theta, n: int, reps: int
    ) -> dict[str, FloatArray]:
        # A sum of n independent Poisson(lambda) counts is Poisson(n lambda).
        return {"total": rng.poisson(n * theta["rate"], reps).astype(np.float64)}

    def kl_divergence(self, theta: Theta, theta_hat: Mapping[str, FloatArray]) -> FloatArray:
        from ..theory.kl_divergence import poisson_kl

        return poisson_kl(theta["rate"], theta_hat["rate"])

    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        lam = np.asarray(theta["rate"], dtype=float)
        with np.errstate(divide="ignore"):
            return (1.0 / lam)[..., None, None]

    def inverse_fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        return np.asarray(theta["rate"], dtype=float)[..., None, None]
