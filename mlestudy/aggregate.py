"""From per-replication fits to the tidy summary table of one scenario.

One row per (estimator, flat parameter, n).  Every estimator brings its own
per-replication standard errors (the Wald intervals use them as they are) and
its own theory; the model brings the Cramér–Rao bound of a size-n sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Scenario
from .estimates_io import read_estimates
from .kl_summary import KL_COLUMNS, kl_columns
from .model_se import COLUMNS as MODEL_SE_COLUMNS
from .model_se import model_se_measures
from .models.base import block_of
from .performance import mean_with_mcse, performance, wald_covered
from .status import NO_ESTIMATE, Status
from .theory.coverage import coverage_z

SUMMARY_COLUMNS = [
    "scenario",
    "family",
    "estimator",
    "parameter",
    "block",
    "index",
    "n",
    "replications",
    "n_failed",
    "n_boundary",
    "n_separated",
    "n_not_converged",
    "n_degenerate",
    "n_local_optimum",
    "n_no_minimiser",
    "true_value",
    "mean",
    "bias",
    "bias_mcse",
    "relative_bias",
    "relative_bias_mcse",
    "variance",
    "variance_mcse",
    "variance_mcse_normal",
    "mse",
    "mse_mcse",
    "block_mse",
    "block_mse_mcse",
    "crlb",
    "efficiency",
    "efficiency_mcse",
    "cond_crlb",
    "cond_crlb_mcse",
    "rel_efficiency",
    "rel_efficiency_mcse",
    "asymptotic_rel_efficiency",
    "rel_mse",
    "rel_mse_mcse",
    "approx_bias",
    "separated_rate",
    "separated_rate_mcse",
    "exact_separated_rate",
    "z_separated_rate",
    "exact_mean",
    "exact_variance",
    "z_mean",
    "z_variance",
    "coverage",
    "coverage_mcse",
    "exact_coverage",
    "z_coverage",
    *MODEL_SE_COLUMNS,
    *KL_COLUMNS,
    "ci_level",
    "finite_moments",
]
"""Columns of ``summary.csv``, documented in the README."""


def usable(frame: pd.DataFrame, estimator: str, parameters: Iterable[str]) -> np.ndarray:
    """Replications whose estimate enters the measures: a usable status and finite values.

    A non-finite value under a usable status (a family that did not flag an
    overflow, or a damaged file) is a failure, counted in ``n_failed``, never a
    number in a mean.  The status belongs to the estimator, so one non-finite
    parameter fails the replication for all of them.
    """
    ok = Status.usable(frame[f"{estimator}.status"].to_numpy())
    for p in parameters:
        ok &= np.isfinite(frame[f"{estimator}.{p}"].to_numpy())
    return ok


def summarise_sample_size(scenario: Scenario, frame: pd.DataFrame, n: int) -> list[dict]:
    """Summary rows of every (estimator, parameter) at one sample size."""
    model = scenario.model
    crlb = model.crlb(n)
    rows = []
    for name in scenario.estimators:
        estimator = model.estimators[name]
        status = frame[f"{name}.status"].to_numpy()
        targets = estimator.parameters(model)
        ok = usable(frame, name, targets)
        block_mse = _block_mse(model, estimator, frame, name, targets, ok, n)
        separated = _separation(estimator, model, status, n)
        kl = kl_columns(scenario, frame, name, n)
        for parameter in targets:
            values = frame[f"{name}.{parameter}"].to_numpy()
            se = frame[f"{name}.se.{parameter}"].to_numpy()
            truth = model.theta[parameter]
            covered = wald_covered(values[ok], se[ok], truth, scenario.ci_level)
            exact_mean, exact_variance = estimator.exact_moments(model, parameter, n)
            exact_coverage = estimator.exact_coverage(model, parameter, n, scenario.ci_level)
            moments = estimator.finite_moments(model, parameter, n)
            perf = performance(
                values[ok],
                truth,
                n_failed=int((~ok).sum()),
                crlb=crlb[parameter],
                exact_mean=exact_mean,
                exact_variance=exact_variance,
                finite_moments=moments,
                covered=covered,
            )
            bound_column = f"bound.{parameter}"
            cond, cond_mcse = (
                mean_with_mcse(frame[bound_column].to_numpy()[ok])
                if bound_column in frame
                else (crlb[parameter], 0.0)
            )
            block, index = block_of(parameter)
            rows.append(
                {
                    "scenario": scenario.name,
                    "family": scenario.family,
                    "estimator": name,
                    "parameter": parameter,
                    "block": block,
                    "index": index,
                    "n": n,
                    "n_boundary": int(((status == Status.BOUNDARY) & ok).sum()),
                    "n_separated": int(np.isin(status, list(NO_ESTIMATE)).sum()),
                    "n_not_converged": int((status == Status.NOT_CONVERGED).sum()),
                    "n_degenerate": int((status == Status.DEGENERATE).sum()),
                    "n_local_optimum": int((status == Status.LOCAL_OPTIMUM).sum()),
                    "n_no_minimiser": int((status == Status.NO_MINIMISER).sum()),
                    "true_value": truth,
                    "ci_level": scenario.ci_level,
                    "finite_moments": moments,
                    "block_mse": block_mse[block_of(parameter)[0]][0],
                    "block_mse_mcse": block_mse[block_of(parameter)[0]][1],
                    "approx_bias": estimator.approximate_bias(model, parameter, n),
                    **_against_mle(scenario, frame, name, parameter, ok, n),
                    **separated,
                    "cond_crlb": cond,
                    "cond_crlb_mcse": cond_mcse,
                    "exact_coverage": exact_coverage,
                    "z_coverage": coverage_z(perf.coverage, exact_coverage, len(covered)),
                    **model_se_measures(values[ok], se[ok], scenario.ci_level, moments),
                    **kl,
                    **perf.as_dict(),
                }
            )
    return rows


def _block_mse(model, estimator, frame, name, targets, ok, n) -> dict[str, tuple[float, float]]:
    """Total MSE of each block (sum over its elements) with its MCSE, from per-replication sums.

    The elements of a block are estimated from the same data, so their errors
    are correlated: the MCSE comes from the per-replication total, not from
    adding the elements' MCSEs.  NaN where an element's variance (or, for the
    MCSE, its fourth moment) does not exist.
    """
    out = {}
    for block in model.blocks:
        names = [p for p in block.flat_names if p in targets]
        if not names:
            continue
        moments = min(estimator.finite_moments(model, p, n) for p in names)
        err2 = sum((frame[f"{name}.{p}"].to_numpy()[ok] - model.theta[p]) ** 2 for p in names)
        mean, mcse = mean_with_mcse(err2) if moments >= 2 else (math.nan, math.nan)
        out[block.name] = (mean, mcse if moments >= 4 else math.nan)
    return out


def _paired_ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """mean(num) / mean(den) over the same replications, with its influence-function MCSE.

    The two estimators are computed from the same data, so their errors are
    correlated: the MCSE of the ratio comes from the per-replication pairs
    (delta method), not from the two MCSEs apart.
    """
    r = len(num)
    if r < 2 or not np.mean(den) > 0:
        return math.nan, math.nan
    ratio = float(np.mean(num) / np.mean(den))
    influence = (num - ratio * den) / np.mean(den)
    return ratio, float(np.std(influence, ddof=1) / math.sqrt(r))


def _against_mle(scenario: Scenario, frame: pd.DataFrame, name: str, parameter: str, ok, n: int) -> dict:
    """Var(MLE) / Var(this) and MSE(this) / MSE(MLE) on the replications where both are usable."""
    model = scenario.model
    mle = model.mle().name
    out = dict.fromkeys(("rel_efficiency", "rel_efficiency_mcse", "rel_mse", "rel_mse_mcse"), math.nan)
    estimator = model.estimators[name]
    out["asymptotic_rel_efficiency"] = estimator.asymptotic_relative_efficiency(model, parameter, n)
    if name == mle or mle not in scenario.estimators or f"{mle}.{parameter}" not in frame:
        return out
    moments = min(
        estimator.finite_moments(model, parameter, n), model.mle().finite_moments(model, parameter, n)
    )
    this, ref = frame[f"{name}.{parameter}"].to_numpy(), frame[f"{mle}.{parameter}"].to_numpy()
    both = ok & Status.usable(frame[f"{mle}.status"].to_numpy()) & np.isfinite(this) & np.isfinite(ref)
    this, ref = this[both], ref[both]
    if moments < 4 or len(this) < 2:  # the MCSE of a variance needs fourth moments
        return out
    out["rel_efficiency"], out["rel_efficiency_mcse"] = _paired_ratio(
        (ref - ref.mean()) ** 2, (this - this.mean()) ** 2
    )
    truth = model.theta[parameter]
    out["rel_mse"], out["rel_mse_mcse"] = _paired_ratio((this - truth) ** 2, (ref - truth) ** 2)
    return out


def _separation(estimator, model, status: np.ndarray, n: int) -> dict[str, float]:
    """Share of replications without an MLE, its MCSE, and the exact share where theory has it."""
    r = len(status)
    rate = float(np.isin(status, list(NO_ESTIMATE)).mean()) if r else math.nan
    exact = estimator.exact_no_mle_probability(model, n)
    return {
        "separated_rate": rate,
        "separated_rate_mcse": math.sqrt(rate * (1 - rate) / r) if r else math.nan,
        "exact_separated_rate": exact,
        "z_separated_rate": coverage_z(rate, exact, r),
    }


def _summarise_n(scenario: Scenario, files: Iterable[str | Path], n: int) -> list[dict]:
    frame = read_estimates(files)
    if not np.array_equal(frame["replication"].to_numpy(), np.arange(scenario.replications)):
        raise ValueError(f"n={n}: the estimate files do not hold replications 0..{scenario.replications - 1}")
    return summarise_sample_size(scenario, frame, n)


def summarise_scenario(scenario: Scenario, files_by_n: Mapping[int, Iterable[str | Path]]) -> pd.DataFrame:
    """The summary table of one scenario, one row per (estimator, parameter, n).

    BLAS runs on one thread here: a multi-threaded dot product sums in another
    order, and the summary must not depend on the machine's thread count.
    """
    from threadpoolctl import threadpool_limits

    rows: list[dict] = []
    with threadpool_limits(1, user_api="blas"):
        for n in sorted(files_by_n):
            rows.extend(_summarise_n(scenario, files_by_n[n], n))
    out = pd.DataFrame(rows)[SUMMARY_COLUMNS]
    # Estimator, block name, element index (numerically: beta[2] before beta[10]), n.
    index_key = out["index"].map(lambda i: tuple(int(k) for k in i.split(",")) if i else ())
    order = sorted(
        range(len(out)),
        key=lambda r: (out.at[r, "estimator"], out.at[r, "block"], index_key[r], out.at[r, "n"]),
    )
    return out.iloc[order].reset_index(drop=True)
