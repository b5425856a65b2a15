"""What verifying chunk files and fingerprinting job code cost, measured side by side.

On the default study's 32 chunk files, simulated once into a temporary folder:

- reading every chunk verified (sha256 of its bytes against the recorded one,
  page checksums, replication range; ``mlestudy.verify.read_table``) against
  ``pandas.read_parquet`` of the same files;
- the workflow's pre-run check of every chunk (``damaged_chunks``: sha256 and
  metadata, no decoding) against reading the same bytes and nothing else;
- writing a chunk with page checksums and its ``.sha256`` (``write_estimates``)
  against a plain zstd ``pyarrow.parquet.write_table``;
- a job's code fingerprint (``code_version.script_hash``) with the closure cache
  warm and cold.

Run it through ``benchmarks/run.py``, which writes ``benchmarks/results.md``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_seconds(task: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(rounds: int = 5) -> dict[str, float]:
    """Seconds (medians of ``rounds``) of each pair, and their ratios."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlestudy import code_version
    from mlestudy.config import load
    from mlestudy.estimates_io import write_estimates
    from mlestudy.jobs import simulate_job
    from mlestudy.verify import damaged_chunks, read_table

    study = load(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for sc in study.scenarios:
            for n in sc.sample_sizes:
                for first, stop in sc.chunks(n):
                    paths.append(Path(tmp) / f"results/estimates/{sc.name}/n{n}/reps{first}-{stop}.parquet")
                    simulate_job(
                        sc.name, sc.simulation_params(), n=n, first=first, stop=stop, output=paths[-1]
                    )
        out: dict[str, float] = {
            "chunks": len(paths),
            "megabytes": sum(p.stat().st_size for p in paths) / 1e6,
        }
        out["verified read s"] = _median_seconds(lambda: [read_table(p).to_pandas() for p in paths], rounds)
        out["pandas read s"] = _median_seconds(lambda: [pd.read_parquet(p) for p in paths], rounds)
        out["pre-run check s"] = _median_seconds(lambda: damaged_chunks(study, paths), rounds)
        out["bytes read s"] = _median_seconds(lambda: [p.read_bytes() for p in paths], rounds)
        biggest = max(paths, key=lambda p: p.stat().st_size)
        table = pq.read_table(biggest)
        columns = {c: table.column(c).to_numpy() for c in table.column_names}
        meta = {"scenario": "x"}
        target = Path(tmp) / "write" / "chunk.parquet"
        out["verified write s"] = _median_seconds(lambda: write_estimates(columns, target, **meta), rounds)
        plain = pa.Table.from_pydict(columns)
        out["plain write s"] = _median_seconds(
            lambda: pq.write_table(plain, target, compression="zstd"), rounds
        )
    script = ROOT / "scripts" / "simulate.py"

    def cold() -> None:
        code_version.CACHE.unlink(missing_ok=True)
        code_version._cached.cache_clear()
        code_version._parse.cache_clear()
        code_version.script_hash(script, "normal")

    def warm() -> None:
        code_version._cached.cache_clear()  # a new job process reads the cache file again
        code_version.script_hash(script, "normal")

    out["fingerprint cold ms"] = 1000 * _median_seconds(cold, rounds)
    out["fingerprint warm ms"] = 1000 * _median_seconds(warm, rounds)
    out["read ratio"] = out["verified read s"] / out["pandas read s"]
    out["check ratio"] = out["pre-run check s"] / out["bytes read s"]
    out["write ratio"] = out["verified write s"] / out["plain write s"]
    return out


def markdown(m: dict[str, float]) -> list[str]:
    """The section of ``benchmarks/results.md``."""
    return [
        "",
        "## Verifying chunk files and fingerprinting job code (issue 12)",
        "",
        f"The default study's {m['chunks']:.0f} chunk files ({m['megabytes']:.1f} MB); medians.",
        "",
        "| | verified | unverified | ratio |",
        "|---|---|---|---|",
        f"| read every chunk (sha256, page CRCs, replication range) vs `pandas.read_parquet` | "
        f"{m['verified read s']:.3f} s | {m['pandas read s']:.3f} s | {m['read ratio']:.2f} |",
        f"| pre-run check of every chunk (sha256, metadata) vs reading the bytes | "
        f"{m['pre-run check s']:.3f} s | {m['bytes read s']:.3f} s | {m['check ratio']:.2f} |",
        f"| write the largest chunk (page CRCs, `.sha256`) vs plain zstd parquet | "
        f"{m['verified write s']:.3f} s | {m['plain write s']:.3f} s | {m['write ratio']:.2f} |",
        "",
        f"A job's code fingerprint: {m['fingerprint warm ms']:.1f} ms with the closure cache, "
        f"{m['fingerprint cold ms']:.1f} ms parsing the package (first job after an edit).",
    ]


if __name__ == "__main__":
    print("\n".join(markdown(measure())))
