"""Run the workflow through the ``snakemake`` CLI in a temporary copy of it.

Shared by the end-to-end tests, so the checkout is never touched and every test
drives Snakemake exactly as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "report", "profiles")
"""What a user's checkout needs to run the workflow (the package is installed)."""

TINY = {
    "seed": 11,
    "chunk_size": 10000,
    "check_replications": 3,
    "scenarios": [
        {
            "name": "coin",
            "family": "bernoulli",
            "params": {"p": 0.7},
            "sample_sizes": [2, 50],
            "sampler": "sufficient",
            "replications": 20000,
        },
        {
            "name": "waits",
            "family": "exponential",
            "params": {"rate": 0.5},
            "sample_sizes": [2, 5, 40],
            "replications": 20000,
        },
    ],
}
"""The tiny study of the end-to-end and browser tests: two chunks per n, both samplers."""


def copy_workflow(dest: Path, config: dict | None = None) -> Path:
    """Copy the workflow into ``dest`` (created if needed), optionally with a config."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / part)
    (dest / "report" / "report.html").unlink(missing_ok=True)
    if config is not None:
        write_config(dest, config)
    return dest


def write_config(workdir: Path, config: dict) -> None:
    """Replace the study's config.yaml."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def checkout_env(package: Path = ROOT) -> dict[str, str]:
    """The environment for a subprocess that must import the ``mlestudy`` under ``package``.

    The shared environment installs one checkout's package; a test of another
    checkout (a git worktree) must run its own code in Snakemake and its jobs.
    """
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")])}


def snakemake(workdir: Path, *args: str, cores: int = 2, package: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``snakemake --cores <cores> <args>`` in ``workdir``; the result, whatever it is.

    The ``mlestudy`` under ``package`` is the one imported (by default this
    checkout's, whichever one the environment has installed).
    """
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", str(cores), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        env=checkout_env(package),
    )


def run(workdir: Path, *args: str, cores: int = 2, package: Path = ROOT) -> subprocess.CompletedProcess:
    """Like :func:`snakemake`, but the run must succeed."""
    result = snakemake(workdir, *args, cores=cores, package=package)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def snapshot(workdir: Path, pattern: str) -> dict[str, tuple[int, int]]:
    """Path -> (inode, mtime in ns) of the files matching ``pattern``.

    A job that re-ran replaced its output (atomic rename: new inode) and its log.
    """
    return {
        str(p.relative_to(workdir)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in workdir.glob(pattern)
    }


def job_counts(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> number of jobs, from the "Job stats" table Snakemake prints (empty: nothing to do).

    With the logger plugin of the default profile a real run prints the same counts in its
    first line instead: ``Running 5 jobs on 2 cores: 4 simulate, 1 all.``
    """
    lines = (result.stdout + result.stderr).splitlines()
    counts: dict[str, int] = {}
    for line in lines:
        if line.startswith("Running ") and " job" in line and ": " in line:
            for part in line.split(": ", 1)[1].rstrip(".").split(", "):
                number, rule = part.split(" ", 1)
                counts[rule] = int(number)
            return counts
    if "Job stats:" not in lines:
        return counts
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def chunk_files(workdir: Path) -> list[Path]:
    """Every estimate file of a study, sorted."""
    return sorted((workdir / "results" / "estimates").rglob("*.parquet"))


RUN_OUTPUT = ".run_output.txt"
"""Where a built study keeps what its ``snakemake`` run printed (stdout, then stderr)."""

GRID = {
    "seed": 5,
    "chunk_size": 10000,
    "check_replications": 2,
    "scenarios": [
        {
            "name": "bell",
            "family": "normal",
            "description": "A 2 x 3 grid: the normal MLE's behaviour does not depend on mu or sigma2.",
            "grid": {"params": {"mu": [0.0, 5.0], "sigma2": [1.0, 4.0, 9.0]}},
            "sample_sizes": [3, 30],
            "sampler": "sufficient",
            "replications": 10000,
        },
    ],
}
"""A 2 x 3 scenario grid: six scenarios, a nested-loop plot (the grid and browser tests)."""


def build_study(work: Path, config: dict) -> Path:
    """Copy the workflow into ``work`` with ``config``, run it and keep its output in :data:`RUN_OUTPUT`."""
    result = run(copy_workflow(work, config))
    (work / RUN_OUTPUT).write_text(result.stdout + result.stderr, encoding="utf-8")
    return work


def build_tiny_study(work: Path) -> Path:
    """Copy the workflow into ``work`` with :data:`TINY` as its config, and run it."""
    return build_study(work, TINY)
