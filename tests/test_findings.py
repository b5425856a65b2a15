"""Key findings and the overview: each claim picks the row its number says, and says that number."""

from __future__ import annotations

import math

import pandas as pd

from mlestudy.findings import key_findings, overview


def _row(scenario, n, coverage, bias=0.0, efficiency=1.0, rel=0.0, parameter="p"):
    return {"scenario": scenario, "family": "f", "estimator": "mle", "parameter": parameter, "n": n,
            "coverage": coverage, "coverage_mcse": 0.001, "exact_coverage": math.nan, "ci_level": 0.95,
            "bias": bias, "bias_mcse": 0.001, "crlb": 0.01, "efficiency": efficiency, "efficiency_mcse": 0.01,
            "rel_error_model_se": rel, "rel_error_model_se_mcse": 0.5}  # fmt: skip


def test_each_finding_names_the_extreme_row() -> None:
    summary = pd.DataFrame([
        _row("a", 2, 0.42, bias=0.05), _row("a", 100, 0.949),
        _row("b", 3, 0.80, efficiency=1.95, rel=-30.0, parameter="sigma2"), _row("b", 100, 0.95, bias=0.0005),
    ])  # fmt: skip
    verdicts = {"a": {"comparisons": 4, "rms": 1.1}, "b": {"comparisons": 0, "rms": math.nan}}
    text = " ".join(key_findings(summary, verdicts))
    assert "a</a>'s p̂ (mle) at n = 2 covers 0.4200 ± 0.0010 (nominal 95%)" in text
    assert "0.0500 ± 0.0010, 0.50 Cramér–Rao standard errors" in text  # 0.05 / sqrt(0.01)
    assert "b</a>'s σ̂² (mle) at n = 3 reaches 1.950 ± 0.010" in text
    assert "understate the spread" in text and "-30.00 ± 0.50 %" in text
    rows = overview(summary, verdicts, ["b", "a"])
    assert [r["scenario"] for r in rows] == ["b", "a"]
    assert rows[1]["rms"] == "1.10 (4)" and rows[0]["rms"] == "—"
    assert rows[1]["coverage_small"] == "0.420" and rows[0]["efficiency_large"] == "1.000"
