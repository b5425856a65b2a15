"""The first-order bias against the bias of statsmodels' MLE in seeded simulations (normal features).

Each replication draws a new design (a random-design study) and fits statsmodels
(Logit, GLM Poisson, MNLogit), which shares no code with mlestudy.  To measure a
bias of order 1/n with a few thousand replications, the mean of beta-hat - beta is
taken with a control variate: the one-step term C = (X'WX)^-1 X'(y - mu) at the
true beta has mean exactly 0 given X, and beta-hat - beta - C is O(1/n), so its mean
is the bias with a far smaller Monte Carlo error (about 1/7 at n = 400).

The first-order theory is only the O(1/n) term, so the tolerance at the larger n is
4 MCSE plus an O(1/n^2) allowance: the excess over first order measured at the
smaller n (plus 4 of its MCSE), shrunk by (n_small / n_large)^2.  For logistic
regression the ratio true / first-order bias is also shown to exceed 1 at n = 100
and to approach 1 by n = 800 (issue 9: 1.35-1.41 at n = 50, within 10% at n = 400).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit, softmax

from mlestudy.theory.glm_bias import first_order_bias_coefficient

LOGISTIC = [-0.5, 1.0, -1.0, 0.5, 0.25]
POISSON = [0.5, 0.3, -0.3, 0.2, 0.1]
SOFTMAX = [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]]


def residuals(family: str, beta, n: int, reps: int, seed: int) -> np.ndarray:
    """beta-hat - beta - C per replication, (reps, q); beta-hat from statsmodels, started at the truth."""
    b = np.atleast_2d(np.asarray(beta, dtype=float))
    m, p = b.shape
    rng = np.random.default_rng([seed, n])
    out = np.empty((reps, b.size))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a separated or unconverged fit fails the test, never passes silently
        for r in range(reps):
            x = np.column_stack([np.ones(n), rng.standard_normal((n, p - 1))])
            eta = x @ b.T
            if family == "logistic":
                mu = expit(eta[:, 0])
                y = (rng.random(n) < mu).astype(float)
                fit = sm.Logit(y, x).fit(disp=0, method="newton", tol=1e-10, start_params=b[0])
                hat = fit.params
                info, score = (x.T * (mu * (1 - mu))) @ x, x.T @ (y - mu)
            elif family == "poisson":
                mu = np.exp(eta[:, 0])
                y = rng.poisson(mu)
                fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(tol=1e-12, start_params=b[0])
                hat = fit.params
                info, score = (x.T * mu) @ x, x.T @ (y - mu)
            else:
                probs = softmax(np.column_stack([np.zeros(n), eta]), axis=1)
                y = (rng.random(n)[:, None] > probs.cumsum(axis=1)).sum(axis=1)
                fit = sm.MNLogit(y, x).fit(disp=0, method="newton", tol=1e-10, start_params=b.ravel())
                hat = fit.params.T.ravel()  # statsmodels (p, K-1) -> class-major
                pi = probs[:, 1:]
                v = pi[:, :, None] * np.eye(m) - pi[:, :, None] * pi[:, None, :]
                info = np.einsum("nab,nj,nk->ajbk", v, x, x).reshape(b.size, b.size)
                score = np.einsum("na,nj->aj", np.eye(m + 1)[y][:, 1:] - pi, x).ravel()
            if family != "poisson":
                assert fit.mle_retvals["converged"]
            out[r] = hat - b.ravel() - np.linalg.solve(info, score)
    return out


def mean_and_mcse(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return a.mean(axis=0), a.std(axis=0, ddof=1) / np.sqrt(len(a))


@pytest.mark.parametrize(
    ("family", "beta", "n_small", "n_large", "reps"),
    [
        ("logistic", LOGISTIC, 100, 800, 3000),
        ("poisson", POISSON, 50, 200, 1000),
        ("softmax", SOFTMAX, 100, 400, 600),
    ],
)
def test_first_order_bias_explains_the_simulated_bias(
    family: str, beta, n_small: int, n_large: int, reps: int
) -> None:
    b1 = first_order_bias_coefficient(family, beta, "normal")
    res_small = residuals(family, beta, n_small, reps, seed=11)
    res_large = residuals(family, beta, n_large, reps, seed=12)
    small, small_se = mean_and_mcse(res_small)
    large, large_se = mean_and_mcse(res_large)
    # The simulation resolves the bias: a theory of zero bias would fail.
    assert np.max(np.abs(b1) / n_large / large_se) > 6
    allowance = (np.abs(small - b1 / n_small) + 4 * small_se) * (n_small / n_large) ** 2
    excess = np.abs(large - b1 / n_large) - 4 * large_se - allowance
    assert np.all(excess <= 0), f"{family}: simulated {large} vs first order {b1 / n_large} (MCSE {large_se})"
    if family == "logistic":
        # true / first-order bias, pooled over coefficients per replication: above 1 at n = 100, tending to 1.
        r_small, se_small = mean_and_mcse((res_small * n_small / b1).mean(axis=1))
        r_large, se_large = mean_and_mcse((res_large * n_large / b1).mean(axis=1))
        assert r_small > 1 + 4 * se_small
        assert r_small - r_large > 4 * np.hypot(se_small, se_large)
        assert abs(r_large - 1) < 0.1
