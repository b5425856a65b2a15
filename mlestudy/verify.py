"""Chunk files are verified before any number is taken from them.

A simulate job records two checksums when it writes a chunk: the sha256 of the
file's bytes in ``<chunk>.sha256`` beside it (the format of ``sha256sum``, so
``sha256sum -c`` checks it too), and parquet page checksums (CRC32) inside it.
Every job that reads chunks reads each file's bytes once, checks them against the
recorded sha256, decodes them with the page checksums verified, and compares
what the file says it holds (its metadata) with its path and with the scenario
the config defines.  A chunk that fails is never used: the job stops with one
line naming the file and what to do.  Before Snakemake plans a run, the
workflow calls :func:`damaged_chunks` and deletes what it lists, so that the
same run simulates those chunks again (see ``workflow/rules/common.smk``).

Only light imports (hashlib, pyarrow): simulate jobs import this module to
record the checksum.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import write_text_atomic

if TYPE_CHECKING:
    from .config import Scenario, Study

CHECKSUM_SUFFIX = ".sha256"
"""``<chunk>.sha256`` holds the sha256 of the chunk's bytes, as ``sha256sum`` writes it."""
META_KEY = b"mlestudy"
"""Key of the chunk's own description in the parquet schema metadata."""
LAYOUT = re.compile(
    r"(?:^|/)(?P<scenario>[^/]+)/n(?P<n>[0-9]+)/reps(?P<first>[0-9]+)-(?P<stop>[0-9]+)\.parquet$"
)
"""The tail of a chunk's path in the workflow: ``<scenario>/n<n>/reps<first>-<stop>.parquet``."""
PATH_KEYS = ("n", "first", "stop")
"""Metadata keys checked against the chunk's path; every other key is checked against the config."""
WHAT_TO_DO = "delete it and run the same command again to re-simulate it"


class ChunkError(ValueError):
    """A chunk file that must not be used: one line naming the file, the problem and what to do."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}; {WHAT_TO_DO}")


def sha256_hex(data: bytes | memoryview) -> str:
    """sha256 of a byte string, as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def checksum_path(chunk: str | Path) -> Path:
    """Where the sha256 of ``chunk`` is recorded."""
    return Path(str(chunk) + CHECKSUM_SUFFIX)


def write_checksum(chunk: str | Path, digest: str) -> None:
    """Record ``digest`` as the sha256 of ``chunk`` (atomically, before the chunk is renamed into place)."""
    write_text_atomic(checksum_path(chunk), f"{digest}  {Path(chunk).name}\n")


