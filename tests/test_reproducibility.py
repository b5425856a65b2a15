"""Issue 3: a study's numbers depend on its config and on nothing else.

Each test drives the ``snakemake`` CLI on a tiny study in a temporary copy of
the workflow.  Sizes are whole multiples of ``BLOCK_SIZE``, so the tests hold
whatever the block size is.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import (
    SNAKEMAKE,
    checkout_env,
    chunk_files,
    copy_workflow,
    run,
    snakemake,
    snapshot,
    write_config,
)

from mlestudy.estimates_io import read_estimates, read_meta
from mlestudy.manifest import file_sha256
from mlestudy.seeding import BLOCK_SIZE, scenario_key

B = BLOCK_SIZE
SUMMARY = "results/summary.csv"
COIN = {"name": "coin", "family": "bernoulli", "params": {"p": 0.3}, "sample_sizes": [3]}
SPREAD = {"name": "spread", "family": "normal", "params": {"mu": 1.0, "sigma2": 2.0}, "sample_sizes": [10]}
WAITS = {"name": "waits", "family": "exponential", "params": {"rate": 0.5}, "sample_sizes": [5]}


def study(chunk_size: int, *scenarios: dict, replications: int) -> dict:
    """A config: the given scenarios, each with ``replications``."""
    return {
        "seed": 20261121,
        "chunk_size": chunk_size,
        "check_replications": 3,
        "scenarios": [{**s, "replications": replications} for s in scenarios],
    }


def estimates(workdir: Path) -> dict[tuple[str, int], pd.DataFrame]:
    """(scenario, n) -> its per-replication estimates, in replication order."""
    groups: dict[tuple[str, int], list[Path]] = {}
    for path in chunk_files(workdir):
        meta = read_meta(path)
        groups.setdefault((meta["scenario"], int(meta["n"])), []).append(path)
    return {key: read_estimates(paths) for key, paths in sorted(groups.items())}


def assert_bitwise_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same columns, dtypes and bytes (NaN payloads and -0.0 included)."""
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        assert a[c].dtype == b[c].dtype, c
        assert a[c].to_numpy().tobytes() == b[c].to_numpy().tobytes(), f"column {c} differs"


def relative(workdir: Path, paths: list[Path]) -> list[str]:
    return [str(p.relative_to(workdir)) for p in paths]


def chunk_path(scenario: str, n: int, first: int, stop: int) -> str:
    return f"results/estimates/{scenario}/n{n}/reps{first}-{stop}.parquet"


def simulate_log(scenario: str, n: int, first: int, stop: int) -> str:
    return f"results/logs/simulate/{scenario}/n{n}/reps{first}-{stop}.log"


def job_outputs(workdir: Path) -> dict[str, tuple[int, int]]:
    """Chunk files, simulate logs and per-scenario tables, to see which jobs ran."""
    return {
        **snapshot(workdir, "results/estimates/**/*.parquet"),
        **snapshot(workdir, "results/logs/simulate/**/*.log"),
        **snapshot(workdir, "results/summary/*.csv"),
    }


def changed(before: dict, after: dict) -> set[str]:
    """Files that are new or were replaced between two snapshots."""
    return {p for p, stat in after.items() if before.get(p) != stat}


@pytest.mark.slow
def test_bit_identical_across_cores_and_chunk_sizes(tmp_path: Path) -> None:
    """--cores 1, --cores 4 and another chunk_size give the same bytes.

    Same chunking: every chunk file and summary.csv byte for byte.  Another
    chunking (2 blocks per chunk, the last chunk shorter): other files, but the
    estimates of every replication and summary.csv bit for bit.
    """
    r, sizes = 3 * B, [2, 10]
    spread = {**SPREAD, "sample_sizes": sizes}
    runs = {}
    for label, cores, chunk in [("cores1", 1, B), ("cores4", 4, B), ("chunk2", 2, 2 * B)]:
        runs[label] = copy_workflow(tmp_path / label, study(chunk, spread, replications=r))
        run(runs[label], SUMMARY, cores=cores)
    one, four, two = runs["cores1"], runs["cores4"], runs["chunk2"]

    names = relative(one, chunk_files(one))
    assert names == sorted(chunk_path("spread", n, a, a + B) for n in sizes for a in range(0, r, B))
    assert relative(four, chunk_files(four)) == names
    for name in names:
        assert (four / name).read_bytes() == (one / name).read_bytes(), name

    assert relative(two, chunk_files(two)) == sorted(
        chunk_path("spread", n, a, b) for n in sizes for a, b in [(0, 2 * B), (2 * B, r)]
    )
    ref, other = estimates(one), estimates(two)
    assert list(ref) == list(other) == [("spread", n) for n in sizes]
    for key, frame in ref.items():
        np.testing.assert_array_equal(frame["replication"].to_numpy(), np.arange(r))
        assert_bitwise_equal(other[key], frame)

    summary = (one / SUMMARY).read_bytes()
    assert (four / SUMMARY).read_bytes() == summary
    assert (two / SUMMARY).read_bytes() == summary


