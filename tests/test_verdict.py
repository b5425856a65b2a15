"""Issue 12: the verdict is never green over a comparison that could not be made.

Summary rows are built by hand here (what a damaged chunk, or float64 beyond
its resolution, would put in ``summary.csv``); the report's rendering of them is
checked too.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from mlestudy.config import validate
from mlestudy.outputs import FIGURES
from mlestudy.report import render
from mlestudy.verdict import Z_DISAGREE, assess, expected_rows, measure, verdict

nan, inf = math.nan, math.inf


def row(n: int, parameter: str = "mu", **changes) -> dict:
    """A summary row in which simulation and theory agree (z = 1 and -0.5)."""
    base = {
        "scenario": "bell", "family": "normal", "estimator": "mle", "parameter": parameter, "n": n,
        "replications": 1000, "n_failed": 0, "n_boundary": 0, "finite_moments": inf,
        "mean": 1.01, "exact_mean": 1.0, "bias_mcse": 0.01, "z_mean": 1.0,
        "variance": 0.495, "exact_variance": 0.5, "variance_mcse": 0.01, "z_variance": -0.5,
        "coverage": 0.95, "coverage_mcse": 0.007,
    }  # fmt: skip
    return {**base, **changes}


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


GOOD = [row(2), row(5), row(2, "sigma2"), row(5, "sigma2")]


def test_all_comparisons_made_and_agreeing_is_green() -> None:
    v = verdict(table(*GOOD))
    assert v["agree"] and v["comparisons"] == v["compared"] == 8 and not v["disagree"]
    assert v["rms"] == pytest.approx(math.sqrt((1 + 0.25) / 2)) and v["max_abs"] == 1.0


@pytest.mark.parametrize(
    ("changes", "finding"),
    [
        # The byte flip: sigma2-hat's mean 8.79e300, its variance inf, nothing failed.
        ({"mean": 8.79e300, "z_mean": 8.79e302, "variance": inf, "variance_mcse": nan, "z_variance": nan},
         "the simulated variance is inf where the exact variance is 0.5"),
        # mu = 1e20 with sigma2 = 1: float64 cannot resolve the spread; variance 0, MCSE 0.
        ({"variance": 0.0, "variance_mcse": 0.0, "z_variance": nan},
         "the simulated variance is 0 where the exact variance is 0.5: the estimates do not vary"),
        ({"z_mean": nan}, "z_mean is nan (simulated 1.01, exact 1, MCSE 0.01)"),
        ({"z_mean": inf, "bias_mcse": 0.0}, "the MCSE of the mean is 0 while the simulated 1.01 differs from the exact 1"),
        ({"bias_mcse": nan, "z_mean": nan}, "the MCSE of the mean is nan, so z_mean cannot be computed"),
        ({"mean": nan, "z_mean": nan, "n_failed": 1000, "variance": nan, "z_variance": nan},
         "the simulated mean is nan where the exact mean is 1 (every replication failed)"),
    ],
    ids=["byte-flip", "spread-below-resolution", "nan-z", "zero-mcse", "nan-mcse", "all-failed"],
)  # fmt: skip
def test_a_comparison_that_cannot_be_made_turns_the_verdict_red(changes: dict, finding: str) -> None:
    """Never dropped: the verdict is red, says why, and still counts the comparison."""
    summary = table(*GOOD[:3], row(5, "sigma2", **changes))
    v = verdict(summary)
    assert not v["agree"]
    assert any(f.startswith(f"mle sigma2 at n = 5: {finding}") for f in v["findings"]), v["findings"]
    assert v["comparisons"] == 8 and v["compared"] < 8
    assert all(f in v["disagree"] for f in v["findings"])


def test_a_large_z_disagrees() -> None:
    v = verdict(table(*GOOD[:3], row(5, "sigma2", z_mean=-Z_DISAGREE)))
    assert not v["agree"] and v["disagree"] == ["mle sigma2 at n = 5 (z_mean = -4)"] and not v["findings"]


def test_missing_and_duplicate_rows_and_columns_are_findings() -> None:
    """A row the scenario must have and the summary lacks, a row twice, a z column that is not there."""
    study = validate({"seed": 1, "scenarios": [{"name": "bell", "family": "normal", "params": {"mu": 1, "sigma2": 2},
                                                "sample_sizes": [2, 5], "replications": 10}]})  # fmt: skip
    expected = expected_rows(study.scenarios[0])
    assert len(expected) == 6  # mle mu, mle sigma2, unbiased sigma2, at n = 2 and 5
    v = verdict(table(*GOOD, GOOD[0]), expected=expected)
    assert not v["agree"]
    assert "mle mu at n = 2: the summary has this row more than once" in v["findings"]
    assert "unbiased sigma2 at n = 2: the summary has no row for it" in v["findings"]
    assert "unbiased sigma2 at n = 5: the summary has no row for it" in v["findings"]
    assert v["comparisons"] == 8  # distinct comparisons: the duplicate row is not counted twice
    v = verdict(table(*GOOD), columns=["z_mean", "z_coverage"])
    assert "the summary has no z_coverage column" in v["findings"] and not v["agree"]


def test_what_theory_does_not_offer_is_neither_counted_nor_a_finding() -> None:
    """No exact value, or a moment the MCSE needs that does not exist: no comparison, not a failure."""
    no_theory = row(5, exact_mean=nan, exact_variance=nan, z_mean=nan, z_variance=nan)
    # 1/x-bar at n = 3: the variance exists, its MCSE (a fourth moment) does not.
    heavy = row(3, "rate", finite_moments=2, variance_mcse=nan, z_variance=nan)
    v = verdict(table(no_theory, heavy))
    assert v["agree"] and v["comparisons"] == v["compared"] == 1  # heavy's z_mean
    # ... but the variance, which exists, must still be a number.
    v = verdict(table(row(3, "rate", finite_moments=2, variance=inf, variance_mcse=nan, z_variance=nan)))
    assert v["findings"] == [
        "mle rate at n = 3: the simulated variance is inf where the exact variance is 0.5"
    ]
    # Every replication undefined where theory has no value either (the unbiased variance at n = 1).
    v = verdict(table(*GOOD, row(1, estimator="unbiased", exact_mean=nan, exact_variance=nan, mean=nan,
                                 variance=nan, z_mean=nan, z_variance=nan, n_failed=1000)))  # fmt: skip
    assert v["agree"] and v["comparisons"] == 8


def test_any_z_column_is_judged_by_its_name() -> None:
    """The verdict is over a list of z columns: z_coverage is read from coverage, exact_coverage, coverage_mcse."""
    m = measure("z_coverage")
    assert (m.simulated, m.exact, m.mcse) == ("coverage", "exact_coverage", "coverage_mcse")
    rows = [{**r, "exact_coverage": 0.95, "z_coverage": 0.0} for r in GOOD]
    assert verdict(table(*rows))["comparisons"] == 12
    rows[1] = {**rows[1], "coverage": 0.5, "z_coverage": (0.5 - 0.95) / 0.007}
    v = verdict(table(*rows))
    assert not v["agree"] and v["disagree"] == ["mle mu at n = 5 (z_coverage = -64.3)"]
    # A degenerate interval: coverage exactly as exact with no Monte Carlo error agrees (z = 0).
    rows[1] = {**rows[1], "coverage": 0.0, "exact_coverage": 0.0, "coverage_mcse": 0.0, "z_coverage": nan}
    v = verdict(table(*rows))
    assert v["agree"] and v["compared"] == 12


def test_the_study_headline_counts_distinct_comparisons_across_scenarios() -> None:
    rows = GOOD + [{**r, "scenario": "other"} for r in GOOD]
    result = assess(table(*rows))
    assert result["comparisons"] == 16
    bad = [*GOOD, {**GOOD[0], "scenario": "other", "z_mean": nan}]
    assert assess(table(*bad))["findings"] == [
        "other: mle mu at n = 2: z_mean is nan (simulated 1.01, exact 1, MCSE 0.01)"
    ]


def test_report_never_says_agree_over_a_missing_comparison(tmp_path: Path) -> None:
    """The rendered report: red verdict with the reason, and a headline that says what could not be made."""
    from test_edge_cases import PNG_1X1

    study = validate({"seed": 1, "scenarios": [{"name": "bell", "family": "normal", "params": {"mu": 1, "sigma2": 2},
                                                "sample_sizes": [2, 5], "replications": 1000,
                                                "estimators": ["mle"]}]})  # fmt: skip
    summary = table(*GOOD[:3], row(5, "sigma2", variance=0.0, variance_mcse=0.0, z_variance=nan))
    summary["ci_level"] = 0.95
    summary["block"], summary["index"] = summary["parameter"], ""
    # No exact coverage in these rows: coverage is not one of the comparisons here.
    summary["exact_coverage"] = summary["z_coverage"] = nan
    for column in ["bias", "mse", "crlb", "efficiency", "relative_bias"]:
        summary[column] = 0.1
        summary[f"{column}_mcse"] = 0.01
    figures = {}
    for name in FIGURES:
        figures[name] = tmp_path / f"{name}.png"
        figures[name].write_bytes(PNG_1X1)
    checks = pd.DataFrame({"n": [2], "replication": [0], "parameter": ["mu"], "abs_diff": [0.0],
                           "boundary": [False], "converged": [True]})  # fmt: skip
    render(study, summary, {"bell": checks}, {"bell": figures}, [], tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "Simulation agrees with exact theory" not in html
    assert "Simulation and exact theory disagree, or could not be compared" in html
    assert "mle sigma2 at n = 5: the simulated variance is 0 where the exact variance is 0.5" in html
    assert "Over all 8 comparisons" in html and "1 of them could not be made" in html


def test_kl_is_judged_once_per_estimator_and_n_not_once_per_parameter_row() -> None:
    """z_kl is repeated on each parameter row of the estimator: 2 n x 1 estimator = 2 comparisons, not 4."""
    kl = {"kl": 0.101, "exact_kl": 0.1, "kl_mcse": 0.001, "z_kl": 1.0}
    rows = [{**r, **kl} for r in GOOD]
    v = verdict(table(*rows))
    assert v["agree"] and v["comparisons"] == v["compared"] == 8 + 2
    # Another estimator (its own fitted model) is its own comparison.
    v = verdict(table(*rows, {**GOOD[0], **kl, "estimator": "unbiased"}))
    assert v["comparisons"] == v["compared"] == 10 + 2 + 1
    # A disagreeing KL is one finding, not one per parameter.
    bad = [{**r, "z_kl": -5.0, "kl": 0.095} if r["n"] == 5 else r for r in rows]
    v = verdict(table(*bad))
    assert not v["agree"] and v["disagree"] == ["mle mu at n = 5 (z_kl = -5)"]
    # A KL without a usable MCSE is one finding, where the exact value exists.
    broken = [{**r, "kl_mcse": nan, "z_kl": nan} for r in rows]
    v = verdict(table(*broken))
    assert v["comparisons"] == 10 and v["compared"] == 8
    assert sum("kl_mcse" in f or "MCSE of the kl" in f for f in v["findings"]) == 2
    # ... unless E[KL^2] is infinite (the normal MLE at n = 4): then the MCSE does not exist, no comparison.
    heavy = [{**r, "kl_mcse": nan, "z_kl": nan, "kl_finite_moments": 1} for r in rows]
    v = verdict(table(*heavy))
    assert v["agree"] and v["comparisons"] == v["compared"] == 8
