"""Job sizing before and after: two versions of the workflow measured side by side.

"Before" is a git revision (``git archive``), "after" this checkout; each runs
in a fresh temporary directory holding its own copy of the workflow and of the
``mlestudy`` package, so the Snakefile and every job import that version.
Runs alternate (raw, before, after, raw, ...) so that a busy machine slows
both alike.  Two measurements:

- the 10^9-draw study: one normal scenario, n = 500, R = 2,000,000, the whole
  workflow with ``snakemake --cores 1``, against numpy drawing the same 10^9
  normal variates from the same block streams into a reused buffer
  (``hot_path.raw_draws``) in this process;
- the default study with ``snakemake --cores 2``: its wall time and the share of
  2 x wall that is not the study's work (Snakemake, process start-up, imports,
  idle cores), the work being every job's function called in one warm process
  (``pipeline.in_process_compute``), for each version.

CPU seconds (user + system of all child processes) are reported beside wall
times: they move less when other work shares the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import hot_path
import pipeline
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PARTS = ("Snakefile", "workflow", "scripts", "report", "profiles", "mlestudy", "config.yaml")
BIG_N = 500
BIG_R = 2_000_000
BIG = {
    "seed": 20261121,
    "scenarios": [
        {"name": "normal", "family": "normal", "params": {"mu": 5.0, "sigma2": 4.0}, "sample_sizes": [BIG_N],
         "replications": BIG_R},
    ],
}  # fmt: skip
"""10^9 normal draws through the workflow: scenario 'normal', so its streams are the raw loop's."""


def tree(revision: str | None, into: Path) -> Path:
    """The workflow and package of ``revision`` (None: this checkout) under ``into``."""
    into.mkdir(parents=True)
    if revision is None:
        for part in PARTS:
            src = ROOT / part
            if src.is_dir():
                shutil.copytree(src, into / part, symlinks=True)
            else:
                shutil.copy2(src, into / part)
    else:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, *PARTS], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    shutil.rmtree(into / "results", ignore_errors=True)
    (into / "report" / "report.html").unlink(missing_ok=True)
    return into


@contextlib.contextmanager
def fresh_copy(source: Path, config: dict | None) -> Iterator[Path]:
    """A temporary copy of ``source`` without results, with ``config`` (None: its own config.yaml)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "w"
        shutil.copytree(source, work, symlinks=True)
        if config is not None:
            (work / "config.yaml").write_text(yaml.safe_dump(config))
        yield work


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_study(source: Path, config: dict | None, cores: int) -> dict:
    """One complete fresh run of a copy of ``source``: wall and CPU seconds, jobs."""
    with fresh_copy(source, config) as work:
        cpu, start = children_cpu(), time.perf_counter()
        result = subprocess.run(
            [str(SNAKEMAKE), "--cores", str(cores)],
            cwd=work,
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(work)),
        )
        wall, cpu = time.perf_counter() - start, children_cpu() - cpu
        if result.returncode:
            raise RuntimeError(result.stderr[-3000:])
        jobs = pipeline.jobs_done(result.stdout + result.stderr)
    return {"wall": wall, "cpu": cpu, "jobs": jobs}


def dry_run_seconds(source: Path, config: dict) -> float:
    """Wall seconds of Snakemake planning a fresh study (``-n``): its start-up, the Snakefile, the DAG."""
    with fresh_copy(source, config) as work:
        start = time.perf_counter()
        subprocess.run([str(SNAKEMAKE), "-n", "--cores", "1"], cwd=work, capture_output=True, check=True,
                       env=dict(os.environ, PYTHONPATH=str(work)))  # fmt: skip
        return time.perf_counter() - start


def compute_seconds(source: Path, config: dict | None = None) -> float:
    """A study's work in one warm process, with ``source``'s package (default: the default study)."""
    with fresh_copy(source, config) as work:
        code = (
            f"import sys; sys.path[:0] = [{str(work)!r}, {str(HERE)!r}]\n"
            "from pathlib import Path; import pipeline\n"
            f"print(pipeline.in_process_compute(Path({str(work)!r})))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=work
        )
    return float(out.stdout.split()[-1])


def raw_seconds() -> tuple[float, float]:
    """Wall and CPU seconds of numpy drawing the 10^9 variates, nothing else."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, start = usage.ru_utime + usage.ru_stime, time.perf_counter()
    hot_path.raw_draws("normal", BIG_N, BIG_R)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime - cpu


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def measure(baseline: str, big_runs: int = 3, default_runs: int = 3) -> dict:
    """Before (``baseline``) and after (this checkout), interleaved."""
    load_before = os.getloadavg()[1]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": tree(baseline, Path(tmp) / "before"), "after": tree(None, Path(tmp) / "after")}
        big: dict[str, list[dict]] = {"raw": [], "before": [], "after": []}
        for _ in range(big_runs):
            wall, cpu = raw_seconds()
            big["raw"].append({"wall": wall, "cpu": cpu})
            for name, source in trees.items():
                big[name].append(run_study(source, BIG, cores=1))
        default: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(default_runs):
            for name, source in trees.items():
                default[name].append(run_study(source, None, cores=2))
        compute = {name: compute_seconds(source) for name, source in trees.items()}
        # The floor of any job layout: the 10^9 study's work in one warm process.
        big_compute = {
            name: median([compute_seconds(source, BIG) for _ in range(big_runs)])
            for name, source in trees.items()
        }
        dry = {
            name: median([dry_run_seconds(source, BIG) for _ in range(big_runs)])
            for name, source in trees.items()
        }
    raw = median([r["wall"] for r in big["raw"]])
    raw_cpu = median([r["cpu"] for r in big["raw"]])
    load = (load_before, os.getloadavg()[1])
    out: dict = {"baseline": baseline, "raw_wall": raw, "raw_cpu": raw_cpu, "load": load}
    for name in trees:
        walls = [r["wall"] for r in big[name]]
        out[f"big_{name}"] = {
            "jobs": big[name][0]["jobs"],
            "walls": walls,
            "wall": median(walls),
            "cpu": median([r["cpu"] for r in big[name]]),
            "ratio": median(walls) / raw,
            "cpu_ratio": median([r["cpu"] for r in big[name]]) / raw_cpu,
            "compute": big_compute[name],
            "compute_ratio": big_compute[name] / raw,
            "dry_run": dry[name],
            "ratios": [w / r["wall"] for w, r in zip(walls, big["raw"], strict=True)],
        }
        walls = [r["wall"] for r in default[name]]
        out[f"default_{name}"] = {
            "jobs": default[name][0]["jobs"],
            "walls": walls,
            "wall": median(walls),
            "cpu": median([r["cpu"] for r in default[name]]),
            "compute": compute[name],
            "share": 1 - compute[name] / (2 * median(walls)),
        }
    return out


