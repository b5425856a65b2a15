"""A tiny study run through the ``snakemake`` CLI, in a temporary copy of the workflow.

Shared by the end-to-end tests and the browser test (see the ``study`` fixture in
``conftest.py``), so the study is run once per test session, not once per module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "report")

TINY = {
    "seed": 11,
    "chunk_size": 2000,
    "check_replications": 3,
    "scenarios": [
        {
            "name": "coin",
            "family": "bernoulli",
            "params": {"p": 0.7},
            "sample_sizes": [2, 50],
            "replications": 3000,
        },
        {
            "name": "waits",
            "family": "exponential",
            "params": {"rate": 0.5},
            "sample_sizes": [2, 5, 40],
            "replications": 3000,
        },
    ],
}


def copy_workflow(dest: Path) -> Path:
    """The workflow's files (not its results) copied into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / part)
    (dest / "report" / "report.html").unlink(missing_ok=True)
    return dest


def snakemake(workdir: Path, *args: str, cores: int = 2) -> subprocess.CompletedProcess:
    """Run the ``snakemake`` CLI in ``workdir``; the result, whatever its exit code."""
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", str(cores), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the ``snakemake`` CLI in ``workdir`` and require success."""
    result = snakemake(workdir, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def build_tiny_study(work: Path) -> Path:
    """Copy the workflow into ``work``, write :data:`TINY` as its config and run it."""
    copy_workflow(work)
    (work / "config.yaml").write_text(yaml.safe_dump(TINY))
    run(work)
    return work
