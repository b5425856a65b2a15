"""The provenance manifest and single-chunk reproduction, in-process (no Snakemake)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml

from mlestudy.config import validate
from mlestudy.jobs import simulate_job
from mlestudy.manifest import build_manifest, config_sha256, load_manifest, pretty_json, write_manifest
from mlestudy.reproduce import main, reproduce_chunk
from mlestudy.seeding import BLOCK_SIZE

B = BLOCK_SIZE
CONFIG = {
    "seed": 5,
    "chunk_size": 2 * B,
    "scenarios": [
        {
            "name": "waits",
            "family": "exponential",
            "params": {"rate": 0.5},
            "sample_sizes": [4],
            "replications": 3 * B,
        }
    ],
}


def test_config_hash_is_of_the_content_not_the_layout() -> None:
    """Key order and YAML style do not change the hash; any value does."""
    block_style = yaml.safe_dump(CONFIG, default_flow_style=False, sort_keys=True)
    reordered = {k: CONFIG[k] for k in reversed(list(CONFIG))}
    assert config_sha256(yaml.safe_load(block_style)) == config_sha256(reordered) == config_sha256(CONFIG)
    other = copy.deepcopy(CONFIG)
    other["scenarios"][0]["params"]["rate"] = 0.5000001
    assert config_sha256(other) != config_sha256(CONFIG)


@pytest.fixture
def chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The study's two chunk files (one full, one partial), written as the workflow would."""
    monkeypatch.chdir(tmp_path)
    study = validate(CONFIG)
    sc = study.scenarios[0]
    paths = []
    for first, stop in sc.chunks(4):
        path = f"results/estimates/waits/n4/reps{first}-{stop}.parquet"
        simulate_job("waits", sc.simulation_params(), n=4, first=first, stop=stop, output=path)
        paths.append(path)
    return paths


def test_manifest_round_trip_and_reproduction(chunks: list[str], tmp_path: Path) -> None:
    manifest = build_manifest(validate(CONFIG), chunks)
    write_manifest(manifest, "results/manifest.json")
    assert load_manifest("results/manifest.json") == json.loads(pretty_json(manifest))
    assert [c["path"] for c in manifest["chunks"]] == chunks
    partial = manifest["chunks"][1]
    assert (partial["first"], partial["stop"]) == (2 * B, 3 * B)
    assert partial["job_seconds"] is None and partial["started_utc"] is None  # no benchmark file

    result = reproduce_chunk(manifest, chunks[1], tmp_path / "again.parquet")
    assert result.matches and result.current_code == result.recorded_code
    assert (tmp_path / "again.parquet").read_bytes() == Path(chunks[1]).read_bytes()
    # An absolute path to the chunk finds it too.
    assert reproduce_chunk(manifest, os.path.abspath(chunks[0]), tmp_path / "first.parquet").matches


def test_reproduce_refuses_seeds_it_would_not_draw(chunks: list[str], capsys: pytest.CaptureFixture) -> None:
    """A manifest whose recorded seeds are not the code's streams is an error, not a silent redo."""
    manifest = build_manifest(validate(CONFIG), chunks)
    manifest["chunks"][0]["blocks"][1]["spawn_key"][-1] += 1
    write_manifest(manifest, "tampered.json")
    assert main(["tampered.json", chunks[0]]) == 2
    assert "block 1 is recorded with" in capsys.readouterr().err
    assert main(["tampered.json", "results/estimates/waits/n4/reps9-10.parquet"]) == 2
    assert main(["tampered.json", chunks[1]]) == 0  # the other chunk is intact


def test_reproduce_refuses_blocks_of_another_size(chunks: list[str], capsys: pytest.CaptureFixture) -> None:
    """Blocks laid out with another block size are not this code's streams: exit 2, not a redo."""
    manifest = build_manifest(validate(CONFIG), chunks)
    manifest["chunks"][0]["blocks"][0]["stop"] -= 1
    manifest["chunks"][0]["blocks"][1]["first"] -= 1
    write_manifest(manifest, "resized.json")
    assert main(["resized.json", chunks[0]]) == 2
    assert f"blocks of {BLOCK_SIZE:,}" in capsys.readouterr().err


def test_manifest_refuses_a_chunk_drawn_with_another_sampler(chunks: list[str]) -> None:
    """The manifest describes the files as made: a chunk from the other sampler is an error."""
    other = copy.deepcopy(CONFIG)
    other["scenarios"][0]["sampler"] = "sufficient"
    with pytest.raises(ValueError, match="sampler"):
        build_manifest(validate(other), chunks)
