"""Provenance of a study: ``results/manifest.json``.

The manifest is what a reader needs to trust, or redo, any one chunk file
without the workflow: the config and its hash, the root seed, and for every
chunk file what it holds, the seed of each of its blocks and the sha256 of its
bytes, next to the versions of the code that made it.
``python -m mlestudy.reproduce`` recomputes a chunk from it and compares.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import code_version
from .atomic import write_text_atomic
from .config import Study
from .provenance import canonical_json, config_sha256, file_sha256, git_commit, versions  # noqa: F401 - re-exported
from .seeding import BLOCK_SIZE, block_seed, blocks_of, scenario_key
from .verify import LAYOUT, ChunkError, identity_problem, verified_meta

FORMAT = 1
"""Version of the manifest's layout; bumped when a key changes meaning."""

STREAM = (
    "block b of (scenario, n) draws from numpy.random.Generator(numpy.random.PCG64("
    "numpy.random.SeedSequence(entropy, spawn_key=spawn_key))), where entropy is the root seed and "
    "spawn_key = (sha256(scenario name)[:16] as 4 little-endian 32-bit words, n, b); a model with "
    "several named streams (chunk 'streams') draws stream i > 0 from spawn_key + (i,); a fixed design "
    "from spawn_key = (name words, 0, 0)"
)


def block_entries(seed: int, scenario: str, n: int, first: int, stop: int) -> list[dict[str, Any]]:
    """The replications and ``SeedSequence`` of every block of a chunk."""
    out = []
    for b in blocks_of(first, stop):
        seq = block_seed(seed, scenario, n, b)
        out.append(
            {
                "block": b,
                "first": max(first, b * BLOCK_SIZE),
                "stop": min(stop, (b + 1) * BLOCK_SIZE),
                "entropy": int(seq.entropy),
                "spawn_key": [int(k) for k in seq.spawn_key],
            }
        )
    return out


