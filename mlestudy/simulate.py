"""Simulate data and fit every estimator, one range of replications at a time.

The hot path is vectorised across replications: each block's named streams are
drawn batch by batch (:meth:`Model.draw`), and every estimator fits the whole
batch at once, so a job never holds more than one batch of data.  With
``sampler="sufficient"`` a model draws its statistics from their exact law
instead (:meth:`Model.draw_sufficient`).  Blocks are independent streams, so
they can be drawn by several threads with bit-identical results.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from .models.base import Data, Estimator, Model, Streams
from .seeding import BLOCK_SIZE, block_streams, blocks_of

if TYPE_CHECKING:
    import pandas as pd

    from .families import Family

SAMPLERS = ("data", "sufficient")
"""``data`` draws every observation; ``sufficient`` draws the statistics directly."""

COST_PER_THREAD = 10**7
"""A job draws with one thread per this many random numbers (about 0.1-0.5 s of work)."""


def as_model(model: Model | Family, theta: Mapping[str, float] | None = None) -> Model:
    """A bound model, from a model or from an i.i.d. family and its parameter values."""
    if isinstance(model, Model):
        return model
    if theta is None:
        raise TypeError("a family needs its parameter values (theta) to simulate")
    return model.bind(theta)


def job_cost(model: Model, n: int, first: int, stop: int, sampler: str = "data") -> int:
    """Random numbers a job draws (about): what its run time scales with."""
    return (stop - first) * model.cost(n, sampler)


def threads_for(model: Model, n: int, first: int, stop: int, sampler: str = "data") -> int:
    """Threads worth giving a job: one per :data:`COST_PER_THREAD`, at most one per block.

    Snakemake caps the request at ``--cores``; more threads never change a result.
    """
    cost = job_cost(model, n, first, stop, sampler)
    return max(1, min(len(blocks_of(first, stop)), cost // COST_PER_THREAD))


def _within(block: int, first: int, stop: int) -> tuple[int, int]:
    """Rows ``lo..hi-1`` of ``block`` that fall in replications ``first..stop-1``."""
    base = block * BLOCK_SIZE
    return max(first, base) - base, min(stop, base + BLOCK_SIZE) - base


def _batches(model: Model, streams: Streams, n: int, lo: int, hi: int, draw) -> Iterator[tuple[int, Data]]:
    """``(row, data)`` for rows ``lo..hi-1`` of a block, drawn batch by batch from row 0.

    Rows before ``lo`` are drawn and discarded: every stream is consumed from
    the start of the block, which keeps any range consistent with the block.
    """
    rows, row = model.batch_rows(n), 0
    while row < hi:
        take = min(rows, hi - row)
        data = draw(streams, n, take)
        keep = max(lo - row, 0)
        if keep < take:
            yield row + keep, {k: v[keep:] for k, v in data.items()} if keep else data
        row += take


def block_data(
    model: Model, streams: Streams, n: int, lo: int, hi: int, sampler: str
) -> Iterator[tuple[int, Data]]:
    """What the estimators read for rows ``lo..hi-1`` of one block, batch by batch.

    The sufficient sampler always draws the whole block, so a block cut short
    now and extended later gives the same first rows.
    """
    if sampler == "sufficient":
        whole = model.draw_sufficient(streams, n, BLOCK_SIZE)
        yield lo, {k: v[lo:hi] for k, v in whole.items()}
        return
    yield from _batches(model, streams, n, lo, hi, model.draw)


def _coalesced(batches: Iterator[tuple[int, Data]]) -> Iterator[tuple[int, Data]]:
    """Consecutive batches of per-replication statistics joined, so a block is fitted in one call.

    A fit has a fixed cost per call (about 0.1 ms), and a family reduced to its
    statistics while drawing comes in batches of a few hundred rows: fitting
    them one by one cost a fifth of the job.  Every estimator is elementwise
    across replications, so the values are the same bits.  Raw data (a design
    and its responses, a mixture's observations) keep their batches: the batch
    size is what bounds their memory.
    """
    rows, parts = 0, []
    for row, data in batches:
        if any(np.ndim(v) != 1 for v in data.values()):
            yield row, data
            continue
        if not parts:
            rows = row
        parts.append(data)
    if len(parts) == 1:
        yield rows, parts[0]
    elif parts:
        yield rows, {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}


def iter_data(
    model: Model | Family,
    theta: Mapping[str, float] | None = None,
    *,
    seed: int,
    scenario: str,
    n: int,
    first: int,
    stop: int,
) -> Iterator[tuple[int, Data]]:
    """Yield ``(replication index, raw data)`` covering replications first..stop-1.

    The raw observations (:meth:`Model.sample`), for consumers that need them
    (the numerical check).  Same streams, same rows as the simulation.
    """
    model = as_model(model, theta)
    for block in blocks_of(first, stop):
        streams = block_streams(seed, scenario, n, block, model.streams)
        lo, hi = _within(block, first, stop)
        for row, raw in _batches(model, streams, n, lo, hi, model.sample):
            yield block * BLOCK_SIZE + row, raw


def fit_columns(model: Model, estimators: Sequence[Estimator], data: Data, n: int) -> dict[str, np.ndarray]:
    """Every estimator's fit of one batch, as named columns.

    ``<estimator>.<parameter>`` (float64, NaN where the fit failed),
    ``<estimator>.status`` (a :class:`~mlestudy.status.Status` code),
    ``<estimator>.se.<parameter>`` (its Wald standard error) and, for random
    designs, ``bound.<parameter>`` (the replication's conditional bound).
    """
    columns: dict[str, np.ndarray] = {}
    for est in estimators:
        fit = est.fit(model, data, n)
        targets = est.parameters(model)
        for p in targets:
            columns[f"{est.name}.{p}"] = np.asarray(fit.values[p], dtype=np.float64)
        columns[f"{est.name}.status"] = np.asarray(fit.status, dtype=np.int8)
        for p in targets:
            columns[f"{est.name}.se.{p}"] = np.asarray(fit.se[p], dtype=np.float64)
    for p, bound in model.conditional_bound(data, n).items():
        columns[f"bound.{p}"] = np.asarray(bound, dtype=np.float64)
    return columns


def simulate_columns(
    model: Model | Family,
    theta: Mapping[str, float] | None = None,
    *,
    seed: int,
    scenario: str,
    n: int,
    first: int,
    stop: int,
    estimators: Sequence[str] | None = None,
    sampler: str = "data",
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Per-replication fits for replications ``first..stop-1``, as columns (see :func:`fit_columns`).

    ``threads`` workers draw whole blocks concurrently (numpy releases the GIL
    while drawing and reducing); each writes its rows into their place, so the
    result does not depend on ``threads``.
    """
    model = as_model(model, theta)
    if stop <= first:
        raise ValueError(f"empty replication range {first}..{stop}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, not {sampler!r}")
    units = [model.estimators[e] for e in (estimators or model.estimators)]
    out: dict[str, np.ndarray] = {"replication": np.arange(first, stop, dtype=np.int64)}
    lock = threading.Lock()

    def put(at: int, columns: Mapping[str, np.ndarray]) -> None:
        with lock:  # the columns are known once the first batch is fitted
            for key, value in columns.items():
                if key not in out:
                    out[key] = np.empty(stop - first, dtype=value.dtype)
        for key, value in columns.items():
            out[key][at : at + len(value)] = value

    def one_block(block: int) -> None:
        streams = block_streams(seed, scenario, n, block, model.streams)
        lo, hi = _within(block, first, stop)
        for row, data in _coalesced(block_data(model, streams, n, lo, hi, sampler)):
            put(block * BLOCK_SIZE + row - first, fit_columns(model, units, data, n))

    blocks = blocks_of(first, stop)
    if threads > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(min(threads, len(blocks))) as pool:
            list(pool.map(one_block, blocks))
    else:
        for b in blocks:
            one_block(b)
    return out


def simulate_range(
    model: Model | Family, theta: Mapping[str, float] | None = None, **options: Any
) -> pd.DataFrame:
    """:func:`simulate_columns` as a DataFrame, for analysis and tests."""
    import pandas as pd

    return pd.DataFrame(simulate_columns(model, theta, **options))
