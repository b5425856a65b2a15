"""Classification and counts as maximum likelihood: logistic, Poisson and softmax regression.

Logistic regression is maximum likelihood with the binary cross-entropy loss,
softmax regression with the categorical cross-entropy, Poisson regression with
the Poisson deviance.  None has a closed-form MLE: every replication of a batch
is fitted at once by the batched Newton engine (:mod:`mlestudy.fitting.glm`),
and a replication whose MLE does not exist (separation, a zero-count face,
a rank-deficient design) is decided exactly by a linear program and counted
with its own status, never averaged in.

Theory: the Cramér–Rao bound of a random-design study from the per-observation
expected information n E[w x x'] (quadrature over the design law,
:mod:`mlestudy.theory.glm_information`), or (X'WX)^-1 for a fixed design; the
first-order bias of Cordeiro & McCullagh (1991) as *approximate* theory
(:mod:`mlestudy.theory.glm_bias`), never judged as exact; for logistic
regression with one Bernoulli feature, the exact probability that the MLE does
not exist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .base import Block, Data, Estimator, Fit, FloatArray, Streams
from .regression import RegressionModel

if TYPE_CHECKING:
    from ..fitting import glm as engine

# scipy, the engine and the quadratures are imported where they are used: every job process
# imports the model registry, and a job of another model must not pay for them (about 1 s).


class GLMMaximumLikelihood(Estimator):
    """The MLE by batched Newton; Wald standard errors from the information at the estimate."""

    name = "mle"
    is_mle = True
    description = "maximum likelihood by batched Newton (no closed form); Wald SE from X'WX at the estimate"

    def parameters(self, model: GLMRegression) -> tuple[str, ...]:
        return model.coefficients

    def fit(self, model: GLMRegression, data: Data, n: int) -> Fit:
        # The batch's MLE is fitted once, in the model's reduce(): least squares starts from it.
        return _fit(model, data["mle_beta"], data["mle_se"], data["mle_status"])

    def approximate_bias(self, model: GLMRegression, parameter: str, n: int) -> float:
        return float(model.first_order_bias(n)[model.coefficients.index(parameter)])

    def exact_no_mle_probability(self, model: GLMRegression, n: int) -> float:
        return model.no_mle_probability(n)


class GLMRegression(RegressionModel):
    """A canonical-link GLM with covariates, fitted by the batched engine."""

    family_name: ClassVar[str]
    """The family's name in :mod:`mlestudy.theory.glm_families` ('logistic', 'poisson', 'softmax')."""
    estimator_types = (GLMMaximumLikelihood,)

    def figure_notes(self) -> dict[str, str]:
        return {
            "bias": "The MLE has no closed form here (batched Newton), so no exact line is drawn; samples "
            "without a finite MLE are counted in the table, never averaged in.",
        }

    @classmethod
    def check_config(cls, params: Mapping[str, Any], design: Mapping[str, Any]) -> list[str]:
        problems = super().check_config(params, design)
        kinds = design.get("features", "normal")
        if isinstance(kinds, list) and len(set(kinds)) > 1:
            problems.append(
                f"key 'design.features' = {kinds!r} is not allowed; family {cls.name!r} needs one kind for "
                "every feature (its Cramér–Rao bound integrates over one feature law)"
            )
        return problems

    @property
    def blocks(self) -> tuple[Block, ...]:
        return (self.beta_block,)

    @cached_property
    def _law(self) -> tuple[str, float]:
        return (self.law.kinds[0] if self.law.kinds else "normal", self.law.correlation)

    def fit_mle(self, data: Data) -> engine.GLMFit:
        raise NotImplementedError

    def cost(self, n: int, sampler: str = "data") -> int:
        # Newton's passes over the pair products dominate the draws: measured about 30 n
        # draw-equivalents per replication for logistic regression at p = 5.
        q = self.beta.size
        return n * q * (self.p + 1) + super().cost(n, sampler)

    def reduce(self, raw: Data, n: int) -> Data:
        """The raw data and the batch's MLE (fitted once, shared by every estimator)."""
        fit = self.fit_mle(raw)
        rows = len(fit.status)
        return {
            **raw,
            "mle_beta": fit.beta.reshape(rows, -1),
            "mle_se": fit.se.reshape(rows, -1),
            "mle_status": fit.status,
        }

    # -- information and theory -------------------------------------------------
    def information(self, n: int) -> FloatArray:
        from ..theory import glm_information

        if self.law.fixed:
            return glm_information.information_fixed_design(self.family_name, self.beta, self.fixed_design(n))
        features, rho = self._law
        return n * glm_information.expected_information(self.family_name, self.beta, features, rho)

    def first_order_bias(self, n: int) -> FloatArray:
        """Cordeiro–McCullagh O(1/n) bias of every coefficient (approximate theory)."""
        from ..theory import glm_bias

        memo = self.__dict__.setdefault("_bias", {})
        if n not in memo:
            if self.law.fixed:
                x = self.fixed_design(n)
                memo[n] = glm_bias.first_order_bias_fixed_design(self.family_name, self.beta, x)
            else:
                features, rho = self._law
                memo[n] = glm_bias.first_order_bias(self.family_name, self.beta, features, n, rho)
        return memo[n]

    def no_mle_probability(self, n: int) -> float:
        """Exact P(no MLE) where theory has it; NaN elsewhere."""
        return math.nan

    def kl_divergence(self, theta_hat: Mapping[str, FloatArray], n: int) -> FloatArray:
        """E_x KL(y | x; beta || y | x; beta-hat): closed forms for Poisson, quadrature for logistic and
        softmax (:mod:`..theory.kl_divergence`, :mod:`..theory.kl_glm`)."""
        from ..theory.kl_divergence import poisson_regression_kl, poisson_regression_kl_fixed
        from ..theory.kl_glm import categorical_kl

        beta_hat = np.stack([np.asarray(theta_hat[c], dtype=float) for c in self.coefficients], axis=1)
        x = self.fixed_design(n) if self.law.fixed else None
        features, rho = self._law
        if self.family_name == "poisson":
            if x is not None:
                return poisson_regression_kl_fixed(self.beta, beta_hat, x)
            return poisson_regression_kl(self.beta, beta_hat, features, self.law.feature_covariance)
        return categorical_kl(self.family_name, self.beta, beta_hat, features=features, correlation=rho, x=x)

    def weights(self, eta: FloatArray) -> FloatArray:
        """The GLM weights w(eta) of the information X'WX (logistic and Poisson)."""
        raise NotImplementedError

    def conditional_bound(self, data: Data, n: int) -> dict[str, FloatArray]:
        """diag((X'WX)^-1) at the true beta, per replication of a random design."""
        if self.law.fixed:
            return {}
        x = data["x"]
        # X'WX per replication: one matrix product each (a three-operand einsum is several times slower).
        info = np.matmul(x.transpose(0, 2, 1) * self.weights(self.linear_predictor(x))[:, None, :], x)
        from ..fitting.newton import batched_inverse

        inv = batched_inverse(info)  # NaN for a singular (rank-deficient) design
        return {p: inv[:, j, j] for j, p in enumerate(self.coefficients)}


