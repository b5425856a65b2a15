"""Jobs sized by their work (mlestudy/sizing.py): the plan's promises, then the same through the CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_reproducibility import assert_bitwise_equal, changed, chunk_path, estimates, job_outputs
from workflow_helpers import copy_workflow, run, write_config

from mlestudy import sizing
from mlestudy.config import validate
from mlestudy.seeding import BLOCK_SIZE
from mlestudy.sizing import LADDER, MAX_CHUNK, PER_REPLICATION_COST, TARGET_COST, auto_chunk_size, plan_chunks

costs = st.floats(0, 1e8, allow_nan=False)
replications = st.integers(1, 5 * 10**7)


def test_ladder_is_whole_blocks_and_increasing() -> None:
    assert all(size % BLOCK_SIZE == 0 for size in LADDER)
    assert list(LADDER) == sorted(set(LADDER)) and MAX_CHUNK in LADDER


@given(costs)
def test_auto_size_carries_the_target_work_and_no_more_than_a_ladder_step(cost: float) -> None:
    """The smallest ladder size that reaches the target, unless capped."""
    size = auto_chunk_size(cost)
    per = cost + PER_REPLICATION_COST
    assert size in LADDER and size <= MAX_CHUNK
    assert size * per >= TARGET_COST or size == MAX_CHUNK
    smaller = [s for s in LADDER if s < size]
    assert not smaller or smaller[-1] * per < TARGET_COST  # the step below falls short


@given(costs, costs)
def test_dearer_replications_never_get_bigger_chunks(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert auto_chunk_size(hi) <= auto_chunk_size(lo)


@given(replications, costs, st.one_of(st.none(), st.integers(1, 500).map(lambda k: k * BLOCK_SIZE)))
def test_plan_covers_every_replication_in_aligned_whole_blocks(
    r: int, cost: float, override: int | None
) -> None:
    plan = plan_chunks(r, cost, override)
    size = override or auto_chunk_size(cost)
    assert plan[0][0] == 0 and plan[-1][1] == r
    assert all(stop == nxt for (_, stop), (nxt, _) in zip(plan, plan[1:], strict=False))
    assert all(first % size == 0 and first % BLOCK_SIZE == 0 for first, _ in plan)
    assert all(stop - first == size for first, stop in plan[:-1])


@given(replications, replications, costs)
def test_raising_replications_keeps_every_full_chunk(r1: int, r2: int, cost: float) -> None:
    """Top-up: the plan for more replications holds every full chunk of the plan for fewer."""
    small, big = sorted((r1, r2))
    size = auto_chunk_size(cost)
    kept = set(plan_chunks(big, cost))
    full = [c for c in plan_chunks(small, cost) if c[1] - c[0] == size]
    assert set(full) <= kept
    # and a partial last chunk is at most one job's work
    assert len(set(plan_chunks(small, cost)) - kept) <= 1


def test_override_and_bad_input() -> None:
    assert plan_chunks(250_000, 1e6, 100_000) == [(0, 100_000), (100_000, 200_000), (200_000, 250_000)]
    for args, match in [
        ((0, 10.0), "replications"),
        ((10, math.nan), "cost"),
        ((10, -1.0), "cost"),
        ((10, 1.0, 15_000), "multiple of"),
    ]:
        with pytest.raises(ValueError, match=match):
            plan_chunks(*args)


def test_scenario_chunks_follow_the_draws() -> None:
    """Draws per replication are the cost: n for the data sampler, about 1 for sufficient."""
    config = {
        "seed": 1,
        "scenarios": [
            {"name": "d", "family": "exponential", "params": {"rate": 1.0}, "sample_sizes": [2, 1000, 25_000],
             "replications": 1_000_000},
            {"name": "s", "family": "exponential", "params": {"rate": 1.0}, "sample_sizes": [25_000],
             "replications": 1_000_000, "sampler": "sufficient"},
            {"name": "o", "family": "exponential", "params": {"rate": 1.0}, "sample_sizes": [2],
             "replications": 1_000_000, "chunk_size": 250_000},
        ],
    }  # fmt: skip
    study = validate(config)
    d, s, o = study.scenarios
    assert d.chunks(2) == [(0, 1_000_000)]
    assert d.chunks(1000) == [(0, 500_000), (500_000, 1_000_000)]  # 500,000 x 1004 >= 2.5e8 > 200,000 x 1004
    assert len(d.chunks(25_000)) == 100  # 10,000 replications of 25,000 draws: 2.5e8
    assert s.chunks(25_000) == [(0, 1_000_000)]
    assert len(o.chunks(2)) == 4


def test_memory_request_covers_a_real_job(tmp_path: Path) -> None:
    """A simulate job's peak RSS, measured in a fresh process, is within its request."""
    reps, n = 1_000_000, 20
    code = (
        "from mlestudy.jobs import simulate_job\n"
        "sim = {'family': 'normal', 'params': {'mu': 0.0, 'sigma2': 1.0}, 'seed': 3,"
        " 'estimators': ['mle', 'unbiased'], 'sampler': 'data', 'design': {}}\n"
        f"simulate_job('m', sim, n={n}, first=0, stop={reps}, output={str(tmp_path / 'x.parquet')!r})\n"
        # VmHWM, the peak RSS of this process's own memory: getrusage's ru_maxrss survives
        # exec, so in a subprocess of a big pytest worker it reported the worker's size.
        "import re; print(re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read())[1])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    peak_mb = int(out.stdout.split()[-1]) / 1024
    request = sizing.memory_mb(reps, n)
    assert peak_mb <= request, (peak_mb, request)
    assert sizing.memory_mb(reps, n, attempt=2) == pytest.approx(2 * request, abs=1)
    assert sizing.memory_mb(reps, 10**7, threads=2) > sizing.memory_mb(reps, 10**7)


HEAVY_N = 25_000
"""10,000 replications of 25,000 exponential draws reach the target: chunks of one block."""


def sized_study(heavy_replications: int, cheap_sizes: list[int], chunk_size: int | None = None) -> dict:
    config = {
        "seed": 7,
        "check_replications": 2,
        "scenarios": [
            {"name": "cheap", "family": "bernoulli", "params": {"p": 0.4}, "sample_sizes": cheap_sizes,
             "replications": 2 * BLOCK_SIZE},
            {"name": "heavy", "family": "exponential", "params": {"rate": 2.0}, "sample_sizes": [HEAVY_N],
             "replications": heavy_replications},
        ],
    }  # fmt: skip
    if chunk_size:
        config["chunk_size"] = chunk_size
    return config


@pytest.mark.slow
def test_sizing_changes_no_result_and_keeps_top_up_and_additions_local(tmp_path: Path) -> None:
    """Through the CLI: sized by the work vs one block per job give the same bytes; raising R
    only adds a chunk; adding a sample size simulates only it."""
    auto = copy_workflow(tmp_path / "auto", sized_study(2 * BLOCK_SIZE, [2, 50]))
    fixed = copy_workflow(tmp_path / "fixed", sized_study(2 * BLOCK_SIZE, [2, 50], chunk_size=BLOCK_SIZE))
    run(auto)
    run(fixed)
    planned = sorted(str(p.relative_to(auto)) for p in (auto / "results/estimates").rglob("*.parquet"))
    assert planned == sorted(
        [chunk_path("cheap", 2, 0, 2 * BLOCK_SIZE), chunk_path("cheap", 50, 0, 2 * BLOCK_SIZE),
         chunk_path("heavy", HEAVY_N, 0, BLOCK_SIZE), chunk_path("heavy", HEAVY_N, BLOCK_SIZE, 2 * BLOCK_SIZE)]
    )  # fmt: skip
    assert (auto / "results/summary.csv").read_bytes() == (fixed / "results/summary.csv").read_bytes()
    a, f = estimates(auto), estimates(fixed)
    assert a.keys() == f.keys()
    for key in a:
        assert_bitwise_equal(a[key], f[key])

    before = job_outputs(auto)
    write_config(auto, sized_study(3 * BLOCK_SIZE, [2, 50]))
    run(auto)
    new = {p for p in changed(before, job_outputs(auto)) if p.startswith("results/estimates")}
    assert new == {chunk_path("heavy", HEAVY_N, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE)}

    before = job_outputs(auto)
    write_config(auto, sized_study(3 * BLOCK_SIZE, [2, 3, 50]))
    run(auto)
    new = {p for p in changed(before, job_outputs(auto)) if p.startswith("results/estimates")}
    assert new == {chunk_path("cheap", 3, 0, 2 * BLOCK_SIZE)}
