"""The workflow end to end, through the ``snakemake`` CLI, on a tiny study.

Runs in a temporary copy of the workflow so the checkout is never touched.  The
study itself is the session fixture ``study`` (``conftest.py``), shared with the
browser test.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import TINY, copy_workflow, run, snakemake, write_config

from mlestudy.aggregate import SUMMARY_COLUMNS
from mlestudy.manifest import config_sha256
from mlestudy.outputs import FIGURES


@pytest.mark.slow
def test_summary_has_every_row_and_column(study: Path) -> None:
    summary = pd.read_csv(study / "results" / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    # coin: mle p at 2 sizes; waits: mle and unbiased rate at 3 sizes.
    assert len(summary) == 2 + 2 * 3
    assert (summary["replications"] == 20000).all()
    finite = summary.dropna(subset=["z_mean"])
    assert (finite["z_mean"].abs() < 4.5).all(), finite[["scenario", "estimator", "n", "z_mean"]]
    # The variance of 1/x-bar does not exist at n = 2: NaN, never a number.
    waits2 = summary[(summary["scenario"] == "waits") & (summary["n"] == 2)]
    assert waits2["variance"].isna().all() and waits2["variance_mcse"].isna().all()


@pytest.mark.slow
def test_figures_and_self_contained_report(study: Path) -> None:
    for scenario in ("coin", "waits"):
        for name in FIGURES:
            svg = study / "results" / "figures" / scenario / f"{name}.svg"
            assert svg.read_bytes()[:5] == b"<?xml" and b"<svg" in svg.read_bytes()[:500]
    html = (study / "report" / "report.html").read_text()
    assert html.count('src="data:image/svg+xml;base64,') == 2 * len(FIGURES)
    assert 'src="http' not in html and 'href="http' not in html  # opens offline
    assert "Provenance" in html and str(TINY["seed"]) in html
    config = yaml.safe_load((study / "config.yaml").read_text())
    assert config_sha256(config) in html and "results/manifest.json" in html
    checks = pd.read_csv(study / "results" / "checks" / "waits.csv")
    assert checks["abs_diff"].max() < 1e-5


@pytest.mark.slow
def test_simulate_jobs_get_threads_and_matching_blas_settings(study: Path) -> None:
    """Snakemake passes each job its thread count and sets BLAS threads to match."""
    logs = sorted((study / "results" / "logs" / "simulate").rglob("*.log"))
    assert logs
    for log in logs:
        text = log.read_text()
        threads = int(re.search(r"(\d+) thread\(s\)", text).group(1))
        assert f"OPENBLAS_NUM_THREADS={threads}" in text, text


@pytest.mark.slow
def test_editing_one_scenario_recomputes_only_it(study: Path, tmp_path: Path) -> None:
    """Changing waits' rate re-runs waits' jobs; coin's files stay as they were."""
    # The fixture is shared by all workers: re-run a copy, without files other snakemake runs come and go by.
    transient = shutil.ignore_patterns("locks", "incomplete", "log", "snakemake-report.html")
    study = Path(shutil.copytree(study, tmp_path / "study", symlinks=True, ignore=transient))
    coin = sorted((study / "results" / "estimates" / "coin").rglob("*.parquet"))
    before = {p: p.stat().st_mtime_ns for p in coin}
    config = dict(TINY, scenarios=[TINY["scenarios"][0], {**TINY["scenarios"][1], "params": {"rate": 2.0}}])
    write_config(study, config)
    dry = run(study, "--dry-run")
    planned = dry.stdout + dry.stderr
    # No coin job is planned (the manifest job lists coin's files as inputs only).
    assert "output: results/estimates/waits" in planned and "output: results/estimates/coin" not in planned
    assert "wildcards: scenario=coin" not in planned
    run(study)
    assert {p: p.stat().st_mtime_ns for p in coin} == before
    summary = pd.read_csv(study / "results" / "summary.csv")
    assert set(summary.loc[summary["scenario"] == "waits", "true_value"]) == {2.0}


@pytest.mark.slow
def test_bad_config_fails_before_any_job(tmp_path: Path) -> None:
    bad = dict(TINY, scenarios=[{**TINY["scenarios"][0], "params": {"p": 1.0}}])
    copy_workflow(tmp_path, bad)
    result = snakemake(tmp_path, cores=1)
    assert result.returncode != 0
    assert "scenario 'coin'" in result.stderr and "params.p" in result.stderr and "< 1" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_snakemake_report(study: Path) -> None:
    """``snakemake --report`` works: report() outputs with .rst captions."""
    run(study, "--report", "results/snakemake-report.html")
    assert (study / "results" / "snakemake-report.html").stat().st_size > 100_000