class LeastSquares(Estimator):
    """Squared-error loss on a binary outcome: consistent, but less efficient than the MLE."""

    name = "least_squares"
    description = (
        "minimises the squared error sum (y - sigmoid(x'beta))^2 (MSE as a classification loss; batched "
        "Newton from the MLE); sandwich SE A^-1 B A^-1"
    )

    def parameters(self, model: GLMRegression) -> tuple[str, ...]:
        return model.coefficients

    def fit(self, model: GLMRegression, data: Data, n: int) -> Fit:
        from ..fitting import glm as engine

        start = engine.GLMFit(
            data["mle_beta"],
            np.empty((len(data["mle_status"]), 0, 0)),
            np.empty(0),
            np.empty(0),
            data["mle_status"],
        )
        result = engine.least_squares(data["x"], data["y"], start)
        return _fit(model, result.beta, result.se, result.status)

    def asymptotic_relative_efficiency(self, model: GLMRegression, parameter: str, n: int) -> float:
        return float(model.least_squares_efficiency(n)[model.coefficients.index(parameter)])

    def kl_asymptote(self, model: GLMRegression, n: int) -> float:
        """tr(I_1 A^-1 B A^-1) / (2n): first-order E[KL] of least squares, above the MLE's k/(2n)."""
        return model.least_squares_kl_asymptote(n)


