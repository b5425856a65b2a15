"""Random streams keyed by what a piece of work *is*, never by when it runs.

Replications of one (scenario, n) are cut into fixed blocks of ``BLOCK_SIZE``.
Block ``b`` draws from its own stream, ``SeedSequence(seed, spawn_key=(name key,
n, b))``.  Jobs (chunks) are unions of blocks, so results do not depend on the
number of cores, the order of jobs or the chunk size, and raising the number of
replications only appends blocks: the first R estimates stay bit-identical.

A model that draws several arrays per batch (a design, then a response) draws
each from its own *named stream* of the block: a batch boundary then cuts every
stream at the same replication, so any range reproduces the same rows.  The
first stream is the block's original one (so models with one stream are
unchanged); stream ``i > 0`` appends ``i`` to the spawn key.  A fixed design is
drawn once per scenario from ``spawn_key = (name key, 0, 0)`` (n = 0 is never a
sample size, so it cannot collide with a block).
"""

from __future__ import annotations

import hashlib

import numpy as np

BLOCK_SIZE = 10_000
"""Replications per random stream.  Changing it changes every result.

Large enough that creating a stream (about 50 us) is a few percent of drawing
its block even at n = 10, small enough to be the unit of topping up.
"""


def scenario_key(name: str) -> tuple[int, ...]:
    """Four 32-bit words from SHA-256 of the scenario name (stable across runs).

    Fixed length, so ``(name key, n, block)`` can never collide between names.
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def block_seed(seed: int, scenario: str, n: int, block: int) -> np.random.SeedSequence:
    """The seed sequence of one block of replications."""
    return np.random.SeedSequence(seed, spawn_key=(*scenario_key(scenario), n, block))


def block_rng(seed: int, scenario: str, n: int, block: int) -> np.random.Generator:
    """A PCG64 generator for one block of replications."""
    return np.random.Generator(np.random.PCG64(block_seed(seed, scenario, n, block)))


def block_streams(
    seed: int, scenario: str, n: int, block: int, names: tuple[str, ...]
) -> dict[str, np.random.Generator]:
    """The named PCG64 streams of one block; ``names[0]`` is :func:`block_rng`'s stream."""
    return {
        name: block_rng(seed, scenario, n, block)
        if i == 0
        else _rng(stream_seed(seed, scenario, n, block, i))
        for i, name in enumerate(names)
    }


def stream_seed(seed: int, scenario: str, n: int, block: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of a block's stream number ``index`` (0 is :func:`block_seed`)."""
    if index == 0:
        return block_seed(seed, scenario, n, block)
    return np.random.SeedSequence(seed, spawn_key=(*scenario_key(scenario), n, block, index))


def design_seed(seed: int, scenario: str) -> np.random.SeedSequence:
    """The seed sequence of a scenario's fixed design (shared by all its sample sizes)."""
    return np.random.SeedSequence(seed, spawn_key=(*scenario_key(scenario), 0, 0))


def _rng(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


def blocks_of(first: int, stop: int) -> range:
    """Indices of the blocks that replications ``first..stop-1`` touch."""
    if stop <= first:
        return range(0)
    return range(first // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1)
