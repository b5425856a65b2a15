"""Run the benchmark suite and write ``benchmarks/results.md``.

    .venv/bin/python benchmarks/run.py            # everything (about 5 minutes)
    .venv/bin/python benchmarks/run.py --quick    # 3 rounds, 1 pipeline run
    .venv/bin/python benchmarks/run.py --baseline REV   # and job sizing: REV (before) vs this checkout

Measurements, never assertions: the speed targets are checked and reported
here, not in the test suite, where timing would flake.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path

import numpy as np

from mlestudy.seeding import BLOCK_SIZE

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hot_path  # noqa: E402
import integrity  # noqa: E402
import pipeline  # noqa: E402
import scale  # noqa: E402

HERE = Path(__file__).resolve().parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hot_path_table(rows: list[dict]) -> str:
    methods = ["loop", "numpy loop", "raw", "package", "package 2 threads", "direct"]
    head = "| family | n | " + " | ".join(f"{m} ns/draw" for m in methods)
    head += " | (c)/(b) package/raw | (a)/(c) loop/package | (a')/(c) numpy loop/package"
    head += " | (c)/(d) package/direct | 1→2 threads speed-up |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [r["family"], str(r["n"]), *(f"{r[f'{m} ns/draw']:.2f}" for m in methods)]
        ratios = ("package/raw", "loop/package", "numpy loop/package", "package/direct", "1 thread/2 threads")
        cells += [f"{r[k]:.2f}" for k in ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(
    rows: list[dict],
    met: dict[str, bool],
    pipe: dict | None,
    rounds: int,
    sizing: dict | None = None,
    integ: dict | None = None,
) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Written by `benchmarks/run.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{cpu_model()}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}. Re-run it to refresh this file; nothing here is typed by hand.",
        "",
        "## Simulate + fit against the random-number floor (one core unless stated)",
        "",
        f"R·n = {hot_path.DRAWS:,} draws per cell; every method once per round, {rounds} interleaved "
        "rounds, median. (a) loop: one replication at a time through the family's own `sample` and "
        f"`fit` (timed on {hot_path.API_LOOP_REPS:,} replications; its cost per draw does not depend "
        "on R). (a') numpy loop: one replication at a time with one Generator call and one numpy "
        f"reduction, nothing else ({hot_path.LOOP_REPS:,} replications). "
        "(b) raw: the same draws from the same block generators into a reused buffer, nothing else. "
        "(c) package: `simulate_columns(sampler='data')`. (d) direct: `sampler='sufficient'`. "
        "Stream creation is in (b), (c) and (d) alike. Threads share out whole blocks of "
        f"{BLOCK_SIZE:,} replications: at n = 1000 a cell is {hot_path.DRAWS // 1000:,} replications, "
        "a single block, so the 2-thread column can show no gain there.",
        "",
        hot_path_table(rows),
        "",
        "Targets:",
        "",
    ]
    for key, target in hot_path.TARGETS.items():
        out.append(f"- {key} {target}: **{'met' if met[key] else 'NOT met'}**")
    if pipe:
        out += [
            "",
            f"## The default study end to end, `snakemake --cores {pipe['cores']}`",
            "",
            f"- jobs: {pipe['jobs']}",
            f"- wall time (fresh `results/`), median of {len(pipe['walls'])}: **{pipe['wall']:.1f} s** "
            f"(runs: {', '.join(f'{w:.1f}' for w in pipe['walls'])} s)",
            f"- the same work in one warm process, one core: {pipe['compute']:.1f} s",
            f"- Snakemake, process start-up, imports and idle cores: "
            f"**{pipe['overhead_share']:.0%}** of {pipe['cores']} × wall time",
        ]
    if sizing:
        out += ["", *scale.report(sizing)]
    if integ:
        out += integrity.markdown(integ)
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds and one pipeline run")
    parser.add_argument("--no-pipeline", action="store_true", help="only the hot-path table")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--baseline", metavar="REV", help="also measure job sizing: git revision REV against this checkout"
    )
    args = parser.parse_args()
    rounds = 3 if args.quick else 5
    rows = hot_path.measure(rounds)
    met = hot_path.targets_met(rows)
    runs = 1 if args.quick else 3
    sizing = None if args.no_pipeline or not args.baseline else scale.measure(args.baseline, runs, runs)
    if sizing:  # the default study's runs of this checkout are the end-to-end section's
        after = sizing["default_after"]
        pipe = {"cores": 2, "jobs": after["jobs"], "walls": after["walls"], "wall": after["wall"],
                "compute": after["compute"], "overhead_share": after["share"]}  # fmt: skip
    else:
        pipe = None if args.no_pipeline else pipeline.measure(cores=2, runs=runs)
    text = report(rows, met, pipe, rounds, sizing, integrity.measure(rounds))
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
