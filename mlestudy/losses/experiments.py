"""The chapter's experiments as tables: one function per table, from the scenarios' own data.

Every number comes from replications regenerated from the scenarios' keyed
streams (:mod:`.data`); nothing is stored between jobs except these tables.
Which scenarios take part is decided by their model: gradient descent and the
binary cross-entropy need a logistic regression, log-sum-exp a softmax
regression; the underflow runs on every scenario.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..status import Status
from .classification import LOSSES, curvature_bound
from .data import ChapterScenario
from .gradient_descent import MAX_STEPS, TOLERANCES, Descent, descend, record_steps, steps_until_correct
from .stable import BCE_METHODS, REFERENCE_BITS, compare_bce, compare_softmax, nan_max
from .underflow import LOG_LARGEST, LOG_SMALLEST, underflow_windows

GRADIENT_REPLICATIONS = 200
"""Replications per (scenario, n) descended (the first ones of the run)."""
START_SCALE = -5.0
"""The saturated start: this multiple of the true coefficients (every prediction confidently wrong)."""
NUMERICS_REPLICATIONS = 500
"""Replications whose logits the log-sum-exp and cross-entropy comparisons use."""
SCALES = (1.0, 10.0, 100.0, 1000.0)
"""Factors the true logits are multiplied by (a more and more overconfident model)."""
BELOW = 1e-9
"""Relative margin by which a run's final loss must undercut the minimiser's to count as 'lower'."""
ONE_OBSERVATION_START = -10.0
"""The one-observation example: label 1, x = 1, logit -10 (the prediction confidently wrong)."""


def _mcse(values: np.ndarray) -> float:
    """Monte Carlo standard error of a mean over replications."""
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan


def _quantile(values: np.ndarray, q: float) -> float:
    """A quantile without interpolation (so an 'inf' for not-reached is never averaged)."""
    return float(np.quantile(values, q, method="inverted_cdf")) if values.size else math.nan


# --------------------------------------------------------------------------- gradient descent


def _targets(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Each loss's minimiser per replication, NaN where it has none (no MLE, not converged)."""
    from ..fitting import glm

    mle = glm.logistic(x, y)
    ls = glm.least_squares(x, y, mle)
    return {
        "cross_entropy": np.where((mle.status == Status.OK)[:, None], mle.beta, np.nan),
        "squared_error": np.where((ls.status == Status.OK)[:, None], ls.beta, np.nan),
    }


def _step_rows(sc: ChapterScenario, n: int, run: Descent, max_steps: int) -> list[dict]:
    inc = run.included
    g0 = run.start_gradient_norm[inc]
    final = run.excess[-1, inc]
    lower = final < -BELOW * np.abs(run.minimum[inc])
    rows = []
    for tol, first in sorted(run.steps.items(), reverse=True):
        steps = first[inc].astype(np.float64)
        steps[steps < 0] = math.inf
        rows.append(
            {
                "scenario": sc.name,
                "n": n,
                "loss": run.loss,
                "replications": int(inc.size),
                "start_scale": START_SCALE,
                "no_minimiser": int((~inc).sum()),
                "curvature_bound": curvature_bound(run.loss),
                "lipschitz_median": float(np.median(run.lipschitz[inc])) if inc.any() else math.nan,
                "start_gradient_median": float(np.median(g0)) if g0.size else math.nan,
                "start_gradient_min": float(g0.min()) if g0.size else math.nan,
                "start_gradient_max": float(g0.max()) if g0.size else math.nan,
                "tolerance": tol,
                "steps_median": _quantile(steps, 0.5),
                "steps_q10": _quantile(steps, 0.1),
                "steps_q90": _quantile(steps, 0.9),
                "steps_max": float(steps.max()) if steps.size else math.nan,
                "not_reached": int(np.isinf(steps).sum()),
                "max_steps": max_steps,
                "below_minimiser": int(lower.sum()),
            }
        )
    return rows


def _curve_rows(sc: ChapterScenario, n: int, run: Descent) -> pd.DataFrame:
    steps = record_steps(run.excess.shape[0] - 1)
    inc = run.included
    out = {"scenario": sc.name, "n": n, "loss": run.loss, "step": steps}
    for name, trace in (("excess", run.excess), ("gradient", run.gradient_norm)):
        values = trace[steps][:, inc]
        if not inc.any():
            values = np.full((steps.size, 1), np.nan)
        out[f"{name}_mean"] = values.mean(axis=1)
        for q in (10, 50, 90):
            out[f"{name}_q{q}"] = np.quantile(values, q / 100, axis=1)
    return pd.DataFrame(out)


