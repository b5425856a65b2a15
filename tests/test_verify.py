"""Issue 12: no number is taken from a chunk file that is not the one the study wrote.

In-process tests of :mod:`mlestudy.verify` and of the jobs that read chunks
(aggregate, figures, manifest) and of ``reproduce``; the same faults through the
``snakemake`` CLI are in ``test_integrity_cli.py``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlestudy.config import validate
from mlestudy.estimates_io import read_estimates
from mlestudy.jobs import aggregate_job, figures_job, logged, report_job, simulate_job
from mlestudy.manifest import build_manifest, job_seconds, write_manifest
from mlestudy.outputs import FIGURES
from mlestudy.reproduce import main as reproduce
from mlestudy.seeding import BLOCK_SIZE
from mlestudy.verify import ChunkError, checksum_path, damaged_chunks, read_table, remove_chunk

B = BLOCK_SIZE
CONFIG = {
    "seed": 3,
    "chunk_size": B,
    "scenarios": [
        {
            "name": "spread",
            "family": "normal",
            "params": {"mu": 1.0, "sigma2": 2.0},
            "sample_sizes": [4, 9],
            "replications": 2 * B,
        }
    ],
}


@pytest.fixture
def chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The study's four chunk files, written by the simulate job as the workflow would, in tmp_path."""
    monkeypatch.chdir(tmp_path)
    sc = validate(CONFIG).scenarios[0]
    paths = []
    for n in sc.sample_sizes:
        for first, stop in sc.chunks(n):
            paths.append(f"results/estimates/spread/n{n}/reps{first}-{stop}.parquet")
            simulate_job("spread", sc.simulation_params(), n=n, first=first, stop=stop, output=paths[-1])
    return paths


def unchecked(path: str | Path) -> pa.Table:
    """What a reader without any check gets (pyarrow, as the code did before this issue)."""
    return pq.read_table(path)


def flip_that_still_decodes(path: str | Path) -> int:
    """Flip one byte of a data page so that the file still decodes, to changed values; its offset.

    Searched deterministically from the middle of the file; the issue found 331 of
    400 random single-byte flips to be of this kind.
    """
    original = Path(path).read_bytes()
    clean = unchecked(path)
    middle = len(original) // 2
    for offset in range(middle, len(original) - 8):
        data = bytearray(original)
        data[offset] ^= 0x10
        Path(path).write_bytes(bytes(data))
        try:
            tampered = unchecked(path)
        except (pa.ArrowException, OSError):
            continue
        if tampered.schema == clean.schema and not tampered.equals(clean):
            return offset
    raise AssertionError("no byte flip that decodes")


def test_a_chunk_records_its_sha256_beside_it_and_page_checksums_inside(chunks: list[str]) -> None:
    """``<chunk>.sha256`` is what sha256sum writes; every data page carries a CRC."""
    for path in chunks:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        assert checksum_path(path).read_text() == f"{digest}  {Path(path).name}\n"
        column = pq.ParquetFile(path).metadata.row_group(0).column(1)
        assert column.path_in_schema == "mle.mu"
    # The page CRC is verified on read: an intact file passes.
    assert read_table(chunks[0]).num_rows == B
    assert damaged_chunks(validate(CONFIG), chunks) == []


def test_byte_flip_that_still_decodes_is_caught_by_every_reader(chunks: list[str], tmp_path: Path) -> None:
    """The issue's first path: a flip that decodes to other numbers never reaches a summary."""
    study = validate(CONFIG)
    sc = study.scenarios[0]
    target = chunks[1]
    flip_that_still_decodes(target)
    with pytest.raises(ChunkError, match="its bytes have changed since it was written") as info:
        read_table(target)
    assert str(info.value).startswith(f"{target}: ") and str(info.value).endswith(
        "; delete it and run the same command again to re-simulate it"
    )
    assert "\n" not in str(info.value)
    with pytest.raises(ChunkError, match=target):
        read_estimates([target])
    with pytest.raises(ChunkError, match=target):
        aggregate_job(sc, chunks, tmp_path / "summary.csv")
    with pytest.raises(ChunkError, match=target):
        figures_job(sc, tmp_path / "summary.csv", chunks, {})
    with pytest.raises(ChunkError, match=target):
        build_manifest(study, chunks)
    assert not (tmp_path / "summary.csv").exists()
    assert [p for p, _ in damaged_chunks(study, chunks)] == [target]


