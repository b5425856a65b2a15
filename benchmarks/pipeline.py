"""The default study end to end: wall time, job count, and where the time goes.

Runs ``snakemake --cores C`` on a fresh copy of the workflow and the default
``config.yaml`` (no results yet), then does the same work again in this one warm
process by calling the very job functions the rules call, in DAG order.  The
difference between C x wall time and that compute time is what Snakemake
scheduling, process start-up, imports and idle cores cost:

    overhead share = 1 - compute / (C * wall)

Run it through ``benchmarks/run.py``, which writes ``benchmarks/results.md``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
WORKFLOW_PARTS = ("Snakefile", "config.yaml", "workflow", "scripts", "report", "profiles")


def fresh_copy(into: Path) -> Path:
    """The workflow and default config, without results."""
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, into / part)
    (into / "report" / "report.html").unlink(missing_ok=True)
    return into


def snakemake_run(workdir: Path, cores: int) -> tuple[float, int]:
    """Wall seconds and number of jobs of one complete run."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(SNAKEMAKE), "--cores", str(cores)], cwd=workdir, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    return wall, jobs_done(result.stdout + result.stderr)


def jobs_done(output: str) -> int:
    """Jobs of a finished run, from Snakemake's own log or the mlestudy logger's closing line."""
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done|Done: (\d+) jobs in", output)
    return int(done[-1][1] or done[-1][2])


def in_process_compute(workdir: Path) -> float:
    """Seconds to do every job's work in one warm process, one core, DAG order."""
    import mlestudy.figures  # noqa: F401 - warm imports: measure the work, not the imports
    import mlestudy.numerical  # noqa: F401
    import mlestudy.report  # noqa: F401
    from mlestudy import jobs, outputs
    from mlestudy.config import load
    from mlestudy.outputs import FIGURES

    fmt = getattr(outputs, "FIGURE_FORMAT", "png")  # the workflow's own format (PNG before SVG)

    study = load(workdir / "config.yaml")

    def ranges(sc, n: int) -> list[tuple[int, int]]:
        # Scenario.chunks took no n before chunks were sized by their work (benchmarks/scale.py's "before").
        try:
            return sc.chunks(n)
        except TypeError:
            return sc.chunks()

    out = workdir / "in-process"
    start = time.perf_counter()
    tables, checks, figures, chunks = [], [], {}, []
    for sc in study.scenarios:
        files = {
            n: [out / f"{sc.name}-n{n}-{first}.parquet" for first, _ in ranges(sc, n)]
            for n in sc.sample_sizes
        }
        for n in sc.sample_sizes:
            for path, (first, stop) in zip(files[n], ranges(sc, n), strict=True):
                jobs.simulate_job(sc.name, sc.simulation_params(), n, first, stop, path)
                chunks.append(path)
        checks.append(out / "checks" / f"{sc.name}.csv")
        jobs.check_job(sc.name, sc.check_params(study.check_replications), checks[-1])
        tables.append(out / f"{sc.name}.csv")
        jobs.aggregate_job(sc, [f for n in sc.sample_sizes for f in files[n]], tables[-1])
        figures[sc.name] = {name: str(out / f"{sc.name}-{name}.{fmt}") for name in FIGURES}
        extremes = sorted({min(sc.sample_sizes), max(sc.sample_sizes)})
        jobs.figures_job(sc, tables[-1], [f for n in extremes for f in files[n]], figures[sc.name])
    jobs.concat_job(tables, out / "summary.csv")
    _chapter(study, out)
    jobs.manifest_job(study.raw, chunks, {}, out / "manifest.json")
    jobs.report_job(
        study.raw,
        out / "summary.csv",
        checks,
        figures,
        [],
        workdir / "report/template.html.j2",
        out / "r.html",
    )
    return time.perf_counter() - start


def _chapter(study, out: Path) -> None:
    """The loss-function chapter's jobs, where this version has them (not before issue 10)."""
    import mlestudy

    if not (Path(mlestudy.__file__).parent / "losses").is_dir():
        return
    from mlestudy.losses import jobs as chapter

    tables = {name: out / "chapter" / Path(path).name for name, path in chapter.TABLES.items()}
    gradient = ("gradient_steps", "gradient_curves", "gradient_one_observation")
    chapter.gradient_job(chapter.chapter_params(study, "gradient"), {k: tables[k] for k in gradient})
    numerics = ("underflow", "logsumexp", "bce")
    chapter.numerics_job(chapter.chapter_params(study, "numerics"), {k: tables[k] for k in numerics})
    chapter.figure_job(tables["gradient_curves"], out / "chapter" / "gradient_descent.png")


def measure(cores: int = 2, runs: int = 3) -> dict:
    """Median wall time of ``runs`` fresh runs, and the compute they contain."""
    walls, jobs_count = [], 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            wall, jobs_count = snakemake_run(fresh_copy(Path(tmp)), cores)
            walls.append(wall)
    with tempfile.TemporaryDirectory() as tmp:
        compute = in_process_compute(fresh_copy(Path(tmp)))
    wall = sorted(walls)[len(walls) // 2]
    return {
        "cores": cores,
        "jobs": jobs_count,
        "walls": walls,
        "wall": wall,
        "compute": compute,
        "overhead_share": 1 - compute / (cores * wall),
    }