def gradient_tables(
    scenarios: Sequence[ChapterScenario],
    replications: int = GRADIENT_REPLICATIONS,
    max_steps: int = MAX_STEPS,
    tolerances: Sequence[float] = TOLERANCES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Steps and curves of gradient descent, cross-entropy against squared error.

    For every logistic-regression scenario, at its smallest n and its largest n up to
    1000: the first ``replications`` data sets, each descended from
    :data:`START_SCALE` x beta with step 1/L on both losses.

    Returns
    -------
    steps, curves : DataFrame
        ``steps``: one row per (scenario, n, loss, tolerance); ``curves``: mean and
        10/50/90% quantiles over replications of the excess loss and the gradient norm,
        at every step up to 100 and then on a geometric grid.
    """
    steps, curves = [], []
    for sc in scenarios:
        if sc.glm_family != "logistic":
            continue
        start = START_SCALE * np.asarray(sc.model.beta, dtype=np.float64)
        for n in sorted({sc.small_n(), sc.large_n()}):
            raw = sc.data(n, replications)
            x, y = raw["x"], raw["y"]
            targets = _targets(x, y)
            for loss in LOSSES:
                run = descend(loss, x, y, start, targets[loss], tolerances=tolerances, max_steps=max_steps)
                steps.extend(_step_rows(sc, n, run, max_steps))
                curves.append(_curve_rows(sc, n, run))
    steps_frame = pd.DataFrame(steps, columns=STEP_COLUMNS)
    curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    return steps_frame, curve_frame[CURVE_COLUMNS]


STEP_COLUMNS = [
    "scenario",
    "n",
    "loss",
    "replications",
    "start_scale",
    "no_minimiser",
    "curvature_bound",
    "lipschitz_median",
    "start_gradient_median",
    "start_gradient_min",
    "start_gradient_max",
    "tolerance",
    "steps_median",
    "steps_q10",
    "steps_q90",
    "steps_max",
    "not_reached",
    "max_steps",
    "below_minimiser",
]
CURVE_COLUMNS = [
    "scenario",
    "n",
    "loss",
    "step",
    *(f"{m}_{s}" for m in ("excess", "gradient") for s in ("mean", "q10", "q50", "q90")),
]


def one_observation_table(start: float = ONE_OBSERVATION_START) -> pd.DataFrame:
    """Steps until one wrong observation (label 1, x = 1, logit ``start``) is predicted right.

    With learning rate 1 (the classic illustration) and with step 1/L (L the loss's
    curvature bound, x'x / n = 1 here).
    """
    rows = []
    for loss in LOSSES:
        for rule, rate in (("learning rate 1", 1.0), ("step 1/L", 1.0 / curvature_bound(loss))):
            rows.append(
                {
                    "loss": loss,
                    "step_rule": rule,
                    "learning_rate": rate,
                    "eta_start": start,
                    "steps": steps_until_correct(loss, start, rate),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- underflow


def underflow_table(scenarios: Sequence[ChapterScenario]) -> pd.DataFrame:
    """For every scenario: the sample size at which its raw likelihood leaves the float64 range."""
    rows = []
    for sc in scenarios:
        n = sc.large_n()
        result, info = underflow_windows(sc.model, sc.batches(n, sc.replications), n)
        k = result.sample_size.astype(np.float64)
        k[k == 0] = math.inf
        mean_logf = info["mean_logf"]
        limit = -LOG_SMALLEST if mean_logf < 0 else LOG_LARGEST
        hit = np.isfinite(k)
        rows.append(
            {
                "scenario": sc.name,
                "family": sc.family,
                "n": n,
                "sampler": sc.identity.get("sampler", "data"),
                "observations": info["observations"],
                "windows": int(k.size),
                "window": info["window"],
                "censored": result.censored,
                "overflow": int(result.overflow.sum()),
                "mean_logf": mean_logf,
                "first_order_n": limit / abs(mean_logf) if mean_logf else math.inf,
                "n_median": _quantile(k, 0.5),
                "n_q05": _quantile(k, 0.05),
                "n_q95": _quantile(k, 0.95),
                "n_min": float(k.min()) if k.size else math.nan,
                "n_max": float(k.max()) if k.size else math.nan,
                "loglik_median": float(np.median(result.loglik[hit])) if hit.any() else math.nan,
                "loglik_nonfinite": int((~np.isfinite(result.loglik[hit])).sum()),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- log-sum-exp and cross-entropy


def _logits(sc: ChapterScenario, replications: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The true linear predictors X beta and the labels of a GLM scenario's first replications."""
    n = sc.large_n()
    raw = sc.data(n, replications)
    return n, sc.model.linear_predictor(raw["x"]), raw["y"]


def logsumexp_table(
    scenarios: Sequence[ChapterScenario],
    replications: int = NUMERICS_REPLICATIONS,
    scales: Sequence[float] = SCALES,
) -> pd.DataFrame:
    """Naive against stable log-sum-exp and softmax on every softmax scenario's logits, scaled up."""
    rows = []
    for sc in scenarios:
        if sc.glm_family != "softmax":
            continue
        n, eta, y = _logits(sc, replications)
        # (K, R, n): classes first, class 0 (the reference) with logit 0.
        full = np.concatenate([np.zeros((1, *eta.shape[:-1])), np.moveaxis(eta, -1, 0)])
        for scale in scales:
            z = scale * full
            res = compare_softmax(z, y)
            row = {
                "scenario": sc.name,
                "n": n,
                "scale": scale,
                "replications": int(z.shape[1]),
                "max_abs_logit": float(np.abs(z).max()),
                "reference_bits": REFERENCE_BITS,
            }
            for method in ("naive", "stable"):
                r = res[method]
                row[f"{method}_loglik_nonfinite"] = int((~r["loglik_finite"]).sum())
                row[f"{method}_softmax_nonfinite"] = int((~r["softmax_finite"]).sum())
                row[f"{method}_loglik_max_rel_error"] = nan_max(r["loglik_rel_error"])
                row[f"{method}_softmax_max_error"] = nan_max(r["softmax_max_error"])
            rows.append(row)
    return pd.DataFrame(rows, columns=LOGSUMEXP_COLUMNS)


LOGSUMEXP_COLUMNS = [
    "scenario",
    "n",
    "scale",
    "replications",
    "max_abs_logit",
    "reference_bits",
    *(
        f"{m}_{c}"
        for m in ("naive", "stable")
        for c in ("loglik_nonfinite", "softmax_nonfinite", "loglik_max_rel_error", "softmax_max_error")
    ),
]


def bce_table(
    scenarios: Sequence[ChapterScenario],
    replications: int = NUMERICS_REPLICATIONS,
    scales: Sequence[float] = SCALES,
) -> pd.DataFrame:
    """Stable, naive and clipped binary cross-entropy on every logistic scenario's logits, scaled up.

    Per (scenario, scale, method): replications whose mean loss is not finite, the mean
    (with its MCSE) and largest relative error of the replication's mean loss against the
    extended-precision reference, and the largest per-observation absolute error.
    """
    rows = []
    for sc in scenarios:
        if sc.glm_family != "logistic":
            continue
        n, eta, y = _logits(sc, replications)
        for scale in scales:
            z = scale * eta
            res = compare_bce(z, y)
            with np.errstate(over="ignore"):
                saturated = float(
                    (1.0 / (1.0 + np.exp(-z)) == 1.0).mean()
                )  # sigmoid rounds to 1: log(1 - mu) = -inf
            for method in BCE_METHODS:
                r = res[method]
                rel = r["rel_error"][np.isfinite(r["rel_error"])]
                rows.append(
                    {
                        "scenario": sc.name,
                        "n": n,
                        "scale": scale,
                        "method": method,
                        "replications": int(len(z)),
                        "saturated_share": saturated,
                        "max_abs_logit": float(np.abs(z).max()),
                        "nonfinite": int((~np.isfinite(r["mean_loss"])).sum()),
                        "rel_error_mean": float(rel.mean()) if rel.size else math.nan,
                        "rel_error_mcse": _mcse(rel),
                        "rel_error_max_abs": float(np.abs(rel).max()) if rel.size else math.nan,
                        "max_abs_error": nan_max(r["max_abs_error"]),
                        "reference_bits": REFERENCE_BITS,
                    }
                )
    return pd.DataFrame(rows, columns=BCE_COLUMNS)


BCE_COLUMNS = [
    "scenario",
    "n",
    "scale",
    "method",
    "replications",
    "saturated_share",
    "max_abs_logit",
    "nonfinite",
    "rel_error_mean",
    "rel_error_mcse",
    "rel_error_max_abs",
    "max_abs_error",
    "reference_bits",
]
