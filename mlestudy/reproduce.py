"""Recompute one chunk file from ``results/manifest.json`` and check its sha256.

Usage::

    python -m mlestudy.reproduce results/manifest.json results/estimates/coin/n10/reps0-100000.parquet

Nothing but the manifest and this package is needed: no config, no workflow,
no other chunk.  When the chunk file is on disk (at the path given, or where the
manifest records it, relative to the folder above ``results/``), its bytes are
hashed too.  The exit status is 0 when the recomputed file, and the file on
disk if there is one, are bit-identical to the one the manifest describes, 1
when either differs, 2 when the chunk is not in the manifest or the manifest's
seeds are not the ones this code derives.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import code_version
from .manifest import load_manifest
from .provenance import file_sha256
from .seeding import BLOCK_SIZE, block_seed


@dataclass(frozen=True)
class Reproduction:
    """The outcome of recomputing one chunk."""

    chunk: str
    expected_sha256: str
    sha256: str
    recorded_code: str
    """Fingerprint of the simulation code when the manifest was written."""
    current_code: str
    """Fingerprint of the simulation code that recomputed the chunk."""
    on_disk: str | None = None
    """The chunk file found on disk, if any."""
    on_disk_sha256: str | None = None
    """sha256 of the file on disk (None when there is none)."""

    @property
    def recomputed_matches(self) -> bool:
        return self.sha256 == self.expected_sha256

    @property
    def on_disk_matches(self) -> bool:
        """The file on disk is the one the manifest describes (True when there is no file to check)."""
        return self.on_disk_sha256 is None or self.on_disk_sha256 == self.expected_sha256

    @property
    def matches(self) -> bool:
        return self.recomputed_matches and self.on_disk_matches


def find_chunk(manifest: Mapping[str, Any], chunk: str | Path) -> dict[str, Any]:
    """The manifest's entry for ``chunk`` (its path as recorded, or a path ending in it)."""
    wanted = Path(chunk).as_posix()
    for entry in manifest["chunks"]:
        recorded = Path(entry["path"]).as_posix()
        if wanted == recorded or wanted.endswith("/" + recorded):
            return entry
    raise KeyError(f"{chunk} is not a chunk of this manifest ({len(manifest['chunks'])} chunks are)")


def check_seeds(entry: Mapping[str, Any]) -> None:
    """Raise ValueError unless the recorded blocks are the streams this code draws.

    The recomputation derives its streams from (seed, scenario, n, block); this
    makes sure they are the ones the manifest lists, and that the blocks cover
    exactly the chunk's replications.
    """
    seed, n = int(entry["simulation"]["seed"]), int(entry["n"])
    covered = []
    for blk in entry["blocks"]:
        seq = block_seed(seed, entry["scenario"], n, int(blk["block"]))
        if int(blk["entropy"]) != seq.entropy or tuple(blk["spawn_key"]) != seq.spawn_key:
            raise ValueError(
                f"block {blk['block']} is recorded with SeedSequence(entropy={blk['entropy']}, "
                f"spawn_key={tuple(blk['spawn_key'])}), but this code draws it from "
                f"SeedSequence(entropy={seq.entropy}, spawn_key={seq.spawn_key})"
            )
        b = int(blk["block"])
        bounds = (max(int(entry["first"]), b * BLOCK_SIZE), min(int(entry["stop"]), (b + 1) * BLOCK_SIZE))
        if (int(blk["first"]), int(blk["stop"])) != bounds:
            raise ValueError(
                f"block {b} is recorded as replications {blk['first']}..{blk['stop']}, but this code's "
                f"blocks of {BLOCK_SIZE:,} make it {bounds[0]}..{bounds[1]}"
            )
        covered.extend(range(int(blk["first"]), int(blk["stop"])))
    if covered != list(range(int(entry["first"]), int(entry["stop"]))):
        raise ValueError(f"the blocks do not cover replications {entry['first']}..{entry['stop']} exactly")


def reproduce_chunk(
    manifest: Mapping[str, Any], chunk: str | Path, output: str | Path, on_disk: str | Path | None = None
) -> Reproduction:
    """Recompute one chunk file from the manifest alone and compare checksums.

    Parameters
    ----------
    manifest
        A manifest, as read by :func:`mlestudy.manifest.load_manifest`.
    chunk
        The chunk file's path as recorded in the manifest (or a path ending in it).
    output
        Where to write the recomputed file.
    on_disk
        The chunk file as it is on disk, hashed too (None: only the recomputation is checked).

    Returns
    -------
    Reproduction
        The checksums and both code fingerprints; ``.matches`` is the verdict.

    Raises
    ------
    KeyError
        The chunk is not in the manifest.
    ValueError
        The manifest's seeds are not the streams this code draws.
    """
    from .jobs import simulate_job

    entry = find_chunk(manifest, chunk)
    check_seeds(entry)
    simulate_job(
        entry["scenario"],
        entry["simulation"],
        n=int(entry["n"]),
        first=int(entry["first"]),
        stop=int(entry["stop"]),
        output=output,
    )
    return Reproduction(
        chunk=entry["path"],
        expected_sha256=entry["sha256"],
        sha256=file_sha256(output),
        recorded_code=entry["simulation_code"],
        current_code=code_version.code_hash(code_version.SIMULATION, entry["family"]),
        on_disk=str(on_disk) if on_disk is not None else None,
        on_disk_sha256=file_sha256(on_disk) if on_disk is not None else None,
    )


def chunk_on_disk(manifest_path: str | Path, chunk: str | Path, recorded: str) -> Path | None:
    """The chunk file to hash: the path given, else the recorded path next to the manifest's ``results/``."""
    for candidate in (Path(chunk), Path(manifest_path).resolve().parent.parent / recorded):
        if candidate.is_file():
            return candidate
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m mlestudy.reproduce",
        description="Recompute one chunk file from a study's manifest and check it bit for bit.",
    )
    parser.add_argument("manifest", help="the study's results/manifest.json")
    parser.add_argument(
        "chunk",
        help="the chunk file's path as recorded, e.g. results/estimates/coin/n10/reps0-100000.parquet",
    )
    parser.add_argument("--output", help="keep the recomputed file here (default: a temporary file, removed)")
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.manifest)
        on_disk = chunk_on_disk(args.manifest, args.chunk, find_chunk(manifest, args.chunk)["path"])
        with tempfile.TemporaryDirectory() as tmp:
            output = args.output or str(Path(tmp) / "chunk.parquet")
            result = reproduce_chunk(manifest, args.chunk, output, on_disk=on_disk)
    except (OSError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result.recomputed_matches:
        print(f"{result.chunk}: recomputed, sha256 {result.sha256} matches the manifest")
    else:
        print(
            f"{result.chunk}: recomputed file DIFFERS: sha256 {result.sha256}, manifest {result.expected_sha256}"
        )
        if result.current_code != result.recorded_code:
            print(
                f"  the simulation code changed since the manifest was written (fingerprint "
                f"{result.current_code}, then {result.recorded_code}); check out the recorded git commit "
                f"{manifest['git_commit']}"
            )
    if result.on_disk is None:
        print(f"{result.chunk}: no file on disk to compare; only the recomputation was checked")
    elif result.on_disk_matches:
        print(f"{result.on_disk}: the file on disk matches the manifest")
    else:
        print(
            f"{result.on_disk}: the file on disk DIFFERS from the manifest: sha256 {result.on_disk_sha256}, "
            f"manifest {result.expected_sha256}; it is not the file the study made (delete it and rerun "
            "the workflow to re-simulate it)"
        )
    return 0 if result.matches else 1


if __name__ == "__main__":
    sys.exit(main())