def utc(timestamp: float) -> str:
    """A POSIX time as ISO 8601 in UTC."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="milliseconds")


def job_seconds(benchmark: str | Path | None) -> float | None:
    """Wall time of a job from its Snakemake benchmark file.

    None if there is none, or if it is not a whole benchmark (empty or cut short,
    as a full disk leaves it): a job's timing is provenance, never a reason to fail.
    """
    if benchmark is None:
        return None
    try:
        lines = Path(benchmark).read_text(encoding="utf-8").splitlines()
        header, values = lines[0].split("\t"), lines[1].split("\t")
        seconds = float(values[header.index("s")])
    except (OSError, UnicodeDecodeError, IndexError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def chunk_entry(study: Study, path: str | Path, benchmark: str | Path | None = None) -> dict[str, Any]:
    """What one chunk file is, how its streams were seeded, and its checksum.

    The file is verified first (:func:`mlestudy.verify.check_chunk`): its bytes
    match the sha256 recorded when it was written, and its own metadata agrees
    with its path and the config, or the manifest would describe a file the
    study did not make.
    """
    sha256, meta = verified_meta(path)
    match = LAYOUT.search(Path(path).as_posix())
    name = match["scenario"] if match else meta.get("scenario")
    if name not in study.by_name:
        raise ChunkError(path, f"scenario {name!r} is not in the config")
    sc = study.scenario(name)
    problem = identity_problem(path, meta, sc)
    if problem:
        raise ChunkError(path, problem)
    n, first, stop = int(meta["n"]), int(meta["first"]), int(meta["stop"])
    written = Path(path).stat().st_mtime
    seconds = job_seconds(benchmark)
    return {
        "path": str(path),
        "sha256": sha256,
        "bytes": Path(path).stat().st_size,
        "scenario": sc.name,
        "family": sc.family,
        "params": dict(sc.params),
        "design": dict(sc.design),
        "n": n,
        "first": first,
        "stop": stop,
        "simulation": sc.simulation_params(),
        "simulation_code": code_version.code_hash(code_version.SIMULATION, sc.family),
        "blocks": block_entries(sc.seed, sc.name, n, first, stop),
        "streams": list(sc.model.streams),
        "written_utc": utc(written),
        "job_seconds": seconds,
        "started_utc": utc(written - seconds) if seconds is not None else None,
    }


def build_manifest(
    study: Study, chunks: Sequence[str | Path], benchmarks: Mapping[str, str | Path] | None = None
) -> dict[str, Any]:
    """The manifest of a study whose chunk files are ``chunks``.

    Parameters
    ----------
    study
        The validated config the chunks were simulated under.
    chunks
        Chunk files, as paths relative to the workflow directory.
    benchmarks
        Chunk file -> its simulate job's Snakemake benchmark file, the source of
        the job's run time; missing files give ``None`` times.

    Returns
    -------
    dict
        JSON-ready; see the README's *Provenance* for its keys.

    Raises
    ------
    mlestudy.verify.ChunkError
        A chunk file's bytes changed since it was written, or its own metadata
        disagrees with its path or the config (a ValueError).
    """
    benchmarks = benchmarks or {}
    entries = [chunk_entry(study, p, benchmarks.get(str(p))) for p in chunks]
    started = [e["started_utc"] for e in entries if e["started_utc"]]
    return {
        "format": FORMAT,
        "created_utc": utc(dt.datetime.now(dt.UTC).timestamp()),
        "config_sha256": config_sha256(study.raw),
        "config": study.raw,
        "seed": study.seed,
        "block_size": BLOCK_SIZE,
        "stream": STREAM,
        "scenario_keys": {s.name: list(scenario_key(s.name)) for s in study.scenarios},
        "fixed_designs": {
            s.name: record
            for s in study.scenarios
            if (record := s.model.design_record(max(s.sample_sizes))) is not None
        },
        "git_commit": git_commit(),
        "versions": versions(),
        "timestamps": {
            "note": "written_utc is when a chunk file was renamed into place; started_utc is written_utc "
            "minus the job's wall time from its Snakemake benchmark file",
            "first_job_started_utc": min(started) if started else None,
            "last_chunk_written_utc": max((e["written_utc"] for e in entries), default=None),
        },
        "chunks": entries,
    }


def pretty_json(value: Any, indent: str = "") -> str:
    """JSON with any value that fits on a line kept on one (a block, a spawn key)."""
    flat = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if not isinstance(value, (dict, list)) or len(flat) <= 160:
        return flat
    inner = indent + " "
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {pretty_json(v, inner)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + pretty_json(v, inner) for v in value) + "\n" + indent + "]"


def write_manifest(manifest: Mapping[str, Any], output: str | Path) -> None:
    """Write the manifest as JSON, atomically."""
    write_text_atomic(output, pretty_json(dict(manifest)) + "\n")


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a manifest, refusing a layout this code does not know."""
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(
            f"{path}: manifest format {manifest.get('format')!r}, this code reads format {FORMAT}"
        )
    return manifest


def summarise(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Per scenario: its spawn-key words, sample sizes, chunk and block counts (for the report)."""
    scenarios: dict[str, dict[str, Any]] = {}
    for c in manifest["chunks"]:
        s = scenarios.setdefault(
            c["scenario"],
            {
                "key": manifest["scenario_keys"][c["scenario"]],
                "sample_sizes": set(),
                "chunks": 0,
                "blocks": 0,
            },
        )
        s["sample_sizes"].add(c["n"])
        s["chunks"] += 1
        s["blocks"] += len(c["blocks"])
    for s in scenarios.values():
        s["sample_sizes"] = sorted(s["sample_sizes"])
    return {
        "config_sha256": manifest["config_sha256"],
        "created_utc": manifest["created_utc"],
        "chunks": len(manifest["chunks"]),
        "blocks": sum(s["blocks"] for s in scenarios.values()),
        "scenarios": scenarios,
    }
