"""Which columns each of the report's tables has: one list per table, rendered by one template macro.

A table that fits 1,280 px has about ten columns, so a block's numbers are
split into tables by question (does the simulation match exact theory? how good
is the estimator? how good are its intervals?).  Adding a summary column to the
report is one :class:`Col` here and one key in the rows
(:func:`mlestudy.report.table_rows`); the template does not change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    """One column of a report table.

    ``key`` is the formatted row's key; ``header`` is HTML (``z<sub>mean</sub>``);
    ``label`` names the cell in the phone layout, where rows become cards;
    ``flag`` is the row key of a bool that highlights the cell (a large |z|);
    ``count`` highlights a non-zero count.
    """

    key: str
    header: str
    label: str
    left: bool = False
    flag: str | None = None
    count: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A table: its columns, the question it answers (its caption's head) and what its caption explains."""

    name: str
    title: str
    caption: str
    columns: tuple[Col, ...]


ESTIMATOR = Col("estimator", "estimator", "estimator", left=True)
PARAMETER = Col("parameter_label", "parameter", "parameter", left=True)
N = Col("n", "n", "n")
KEYS = (ESTIMATOR, PARAMETER, N)

THEORY = TableSpec(
    "theory",
    "simulated mean and variance against exact theory",
    "Each value ± its Monte Carlo standard error (MCSE), rounded to the MCSE; exact values to one more "
    "digit; z = (simulated − exact) / MCSE, flagged at |z| ≥ {threshold}.",
    (
        *KEYS,
        Col("mean", "mean ± MCSE", "mean ± MCSE"),
        Col("exact_mean", "exact mean", "exact mean"),
        Col("z_mean", "z<sub>mean</sub>", "z (mean)", flag="z_mean_flag"),
        Col("variance", "variance ± MCSE", "variance ± MCSE"),
        Col("exact_variance", "exact variance", "exact variance"),
        Col("z_variance", "z<sub>var</sub>", "z (variance)", flag="z_variance_flag"),
    ),
)
PERFORMANCE = TableSpec(
    "performance",
    "bias, MSE and efficiency",
    "Efficiency = CRLB / variance. <i>failed</i>: replications without a usable estimate (undefined, "
    "non-finite, not converged, no MLE), left out of the measures; <i>boundary</i>: estimates on the edge "
    "of the parameter space, kept.",
    (
        *KEYS,
        Col("bias", "bias ± MCSE", "bias ± MCSE"),
        Col("mse", "MSE ± MCSE", "MSE ± MCSE"),
        Col("crlb", "CRLB", "CRLB"),
        Col("efficiency", "efficiency ± MCSE", "efficiency ± MCSE"),
        Col("failed", "failed", "failed", count=True),
        Col("boundary", "boundary", "boundary", count=True),
    ),
)
COVERAGE = TableSpec(
    "coverage",
    "Wald intervals",
    "Coverage of the {level} Wald interval θ̂ ± z·SE, each replication with its own standard error; exact "
    "coverage where theory gives it, with z = (simulated − exact) / √(exact(1 − exact)/R).",
    (
        *KEYS,
        Col("coverage", "coverage ± MCSE", "coverage ± MCSE"),
        Col("exact_coverage", "exact coverage", "exact coverage"),
        Col("z_coverage", "z<sub>cov</sub>", "z (coverage)", flag="z_coverage_flag"),
        Col("be_coverage", "bias-eliminated coverage ± MCSE", "bias-eliminated coverage ± MCSE"),
    ),
)
MODEL_SE = TableSpec(
    "model_se",
    "standard errors against the spread of the estimates",
    "Empirical SE: the standard deviation of the estimates; model SE: √(mean SE²) over replications, what "
    "the intervals use; their relative error in % (0: the SEs are right on average); bias-eliminated "
    "coverage (previous table) centres each interval on the mean estimate, so that poor coverage can be "
    "told apart: bias, or SEs of the wrong size (Morris, White &amp; Crowther 2019).",
    (
        *KEYS,
        Col("emp_se", "empirical SE ± MCSE", "empirical SE ± MCSE"),
        Col("model_se", "model SE ± MCSE", "model SE ± MCSE"),
        Col(
            "rel_error_model_se", "relative error in model SE (%) ± MCSE", "rel. error in model SE (%) ± MCSE"
        ),
    ),
)
ROW_TABLES = (THEORY, PERFORMANCE, COVERAGE, MODEL_SE)
"""The tables of per-parameter rows, in report order."""

BLOCK_SUMMARY = TableSpec(
    "block",
    "one row per estimator and n",
    "The largest |z| over every comparison of the block's elements and where it is; the block's total MSE "
    "Σⱼ MSEⱼ with its MCSE from per-replication totals; the ranges of efficiency and Wald coverage over the "
    "elements. Every element's rows are folded below.",
    (
        ESTIMATOR,
        N,
        Col("failed", "failed", "failed", count=True),
        Col("no_mle", "no MLE ± MCSE", "no MLE ± MCSE", count=True),
        Col("max_z", "largest |z|", "largest |z|", flag="max_z_flag"),
        Col("max_z_where", "where", "where", left=True),
        Col("block_mse", "total MSE ± MCSE", "total MSE ± MCSE"),
        Col("efficiency", "efficiency (range)", "efficiency (range)"),
        Col("coverage", "Wald coverage (range)", "coverage (range)"),
        Col("exact_coverage", "exact coverage", "exact coverage"),
    ),
)
"""A vector block's summary table (its per-element rows are folded away below it)."""
