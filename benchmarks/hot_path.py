"""Simulate+fit speed against the random-number floor, per closed-form family.

For n in {10, 100, 1000} and R*n = 10^7 draws, four ways to get the estimates
of one (scenario, n), timed interleaved (every method once per round, median of
the rounds) on one core:

(a) loop      the seed-style per-replication loop: the family's own sample()
              and fit() called once per replication (timed on a slice of
              API_LOOP_REPS replications: its cost per draw does not depend on R);
(a') numpy loop the leanest hand-written loop: one Generator call and one numpy
              reduction per replication (LOOP_REPS replications);
(b) raw       numpy drawing the very same numbers from the very same block
              generators into a reused cache-sized buffer, and nothing else:
              the floor;
(c) package   mlestudy.simulate.simulate_columns, sampler "data";
(d) direct    mlestudy.simulate.simulate_columns, sampler "sufficient".

Plus (c) on two threads, to show what a second core gives.  Run it through
``benchmarks/run.py``, which writes ``benchmarks/results.md``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from mlestudy.families import get_family
from mlestudy.models.scalar import model_type
from mlestudy.seeding import BLOCK_SIZE, block_rng, blocks_of
from mlestudy.simulate import simulate_columns

DRAWS = 10**7
SIZES = (10, 100, 1000)
LOOP_REPS = 20_000
API_LOOP_REPS = 2_000
SEED = 20261121
THETA = {
    "bernoulli": {"p": 0.7},
    "normal": {"mu": 5.0, "sigma2": 4.0},
    "exponential": {"rate": 0.5},
    "poisson": {"rate": 3.0},
}
TARGETS = {
    "package/raw": "<= 1.5 at every n",
    "loop/package": ">= 15 at n = 100",
    "numpy loop/package": ">= 15 at n = 100 (not a target of the issue: the strictest reading)",
    "package/direct": ">= 20 at n = 1000",
}


def api_loop(name: str, n: int, reps: int) -> None:
    """(a) One replication at a time through the family's API, as the seed-style code does."""
    rng = np.random.default_rng(SEED)
    family = get_family(name)
    for _ in range(reps):
        family.fit(family.sample(rng, THETA[name], (1, n)))


def numpy_loop(name: str, n: int, reps: int) -> None:
    """(a') One replication at a time, with nothing but a Generator call and a numpy reduction."""
    rng = np.random.default_rng(SEED)
    theta = THETA[name]
    for _ in range(reps):
        if name == "normal":
            x = rng.normal(theta["mu"], np.sqrt(theta["sigma2"]), n)
            m = x.mean()
            _ = (m, ((x - m) ** 2).mean())
        elif name == "exponential":
            _ = 1.0 / rng.exponential(1.0 / theta["rate"], n).mean()
        elif name == "bernoulli":
            _ = (rng.random(n) < theta["p"]).mean()
        else:
            _ = rng.poisson(theta["rate"], n).mean()


def raw_draws(name: str, n: int, reps: int) -> None:
    """(b) The same draws from the same block streams, into a reused buffer."""
    theta = THETA[name]
    buffer = np.empty((model_type(get_family(name))(theta).batch_rows(n), n))
    for block in blocks_of(0, reps):
        rng = block_rng(SEED, name, n, block)
        rows = min(BLOCK_SIZE, reps - block * BLOCK_SIZE)
        for start in range(0, rows, len(buffer)):
            out = buffer[: min(len(buffer), rows - start)]
            if name == "normal":
                rng.standard_normal(out=out)
            elif name == "exponential":
                rng.standard_exponential(out=out)
            elif name == "bernoulli":
                rng.random(out=out)
            else:
                rng.poisson(theta["rate"], out.shape)


def package(name: str, n: int, reps: int, sampler: str = "data", threads: int = 1) -> None:
    """(c), (d): the study's own path."""
    simulate_columns(
        get_family(name),
        THETA[name],
        seed=SEED,
        scenario=name,
        n=n,
        first=0,
        stop=reps,
        sampler=sampler,
        threads=threads,
    )


def methods(name: str, n: int) -> dict[str, tuple[Callable[[], None], int]]:
    """Method -> (call, draws it makes)."""
    reps = DRAWS // n
    loop_reps, api_reps = min(reps, LOOP_REPS), min(reps, API_LOOP_REPS)
    return {
        "loop": (lambda: api_loop(name, n, api_reps), api_reps * n),
        "numpy loop": (lambda: numpy_loop(name, n, loop_reps), loop_reps * n),
        "raw": (lambda: raw_draws(name, n, reps), DRAWS),
        "package": (lambda: package(name, n, reps), DRAWS),
        "package 2 threads": (lambda: package(name, n, reps, threads=2), DRAWS),
        "direct": (lambda: package(name, n, reps, sampler="sufficient"), DRAWS),
    }


def measure(rounds: int = 5) -> list[dict]:
    """ns per draw of every method, family and n: median over interleaved rounds."""
    cells = [(name, n) for name in THETA for n in SIZES]
    for name, n in cells:  # warm-up: imports, first-touch of buffers
        package(name, n, BLOCK_SIZE)
    times: dict[tuple[str, int, str], list[float]] = {}
    for _ in range(rounds):
        for name, n in cells:
            for method, (call, draws) in methods(name, n).items():
                start = time.perf_counter()
                call()
                times.setdefault((name, n, method), []).append((time.perf_counter() - start) / draws * 1e9)
    rows = []
    for name, n in cells:
        ns = {m: statistics.median(times[(name, n, m)]) for m in methods(name, n)}
        rows.append(
            {
                "family": name,
                "n": n,
                **{f"{m} ns/draw": v for m, v in ns.items()},
                "package/raw": ns["package"] / ns["raw"],
                "loop/package": ns["loop"] / ns["package"],
                "numpy loop/package": ns["numpy loop"] / ns["package"],
                "package/direct": ns["package"] / ns["direct"],
                "1 thread/2 threads": ns["package"] / ns["package 2 threads"],
            }
        )
    return rows


def targets_met(rows: list[dict]) -> dict[str, bool]:
    """Each target of the speed issue, checked on the measured rows."""
    return {
        "package/raw": all(r["package/raw"] <= 1.5 for r in rows),
        "loop/package": all(r["loop/package"] >= 15 for r in rows if r["n"] == 100),
        "numpy loop/package": all(r["numpy loop/package"] >= 15 for r in rows if r["n"] == 100),
        "package/direct": all(r["package/direct"] >= 20 for r in rows if r["n"] == 1000),
    }
