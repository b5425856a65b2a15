"""Per-replication estimate files: self-describing parquet, written atomically.

Each file carries its scenario, n and replication range in the parquet schema
metadata, so readers never parse paths.  Nothing time-dependent goes in, so the
same job always writes the same bytes.  Each file is written with parquet page
checksums, and the sha256 of its bytes is recorded beside it; every read
verifies both (:mod:`mlestudy.verify`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import verify
from .atomic import write_atomic
from .provenance import file_sha256

if TYPE_CHECKING:
    import pandas as pd

META_KEY = verify.META_KEY


def write_estimates(columns: Mapping[str, np.ndarray], path: str | Path, **meta: object) -> None:
    """Write one chunk of estimates with ``meta`` (scenario, n, first, stop, ...).

    ``columns`` maps names to arrays (a DataFrame works too); no pandas needed.
    The sha256 of the bytes written goes to ``<path>.sha256`` before the chunk
    is renamed into place, so a chunk under its real name always has one.
    """
    names = list(columns)
    table = pa.Table.from_arrays([arrow_array(np.asarray(columns[c])) for c in names], names=names)
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp, compression="zstd", write_page_checksum=True)
        verify.write_checksum(path, file_sha256(tmp))

    write_atomic(path, write)


def arrow_array(values: np.ndarray) -> pa.Array:
    """Zero-copy Arrow view of a 1-d native numeric array (NaN stays a value, not a null).

    ``pa.array`` would do the same but first imports pandas to rule out pandas
    types: 0.3 s of every simulation job, more than most of them compute.
    """
    values = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("="))  # Arrow is native-endian
    if values.dtype.kind not in "iuf":
        return pa.array(values)  # e.g. bools, which Arrow packs into bits
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def read_meta(path: str | Path) -> dict:
    """The metadata written by :func:`write_estimates`."""
    return json.loads(pq.read_schema(path).metadata[META_KEY])


def read_estimates(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Concatenate chunk files, ordered by replication, each verified (:func:`mlestudy.verify.read_table`)."""
    # Each chunk is a contiguous, ordered range: put the chunks in order and join
    # them in Arrow, so that 10^6 rows are neither copied twice nor sorted.
    tables = [verify.read_table(p) for p in paths]
    tables.sort(key=lambda t: t["replication"][0].as_py() if t.num_rows else -1)
    frame = pa.concat_tables(tables, promote_options="default").to_pandas()
    if not frame["replication"].is_monotonic_increasing:
        frame = frame.sort_values("replication", ignore_index=True)
    return frame


def group_by_n(paths: Iterable[str | Path], metas: Mapping[str, dict] | None = None) -> dict[int, list[str]]:
    """Chunk files grouped by the sample size recorded inside them.

    ``metas`` (path -> :func:`read_meta`) saves reading them again.
    """
    groups: dict[int, list[str]] = defaultdict(list)
    for p in paths:
        meta = metas[str(p)] if metas is not None else read_meta(p)
        groups[int(meta["n"])].append(str(p))
    return dict(sorted(groups.items()))
