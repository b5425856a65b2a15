"""Linear regression y = X beta + e, e ~ N(0, sigma2 I): the one regression model with exact theory.

Its negative log-likelihood in beta is the residual sum of squares: least
squares (the mean squared error loss) *is* maximum likelihood under Gaussian
noise.  The MLE is OLS for beta and RSS/n for sigma2; the unbiased variance
estimator divides by n - p.

Exact theory (the summary's ``exact_mean``, ``exact_variance``, ``crlb``):

- fixed design: beta-hat ~ N(beta, sigma2 (X'X)^-1), so it attains the bound;
  RSS/sigma2 ~ chi2_{n-p} independent of beta-hat.
- random Gaussian design (x = (1, z), z ~ N(0, Sigma)): Var(beta-hat) =
  sigma2 E[(X'X)^-1] -- slopes sigma2 [Sigma^-1]_jj/(n - p - 1) (inverse Wishart
  mean), intercept sigma2 (1/n + d/(n(n - d - 2))) -- finite only for n > p + 1.
  The CRLB of a random-design study is diag(inv(n E[x x'] / sigma2)), which OLS
  does not attain at finite n (slope efficiency (n - p - 1)/n); the average
  conditional bound E_X[sigma2 (X'X)^-1] is estimated by the simulation (the
  per-replication ``bound.*`` columns) so the Jensen gap shows.
- Wald coverage with the MLE sigma-hat: 2 F_t(z sqrt((n-p)/n); n-p) - 1 for every
  coefficient, whatever the design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..messages import shown
from ..status import Status
from ..theory import linear_regression as theory
from ..theory.linear_regression import ols_batch
from .base import POSITIVE, Block, Data, Estimator, Fit, FloatArray, Streams
from .regression import RegressionModel, is_finite_number


def ols(x: FloatArray, y: FloatArray) -> Data:
    """OLS of every replication of a batch (:func:`~mlestudy.theory.linear_regression.ols_batch`).

    Returns ``beta`` (R, p), ``rss`` (R,), ``xtx_inv_diag`` (R, p) and ``rank_ok`` (R,);
    rank-deficient replications have NaN.
    """
    fit = ols_batch(x, y)
    return {
        "beta": fit.beta,
        "rss": fit.rss,
        "xtx_inv_diag": np.diagonal(fit.xtx_inv, axis1=1, axis2=2).copy(),
        "rank_ok": ~fit.rank_deficient,
    }


def _status(data: Data) -> np.ndarray:
    status = np.where(data["rank_ok"], np.int8(Status.OK), np.int8(Status.RANK_DEFICIENT))
    status[data["rank_ok"] & (data["rss"] == 0)] = Status.BOUNDARY  # a perfect fit: sigma2-hat = 0
    return status


def _variance_se(sigma2_hat: FloatArray, n: int) -> FloatArray:
    """sqrt(2 sigma2-hat^2 / n): the inverse information of sigma2 at the estimate (as the normal family)."""
    return np.sqrt(2.0 * sigma2_hat**2 / n)


class OLS(Estimator):
    """OLS beta and RSS/n: the maximum-likelihood estimator."""

    name = "mle"
    is_mle = True
    description = "OLS beta and sigma2 = RSS/n (the MLE: least squares is Gaussian likelihood)"

    def parameters(self, model: LinearRegression) -> tuple[str, ...]:
        return model.parameter_names

    def fit(self, model: LinearRegression, data: Data, n: int) -> Fit:
        sigma2 = data["rss"] / n
        values = {name: data["beta"][:, j] for j, name in enumerate(model.coefficients)}
        se = {name: np.sqrt(sigma2 * data["xtx_inv_diag"][:, j]) for j, name in enumerate(model.coefficients)}
        values["sigma2"], se["sigma2"] = sigma2, _variance_se(sigma2, n)
        return Fit(values, se, _status(data))

    def exact_moments(self, model: LinearRegression, parameter: str, n: int) -> tuple[float, float]:
        if parameter == "sigma2":
            return theory.sigma2_moments("mle", n, model.p, model.theta["sigma2"])
        mean, var = model.beta_moments(n)
        j = model.coefficients.index(parameter)
        return float(mean[j]), float(var[j])

    def exact_coverage(self, model: LinearRegression, parameter: str, n: int, level: float) -> float:
        if parameter == "sigma2":
            return theory.sigma2_coverage("mle", n, model.p, level)
        return theory.beta_coverage(n, model.p, level)

    def finite_moments(self, model: LinearRegression, parameter: str, n: int) -> float:
        if parameter == "sigma2":
            return math.inf  # a scaled chi-square
        return model.beta_finite_moments(n)

    def bias_derivative(self, model: LinearRegression, parameter: str, n: int) -> float:
        # b(sigma2) = -p sigma2/n; OLS beta is unbiased.
        return -model.p / n if parameter == "sigma2" else 0.0

    def what_to_see(self, model: LinearRegression, rows: Any) -> list[str]:
        from ..narrative import exact_mean_sentence

        said = exact_mean_sentence(rows, "sigma2", f"E[σ̂²] = (n − p)σ²/n with p = {model.p} coefficients")
        return [said] if said else []

    def exact_kl(self, model: LinearRegression, n: int) -> float:
        from ..theory import exact_kl

        if model.law.fixed:
            return exact_kl.linear_regression_fixed_kl(n, model.p)
        if model.law.gaussian:
            return exact_kl.linear_regression_gaussian_kl(n, model.p)
        return math.nan

    def kl_finite_moments(self, model: LinearRegression, n: int) -> float:
        # sigma2 / sigma2-hat = n / W with W ~ chi2_{n-p}: E[W^-k] < inf iff k < (n - p)/2; the
        # coefficient term delta' M delta / sigma2-hat has the same order (and beta-hat's moments).
        return max(math.ceil((n - model.p) / 2) - 1, 0)


class UnbiasedVariance(Estimator):
    """RSS/(n - p): unbiased for sigma2."""

    name = "unbiased"
    description = "sigma2 = RSS/(n - p) (unbiased)"

    def parameters(self, model: LinearRegression) -> tuple[str, ...]:
        return ("sigma2",)

    def fit(self, model: LinearRegression, data: Data, n: int) -> Fit:
        sigma2 = data["rss"] / (n - model.p)
        return Fit({"sigma2": sigma2}, {"sigma2": _variance_se(sigma2, n)}, _status(data))

    def exact_moments(self, model: LinearRegression, parameter: str, n: int) -> tuple[float, float]:
        return theory.sigma2_moments("unbiased", n, model.p, model.theta["sigma2"])

    def exact_coverage(self, model: LinearRegression, parameter: str, n: int, level: float) -> float:
        return theory.sigma2_coverage("unbiased", n, model.p, level)

    def bias_derivative(self, model: LinearRegression, parameter: str, n: int) -> float:
        return 0.0


class LinearRegression(RegressionModel):
    name = "linear_regression"
    example = {"params": {"beta": [1.0, 2.0, -1.0, 0.5], "sigma2": 4.0}, "design": {"features": "normal"}}
    description = "linear regression y = X beta + e with Gaussian errors e ~ N(0, sigma2)"
    estimator_types = (OLS, UnbiasedVariance)
    extra_params = ("sigma2",)

    def figure_notes(self) -> dict[str, str]:
        if self.law.fixed:
            variance = "With one fixed design, OLS β̂ has variance σ²(X'X)⁻¹, its conditional bound."
        else:
            variance = ("With a new design every replication, Var β̂ = σ² E[(X'X)⁻¹] exceeds the Cramér–Rao "
                        "bound by the factor n/(n − p − 1) for normal features, so β̂'s ratio sits above 1.")  # fmt: skip
        return {
            "variance": variance,
            "bias": "OLS β̂ is unbiased; σ̂² = RSS/n is biased by −pσ²/n.",
        }

    @classmethod
    def check_extra_params(cls, params: Mapping[str, Any]) -> list[str]:
        sigma2 = params.get("sigma2")
        if sigma2 is None:
            return [f"key 'params.sigma2' is missing; family {cls.name!r} needs params beta and sigma2"]
        if not is_finite_number(sigma2) or not POSITIVE.contains(float(sigma2)):
            return [
                f"key 'params.sigma2' = {shown(sigma2)} is not allowed; sigma2 must be > 0 (a finite number)"
            ]
        return []

    def min_sample_size(self) -> int:
        return self.p + 1  # RSS needs n - p >= 1 degrees of freedom

    @property
    def blocks(self) -> tuple[Block, ...]:
        return (self.beta_block, Block("sigma2", (), POSITIVE, "error variance"))

    # -- data -----------------------------------------------------------------
    def sample(self, streams: Streams, n: int, rows: int) -> Data:
        x = self.design_matrix(streams, n, rows)
        eps = streams["response"].standard_normal((rows, n))
        y = self.linear_predictor(x) + math.sqrt(self.theta["sigma2"]) * eps
        return {"x": np.ascontiguousarray(x), "y": y}

    def reduce(self, raw: Data, n: int) -> Data:
        return ols(raw["x"], raw["y"])

    def loglik(self, raw: Data, theta: Mapping[str, FloatArray | float]) -> FloatArray:
        beta = np.stack([np.asarray(theta[c], dtype=float) for c in self.coefficients], axis=-1)
        s2 = np.asarray(theta["sigma2"], dtype=float)
        resid = raw["y"] - np.einsum("rni,ri->rn", raw["x"], np.broadcast_to(beta, (len(raw["y"]), self.p)))
        n = raw["y"].shape[-1]
        return -0.5 * n * np.log(2 * math.pi * s2) - np.einsum("rn,rn->r", resid, resid) / (2 * s2)

    @property
    def has_sufficient_sampler(self) -> bool:
        return self.law.fixed

    def draw_sufficient(self, streams: Streams, n: int, rows: int) -> Data:
        """beta-hat ~ N(beta, sigma2 (X'X)^-1) and RSS ~ sigma2 chi2_{n-p}, independent (fixed design)."""
        if not self.law.fixed:
            raise NotImplementedError("the sufficient sampler needs a fixed design")
        x = self.fixed_design(n)
        inv = np.linalg.inv(x.T @ x)
        s2 = self.theta["sigma2"]
        rng = streams["response"]
        z = rng.standard_normal((rows, self.p))
        beta = self.beta + math.sqrt(s2) * np.einsum("ij,rj->ri", np.linalg.cholesky(inv), z)
        rss = s2 * rng.chisquare(n - self.p, rows)
        return {
            "beta": beta,
            "rss": rss,
            "xtx_inv_diag": np.broadcast_to(np.diag(inv), (rows, self.p)),
            "rank_ok": np.ones(rows, dtype=bool),
        }

    # -- information and theory -------------------------------------------------
    def information(self, n: int) -> FloatArray:
        s2 = self.theta["sigma2"]
        out = np.zeros((self.p + 1, self.p + 1))
        if self.law.fixed:
            x = self.fixed_design(n)
            out[: self.p, : self.p] = x.T @ x / s2
        else:
            out[: self.p, : self.p] = n * self.law.second_moment / s2
        out[self.p, self.p] = n / (2 * s2**2)
        return out

    def beta_moments(self, n: int) -> tuple[FloatArray, FloatArray]:
        """Exact mean and variance of every beta-hat_j at n (NaN where there is no closed form).

        Fixed design: beta and sigma2 [(X'X)^-1]_jj (NaN if X'X is singular).
        Random design: beta and sigma2 E[(X'X)^-1]_jj for normal features,
        finite for n > p + 1.
        """
        s2 = self.theta["sigma2"]
        if self.law.fixed:
            x = self.fixed_design(n)
            if ols(x[None], np.zeros((1, n)))["rank_ok"][0]:
                return theory.beta_moments_fixed(x, self.beta, s2)
            return self.beta.copy(), np.full(self.p, np.nan)
        random = self.law.random_design()
        if random is None:  # mixed feature kinds: unbiased given full rank, no closed-form variance
            return self.beta.copy(), np.full(self.p, np.nan)
        return theory.beta_moments_random(random, n, self.beta, s2)

    def beta_finite_moments(self, n: int) -> float:
        """Highest k with E|beta-hat_j|^k finite (see :func:`~mlestudy.theory.linear_regression.beta_finite_moments`)."""
        if self.law.fixed:
            return math.inf
        random = self.law.random_design()
        if random is None:
            return (
                math.inf if "normal" not in self.law.kinds and "uniform" not in self.law.kinds else n - self.p
            )
        return theory.beta_finite_moments(random, n)

    def conditional_bound(self, data: Data, n: int) -> dict[str, FloatArray]:
        if self.law.fixed:
            return {}
        s2 = self.theta["sigma2"]
        return {name: s2 * data["xtx_inv_diag"][:, j] for j, name in enumerate(self.coefficients)}

    def kl_divergence(self, theta_hat: Mapping[str, FloatArray], n: int) -> FloatArray:
        """1/2 [r - 1 - log r + delta' M delta / sigma2-hat], M = E[x x'] or X'X / n (:mod:`..theory.kl_divergence`)."""
        from ..theory.kl_divergence import linear_regression_kl

        delta = (
            np.stack([np.asarray(theta_hat[c], dtype=float) for c in self.coefficients], axis=1) - self.beta
        )
        if self.law.fixed:
            x = self.fixed_design(n)
            moment = x.T @ x / n
        else:
            moment = self.law.second_moment
        return linear_regression_kl(self.theta["sigma2"], delta, theta_hat["sigma2"], moment)
