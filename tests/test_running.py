"""Running the study: console output, Ctrl-C, re-run triggers, and a grid end to end.

The console output is the logger plugin in ``workflow/logger`` (installed by
``make install``), selected by the default workflow profile.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_logger_plugin_mlestudy import LogHandler, LogHandlerSettings
from workflow_helpers import GRID, RUN_OUTPUT, SNAKEMAKE, TINY, checkout_env, copy_workflow, run, write_config

from mlestudy.grid import expand


class Output:
    """What :class:`OutputSettingsLoggerInterface` holds, for a plugin made outside Snakemake."""

    def __init__(self, **changes: object) -> None:
        self.printshellcmds = self.nocolor = self.debug_dag = self.verbose = False
        self.show_failed_logs = self.stdout = self.dryrun = False
        self.quiet = None
        self.nocolor = True
        self.__dict__.update(changes)


def handler(tmp_path: Path, **changes: object) -> tuple[LogHandler, io.StringIO]:
    """A plugin handler writing to a string, with its verdict file under ``tmp_path``."""
    h = LogHandler(Output(**changes), LogHandlerSettings(verdict=str(tmp_path / "verdict.json")))
    stream = io.StringIO()
    h.stream = h.default.stream = stream
    return h, stream


def record(msg: object = None, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    r = logging.LogRecord("snakemake", level, "x.py", 1, msg, (), None)
    r.__dict__.update(extra)
    return r


def job(h: LogHandler, jobid: int, rule: str, done: int, total: int, **wildcards: object) -> None:
    h.emit(record(event=LogEvent.JOB_INFO, jobid=jobid, rule_name=rule, wildcards=wildcards))
    h.emit(record(event=LogEvent.JOB_FINISHED, job_id=jobid))
    h.emit(record(event=LogEvent.PROGRESS, done=done, total=total))


def test_one_line_per_finished_job_and_a_closing_verdict(tmp_path: Path) -> None:
    (tmp_path / "verdict.json").write_text(
        json.dumps({"report": "report/report.html", "verdict": "All agree."})
    )
    h, out = handler(tmp_path)
    h.emit(record("Building DAG of jobs..."))
    h.emit(record("Provided cores: 2", event=LogEvent.RESOURCES_INFO, cores=2))
    h.emit(record("Job stats: ...", event=LogEvent.RUN_INFO, stats={"simulate": 2, "all": 1, "total": 3}))
    h.emit(record("Select jobs to execute..."))
    job(h, 7, "simulate", 1, 3, scenario="coin", n=10)
    h.emit(record("Execute 1 jobs..."))
    job(h, 8, "simulate", 2, 3, scenario="coin", n=20)
    job(h, 0, "all", 3, 3)
    h.close()
    h.close()  # Snakemake and logging both close it: the closing line is said once
    lines = out.getvalue().splitlines()
    assert lines[0] == "Running 3 jobs on 2 cores: 2 simulate, 1 all."
    assert re.fullmatch(r"\[1/3\] simulate scenario=coin n=10 \(\d+\.\d s\)", lines[1]), lines[1]
    assert lines[2].startswith("[2/3] simulate scenario=coin n=20") and lines[3].startswith("[3/3] all (")
    assert re.fullmatch(r"Done: 3 jobs in \d+\.\d s\. Report: report/report\.html\. All agree\.", lines[4])
    assert len(lines) == 5


def test_errors_pass_through_and_ctrl_c_is_said_once(tmp_path: Path) -> None:
    h, out = handler(tmp_path)
    h.emit(record("Job stats: ...", event=LogEvent.RUN_INFO, stats={"simulate": 4, "total": 4}))
    job(h, 1, "simulate", 1, 4, scenario="coin")
    h.emit(record("MissingInputException: something the user must see", logging.ERROR, event=LogEvent.ERROR))
    assert "MissingInputException: something the user must see" in out.getvalue()
    h.emit(record("Terminating processes on user request, this might take some time."))
    h.emit(record("Error in rule simulate, jobid: 2", logging.ERROR, event=LogEvent.JOB_ERROR))
    h.emit(record("WorkflowError: At least one job did not complete successfully.", logging.ERROR))
    h.close()
    text = out.getvalue()
    assert "Error in rule simulate" not in text and "At least one job" not in text
    assert text.splitlines()[-2] == "Interrupted (Ctrl-C): stopping the running jobs..."
    assert text.splitlines()[-1].startswith("Stopped after 1 of 4 jobs (")


def test_a_dry_run_prints_snakemake_s_full_output(tmp_path: Path) -> None:
    h, out = handler(tmp_path, dryrun=True)
    h.emit(record(event=LogEvent.JOB_INFO, jobid=3, rule_name="simulate", rule_msg=None, local=False,
                  is_checkpoint=False, input=[], output=["results/x.parquet"], log=[], benchmark=None,
                  wildcards={"scenario": "coin"}, reason="Missing output files", resources={}, priority=0,
                  threads=1, indent=False))  # fmt: skip
    text = out.getvalue()
    assert (
        "rule simulate:" in text
        and "output: results/x.parquet" in text
        and "wildcards: scenario=coin" in text
    )


@pytest.mark.slow
def test_default_run_prints_a_line_per_job_and_names_the_report(study: Path) -> None:
    """The tiny study's build printed one line per job, between a start line and a closing line."""
    lines = (study / RUN_OUTPUT).read_text().splitlines()
    jobs = int(re.search(r"Running (\d+) jobs", "\n".join(lines))[1])
    progress = [line for line in lines if re.match(r"\[\s*\d+/\d+\] ", line)]
    assert len(progress) == jobs and len(lines) <= jobs + 3, lines
    verdict = json.loads((study / "results" / "verdict.json").read_text())
    assert lines[-1].endswith(f"Report: report/report.html. {verdict['verdict']}")
    assert verdict["agree"] and "Simulation agrees with exact theory" in verdict["verdict"]
    assert "Traceback" not in "\n".join(lines) and max(len(line) for line in lines) < 300


