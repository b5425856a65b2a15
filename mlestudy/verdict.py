"""Does the simulation agree with exact theory?  Every comparison counts, even one that cannot be made.

A *comparison* is one measure (mean, variance, ...) of one summary row whose
exact value is finite and whose Monte Carlo error exists (the estimator has the
moments it needs).  Its z = (simulated - exact) / MCSE must then be a finite
number; when it is not, that is a *finding*, never a dropped value: a simulated
value that is missing or infinite, a simulated variance of 0 or infinity where
the exact one is finite and positive (float64 could not resolve the spread, or
the replications never left the boundary), a zero or missing MCSE, a z column or
a summary row that is not there, or a row that is there twice.  Any finding or
any |z| at or above :data:`Z_DISAGREE` turns the verdict red, with the reasons.

The measures are a list of z columns: ``z_mean`` and ``z_variance`` are known
here, and any other ``z_<measure>`` column is read by convention from the
columns ``<measure>``, ``exact_<measure>`` and ``<measure>_mcse``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .config import Scenario

Z_DISAGREE = 4.0
"""|z| at or above which simulation and theory are said to disagree."""
KEY = ("scenario", "estimator", "parameter", "n")
"""What identifies a summary row."""


@dataclass(frozen=True)
class Measure:
    """A simulated measure compared with its exact value through a z column."""

    z: str
    simulated: str
    exact: str
    mcse: str
    exists_from: float = 0.0
    """Moments the estimator needs for the measure itself to exist (finite_moments >= this)."""
    mcse_from: float = 0.0
    """Moments it needs for the measure's MCSE, hence its z, to exist."""
    positive: bool = False
    """A zero simulated value is wrong where the exact value is positive (a variance)."""
    moments: str = "finite_moments"
    """The summary column with the highest finite moment that exists_from and mcse_from refer to."""
    per_estimator: bool = False
    """A measure of the estimator as a whole (the share without an MLE), repeated on each of its
    parameter rows: judged once per (scenario, estimator, n)."""

    @property
    def label(self) -> str:
        return self.simulated


KNOWN = {
    "z_mean": Measure("z_mean", "mean", "exact_mean", "bias_mcse", exists_from=1, mcse_from=2),
    "z_variance": Measure(
        "z_variance", "variance", "exact_variance", "variance_mcse", exists_from=2, mcse_from=4, positive=True
    ),
    "z_separated_rate": Measure(
        "z_separated_rate",
        "separated_rate",
        "exact_separated_rate",
        "separated_rate_mcse",
        per_estimator=True,
    ),
    # E[KL(true || fitted)] is a measure of the whole fitted model, repeated on every parameter row.
    # Its MCSE needs E[KL^2] < inf (not so for the normal MLE at n = 4): its own moments column.
    "z_kl": Measure(
        "z_kl", "kl", "exact_kl", "kl_mcse", 1, 2, moments="kl_finite_moments", per_estimator=True
    ),
}


def measure(z_column: str) -> Measure:
    """The measure behind a z column: a known one, or by the naming convention."""
    if z_column in KNOWN:
        return KNOWN[z_column]
    name = z_column.removeprefix("z_")
    return Measure(z_column, name, f"exact_{name}", f"{name}_mcse")


def z_columns(summary: pd.DataFrame) -> list[str]:
    """The z columns of a summary table, in table order."""
    return [c for c in summary.columns if c.startswith("z_")]


