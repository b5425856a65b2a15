"""The report's tables, grouped by parameter block.

A scalar block (p, sigma2) keeps one row per (estimator, n).  A vector block
(ten regression coefficients, say) gets one summary row per (estimator, n) --
the largest |z| and the coefficient that has it, the block's total MSE with its
MCSE, the ranges of efficiency and coverage -- and its per-coefficient rows
folded away below it, so a table stays readable whatever p is.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .labels import text_label
from .report import fmt, fmt_count, fmt_pm, fmt_z, table_rows
from .table_specs import BLOCK_SUMMARY, ROW_TABLES
from .verdict import Z_DISAGREE, measure, z_columns


def _range(values: pd.Series, digits: int = 3) -> str:
    """'0.912–0.998' (or one number when all agree); a dash when none is finite."""
    v = values.to_numpy(float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "—"
    lo, hi = float(v.min()), float(v.max())
    return fmt(lo, digits) if fmt(lo, digits) == fmt(hi, digits) else f"{fmt(lo, digits)}–{fmt(hi, digits)}"


def largest_z(group: pd.DataFrame) -> dict:
    """The comparison with the largest |z| in a block at one (estimator, n), and where it is.

    A non-finite z (a comparison that could not be made honestly) is a finding,
    never dropped: it ranks above every finite one.
    """
    columns = z_columns(group)  # every comparison the summary has (z_mean, z_variance, z_coverage, ...)
    z = np.abs(group[columns].to_numpy(float))
    if np.isnan(z).all():
        return {"value": "—", "where": "no exact theory", "flag": False}
    rank = np.where(np.isnan(z), -1.0, np.where(np.isinf(z), np.inf, z))
    i, j = np.unravel_index(int(np.argmax(rank)), z.shape)
    value = float(z[i, j])
    return {
        "value": fmt_z(value),
        "where": f"{text_label(group['parameter'].iloc[i], hat=True)} ({measure(columns[j]).label})",
        "flag": not math.isfinite(value) or value >= Z_DISAGREE,
    }


def _no_mle(row: pd.Series) -> str:
    """The share of replications without an MLE with its MCSE, and the exact share where theory has it."""
    if not row["n_separated"]:
        return "0"
    text = fmt_pm(float(row["separated_rate"]), float(row["separated_rate_mcse"]))
    if math.isfinite(row["exact_separated_rate"]):
        text += f" (exact {fmt(float(row['exact_separated_rate']), 4)})"
    return text


def block_summary_rows(part: pd.DataFrame) -> list[dict]:
    """One row per (estimator, n) of a vector block."""
    rows = []
    for (estimator, n), group in part.groupby(["estimator", "n"], sort=True):
        first = group.iloc[0]
        largest = largest_z(group)
        rows.append(
            {
                "estimator": estimator,
                "n": int(n),
                "coefficients": len(group),
                "failed": fmt_count(int(first["n_failed"]), int(first["replications"])),
                "max_z": largest["value"],
                "max_z_where": largest["where"],
                "max_z_flag": largest["flag"],
                "block_mse": fmt_pm(float(first["block_mse"]), float(first["block_mse_mcse"])),
                "efficiency": _range(group["efficiency"]),
                "coverage": _range(group["coverage"]),
                "exact_coverage": _range(group["exact_coverage"], 4),
                "no_mle": _no_mle(first),
            }
        )
    return rows


def block_tables(summary: pd.DataFrame, block_order: list[str], notes: list[str] | None = None) -> list[dict]:
    """The tables of one scenario, one per block in the model's order.

    ``notes`` collects the rows' notes across the blocks (see :func:`mlestudy.report.table_rows`).
    """
    tables = []
    for block in block_order:
        part = summary[summary["block"] == block]
        if part.empty:
            continue
        vector = part["parameter"].nunique() > 1
        tables.append(
            {
                "block": block,
                "label": text_label(block, hat=True),
                "vector": vector,
                "coefficients": part["parameter"].nunique(),
                "rows": table_rows(part, notes),
                "specs": ROW_TABLES,
                "summary_rows": block_summary_rows(part) if vector else [],
                "summary_spec": BLOCK_SUMMARY,
            }
        )
    return tables