@pytest.mark.slow
def test_top_up_new_n_and_new_scenario_rerun_only_new_work(tmp_path: Path) -> None:
    """More replications, a new n or a new scenario simulate only what is new.

    A job that ran replaced its output (atomic rename: new inode) and its log,
    so unchanged (inode, mtime) means it did not run.  Raising R to 2R keeps the
    first R chunk files and ends bit-identical to a fresh run at 2R.
    """
    chunk, r = 2 * B, 2 * B
    work = copy_workflow(tmp_path / "grown", study(chunk, COIN, replications=r))
    run(work, SUMMARY)
    before = job_outputs(work)
    assert changed({}, before) == {
        chunk_path("coin", 3, 0, r),
        simulate_log("coin", 3, 0, r),
        "results/summary/coin.csv",
    }

    # Top-up: R -> 2R.
    write_config(work, study(chunk, COIN, replications=2 * r))
    run(work, SUMMARY)
    after = job_outputs(work)
    assert changed(before, after) == {
        chunk_path("coin", 3, r, 2 * r),
        simulate_log("coin", 3, r, 2 * r),
        "results/summary/coin.csv",
    }
    fresh = copy_workflow(tmp_path / "fresh", study(chunk, COIN, replications=2 * r))
    run(fresh, SUMMARY)
    assert (work / SUMMARY).read_bytes() == (fresh / SUMMARY).read_bytes()
    assert relative(work, chunk_files(work)) == relative(fresh, chunk_files(fresh))
    for path in chunk_files(fresh):
        assert (work / path.relative_to(fresh)).read_bytes() == path.read_bytes()

    # A new sample size: only its chunks are simulated, only coin is re-aggregated.
    coin12 = {**COIN, "sample_sizes": [3, 12]}
    write_config(work, study(chunk, coin12, replications=2 * r))
    before = job_outputs(work)
    run(work, SUMMARY)
    new = [(a, a + chunk) for a in range(0, 2 * r, chunk)]
    assert changed(before, job_outputs(work)) == {
        *(f("coin", 12, a, b) for f in (chunk_path, simulate_log) for a, b in new),
        "results/summary/coin.csv",
    }

    # A new scenario: only its chunks are simulated, only it is aggregated.
    write_config(work, study(chunk, coin12, WAITS, replications=2 * r))
    before = job_outputs(work)
    run(work, SUMMARY)
    assert changed(before, job_outputs(work)) == {
        *(f("waits", 5, a, b) for f in (chunk_path, simulate_log) for a, b in new),
        "results/summary/waits.csv",
    }


KILL_DRAWS = 20_000_000
"""Draws per chunk in the kill test: a few tenths of a second of work, to catch a job mid-flight."""


def wait_for(condition, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Poll ``condition`` until true; fail if the run ends or time runs out first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the run finished before it could be interrupted"
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.01)