def z_scores(summary: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
    """All finite z-scores of a summary table (every z column, or ``columns``)."""
    columns = z_columns(summary) if columns is None else [c for c in columns if c in summary]
    if not columns:
        return np.empty(0)
    z = np.concatenate([summary[c].to_numpy(float) for c in columns])
    return z[np.isfinite(z)]


def expected_rows(scenario: Scenario) -> set[tuple[str, str, str, int]]:
    """The rows a scenario's summary must have: (scenario, estimator, flat parameter, n)."""
    model = scenario.model
    return {
        (scenario.name, e, p, n)
        for e in scenario.estimators
        for p in model.estimators[e].parameters(model)
        for n in scenario.sample_sizes
    }


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _g(value: float) -> str:
    return f"{value:.4g}"


def _row_label(row: Mapping[str, Any], with_scenario: bool) -> str:
    where = f"{row.get('estimator')} {row.get('parameter')} at n = {row.get('n')}"
    return f"{row.get('scenario')}: {where}" if with_scenario else where


def _finding(row: Mapping[str, Any], m: Measure, z: float) -> str | None:
    """Why a comparison that theory allows has no finite z (or a measure that must exist does not)."""
    sim, ex, se = _num(row.get(m.simulated)), _num(row.get(m.exact)), _num(row.get(m.mcse))
    failed, total = _num(row.get("n_failed")), _num(row.get("replications"))
    if not math.isfinite(sim):
        why = " (every replication failed)" if failed == total and total > 0 else ""
        return f"the simulated {m.label} is {_g(sim)} where the exact {m.label} is {_g(ex)}{why}"
    if m.positive and ex > 0 and sim == 0:
        return (
            f"the simulated {m.label} is 0 where the exact {m.label} is {_g(ex)}: the estimates do not vary "
            "(float64 cannot resolve the spread, or no replication left the boundary)"
        )
    if math.isfinite(z):
        return None
    if not math.isfinite(se):
        return f"the MCSE of the {m.label} is {_g(se)}, so z_{m.label} cannot be computed"
    if se == 0:
        return f"the MCSE of the {m.label} is 0 while the simulated {_g(sim)} differs from the exact {_g(ex)}"
    return f"z_{m.label} is {_g(z)} (simulated {_g(sim)}, exact {_g(ex)}, MCSE {_g(se)})"


def assess(
    summary: pd.DataFrame,
    columns: Sequence[str] | None = None,
    expected: Collection[tuple[str, str, str, int]] | None = None,
    threshold: float = Z_DISAGREE,
) -> dict[str, Any]:
    """Every comparison of ``summary`` with exact theory, and every finding.

    Parameters
    ----------
    summary
        Summary rows (one scenario's, or the study's).
    columns
        z columns to judge; default every ``z_*`` column of the table.
    expected
        Rows that must be there, as (scenario, estimator, parameter, n); a missing
        one is a finding.
    threshold
        |z| at or above which a comparison disagrees.

    Returns
    -------
    dict
        ``comparisons`` (distinct comparisons theory allows), ``compared`` (those
        with a finite z), ``z`` (those z-scores), ``disagree`` (rows with
        |z| >= threshold) and ``findings`` (one line each, saying why).
    """
    columns = list(z_columns(summary) if columns is None else columns)
    records = summary.to_dict("records")
    with_scenario = len({r.get("scenario") for r in records}) > 1
    findings: list[str] = [f"the summary has no {c} column" for c in columns if c not in summary]
    disagree: list[str] = []
    zs: list[float] = []
    seen: dict[tuple, int] = {}
    comparisons = set()
    judged_once: set[tuple] = set()
    for r in records:
        key = tuple(r.get(k) for k in KEY)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            findings.append(f"{_row_label(r, with_scenario)}: the summary has this row more than once")
        bad_z = []
        for c in columns:
            if c not in summary:
                continue
            m = measure(c)
            if m.per_estimator:
                once = (r.get("scenario"), r.get("estimator"), r.get("n"), c)
                if once in judged_once:
                    continue
                judged_once.add(once)
            k = _num(r.get(m.moments, math.inf))
            k = math.inf if math.isnan(k) else k
            ex = _num(r.get(m.exact))
            if not math.isfinite(ex) or k < m.exists_from:
                continue  # no exact value, or the measure does not exist: nothing to compare
            z = _num(r.get(c))
            sim, se = _num(r.get(m.simulated)), _num(r.get(m.mcse))
            if not math.isfinite(z) and se == 0 and sim == ex:
                z = 0.0  # no Monte Carlo error and exact agreement (a degenerate estimator)
            comparable = k >= m.mcse_from
            if comparable:
                comparisons.add((*key, c))
            problem = _finding(r, m, z if comparable else 0.0)
            if problem:
                findings.append(f"{_row_label(r, with_scenario)}: {problem}")
            elif comparable:
                zs.append(z)
                if abs(z) >= threshold:
                    bad_z.append(f"z_{m.label} = {z:.3g}")
        if bad_z:
            disagree.append(f"{_row_label(r, with_scenario)} ({', '.join(bad_z)})")
    for key in sorted(set(expected or ()) - set(seen), key=str):
        row = dict(zip(KEY, key, strict=True))
        findings.append(f"{_row_label(row, with_scenario)}: the summary has no row for it")
    return {
        "comparisons": len(comparisons),
        "compared": len(zs),
        "z": np.asarray(zs, dtype=float),
        "disagree": disagree,
        "findings": findings,
    }


def verdict(
    summary: pd.DataFrame,
    columns: Sequence[str] | None = None,
    expected: Iterable[tuple[str, str, str, int]] | None = None,
    threshold: float = Z_DISAGREE,
) -> dict[str, Any]:
    """Do simulation and exact theory agree?  Green only when every comparison was made and agrees.

    Returns the keys of :func:`assess` (``z`` left out) plus ``rms`` and
    ``max_abs`` of the finite z-scores, ``agree`` and ``threshold``;
    ``disagree`` lists the disagreeing rows first, then the findings.
    """
    result = assess(summary, columns, set(expected) if expected is not None else None, threshold)
    z = np.abs(result.pop("z"))
    top = float(z.max()) if z.size else math.nan
    return {
        **result,
        "rms": top * float(np.sqrt(np.mean((z / top) ** 2))) if z.size and top > 0 else top,  # no overflow
        "max_abs": top,
        "agree": bool(z.size) and not result["disagree"] and not result["findings"],
        "disagree": result["disagree"] + result["findings"],
        "threshold": threshold,
    }