def _interrupt_when(workdir: Path, ready, env: dict | None = None) -> tuple[str, int]:
    """Start ``snakemake`` as a terminal would (own process group, SIGINT not ignored),
    send SIGINT to the group when ``ready()``, and return its output and exit status."""
    proc = subprocess.Popen(
        [str(SNAKEMAKE), "--cores", "2"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env=env or checkout_env(),
    )
    deadline = time.monotonic() + 300
    while not ready():
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    return out, proc.returncode


@pytest.mark.slow
def test_ctrl_c_stops_quietly_and_the_same_command_goes_on(tmp_path: Path) -> None:
    """SIGINT to the whole process group (what Ctrl-C does) while jobs run: no traceback, one line
    that says what was kept; the next run finishes the study."""
    big = {
        **TINY,
        "scenarios": [{**TINY["scenarios"][1], "sample_sizes": [2, 400, 800], "replications": 40000}],
    }
    work = copy_workflow(tmp_path / "w", big)
    estimates = work / "results" / "estimates"
    out, status = _interrupt_when(work, lambda: estimates.exists() and any(estimates.rglob("*.parquet")))
    assert status != 0
    assert "Traceback" not in out and "KeyboardInterrupt" not in out and "Error in rule" not in out, out
    lines = out.strip().splitlines()
    assert "Interrupted (Ctrl-C): stopping the running jobs..." in lines
    assert re.match(r"Stopped after \d+ of \d+ jobs \(.*\)\. Finished files are kept", lines[-1]), lines[-1]
    assert not list(work.rglob("*.tmp"))  # interrupted writes left nothing behind
    finished = run(work)
    assert "Done: " in finished.stderr.splitlines()[-1]


def _planned(workdir: Path, env: dict | None = None) -> dict[str, int]:
    """Rule -> job count of a dry run (Snakemake's job stats table)."""
    result = subprocess.run([str(SNAKEMAKE), "--cores", "1", "--dry-run"], cwd=workdir, capture_output=True,
                            text=True, timeout=300, env=env or checkout_env())  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


@pytest.mark.slow
def test_rerun_triggers_follow_what_each_output_reads(study: Path, tmp_path: Path) -> None:
    """ci_level re-runs the summaries and figures (coverage, its exact value and the coverage figure depend
    on it), never a simulation; a description only the report; an edit to the report's code the report."""
    transient = shutil.ignore_patterns("locks", "incomplete", "log", "snakemake-report.html")
    work = Path(shutil.copytree(study, tmp_path / "study", symlinks=True, ignore=transient))
    assert _planned(work) == {}
    # The manifest records the config's hash: every config edit re-writes it (a cheap job).
    write_config(work, {**TINY, "ci_level": 0.9})
    planned = {"aggregate_scenario": 2, "figures": 2, "summary": 1, "manifest": 1, "report": 1, "all": 1}
    assert _planned(work) == planned
    described = [{**s, "description": "new words"} for s in TINY["scenarios"]]
    write_config(work, {**TINY, "scenarios": described})
    assert _planned(work) == {"manifest": 1, "report": 1, "all": 1}
    # The package itself, copied beside the workflow, so that its report code can be edited.
    write_config(work, TINY)
    package = Path(__import__("mlestudy").__file__).parent
    shutil.copytree(package, work / "mlestudy", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(work), os.environ.get("PYTHONPATH", "")])}
    assert _planned(work, env) == {}
    with open(work / "mlestudy" / "report.py", "a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    assert _planned(work, env) == {"report": 1, "all": 1}


@pytest.mark.slow
def test_a_2_by_3_grid_runs_and_its_nested_loop_plot_is_in_the_report(grid_study: Path) -> None:
    _, grids, _ = expand(GRID)
    members = [m.scenario for m in grids[0].members]
    assert len(members) == 6
    summary = pd.read_csv(grid_study / "results" / "summary.csv")
    assert sorted(summary["scenario"].unique()) == sorted(members)
    figure = grid_study / "results" / "grids" / "bell" / "nested_loop.svg"
    svg = figure.read_text()
    assert svg.startswith("<?xml") and "bias / √CRLB" in svg and "Wald coverage" in svg
    html = (grid_study / "report" / "report.html").read_text()
    assert (
        '<section id="grids">' in html
        and "Grid bell: params.mu ∈ {0.0, 5.0}; params.sigma2 ∈ {1.0, 4.0, 9.0}" in html
    )
    assert html.count('alt="Nested-loop plot of grid bell') == 1
    finite = summary.dropna(subset=["z_mean"])
    assert (finite["z_mean"].abs() < 4.5).all()


JOB = """
import os, signal, sys
from mlestudy.jobs import logged
with logged(sys.argv[1]) as log:
    log.info("working")
    os.kill(os.getpid(), signal.SIGINT)
    signal.pause()
"""


def test_a_job_stops_quietly_on_ctrl_c(tmp_path: Path) -> None:
    """Jobs start with SIGINT ignored (the Snakefile's shell prefix); logged() turns it back on, and
    the interrupted job exits with 130, says so in its log and prints no traceback."""
    log = tmp_path / "job.log"
    result = subprocess.run(
        ["bash", "-c", 'trap "" INT; exec "$0" -c "$1" "$2"', sys.executable, JOB, str(log)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 130 and result.stderr == "", result.stderr
    assert "interrupted (Ctrl-C)" in log.read_text()


DONE_JOB = """
import os, signal, sys
from mlestudy.jobs import logged
with logged(sys.argv[1]) as log:
    log.info("working")
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once the work is done, while the job exits
"""


def test_a_job_that_finished_its_work_exits_normally_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    result = subprocess.run(
        ["bash", "-c", 'trap "" INT; exec "$0" -c "$1" "$2"', sys.executable, DONE_JOB, str(log)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "interrupted" not in log.read_text()


def test_the_snakefile_starts_jobs_with_sigint_ignored() -> None:
    snakefile = (Path(__file__).resolve().parents[1] / "Snakefile").read_text()
    assert """shell.prefix("set -euo pipefail; trap '' INT; ")""" in snakefile
