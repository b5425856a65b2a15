"""Gamma(shape, rate): a family whose MLE has no closed form.

The MLE depends on the data through x-bar and the mean of log x.  Profiling out
the rate (rate = shape / x-bar) leaves one equation for the shape,

    log(shape) - digamma(shape) = s,   s = log(x-bar) - mean(log x) >= 0,

solved here by Newton's method batched over all replications at once, with a
per-replication convergence status.  s = 0 (n = 1, or a constant sample) has
no solution: the likelihood grows without bound and the estimate is undefined.

Near s = 0 the shape estimate behaves like 1/(2s), and s has density of order
s^((n-1)/2 - 1) there, so E[shape-hat^k] is finite only for k < (n-1)/2: the
MLE's variance does not exist until n >= 6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .base import Family, FloatArray, Parameter, ScalarEstimator, Status, Theta

NEWTON_MAX_ITER = 100
NEWTON_RTOL = 1e-12
SERIES_FROM = 20.0
"""Above this shape, log(a) - digamma(a) comes from its asymptotic series.

Computed directly it is a difference of two numbers near log(a) that agree in
all but ~1/(2a): at a = 1e4 a quarter of the digits cancel, and Newton cannot
meet its tolerance.  The series (Bernoulli numbers, to a^-10) is exact to
rounding from a = 20 on.
"""


def log_minus_digamma(a: FloatArray) -> FloatArray:
    """log(a) - digamma(a), accurate for large a too."""
    from scipy.special import digamma  # here, not at the top: every job imports the family registry

    a = np.asarray(a, dtype=float)
    big = a >= SERIES_FROM
    small = np.where(big, 1.0, a)
    out = np.log(small) - digamma(small)
    r = 1.0 / np.where(big, a, 1.0)
    r2 = r * r
    series = r / 2 + r2 * (1 / 12 - r2 * (1 / 120 - r2 * (1 / 252 - r2 * (1 / 240 - r2 / 132))))
    return np.where(big, series, out)


def d_log_minus_digamma(a: FloatArray) -> FloatArray:
    """Derivative 1/a - trigamma(a), accurate for large a too."""
    a = np.asarray(a, dtype=float)
    big = a >= SERIES_FROM
    small = np.where(big, 1.0, a)
    from scipy.special import polygamma

    out = 1.0 / small - polygamma(1, small)
    r = 1.0 / np.where(big, a, 1.0)
    r2 = r * r
    series = -r2 * (1 / 2 + r * (1 / 6 - r2 * (1 / 30 - r2 * (1 / 42 - r2 / 30))))
    return np.where(big, series, out)


def solve_shape(s: FloatArray) -> tuple[FloatArray, np.ndarray]:
    """Solve log(a) - digamma(a) = s for every element of s by batched Newton.

    Iterates on 1/a (Minka 2002), which converges in a handful of steps from
    Minka's closed-form start.  Returns the shapes and a converged mask.
    """
    s = np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
        active = np.isfinite(a) & (s > 0)
        converged = np.zeros(s.shape, dtype=bool)
        for _ in range(NEWTON_MAX_ITER):
            if not active.any():
                break
            x = a[active]
            g = log_minus_digamma(x) - s[active]
            dg = d_log_minus_digamma(x)
            inv = 1.0 / x + g / (x * x * dg)
            new = 1.0 / inv
            bad = ~np.isfinite(new) | (new <= 0)
            new[bad] = x[bad] * 0.5  # step back into the domain
            done = np.abs(new - x) <= NEWTON_RTOL * new
            a[active] = new
            idx = np.flatnonzero(active)
            converged[idx[done]] = True
            active[idx[done]] = False
    return a, converged


class GammaMLE(ScalarEstimator):
    name = "mle"
    targets = ("shape", "rate")
    is_mle = True
    description = "maximum likelihood by batched Newton (no closed form)"

    def estimate(self, family, stats, n):
        mean = stats["mean"]
        s = np.log(mean) - stats["mean_log"]
        s = np.where(s > 0, s, 0.0)  # Jensen: s >= 0; rounding can leave -1e-17
        shape, converged = solve_shape(s)
        status = np.where(converged, Status.OK, Status.NOT_CONVERGED).astype(np.int8)
        status[s == 0] = Status.UNDEFINED  # unbounded likelihood: no MLE
        return {"shape": shape, "rate": shape / mean}, status

    def finite_moments(self, model, parameter, n):
        # E[shape-hat^k] < inf iff k < (n-1)/2 (see the module docstring).
        return max(math.ceil((n - 1) / 2) - 1, 0)

    def kl_finite_moments(self, model, n):
        # The KL grows linearly in shape-hat (its log Gamma and shape-hat log(rate) terms nearly
        # cancel), so it has the moments of shape-hat.
        return self.finite_moments(model, "shape", n)


class Gamma(Family):
    name = "gamma"
    description = "gamma observations with shape alpha and rate beta (mean alpha/beta)"
    figure_notes = {
        "bias": "The gamma MLE has no closed form (Newton's method on the shape), so no exact line is drawn: "
        "the points are the only evidence here.",
        "sampling": "At small n the shape's MLE is skewed to the right.",
    }
    parameters = (
        Parameter("shape", 0.0, start=1.0, description="shape alpha"),
        Parameter("rate", 0.0, start=1.0, description="rate beta"),
    )
    estimator_types = (GammaMLE,)

    def sample(self, rng: np.random.Generator, theta: Theta, size: tuple[int, int]) -> FloatArray:
        return rng.gamma(theta["shape"], 1.0 / theta["rate"], size)

    def loglik(self, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        a = np.asarray(theta["shape"], dtype=float)
        b = np.asarray(theta["rate"], dtype=float)
        n = x.shape[-1]
        from scipy.special import gammaln

        return n * (a * np.log(b) - gammaln(a)) + (a - 1) * np.log(x).sum(axis=-1) - b * x.sum(axis=-1)

    def statistics(self, x: FloatArray) -> dict[str, FloatArray]:
        return {"mean": x.mean(axis=-1), "mean_log": np.log(x).mean(axis=-1)}

    def kl_divergence(self, theta: Theta, theta_hat: Mapping[str, FloatArray]) -> FloatArray:
        from ..theory.kl_divergence import gamma_kl

        return gamma_kl(theta["shape"], theta["rate"], theta_hat["shape"], theta_hat["rate"])

    def fisher_information(self, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        a = np.asarray(theta["shape"], dtype=float)
        b = np.asarray(theta["rate"], dtype=float)
        out = np.empty(np.broadcast(a, b).shape + (2, 2))
        from scipy.special import polygamma

        out[..., 0, 0] = polygamma(1, a)
        out[..., 0, 1] = out[..., 1, 0] = -1.0 / b
        out[..., 1, 1] = a / b**2
        return out