def recorded_sha256(chunk: str | Path) -> str:
    """The sha256 recorded for ``chunk`` when it was written; :class:`ChunkError` if there is none."""
    where = checksum_path(chunk)
    try:
        text = where.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ChunkError(
            chunk, f"its checksum file {where.name} is missing, so it cannot be verified"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ChunkError(chunk, f"its checksum file {where.name} cannot be read ({error})") from None
    digest = text.split(maxsplit=1)[0] if text.strip() else ""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ChunkError(chunk, f"its checksum file {where.name} does not hold a sha256")
    return digest


def read_verified_bytes(chunk: str | Path) -> bytes:
    """The chunk's bytes, read once and checked against the recorded sha256."""
    try:
        data = Path(chunk).read_bytes()
    except FileNotFoundError:
        raise ChunkError(chunk, "the file is missing") from None
    except OSError as error:
        raise ChunkError(chunk, f"the file cannot be read ({error.strerror or error})") from None
    expected = recorded_sha256(chunk)
    found = sha256_hex(data)
    if found != expected:
        raise ChunkError(
            chunk,
            f"its bytes have changed since it was written (sha256 {found[:12]}..., recorded {expected[:12]}..., "
            f"{len(data):,} bytes)",
        )
    return data


def _decoded(chunk: str | Path, data: bytes, columns: bool) -> tuple[pa.Table | None, dict[str, Any]]:
    """The table (if ``columns``) and the metadata of verified bytes."""
    try:
        source = pa.BufferReader(data)
        if columns:
            table = pq.read_table(source, page_checksum_verification=True)
            schema = table.schema
        else:
            table, schema = None, pq.read_schema(source)
        meta = json.loads((schema.metadata or {})[META_KEY])
    except (pa.ArrowException, OSError, KeyError, ValueError) as error:
        raise ChunkError(
            chunk, f"it is not a readable chunk file ({' '.join(str(error).split())[:200]})"
        ) from None
    if not isinstance(meta, dict):
        raise ChunkError(chunk, "its metadata is not a mapping")
    return table, meta


def read_table(chunk: str | Path) -> pa.Table:
    """The chunk as an Arrow table, after every check that does not need the config.

    Its bytes match the recorded sha256, every page's CRC matches, and the
    ``replication`` column holds exactly the range its metadata states.
    """
    table, meta = _decoded(chunk, read_verified_bytes(chunk), columns=True)
    assert table is not None
    if {"first", "stop"} <= set(meta) and "replication" in table.column_names:
        replications = table.column("replication").to_numpy()
        if not np.array_equal(replications, np.arange(int(meta["first"]), int(meta["stop"]))):
            raise ChunkError(
                chunk,
                f"its rows are not replications {meta['first']}..{int(meta['stop']) - 1}, as its metadata says",
            )
    return table


def _plain(value: Any) -> Any:
    """``value`` as it reads back from the chunk's JSON metadata."""
    return json.loads(json.dumps(value, sort_keys=True))


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expected_meta(scenario: Scenario, path: str | Path | None = None) -> dict[str, Any]:
    """What a chunk of ``scenario`` must say it holds; its n and range too, if ``path`` has the layout."""
    from .seeding import BLOCK_SIZE

    expected: dict[str, Any] = {
        "scenario": scenario.name,
        **_plain(scenario.identity()),
        "block_size": BLOCK_SIZE,
    }
    match = LAYOUT.search(Path(path).as_posix()) if path is not None else None
    if match:
        expected.update(n=int(match["n"]), first=int(match["first"]), stop=int(match["stop"]))
    return expected


def identity_problem(path: str | Path, meta: Mapping[str, Any], scenario: Scenario) -> str | None:
    """How a chunk's metadata disagrees with its path and with the scenario's config, or None."""
    differences = []
    match = LAYOUT.search(Path(path).as_posix())
    if match and match["scenario"] != scenario.name:
        differences.append(
            f"its path is in the folder of scenario {_shown(match['scenario'])}, not {scenario.name!r}"
        )
    for key, want in expected_meta(scenario, path).items():
        found = meta.get(key)
        source = "its path" if key in PATH_KEYS else "the config"
        if found != want:
            differences.append(f"{key} = {_shown(found)} ({source} says {_shown(want)})")
    if not differences:
        return None
    return "it is not this study's chunk: its metadata says " + "; ".join(differences)


def verified_meta(path: str | Path) -> tuple[str, dict[str, Any]]:
    """A chunk's sha256 and metadata, from bytes that match the recorded sha256 (columns not decoded)."""
    data = read_verified_bytes(path)
    return sha256_hex(data), _decoded(path, data, columns=False)[1]


def check_chunk(path: str | Path, scenario: Scenario) -> tuple[str, dict[str, Any]]:
    """Verify one chunk's bytes and identity without decoding its columns.

    Returns
    -------
    tuple
        Its sha256 and its metadata.

    Raises
    ------
    ChunkError
        The bytes differ from the recorded sha256, there is no record, the file
        is not a chunk, or it describes another scenario, sample size, range or
        data-generating setting than its path and the config.
    """
    sha256, meta = verified_meta(path)
    problem = identity_problem(path, meta, scenario)
    if problem:
        raise ChunkError(path, problem)
    return sha256, meta


def check_chunks(scenario: Scenario, paths: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """:func:`check_chunk` on every file of a scenario; path -> metadata."""
    return {str(p): check_chunk(p, scenario)[1] for p in paths}


def damaged_chunks(study: Study, paths: Iterable[str | Path]) -> list[tuple[str, str]]:
    """``(path, problem)`` of every existing chunk that fails :func:`check_chunk`; missing ones are skipped.

    The workflow calls this before Snakemake plans a run (reading every chunk's
    bytes once: about a second per GB).
    """
    damaged = []
    for p in paths:
        match = LAYOUT.search(Path(p).as_posix())
        if not Path(p).exists() or not match or match["scenario"] not in study.by_name:
            continue
        try:
            check_chunk(p, study.scenario(match["scenario"]))
        except ChunkError as error:
            damaged.append((str(p), error.problem))
    return damaged


def remove_chunk(path: str | Path) -> None:
    """Delete a chunk and its checksum file, so that the workflow simulates it again."""
    Path(path).unlink(missing_ok=True)
    checksum_path(path).unlink(missing_ok=True)