def test_page_checksums_catch_a_flip_even_with_a_matching_sha256(chunks: list[str]) -> None:
    """Second line of defence: a sidecar recomputed over the tampered bytes still fails the page CRC."""
    target = chunks[0]
    flip_that_still_decodes(target)
    checksum_path(target).write_text(hashlib.sha256(Path(target).read_bytes()).hexdigest() + "\n")
    with pytest.raises(ChunkError, match="it is not a readable chunk file .*(CRC|checksum)"):
        read_table(target)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("truncate", "its bytes have changed since it was written"),
        ("empty", "its bytes have changed since it was written"),
        ("no-checksum", "its checksum file reps0-10000.parquet.sha256 is missing"),
        ("bad-checksum", "does not hold a sha256"),
        ("foreign-n", "it is not this study's chunk: its metadata says n = 9 (its path says 4)"),
        ("foreign-range", "first = 10000 (its path says 0); stop = 20000 (its path says 10000)"),
    ],
)
def test_damaged_or_foreign_chunk_names_the_file_and_the_problem(chunks: list[str], fault: str, message: str):
    """Truncated, emptied, unverifiable or another chunk's file (copied with its sha256): one line each."""
    study = validate(CONFIG)
    target = chunks[0]  # results/estimates/spread/n4/reps0-10000.parquet
    data = Path(target).read_bytes()
    if fault == "truncate":
        Path(target).write_bytes(data[: len(data) // 2])
    elif fault == "empty":
        Path(target).write_bytes(b"")
    elif fault == "no-checksum":
        checksum_path(target).unlink()
    elif fault == "bad-checksum":
        checksum_path(target).write_text("not a checksum\n")
    else:
        source = chunks[2] if fault == "foreign-n" else chunks[1]
        shutil.copy(source, target)
        shutil.copy(checksum_path(source), checksum_path(target))
    assert damaged_chunks(study, chunks) == [(target, damaged_chunks(study, chunks)[0][1])]
    problem = damaged_chunks(study, chunks)[0][1]
    assert message in problem, problem
    with pytest.raises(ChunkError, match="re-simulate it"):
        build_manifest(study, chunks)
    remove_chunk(target)
    assert not Path(target).exists() and not checksum_path(target).exists()
    assert damaged_chunks(study, chunks) == []  # a missing chunk is Snakemake's to make, not damaged


def test_chunk_of_another_config_is_refused(chunks: list[str], tmp_path: Path) -> None:
    """A chunk simulated with another seed, parameter or sampler is not this study's."""
    for key, value, said in [
        ("seed", 4, "seed = 3 (the config says 4)"),
        ("params", {"mu": 1.5, "sigma2": 2.0}, "params = {'mu': 1.0, 'sigma2': 2.0} (the config says"),
        ("sampler", "sufficient", "sampler = 'data' (the config says 'sufficient')"),
    ]:
        other = copy.deepcopy(CONFIG)
        (other if key == "seed" else other["scenarios"][0])[key] = value
        study = validate(other)
        problems = damaged_chunks(study, chunks)
        assert [p for p, _ in problems] == chunks and all(said in m for _, m in problems), problems
        with pytest.raises(ChunkError, match=said.replace("(", r"\(").replace(")", r"\)")):
            aggregate_job(study.scenarios[0], chunks, tmp_path / "summary.csv")


def test_regression_chunk_of_another_design_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity a chunk is checked against is the model contract's: the design counts too."""
    monkeypatch.chdir(tmp_path)
    ols = {"name": "ols", "family": "linear_regression", "params": {"beta": [1.0, 2.0], "sigma2": 1.0},
           "sample_sizes": [5], "replications": B}  # fmt: skip
    sc = validate({"seed": 3, "chunk_size": B, "scenarios": [ols]}).scenarios[0]
    chunk = f"results/estimates/ols/n5/reps0-{B}.parquet"
    simulate_job("ols", sc.simulation_params(), n=5, first=0, stop=B, output=chunk)
    assert damaged_chunks(validate({"seed": 3, "chunk_size": B, "scenarios": [ols]}), [chunk]) == []
    fixed = validate({"seed": 3, "chunk_size": B, "scenarios": [{**ols, "design": {"fixed": True}}]})
    [(path, problem)] = damaged_chunks(fixed, [chunk])
    assert path == chunk and "design = {} (the config says {'fixed': True})" in problem, problem
    with pytest.raises(ChunkError, match="design = "):
        aggregate_job(fixed.scenarios[0], [chunk], tmp_path / "summary.csv")


def test_rows_must_be_the_replications_the_metadata_states(chunks: list[str]) -> None:
    """A consistent file (fresh sha256) whose rows are not its stated range is refused."""
    target = chunks[0]
    table = pq.read_table(target)
    shifted = table.set_column(0, "replication", pa.array(table.column("replication").to_numpy() + 1))
    pq.write_table(shifted, target, write_page_checksum=True)
    checksum_path(target).write_text(hashlib.sha256(Path(target).read_bytes()).hexdigest() + "\n")
    with pytest.raises(ChunkError, match="its rows are not replications 0..9999"):
        read_table(target)


def test_reproduce_hashes_the_file_on_disk(
    chunks: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reproduce exits 1 on a tampered chunk although its recomputation matches the manifest."""
    write_manifest(build_manifest(validate(CONFIG), chunks), "results/manifest.json")
    assert reproduce(["results/manifest.json", chunks[3]]) == 0
    out = capsys.readouterr().out
    assert "recomputed, sha256" in out and f"{chunks[3]}: the file on disk matches the manifest" in out

    flip_that_still_decodes(chunks[3])
    assert reproduce(["results/manifest.json", chunks[3]]) == 1
    out = capsys.readouterr().out
    assert "recomputed, sha256" in out and "matches the manifest" in out  # the recomputation is fine
    assert f"{chunks[3]}: the file on disk DIFFERS from the manifest" in out

    # Found from the manifest's own location too, whatever the current directory.
    Path(chunks[2]).write_bytes(Path(chunks[2]).read_bytes()[:-10])
    manifest = Path("results/manifest.json").resolve()
    elsewhere = manifest.parent.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert reproduce([str(manifest), chunks[2]]) == 1
    assert "the file on disk DIFFERS" in capsys.readouterr().out
    monkeypatch.chdir(manifest.parent.parent)

    # No file at all: only the recomputation can be checked, and it is said.
    Path(chunks[0]).unlink()
    assert reproduce(["results/manifest.json", chunks[0]]) == 0
    assert "no file on disk to compare; only the recomputation was checked" in capsys.readouterr().out


def test_a_damaged_chunk_ends_a_job_with_one_line(chunks: list[str], tmp_path: Path, capsys) -> None:
    """Under ``logged`` (how the rule scripts run jobs) a ChunkError exits 1 with its line, no traceback."""
    sc = validate(CONFIG).scenarios[0]
    Path(chunks[0]).write_bytes(b"")
    with pytest.raises(SystemExit) as info, logged(tmp_path / "job.log"):
        aggregate_job(sc, chunks, tmp_path / "summary.csv")
    assert info.value.code == f"error: {chunks[0]}: its bytes have changed since it was written " + (
        f"(sha256 {hashlib.sha256(b'').hexdigest()[:12]}..., recorded "
        f"{checksum_path(chunks[0]).read_text()[:12]}..., 0 bytes); "
        "delete it and run the same command again to re-simulate it"
    )
    assert "Traceback" not in (tmp_path / "job.log").read_text()
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize("content", ["", "s\th:m:s\n", "s\n", "s\th:m:s\nnot-a-number\t0\n", "x\ty\n1\t2\n"])
def test_empty_or_short_benchmark_file_counts_as_missing(tmp_path: Path, content: str) -> None:
    """A benchmark file a full disk left empty or cut short is no timing, never a crash."""
    path = tmp_path / "bench.tsv"
    path.write_text(content)
    assert job_seconds(path) is None
    assert job_seconds(tmp_path / "absent.tsv") is None
    path.write_text("s\th:m:s\tmax_rss\n1.25\t0:00:01\t10\n")
    assert job_seconds(path) == 1.25


def test_report_job_skips_an_empty_benchmark_file(chunks: list[str], tmp_path: Path) -> None:
    """The report's timing reads only whole benchmark files."""
    study = validate(CONFIG)
    sc = study.scenarios[0]
    summary = tmp_path / "summary.csv"
    aggregate_job(sc, chunks, summary)
    figures = {name: str(tmp_path / f"{name}.png") for name in FIGURES}
    figures_job(sc, summary, [c for c in chunks if "/n4/" in c or "/n9/" in c], figures)
    from mlestudy.jobs import check_job

    check_job("spread", sc.check_params(2), tmp_path / "spread.csv")
    (tmp_path / "empty.tsv").write_text("")
    (tmp_path / "whole.tsv").write_text("s\th:m:s\n2.0\t0:00:02\n")
    manifest = tmp_path / "manifest.json"
    write_manifest(build_manifest(study, chunks), manifest)
    report_job(
        CONFIG,
        summary=summary,
        checks=[tmp_path / "spread.csv"],
        figures={"spread": figures},
        benchmarks=[tmp_path / "empty.tsv", tmp_path / "whole.tsv"],
        template=Path(__file__).resolve().parents[1] / "report" / "template.html.j2",
        output=tmp_path / "report.html",
        manifest=manifest,
    )
    html = (tmp_path / "report.html").read_text()
    assert "Simulation agrees with exact theory" in html


def test_manifest_records_only_verified_chunks(chunks: list[str]) -> None:
    """Every entry's sha256 is the file's and the one recorded when it was written."""
    manifest = build_manifest(validate(CONFIG), chunks)
    assert [e["path"] for e in manifest["chunks"]] == chunks
    for entry in manifest["chunks"]:
        digest = hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
        assert entry["sha256"] == digest == checksum_path(entry["path"]).read_text().split()[0]
    json.dumps(manifest)
    assert np.isfinite([e["bytes"] for e in manifest["chunks"]]).all()
