"""Model-SE measures (Morris et al. 2019): values against direct formulas, MCSEs against the spread of repeats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mlestudy.model_se import model_se_measures


def test_values_against_direct_formulas() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(2.0, 3.0, 5000)
    se = np.abs(rng.normal(2.5, 0.3, 5000))
    m = model_se_measures(x, se, 0.9)
    assert m["emp_se"] == pytest.approx(np.std(x, ddof=1), rel=1e-12)
    assert m["model_se"] == pytest.approx(math.sqrt(np.mean(se**2)), rel=1e-12)
    assert m["rel_error_model_se"] == pytest.approx(100 * (m["model_se"] / m["emp_se"] - 1), rel=1e-12)
    z = stats.norm.ppf(0.95)
    p = np.mean((x.mean() - z * se <= x) & (x <= x.mean() + z * se))  # the interval holds the mean estimate
    assert m["be_coverage"] == p
    assert m["be_coverage_mcse"] == pytest.approx(math.sqrt(p * (1 - p) / 5000), rel=1e-12)


def test_constant_se_has_no_model_se_error_and_normal_emp_se_mcse() -> None:
    """A constant SE: model SE exact (MCSE 0); for normal data the empirical SE's MCSE is about SE/sqrt(2(R-1))."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 2.0, 200_000)
    m = model_se_measures(x, np.full(len(x), 2.0), 0.95)
    assert m["model_se"] == 2.0 and m["model_se_mcse"] == 0.0
    assert m["emp_se_mcse"] == pytest.approx(m["emp_se"] / math.sqrt(2 * (len(x) - 1)), rel=0.02)
    # Coverage of the exactly right interval is 95 % within MC error.
    assert abs(m["be_coverage"] - 0.95) < 4 * m["be_coverage_mcse"]


def test_mcses_match_the_spread_over_repeated_studies() -> None:
    """Each MCSE against the SD of its measure over 400 independent small studies (SE correlated with x).

    x = sigma2-hat of normal samples of size 5 and se its plug-in SE sqrt(2/5) x: an SE tied to its
    estimate, the case where the paired delta method matters. The SD of 400 repeats has a relative
    error of about 1/sqrt(2 * 399) = 3.5 %; the tolerance is 5 of those.
    """
    rng = np.random.default_rng(2019)
    n, reps, studies = 5, 2000, 400
    found = {k: [] for k in ("emp_se", "model_se", "rel_error_model_se", "be_coverage")}
    mcse = {k: [] for k in found}
    for _ in range(studies):
        x = rng.chisquare(n - 1, reps) / n
        m = model_se_measures(x, math.sqrt(2 / n) * x, 0.95)
        for k in found:
            found[k].append(m[k])
            mcse[k].append(m[f"{k}_mcse"])
    for k in ("emp_se", "model_se", "rel_error_model_se"):
        assert np.mean(mcse[k]) == pytest.approx(np.std(found[k], ddof=1), rel=0.18), k
    # Bias-eliminated coverage uses Morris's binomial MCSE, which ignores that the centre (the mean
    # estimate) is itself estimated: here it overstates the spread (0.0093 against 0.0079), never understates.
    spread = np.std(found["be_coverage"], ddof=1)
    assert spread * 0.9 < np.mean(mcse["be_coverage"]) < spread * 1.4


def test_moments_that_do_not_exist_give_nan() -> None:
    x = np.arange(10.0)
    m = model_se_measures(x, np.ones(10), 0.95, finite_moments=1)
    assert math.isnan(m["emp_se"]) and math.isnan(m["model_se"]) and math.isfinite(m["be_coverage"])
    m = model_se_measures(x, np.ones(10), 0.95, finite_moments=3)
    assert math.isfinite(m["emp_se"]) and math.isnan(m["emp_se_mcse"])


def test_every_summary_column_is_documented_in_the_readme() -> None:
    """Each column of summary.csv is named in the README's table (a ``_mcse`` one through its measure)."""
    import re
    from pathlib import Path

    from mlestudy.aggregate import SUMMARY_COLUMNS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## The summary table") : readme.index("## How the numbers are made")]
    named = set(re.findall(r"`([a-z_0-9]+)`", section))
    missing = [c for c in SUMMARY_COLUMNS if c not in named and not (c.endswith("_mcse") and c[:-5] in named)]
    assert missing == []
