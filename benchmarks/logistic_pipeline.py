"""One logistic scenario end to end: what a replication costs in the whole pipeline.

Issue 9 asks for the pipeline's cost per replication next to the engine's.  For
a logistic scenario (p = 5, normal features) at n = 100 and n = 1000 this
measures, per replication:

- ``engine``: the batched Newton fit alone (``mlestudy.fitting.glm.logistic``) on
  data already in memory;
- ``simulate job``: the job function the rule calls (draw X and y from the keyed
  streams, fit, the per-replication bound, write the parquet chunk), in this
  process;
- ``workflow``: ``snakemake --cores 1`` on a fresh copy of the workflow with only
  this scenario, divided by the replications it fits (every job: simulate, check,
  aggregate, figures, manifest, report; process start-ups included).

CPU time (``process_time``) for the in-process parts, wall time for the workflow.
Run: ``.venv/bin/python benchmarks/logistic_pipeline.py`` (writes ``logistic_pipeline.md``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlestudy.config import validate  # noqa: E402
from mlestudy.fitting.glm import logistic  # noqa: E402
from mlestudy.jobs import simulate_job  # noqa: E402
from mlestudy.simulate import iter_data  # noqa: E402

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
REPLICATIONS = 20_000
SIZES = (100, 1000)
CONFIG = {
    "seed": 7,
    "chunk_size": 20_000,
    "check_replications": 5,
    "scenarios": [
        {
            "name": "logistic",
            "family": "logistic_regression",
            "params": {"beta": [-0.5, 1.0, -1.0, 0.5, 0.25]},
            "design": {"features": "normal"},
            "sample_sizes": list(SIZES),
            "replications": REPLICATIONS,
            "estimators": ["mle"],
        }
    ],
}


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def in_process(n: int, rounds: int = 3) -> dict[str, float]:
    """Median CPU microseconds per replication of the engine and of the simulate job function."""
    sc = validate(CONFIG).scenarios[0]
    data = [
        raw for _, raw in iter_data(sc.model, seed=sc.seed, scenario=sc.name, n=n, first=0, stop=REPLICATIONS)
    ]
    engine, job = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "chunk.parquet"
        for _ in range(rounds):  # interleaved
            engine.append(cpu(lambda: [logistic(d["x"], d["y"]) for d in data]))
            job.append(cpu(lambda: simulate_job(sc.name, sc.simulation_params(), n, 0, REPLICATIONS, out)))
    scale = 1e6 / REPLICATIONS
    return {"engine": statistics.median(engine) * scale, "simulate job": statistics.median(job) * scale}


def workflow() -> tuple[float, int]:
    """Wall seconds of a complete ``snakemake --cores 1`` run of the scenario, and its job count."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for part in ("Snakefile", "workflow", "scripts", "report", "profiles"):
            src = ROOT / part
            dest = work / part
            if src.is_dir():
                subprocess.run(["cp", "-r", str(src), str(dest)], check=True)
            else:
                subprocess.run(["cp", str(src), str(dest)], check=True)
        (work / "config.yaml").write_text(yaml.safe_dump(CONFIG))
        start = time.perf_counter()
        run = subprocess.run([str(SNAKEMAKE), "--cores", "1"], cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if run.returncode:
            raise RuntimeError(run.stderr[-2000:])
        jobs = len(list((work / "results" / "logs").rglob("*.log")))
    return wall, jobs


def main() -> None:
    rows = {n: in_process(n) for n in SIZES}
    wall, jobs = workflow()
    per_rep = 1e6 * wall / (REPLICATIONS * len(SIZES))
    lines = [
        "# One logistic scenario end to end",
        "",
        f"p = 5 (intercept + 4 normal features), {REPLICATIONS:,} replications at each n; "
        "µs per replication (CPU time in process; wall time for the workflow). Written by "
        "`benchmarks/logistic_pipeline.py`.",
        "",
        "| n | engine fit | simulate job (draw, fit, bound, write) | job / engine |",
        "|---|---|---|---|",
    ]
    for n, r in rows.items():
        lines.append(
            f"| {n} | {r['engine']:.1f} | {r['simulate job']:.1f} | {r['simulate job'] / r['engine']:.2f} |"
        )
    lines += [
        "",
        f"Whole workflow, `snakemake --cores 1`, both sample sizes: {wall:.1f} s wall for "
        f"{REPLICATIONS * len(SIZES):,} replications ({jobs} jobs): {per_rep:.1f} µs per replication, "
        "every job included (check, aggregate, figures, manifest, report).",
        "",
    ]
    text = "\n".join(lines)
    (Path(__file__).with_name("logistic_pipeline.md")).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