@pytest.mark.slow
def test_sigkill_then_rerun_resumes_bit_identical(tmp_path: Path) -> None:
    """SIGKILL of the whole run mid-simulation; after --unlock the plain command finishes it.

    The resumed study is bit-identical to an uninterrupted one; a leftover
    temporary file of a killed write changes nothing.
    """
    chunk = 2 * B
    n = KILL_DRAWS // chunk
    r = 4 * chunk
    scenario = {"name": "slow", "family": "normal", "params": {"mu": 0.0, "sigma2": 1.0}, "sample_sizes": [n]}
    config = study(chunk, scenario, replications=r)
    work = copy_workflow(tmp_path / "killed", config)
    chunks = work / "results" / "estimates" / "slow" / f"n{n}"
    logs = work / "results" / "logs" / "simulate" / "slow" / f"n{n}"

    def done() -> set[str]:
        return {p.stem for p in chunks.glob("*.parquet")}

    def running() -> set[str]:
        """Jobs that have started simulating (they open their log first) but not written."""
        return {p.stem for p in logs.glob("*.log")} - done()

    proc = subprocess.Popen(
        [str(SNAKEMAKE), "--cores", "2", SUMMARY],
        cwd=work,
        env=checkout_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: bool(done()) and bool(running()), proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 1 <= len(done()) < r // chunk
    assert not (work / SUMMARY).exists()

    # Snakemake cannot tell a killed run's lock from a live run: it refuses
    # until told to unlock.
    refused = snakemake(work, SUMMARY)
    assert refused.returncode != 0 and "--unlock" in refused.stderr, refused.stderr[-2000:]
    run(work, "--unlock")

    # What a job killed inside write_atomic leaves behind.
    missing = sorted({f"reps{a}-{a + chunk}" for a in range(0, r, chunk)} - done())[0]
    stray = chunks / f".{missing}.parquet.k1ll3d.tmp"
    stray.write_bytes(b"PAR1 half a file")

    run(work, SUMMARY)  # the plain command
    assert stray.read_bytes() == b"PAR1 half a file"  # ignored, not mistaken for the output

    reference = copy_workflow(tmp_path / "uninterrupted", config)
    run(reference, SUMMARY)
    expected = relative(reference, chunk_files(reference))
    assert relative(work, chunk_files(work)) == expected and len(expected) == r // chunk
    for name in expected:
        assert (work / name).read_bytes() == (reference / name).read_bytes(), name
    assert (work / SUMMARY).read_bytes() == (reference / SUMMARY).read_bytes()


@pytest.mark.slow
def test_manifest_reproduces_a_chunk_alone(tmp_path: Path) -> None:
    """results/manifest.json describes every chunk file; one is recomputed from it alone."""
    config = study(B, {**COIN, "sample_sizes": [3, 20]}, SPREAD, replications=2 * B)
    work = copy_workflow(tmp_path / "study", config)
    run(work, "results/manifest.json")
    manifest = json.loads((work / "results" / "manifest.json").read_text())

    canonical = json.dumps(
        yaml.safe_load((work / "config.yaml").read_text()), sort_keys=True, separators=(",", ":")
    )
    assert manifest["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert manifest["config"] == config and manifest["seed"] == config["seed"]
    for package in ("numpy", "scipy", "pandas", "pyarrow", "snakemake", "mlestudy"):
        assert manifest["versions"][package][0].isdigit(), package

    entries = manifest["chunks"]
    assert sorted(e["path"] for e in entries) == relative(
        work, chunk_files(work)
    )  # every chunk file, no other
    for e in entries:
        meta = read_meta(work / e["path"])
        assert (e["scenario"], e["n"], e["first"], e["stop"]) == (
            meta["scenario"],
            meta["n"],
            meta["first"],
            meta["stop"],
        )
        assert e["family"] == meta["family"] and e["params"] == meta["params"]
        assert e["sha256"] == file_sha256(work / e["path"])
        assert [(blk["block"], blk["first"], blk["stop"]) for blk in e["blocks"]] == [
            (e["first"] // B, e["first"], e["stop"])
        ]
        for blk in e["blocks"]:
            assert blk["entropy"] == config["seed"]
            assert blk["spawn_key"] == [*scenario_key(e["scenario"]), e["n"], blk["block"]]
        assert e["job_seconds"] > 0 and e["started_utc"] < e["written_utc"] <= manifest["created_utc"]

    # Only the manifest, in a directory of its own: no config, workflow or other chunk.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "manifest.json").write_text((work / "results" / "manifest.json").read_text())
    target = chunk_path("coin", 20, B, 2 * B)
    redo = subprocess.run(
        [sys.executable, "-m", "mlestudy.reproduce", "manifest.json", target, "--output", "redo.parquet"],
        cwd=alone,
        capture_output=True,
        text=True,
        env=checkout_env(),
    )
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert "matches the manifest" in redo.stdout
    assert (alone / "redo.parquet").read_bytes() == (work / target).read_bytes()

    # A manifest that misdescribes the chunk is caught.
    wrong = json.loads((alone / "manifest.json").read_text())
    entry = next(e for e in wrong["chunks"] if e["path"] == target)
    entry["simulation"]["params"]["p"] = 0.31
    (alone / "wrong.json").write_text(json.dumps(wrong))
    differs = subprocess.run(
        [sys.executable, "-m", "mlestudy.reproduce", "wrong.json", target],
        cwd=alone,
        capture_output=True,
        text=True,
        env=checkout_env(),
    )
    assert differs.returncode == 1 and "DIFFERS" in differs.stdout, differs.stdout + differs.stderr