def report(m: dict) -> list[str]:
    """The results.md section."""
    rows = []
    for name in ("before", "after"):
        b, d = m[f"big_{name}"], m[f"default_{name}"]
        rows.append(
            f"| {name} | {b['jobs']} | {b['wall']:.1f} ({', '.join(f'{w:.1f}' for w in b['walls'])}) | "
            f"{b['cpu']:.1f} | **{b['ratio']:.2f}** ({', '.join(f'{r:.2f}' for r in b['ratios'])}) | "
            f"{b['cpu_ratio']:.2f} | "
            f"{d['jobs']} | {d['wall']:.1f} ({', '.join(f'{w:.1f}' for w in d['walls'])}) | {d['cpu']:.1f} | "
            f"{d['compute']:.1f} | **{d['share']:.0%}** |"
        )
    met_ratio = m["big_after"]["ratio"] <= 2.0
    floor = m["big_after"]
    floor_ratio = (floor["compute"] + floor["dry_run"]) / m["raw_wall"]
    return [
        "## Job sizing: before and after",
        "",
        f"Before: `{m['baseline']}`; after: this checkout. Each version runs in its own fresh copy, "
        "runs alternate, medians (each run in brackets). 10^9 draws: one normal scenario, n = 500, "
        f"R = {BIG_R:,}, the whole workflow with `snakemake --cores 1`, against numpy drawing the same "
        f"10^9 variates from the same streams and nothing else: **{m['raw_wall']:.1f} s** wall "
        f"({m['raw_cpu']:.1f} s CPU). Default study: `snakemake --cores 2`; its work in one warm process; "
        "orchestration share = 1 − work / (2 × wall). CPU = user + system seconds of every process. "
        f"Machine load (5-minute load average on {os.cpu_count()} cores) at the start and end: "
        f"{m['load'][0]:.1f} and {m['load'][1]:.1f}; other work on the machine lengthens wall times, "
        "CPU seconds much less.",
        "",
        "| version | 10^9: jobs | wall s | CPU s | pipeline/raw wall | pipeline/raw CPU | default: jobs | wall s "
        "| CPU s | work s | orchestration share |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- 10^9-draw pipeline/raw <= 2.0 with `--cores 1`: **{'met' if met_ratio else 'NOT met'}**",
        f"- the floor of any job layout (after): the 10^9 study's work done in one warm process, every job's "
        f"function called in DAG order with imports already paid, takes **{floor['compute']:.1f} s = "
        f"{floor['compute_ratio']:.2f}× raw**; Snakemake planning the same study (`-n`, start-up, Snakefile, "
        f"DAG) takes {floor['dry_run']:.1f} s; together **{floor_ratio:.2f}× raw** before a single job "
        "process is started or a library imported (before: "
        f"{m['big_before']['compute']:.1f} s work, {m['big_before']['dry_run']:.1f} s planning)",
        f"- default study's orchestration share: {m['default_before']['share']:.0%} before, "
        f"{m['default_after']['share']:.0%} after",
    ]


if __name__ == "__main__":
    result = measure(sys.argv[1] if len(sys.argv) > 1 else "main", big_runs=1, default_runs=1)
    print(json.dumps(result, indent=1))
    print("\n".join(report(result)))
