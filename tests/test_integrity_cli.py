"""Issue 12 through the ``snakemake`` CLI: damaged, deleted and foreign chunks, and re-run triggers.

Each test copies the finished tiny study (the session's ``study`` fixture) and
drives the plain command a user would type.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from workflow_helpers import ROOT, checkout_env, chunk_files, job_counts, run, snakemake

from mlestudy.verify import checksum_path

SUMMARY = "results/summary.csv"


def copy_study(study: Path, dest: Path, package: bool = False) -> Path:
    """A copy of the finished study (with its Snakemake metadata); with ``package``, of mlestudy too."""
    shutil.copytree(study, dest, ignore=shutil.ignore_patterns(".snakemake/locks", ".snakemake/incomplete"))
    if package:
        shutil.copytree(ROOT / "mlestudy", dest / "mlestudy", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def flip_that_still_decodes(path: Path) -> None:
    """Flip one byte of a data page so that the file still decodes, with other values (see test_verify)."""
    original = path.read_bytes()
    clean = pq.read_table(path)
    for offset in range(len(original) // 2, len(original) - 8):
        data = bytearray(original)
        data[offset] ^= 0x10
        path.write_bytes(bytes(data))
        try:
            tampered = pq.read_table(path)
        except (pa.ArrowException, OSError):
            continue
        if tampered.schema == clean.schema and not tampered.equals(clean):
            return
    raise AssertionError("no byte flip that decodes")


@pytest.mark.slow
def test_plain_rerun_resimulates_damaged_deleted_and_foreign_chunks(study: Path, tmp_path: Path) -> None:
    """A flip that decodes, a truncation, a deletion and another chunk copied over one (with its
    sha256): the plain command names each, simulates them again, and ends byte-identical."""
    work = copy_study(study, tmp_path / "work")
    chunks = {str(p.relative_to(work)): p for p in chunk_files(work)}
    before = {name: p.read_bytes() for name, p in chunks.items()}
    summary = (work / SUMMARY).read_bytes()
    flipped = "results/estimates/waits/n40/reps10000-20000.parquet"
    truncated = "results/estimates/coin/n50/reps0-10000.parquet"
    deleted = "results/estimates/waits/n2/reps0-10000.parquet"
    foreign = "results/estimates/waits/n5/reps10000-20000.parquet"
    flip_that_still_decodes(work / flipped)
    (work / truncated).write_bytes(before[truncated][:1000])
    (work / deleted).unlink()
    source = work / "results/estimates/waits/n40/reps0-10000.parquet"
    shutil.copy(source, work / foreign)
    shutil.copy(checksum_path(source), checksum_path(work / foreign))

    result = run(work)  # the plain command
    err = result.stderr
    assert f"{flipped}: its bytes have changed since it was written" in err
    assert f"{truncated}: its bytes have changed since it was written" in err
    assert f"{foreign}: it is not this study's chunk: its metadata says n = 40 (its path says 5)" in err
    assert err.count("deleted it, simulating it again") == 3
    assert job_counts(result)["simulate"] == 4  # the three damaged ones and the deleted one
    assert {name: p.read_bytes() for name, p in chunks.items()} == before
    assert (work / SUMMARY).read_bytes() == summary
    manifest = (work / "results" / "manifest.json").read_text()
    for name in (flipped, truncated, deleted, foreign):
        assert checksum_path(work / name).read_text().split()[0] in manifest

    again = run(work)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_deleted_chunk_is_regenerated_by_the_plain_rerun(study: Path, tmp_path: Path) -> None:
    """Snakemake does not rebuild a missing intermediate on its own; rule all lists every chunk."""
    work = copy_study(study, tmp_path / "work")
    target = work / "results/estimates/coin/n2/reps10000-20000.parquet"
    content, summary = target.read_bytes(), (work / SUMMARY).read_bytes()
    target.unlink()
    dry = snakemake(work, "-n")
    assert job_counts(dry).get("simulate") == 1, dry.stdout[-2000:]
    run(work)
    assert target.read_bytes() == content and (work / SUMMARY).read_bytes() == summary


@pytest.mark.slow
def test_damaged_chunk_met_by_a_job_stops_with_one_line(study: Path, tmp_path: Path) -> None:
    """With a target other than the default (no pre-run check), the job that reads it names it and stops."""
    work = copy_study(study, tmp_path / "work")
    target = "results/estimates/waits/n5/reps0-10000.parquet"
    flip_that_still_decodes(work / target)
    result = snakemake(work, "results/summary/waits.csv", "--forcerun", "aggregate_scenario")
    assert result.returncode != 0
    assert f"error: {target}: its bytes have changed since it was written (sha256 " in result.stderr
    assert "delete it and run the same command again to re-simulate it" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_reproduce_exits_non_zero_on_a_tampered_chunk(study: Path, tmp_path: Path) -> None:
    """``python -m mlestudy.reproduce`` hashes the file on disk, not only its recomputation."""
    work = copy_study(study, tmp_path / "work")
    target = "results/estimates/coin/n50/reps10000-20000.parquet"

    def reproduce() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "mlestudy.reproduce", "results/manifest.json", target],
            cwd=work, capture_output=True, text=True, env=checkout_env(),
        )  # fmt: skip

    intact = reproduce()
    assert intact.returncode == 0 and "the file on disk matches the manifest" in intact.stdout, intact.stdout
    flip_that_still_decodes(work / target)
    tampered = reproduce()
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "matches the manifest" in tampered.stdout  # the recomputation does
    assert f"{target}: the file on disk DIFFERS from the manifest" in tampered.stdout


@pytest.mark.slow
def test_empty_benchmark_file_is_treated_as_missing(study: Path, tmp_path: Path) -> None:
    """A 0-byte benchmark file (a full disk) crashed the manifest step on every rerun."""
    work = copy_study(study, tmp_path / "work")
    bench = work / "results/benchmarks/simulate/coin/n2/reps0-10000.tsv"
    bench.write_bytes(b"")
    (work / "results/benchmarks/simulate/coin/n2/reps10000-20000.tsv").write_text("s\th:m:s\n")
    run(work, "--forcerun", "manifest", "report")
    manifest = (work / "results" / "manifest.json").read_text()
    assert '"job_seconds": null' in manifest


@pytest.mark.slow
def test_reruns_follow_the_code_a_job_runs(study: Path, tmp_path: Path) -> None:
    """touch re-runs nothing; an edit to a package module re-runs exactly the jobs that run it."""
    work = copy_study(study, tmp_path / "work", package=True)
    package = work  # this copy's mlestudy is the one imported, so it can be edited

    def planned() -> dict[str, int]:
        result = snakemake(work, "-n", package=package)
        assert result.returncode == 0, result.stderr[-2000:]
        return job_counts(result)

    assert planned() == {}  # the package copy has the same content: nothing to do
    for script in (work / "scripts").glob("*.py"):
        script.touch()
    (work / "Snakefile").touch()
    assert planned() == {}  # Snakemake's script-mtime trigger is off; content is what counts

    def edited(module: str) -> dict[str, int]:
        path = work / "mlestudy" / module
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            return planned()
        finally:
            path.write_text(original)

    everything = {"simulate": 10, "check_closed_form": 2, "aggregate_scenario": 2, "figures": 2,
                  "summary": 1, "manifest": 1, "report": 1, "all": 1,
                  "chapter_gradient": 1, "chapter_numerics": 1, "chapter_figure": 1}  # fmt: skip
    # The manifest takes its hashes and versions from provenance.py, not from the report.
    assert edited("report.py") == {"report": 1, "all": 1}
    assert edited("verdict.py") == {"report": 1, "all": 1}
    assert edited("figures.py") == {"figures": 2, "report": 1, "all": 1}
    assert edited("aggregate.py") == {
        "aggregate_scenario": 2,
        "figures": 2,
        "summary": 1,
        "report": 1,
        "all": 1,
    }
    assert edited("jobs.py") == everything
    assert edited("families/__init__.py") == everything  # the registry
    assert edited("families/exponential.py")["simulate"] == 6  # the waits scenario's chunks only
    assert planned() == {}