class LogisticRegression(GLMRegression):
    name = "logistic_regression"
    example = {"params": {"beta": [-0.5, 1.0, -1.0, 0.5, 0.25]}, "design": {"features": "normal"}}
    description = (
        "logistic regression P(y = 1 | x) = sigmoid(x'beta): maximum likelihood is the binary cross-entropy"
    )
    family_name = "logistic"
    estimator_types = (GLMMaximumLikelihood, LeastSquares)

    def least_squares_efficiency(self, n: int) -> FloatArray:
        """First-order variance of the MLE over that of least squares, per coefficient (sandwich theory).

        Random design: the per-observation ratio, the same at every n.  Fixed design:
        the ratio for the design at n.
        """
        from ..theory import glm_information, least_squares

        if self.law.fixed:
            x = self.fixed_design(n)
            sandwich = least_squares.least_squares_sandwich_fixed_design(self.family_name, self.beta, x)
            inverse = np.linalg.inv(glm_information.information_fixed_design(self.family_name, self.beta, x))
            return np.diag(inverse) / np.diag(sandwich)
        features, rho = self._law
        return least_squares.least_squares_efficiency(self.family_name, self.beta, features, rho)

    def least_squares_kl_asymptote(self, n: int) -> float:
        """tr(I A^-1 B A^-1) / (2n) with per-observation I and sandwich (random design), or
        tr(X'WX S) / (2n) with S the fixed design's sandwich covariance (first-order theory)."""
        from ..theory import glm_information, least_squares

        if self.law.fixed:
            x = self.fixed_design(n)
            sandwich = least_squares.least_squares_sandwich_fixed_design(self.family_name, self.beta, x)
            info = glm_information.information_fixed_design(self.family_name, self.beta, x)
            return float(np.trace(info @ sandwich)) / (2 * n)
        features, rho = self._law
        sandwich = least_squares.least_squares_sandwich(self.family_name, self.beta, features, rho)
        info = glm_information.expected_information(self.family_name, self.beta, features, rho)
        return float(np.trace(info @ sandwich)) / (2 * n)

    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        x = self.design_matrix(streams, n, rows)
        u = streams["response"].random((rows, n))
        from scipy.special import expit

        return {"x": np.ascontiguousarray(x), "y": (u < expit(self.linear_predictor(x))).astype(np.float64)}

    def fit_mle(self, data: Data) -> engine.GLMFit:
        from ..fitting import glm as engine

        return engine.logistic(data["x"], data["y"])

    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        eta = _eta(self, raw["x"], theta)
        y = raw["y"]
        from scipy.special import log_expit

        return np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta), axis=-1)

    def weights(self, eta: FloatArray) -> FloatArray:
        from scipy.special import expit

        mu = expit(eta)
        return mu * (1 - mu)

    def no_mle_probability(self, n: int) -> float:
        from ..theory.separation_probability import no_mle_probability, no_mle_probability_fixed_design

        if self.p != 2 or self.law.kinds != ("bernoulli",):
            return math.nan
        if self.law.fixed:
            x1 = int(self.fixed_design(n)[:, 1].sum())
            return no_mle_probability_fixed_design(self.beta, n - x1, x1)
        return no_mle_probability(self.beta, n)


