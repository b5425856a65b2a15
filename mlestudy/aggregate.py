"""From per-replication estimates to the tidy summary table of one scenario."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Scenario
from .estimates_io import read_estimates
from .families import Family, Status
from .performance import performance, wald_covered

SUMMARY_COLUMNS = [
    "scenario",
    "family",
    "estimator",
    "parameter",
    "n",
    "replications",
    "n_failed",
    "n_boundary",
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
    "crlb",
    "efficiency",
    "efficiency_mcse",
    "exact_mean",
    "exact_variance",
    "z_mean",
    "z_variance",
    "coverage",
    "coverage_mcse",
    "ci_level",
    "finite_moments",
]
KEY_COLUMNS = ["scenario", "estimator", "parameter", "n"]
COVERAGE_COLUMNS = ["coverage", "coverage_mcse", "ci_level"]
"""The columns that depend on ``ci_level``: the coverage job writes them apart."""
MOMENT_COLUMNS = [c for c in SUMMARY_COLUMNS if c not in COVERAGE_COLUMNS]


def _full_theta(family: Family, frame: pd.DataFrame, estimator: str, truth: Mapping[str, float]):
    """Estimates of every parameter for the Wald standard error.

    An estimator that targets only some parameters (the unbiased variance)
    borrows the others from the MLE.
    """
    theta = {}
    for p in family.parameter_names:
        for name in (estimator, "mle"):
            column = f"{name}.{p}"
            if column in frame:
                theta[p] = frame[column].to_numpy()
                break
        else:
            theta[p] = np.full(len(frame), truth[p])
    return theta


def inverse_information(family: Family, theta: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-replication inverse Fisher information, NaN where it is singular.

    A fit far in the tail (a gamma rate of 1e200 from data that underflowed)
    can make one replication's information matrix singular in float64, and
    ``numpy.linalg.inv`` then fails the whole batch.  Those replications get NaN
    (no Wald interval, so not covered); the rest are exact.
    """
    with np.errstate(all="ignore"):
        try:
            return family.inverse_fisher_information(theta)
        except np.linalg.LinAlgError:
            info = family.fisher_information(theta)
    out = np.full(info.shape, np.nan)
    for i in np.ndindex(info.shape[:-2]):
        try:
            out[i] = np.linalg.inv(info[i])
        except np.linalg.LinAlgError:
            pass
    return out


def summarise_sample_size(
    scenario: Scenario, frame: pd.DataFrame, n: int, coverage: bool = True
) -> list[dict]:
    """Summary rows of every (estimator, parameter) at one sample size.

    Without ``coverage`` the Wald intervals are not computed and the rows do
    not depend on ``ci_level``.
    """
    family = scenario.family_obj
    crlb = family.crlb(scenario.params, n)
    rows = []
    for estimator in scenario.estimators:
        status = frame[f"{estimator}.status"].to_numpy()
        ok = ~Status.failed(status)
        if coverage:
            inv_info = inverse_information(family, _full_theta(family, frame, estimator, scenario.params))
        for parameter in family.estimator(estimator).parameters:
            j = family.parameter_names.index(parameter)
            values = frame[f"{estimator}.{parameter}"].to_numpy()
            truth = scenario.params[parameter]
            covered = None
            if coverage:
                se = np.sqrt(inv_info[:, j, j] / n)
                covered = wald_covered(values[ok], se[ok], truth, scenario.ci_level)
            exact_mean, exact_variance = family.exact_moments(estimator, parameter, scenario.params, n)
            moments = family.finite_moments(estimator, parameter, n)
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
            rows.append(
                {
                    "scenario": scenario.name,
                    "family": family.name,
                    "estimator": estimator,
                    "parameter": parameter,
                    "n": n,
                    "n_boundary": int((status == Status.BOUNDARY).sum()),
                    "true_value": truth,
                    "ci_level": scenario.ci_level if coverage else None,
                    "finite_moments": moments,
                    **perf.as_dict(),
                }
            )
    return rows


def summarise_scenario(
    scenario: Scenario, files_by_n: Mapping[int, Iterable[str | Path]], coverage: bool = True
) -> pd.DataFrame:
    """The summary table of one scenario, one row per (estimator, parameter, n).

    ``coverage=False`` leaves out :data:`COVERAGE_COLUMNS`, the only ones that
    depend on ``ci_level``.
    """
    rows: list[dict] = []
    for n in sorted(files_by_n):
        frame = read_estimates(files_by_n[n])
        if not np.array_equal(frame["replication"].to_numpy(), np.arange(scenario.replications)):
            raise ValueError(
                f"n={n}: the estimate files do not hold replications 0..{scenario.replications - 1}"
            )
        rows.extend(summarise_sample_size(scenario, frame, n, coverage))
    out = pd.DataFrame(rows)[SUMMARY_COLUMNS if coverage else MOMENT_COLUMNS]
    return out.sort_values(["estimator", "parameter", "n"], ignore_index=True)
