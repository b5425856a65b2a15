"""Simulate data and fit every estimator, one range of replications at a time.

The hot path is vectorised across replications: each block's stream is drawn
into a reused cache-sized buffer and reduced at once to per-replication
statistics (:meth:`Family.draw_statistics`), so a job never holds its
(replications x n) data.  ``sampler="sufficient"`` skips the data altogether and
draws the statistics from their exact law (:meth:`Family.sufficient_statistics`).
Blocks are independent streams, so they can be drawn by several threads with
bit-identical results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from .families import Family
from .families.base import FloatArray, Theta
from .seeding import BLOCK_SIZE, block_rng, blocks_of

if TYPE_CHECKING:
    import pandas as pd

BATCH_DRAWS = 1 << 16
"""Target number of draws held at once (512 KiB of float64: stays in cache)."""

SAMPLERS = ("data", "sufficient")
"""``data`` draws every observation; ``sufficient`` draws the statistics directly."""


DRAWS_PER_THREAD = 10**7
"""A job draws with one thread per this many draws (about 0.1-0.5 s of work)."""


def draws(n: int, first: int, stop: int, sampler: str = "data") -> int:
    """Random variates a job draws (about): what its run time scales with."""
    return (stop - first) * (n if sampler == "data" else 1)


def threads_for(n: int, first: int, stop: int, sampler: str = "data") -> int:
    """Threads worth giving a job: one per :data:`DRAWS_PER_THREAD`, at most one per block.

    Snakemake caps the request at ``--cores``; more threads never change a result.
    """
    return max(1, min(len(blocks_of(first, stop)), draws(n, first, stop, sampler) // DRAWS_PER_THREAD))


def rows_per_batch(n: int) -> int:
    """Replications drawn at once: about :data:`BATCH_DRAWS` draws, at most a block."""
    return min(BLOCK_SIZE, max(1, BATCH_DRAWS // n))


def iter_data(
    family: Family, theta: Theta, *, seed: int, scenario: str, n: int, first: int, stop: int
) -> Iterator[tuple[int, FloatArray]]:
    """Yield ``(replication index, data rows)`` covering replications first..stop-1.

    The raw observations, for consumers that need them (the numerical check).
    Rows before ``first`` inside its block are drawn and discarded, which keeps
    any range consistent with the block streams.
    """
    rows = rows_per_batch(n)
    for block in blocks_of(first, stop):
        rng = block_rng(seed, scenario, n, block)
        base = block * BLOCK_SIZE
        lo, hi = max(first, base) - base, min(stop, base + BLOCK_SIZE) - base
        row = 0
        while row < hi:
            take = min(rows, hi - row)
            x = family.sample(rng, theta, (take, n))
            keep_from = max(lo - row, 0)
            if keep_from < take:
                yield base + row + keep_from, x[keep_from:]
            row += take


Put = Callable[[int, dict[str, FloatArray]], None]
"""Store statistics of consecutive rows, the first of which has the given index within a block."""


def block_statistics(
    family: Family,
    theta: Theta,
    rng: np.random.Generator,
    n: int,
    lo: int,
    hi: int,
    sampler: str,
    scratch: FloatArray | None,
    put: Put,
) -> None:
    """Statistics of rows ``lo..hi-1`` of one block, drawn from the block's ``rng``.

    Each batch goes straight to ``put``.  The data sampler draws rows 0..hi-1
    in order (a prefix of the stream, so a block cut short now and extended
    later gives the same first rows); the sufficient sampler always draws the
    whole block for the same reason.
    """
    if sampler == "sufficient":
        whole = family.sufficient_statistics(rng, theta, n, BLOCK_SIZE)
        put(lo, {k: v[lo:hi] for k, v in whole.items()})
        return
    assert scratch is not None
    row = 0
    while row < hi:
        take = min(len(scratch), hi - row)
        stats = family.draw_statistics(rng, theta, scratch[:take])
        keep_from = max(lo - row, 0)
        if keep_from < take:
            put(row + keep_from, {k: v[keep_from:] for k, v in stats.items()})
        row += take


def range_statistics(
    family: Family,
    theta: Theta,
    *,
    seed: int,
    scenario: str,
    n: int,
    first: int,
    stop: int,
    sampler: str = "data",
    threads: int = 1,
) -> dict[str, FloatArray]:
    """Per-replication statistics for replications ``first..stop-1``.

    ``threads`` workers draw whole blocks concurrently (numpy releases the GIL
    while drawing and reducing); each owns its scratch buffer and writes its
    rows into their place, so the result does not depend on ``threads``.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, not {sampler!r}")
    local = threading.local()
    out: dict[str, FloatArray] = {}
    lock = threading.Lock()

    def one_block(block: int) -> None:
        scratch = getattr(local, "scratch", None)
        if scratch is None and sampler == "data":
            scratch = local.scratch = np.empty((rows_per_batch(n), n))
        base = block * BLOCK_SIZE

        def put(row: int, stats: dict[str, FloatArray]) -> None:
            with lock:  # the family's statistics are known once its first batch is in
                for key, value in stats.items():
                    if key not in out:
                        out[key] = np.empty(stop - first, dtype=value.dtype)
            at = base + row - first
            for key, value in stats.items():
                out[key][at : at + len(value)] = value

        lo, hi = max(first, base) - base, min(stop, base + BLOCK_SIZE) - base
        block_statistics(family, theta, block_rng(seed, scenario, n, block), n, lo, hi, sampler, scratch, put)

    blocks = blocks_of(first, stop)
    if threads > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(min(threads, len(blocks))) as pool:
            list(pool.map(one_block, blocks))
    else:
        for b in blocks:
            one_block(b)
    return out


def simulate_columns(
    family: Family,
    theta: Theta,
    *,
    seed: int,
    scenario: str,
    n: int,
    first: int,
    stop: int,
    estimators: list[str] | None = None,
    sampler: str = "data",
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Per-replication estimates for replications ``first..stop-1``, as columns.

    Columns: ``replication``, ``<estimator>.<parameter>`` (float64, NaN where the
    estimator failed) and ``<estimator>.status`` (a :class:`Status` code).
    """
    if stop <= first:
        raise ValueError(f"empty replication range {first}..{stop}")
    stats = range_statistics(
        family,
        theta,
        seed=seed,
        scenario=scenario,
        n=n,
        first=first,
        stop=stop,
        sampler=sampler,
        threads=threads,
    )
    fits = family.estimate(stats, n)
    columns: dict[str, np.ndarray] = {"replication": np.arange(first, stop, dtype=np.int64)}
    for name in estimators or [e.name for e in family.estimators]:
        fit = fits[name]
        for p in family.estimator(name).parameters:
            columns[f"{name}.{p}"] = np.asarray(fit.values[p], dtype=np.float64)
        columns[f"{name}.status"] = np.asarray(fit.status, dtype=np.int8)
    return columns


def simulate_range(family: Family, theta: Theta, **options: object) -> pd.DataFrame:
    """:func:`simulate_columns` as a DataFrame, for analysis and tests."""
    import pandas as pd

    return pd.DataFrame(simulate_columns(family, theta, **options))  # type: ignore[arg-type]