class PoissonRegression(GLMRegression):
    name = "poisson_regression"
    example = {"params": {"beta": [0.5, 0.3, -0.3, 0.2, 0.1]}, "design": {"features": "normal"}}
    description = "Poisson regression E[y | x] = exp(x'beta): maximum likelihood is the Poisson deviance"
    family_name = "poisson"

    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        x = self.design_matrix(streams, n, rows)
        counts = streams["response"].poisson(np.exp(self.linear_predictor(x)))
        return {"x": np.ascontiguousarray(x), "y": counts.astype(np.float64)}

    def fit_mle(self, data: Data) -> engine.GLMFit:
        from ..fitting import glm as engine

        return engine.poisson(data["x"], data["y"])

    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        eta = _eta(self, raw["x"], theta)
        y = raw["y"]
        with np.errstate(over="ignore"):
            return np.sum(y * eta - np.exp(eta) - _gammaln(y + 1), axis=-1)

    def weights(self, eta: FloatArray) -> FloatArray:
        with np.errstate(over="ignore"):
            return np.exp(eta)


class SoftmaxRegression(GLMRegression):
    name = "softmax_regression"
    example = {"params": {"beta": [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]]}, "design": {"features": "normal"}}
    description = (
        "softmax (multinomial logistic) regression over K classes, class 0 the reference with beta = 0: "
        "maximum likelihood is the categorical cross-entropy"
    )
    family_name = "softmax"
    matrix_beta = True

    @property
    def classes(self) -> int:
        return self.beta.shape[0] + 1

    def probabilities(self, x: FloatArray) -> FloatArray:
        """Class probabilities (rows, n, K) by shifted log-sum-exp."""
        eta = self.linear_predictor(x)
        full = np.concatenate([np.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)
        from scipy.special import logsumexp

        return np.exp(full - logsumexp(full, axis=-1, keepdims=True))

    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        x = self.design_matrix(streams, n, rows)
        cumulative = np.cumsum(self.probabilities(x), axis=-1)[..., :-1]
        u = streams["response"].random((rows, n))
        return {"x": np.ascontiguousarray(x), "y": (u[..., None] >= cumulative).sum(axis=-1).astype(np.int64)}

    def fit_mle(self, data: Data) -> engine.GLMFit:
        from ..fitting import glm as engine

        return engine.softmax(data["x"], data["y"], self.classes)

    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        eta = _eta(self, raw["x"], theta)  # (rows, n, K-1)
        full = np.concatenate([np.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)
        picked = np.take_along_axis(full, raw["y"][..., None].astype(np.intp), axis=-1)[..., 0]
        from scipy.special import logsumexp

        return np.sum(picked - logsumexp(full, axis=-1), axis=-1)

    def conditional_bound(self, data: Data, n: int) -> dict[str, FloatArray]:
        if self.law.fixed:
            return {}
        x = data["x"]
        prob = self.probabilities(x)[..., 1:]  # (rows, n, K-1)
        k1, p = self.beta.shape
        w = prob[..., :, None] * (np.eye(k1) - prob[..., None, :])  # pi_k (delta_kl - pi_l)
        info = np.einsum("rnkl,rni,rnj->rkilj", w, x, x).reshape(len(x), k1 * p, k1 * p)
        from ..fitting.newton import batched_inverse

        inv = batched_inverse(info)
        return {name: inv[:, j, j] for j, name in enumerate(self.coefficients)}


def _gammaln(x: FloatArray) -> FloatArray:
    from scipy.special import gammaln

    return gammaln(x)


def _fit(model: GLMRegression, beta: FloatArray, se: FloatArray, status: np.ndarray) -> Fit:
    rows = len(status)
    beta, se = beta.reshape(rows, -1), se.reshape(rows, -1)
    names = model.coefficients
    return Fit(
        {p: beta[:, j] for j, p in enumerate(names)}, {p: se[:, j] for j, p in enumerate(names)}, status
    )


def _eta(model: GLMRegression, x: FloatArray, theta: Mapping[str, FloatArray | float]) -> FloatArray:
    """X beta at flat parameters ``theta`` (arrays over replications), for the log-likelihood."""
    rows = x.shape[0]
    beta = np.stack(
        [np.broadcast_to(np.asarray(theta[c], float), (rows,)) for c in model.coefficients], axis=-1
    )
    if model.beta.ndim == 2:
        return np.einsum("rni,rki->rnk", x, beta.reshape(rows, *model.beta.shape))
    return np.einsum("rni,ri->rn", x, beta)
