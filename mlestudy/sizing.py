"""How much work each simulate job carries, and what it asks a scheduler for.

Every job pays a fixed start-up before its work: a process, imports and
Snakemake's bookkeeping, about 0.3-0.5 s on a workstation and 5-15 s as a
SLURM job.  A job of 100,000 replications at n = 2 is 0.02 s of work, at
n = 1000 a second or more, so one fixed chunk size is either all start-up or
needlessly coarse.  Here a job's replications follow its cost instead.

The chunk size depends only on the cost of one replication, never on R, and
comes from a fixed ladder (1, 2, 5 x 10^k replications, all whole numbers of
:data:`~mlestudy.seeding.BLOCK_SIZE`-replication seeding blocks).  So:

- chunks are unions of seeding blocks, and results are bit-identical whatever
  the sizing (each block has its own stream);
- raising R keeps every full chunk's file, and adds files (a partial last chunk
  is re-drawn under its longer range, at most one job's work);
- adding a sample size or a scenario plans only its own chunks.

The cost is a plain number of draw-equivalents per replication (today the
draws: n, or about 1 with the sufficient-statistic sampler; a model with
covariates can report the floats it generates), so this module knows nothing
of families or models.
"""

from __future__ import annotations

import math

from .seeding import BLOCK_SIZE

TARGET_COST = 2.5e8
"""Draw-equivalents a job should carry at least: about 1 s for the cheapest
draws measured here (Bernoulli, 3-4 ns), 3 s for normal and 11 s for Poisson
draws; several times a local job's start-up.  On a cluster, start-up is paid
once per group of jobs (workflow/profiles/slurm), not once per chunk."""

PER_REPLICATION_COST = 4.0
"""Draw-equivalents a replication costs beyond its draws: its fit, status and
write (15-25 ns, as much as 4-6 of the cheapest draws)."""

LADDER = tuple(m * 10**k for k in range(4, 7) for m in (1, 2, 5) if m * 10**k % BLOCK_SIZE == 0)
"""Replications per job that automatic sizing chooses from: 10,000 ... 5,000,000."""

MAX_CHUNK = 2_000_000
"""Largest automatic chunk: its estimates and statistics are about 0.5 GB in memory."""

BASE_MEMORY_MB = 400
"""A simulate job before its arrays: Python, numpy and pyarrow (about 120 MB
measured) with room for the allocator and Snakemake's job wrapper."""

BYTES_PER_REPLICATION = 256
"""A replication's statistics, estimates, status and their copy into Arrow."""

SECONDS_PER_COST = 1e-7
"""Twice the slowest draw measured here (Poisson, about 45 ns): for runtime requests."""


def auto_chunk_size(cost_per_replication: float) -> int:
    """The smallest ladder size whose work reaches :data:`TARGET_COST`, at most :data:`MAX_CHUNK`.

    Parameters
    ----------
    cost_per_replication
        Draw-equivalents one replication costs (draws per replication today).
    """
    if not (math.isfinite(cost_per_replication) and cost_per_replication >= 0):
        raise ValueError(f"cost per replication must be a finite number >= 0, not {cost_per_replication!r}")
    per_replication = cost_per_replication + PER_REPLICATION_COST
    for size in LADDER:
        if size >= MAX_CHUNK or size * per_replication >= TARGET_COST:
            return min(size, MAX_CHUNK)
    return MAX_CHUNK


def plan_chunks(
    replications: int, cost_per_replication: float, chunk_size: int | None = None
) -> list[tuple[int, int]]:
    """Replication ranges ``(first, stop)`` of one (scenario, n)'s simulate jobs.

    Parameters
    ----------
    replications
        R, the replications of the scenario at this sample size.
    cost_per_replication
        Draw-equivalents per replication; ignored when ``chunk_size`` is given.
    chunk_size
        The user's override (config key ``chunk_size``), a multiple of
        :data:`~mlestudy.seeding.BLOCK_SIZE`; ``None`` sizes by the work.

    Returns
    -------
    list of (int, int)
        Consecutive ranges covering ``0..replications``; every range starts at
        a multiple of the chunk size, so the plan for a larger R extends the
        plan for a smaller one.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1, not {replications}")
    size = auto_chunk_size(cost_per_replication) if chunk_size is None else chunk_size
    if size < 1 or size % BLOCK_SIZE:
        raise ValueError(f"chunk size must be a positive multiple of {BLOCK_SIZE}, not {size}")
    return [(first, min(first + size, replications)) for first in range(0, replications, size)]


def memory_mb(replications: int, n: int, threads: int = 1, attempt: int = 1) -> int:
    """Memory to request for a simulate job of ``replications`` at sample size ``n``.

    Each thread holds one draw buffer of about 2^16 values, or one replication
    (n values) when that is larger.  A retried job (``attempt`` > 1) asks for
    proportionally more, in case the first attempt was killed for memory.
    """
    buffers = threads * max(1 << 16, n) * 8
    need = BASE_MEMORY_MB + (replications * BYTES_PER_REPLICATION + buffers) / 2**20
    return math.ceil(need * attempt)


def runtime_minutes(cost: float, threads: int = 1) -> int:
    """Wall-time limit to request for a job of ``cost`` draw-equivalents: generous, at least 10 min."""
    return 10 + math.ceil(cost * SECONDS_PER_COST / max(threads, 1) / 60)
