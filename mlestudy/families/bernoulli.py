"""Bernoulli(p): the coin.  p-hat = k/n is unbiased and attains the CRLB exactly."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import Family, FloatArray, Parameter, ScalarEstimator, Status, Theta


class BernoulliMLE(ScalarEstimator):
    name = "mle"
    targets = ("p",)
    is_mle = True
    description = "sample proportion k/n (the MLE; unbiased)"

    def estimate(self, family, stats, n):
        k = stats["successes"]
        status = np.where((k == 0) | (k == n), np.int8(Status.BOUNDARY), np.int8(Status.OK))
        return {"p": k / n}, status

    def exact_moments(self, model, parameter, n):
        p = model.theta["p"]
        return p, p * (1.0 - p) / n

    def exact_coverage(self, model, parameter, n, level):
        from ..theory.coverage import bernoulli_coverage

        return bernoulli_coverage(model.theta["p"], n, level)

    def exact_kl(self, model, n):
        from ..theory.exact_kl import bernoulli_conditional_kl

        return bernoulli_conditional_kl(model.theta["p"], n)


class Bernoulli(Family):
    name = "bernoulli"
    description = "Bernoulli trials with success probability p"
    figure_notes = {
        "coverage": "p̂ = k/n lives on a lattice, so the exact coverage jumps as n grows, and at k = 0 or n "
        "the interval has zero width: far below nominal at small n.",
        "sampling": "p̂ takes only n + 1 values, so the bins are centred on them: at small n a few bars, "
        "one per value.",
    }
    parameters = (Parameter("p", 0.0, 1.0, start=0.5, description="success probability"),)
    estimator_types = (BernoulliMLE,)

    def sample(self, rng: np.random.Generator, theta: Theta, size: tuple[int, int]) -> FloatArray:
        return (rng.random(size) < theta["p"]).astype(np.float64)

    def loglik(self, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        p = np.asarray(theta["p"], dtype=float)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(x > 0, np.log(p), np.log1p(-p))
        return terms.sum(axis=-1)

    def statistics(self, x: FloatArray) -> dict[str, FloatArray]:
        return {"successes": x.sum(axis=-1)}

    def draw_statistics(
        self, rng: np.random.Generator, theta: Theta, scratch: FloatArray
    ) -> dict[str, FloatArray]:
        # Same uniforms as sample(); successes counted on 1-byte indicators
        # (uint8 row sums cannot overflow below 256 columns) and kept as
        # integers: the estimator divides them by n anyway.
        rng.random(out=scratch)
        success = scratch < theta["p"]
        if success.shape[1] < 256:
            counts = np.einsum("ij->i", success.view(np.uint8))
        else:
            counts = np.count_nonzero(success, axis=1)
        return {"successes": counts}

    def sufficient_statistics(
        self, rng: np.random.Generator, theta: Theta, n: int, reps: int
    ) -> dict[str, FloatArray]:
        # The number of successes in n trials is Binomial(n, p).
        return {"successes": rng.binomial(n, theta["p"], reps).astype(np.float64)}

    def kl_divergence(self, theta: Theta, theta_hat: Mapping[str, FloatArray]) -> FloatArray:
        from ..theory.kl_divergence import bernoulli_kl

        return bernoulli_kl(theta["p"], theta_hat["p"])

    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        p = np.asarray(theta["p"], dtype=float)
        with np.errstate(divide="ignore"):
            return (1.0 / (p * (1.0 - p)))[..., None, None]

    def inverse_fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        p = np.asarray(theta["p"], dtype=float)
        return (p * (1.0 - p))[..., None, None]
