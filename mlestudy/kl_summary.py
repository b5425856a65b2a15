"""The KL columns of the summary: how far each fitted model is from the truth, per observation.

KL(true || fitted) is the expected excess cross-entropy (average negative
log-likelihood) of a new observation under the fitted model: the loss maximum
likelihood minimises, measured at the truth.  Only an estimator of every
parameter defines a fitted model, so only such estimators (every model's MLE,
the exponential's unbiased rate, logistic regression's least squares) get these
columns; the others get NaN.  The values are the same on every parameter row of
the estimator.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .config import Scenario
from .performance import mean_with_mcse
from .status import Status

KL_COLUMNS = [
    "kl",
    "kl_mcse",
    "kl_infinite",
    "kl_unresolved",
    "kl_asymptote",
    "exact_kl",
    "z_kl",
    "kl_finite_moments",
]
"""Summary columns written by :func:`kl_columns` (documented in the README)."""


def kl_columns(scenario: Scenario, frame: pd.DataFrame, name: str, n: int) -> dict[str, float]:
    """The KL columns of estimator ``name`` at sample size ``n`` from its per-replication estimates.

    ``kl`` is the mean over the usable replications with a finite KL (NaN where
    E[KL^k] is infinite for k = 1, see :meth:`~mlestudy.models.base.Estimator.kl_finite_moments`),
    ``kl_mcse`` its Monte Carlo standard error (needs k = 2), ``kl_infinite`` the usable
    replications whose KL is +inf (a fit on the boundary: E[KL] is then infinite, and
    ``kl`` is conditional on a finite KL), ``kl_unresolved`` those whose quadrature
    exceeded its node budget, ``kl_asymptote`` the first-order value, ``exact_kl`` the
    exact finite-n expectation of what ``kl`` averages, ``z_kl`` = (kl - exact) / MCSE, and
    ``kl_finite_moments`` the k above (the verdict compares z_kl only where k >= 2).
    """
    out = dict.fromkeys(KL_COLUMNS, math.nan)
    model = scenario.model
    estimator = model.estimators[name]
    if not model.has_kl_divergence or set(estimator.parameters(model)) != set(model.parameter_names):
        return out
    usable = Status.usable(frame[f"{name}.status"].to_numpy())
    theta_hat = {p: frame[f"{name}.{p}"].to_numpy()[usable] for p in model.parameter_names}
    kl = np.asarray(model.kl_divergence(theta_hat, n), dtype=float)
    finite = np.isfinite(kl)
    moments = estimator.kl_finite_moments(model, n)
    values = kl[finite]
    if values.size and np.ptp(values) == 0:  # one possible finite value (a coin at n = 2): no spread
        mean, mcse = float(values[0]), 0.0
    else:
        mean, mcse = mean_with_mcse(values)
    out["kl"] = mean if moments >= 1 else math.nan
    out["kl_mcse"] = mcse if moments >= 2 else math.nan
    out["kl_infinite"] = int(np.isposinf(kl).sum())
    out["kl_unresolved"] = int(np.isnan(kl).sum())
    out["kl_asymptote"] = estimator.kl_asymptote(model, n)
    out["exact_kl"] = exact = estimator.exact_kl(model, n)
    out["z_kl"] = _z(out["kl"], exact, out["kl_mcse"])
    out["kl_finite_moments"] = moments  # the verdict judges z_kl only where the MCSE exists (>= 2)
    return out


def _z(value: float, exact: float, mcse: float) -> float:
    """(value - exact) / mcse; with no Monte Carlo spread, 0 if they agree to 1e-12 and +-inf if not."""
    if not (math.isfinite(value) and math.isfinite(exact) and math.isfinite(mcse)):
        return math.nan
    if mcse > 0:
        return (value - exact) / mcse
    return 0.0 if math.isclose(value, exact, rel_tol=1e-12) else math.copysign(math.inf, value - exact)
