"""Snakemake logger plugin for mlestudy: one line per finished job, one closing line.

Snakemake's default output gives every job a block of ten lines (its inputs,
outputs, reason, resources) and prints a chatter line for each scheduling
round: 780 lines for the default study.  This handler replaces the console
output (Snakemake's own file log in ``.snakemake/log/`` keeps every detail):

* one line when the run starts, with the job count per rule;
* one line per finished job: progress, rule, wildcards and how long it took;
* warnings and errors in full, as Snakemake formats them;
* on Ctrl-C, one line saying what was kept and how to go on, instead of the
  errors Snakemake reports for the jobs it interrupted;
* a closing line that names the report and its verdict, read from the JSON
  file the report job writes (``results/verdict.json``).

A dry run, ``--verbose``, ``--printshellcmds``, ``--debug-dag`` or
``--logger-mlestudy-full`` gives Snakemake's own full output instead.

It imports nothing from mlestudy: Snakemake imports every installed logger
plugin whenever it starts, in any project, so this module must not fail.
"""

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

CHATTER = (
    "Building DAG of jobs",
    "Using shell:",
    "Provided cores",
    "Provided resources",
    "Rules claiming more threads",
    "Select jobs to execute",
    "Execute ",
    "Assuming unrestricted shared filesystem usage",
    "Conda environments: ignored",
    "Singularity containers: ignored",
    "Group jobs: inactive",
    "Complete log(s):",
    "Elapsed time:",
)
"""Snakemake's per-round and start-up info lines, left to the file log."""
INTERRUPTED = "Terminating processes on user request"
NOTHING_TO_DO = "Nothing to be done"


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    full: bool = field(
        default=False,
        metadata={"help": "Print Snakemake's full output (every job's inputs, outputs and reason)."},
    )
    verdict: str = field(
        default="results/verdict.json",
        metadata={"help": "JSON file with the report's path and verdict, read for the closing line."},
    )


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


class LogHandler(LogHandlerBase):
    """Compact console output (see the module docstring)."""

    def __post_init__(self) -> None:
        from snakemake.logging import ColorizingTextHandler, DefaultFilter, DefaultFormatter

        s, common = self.settings, self.common_settings
        self.full = bool(
            getattr(s, "full", False)
            or common.dryrun
            or common.verbose
            or common.printshellcmds
            or common.debug_dag
        )
        self.verdict_path = Path(getattr(s, "verdict", None) or "results/verdict.json")
        self.stream = sys.stdout if common.stdout else sys.stderr
        quiet = set(common.quiet or ())
        self.default = ColorizingTextHandler(
            nocolor=common.nocolor,
            stream=self.stream,
            formatter=DefaultFormatter(quiet, common.show_failed_logs),
            filter=DefaultFilter(
                quiet, common.debug_dag, common.verbose, common.dryrun, common.printshellcmds
            ),
        )
        self.silent = any(getattr(q, "name", str(q)).upper() == "ALL" for q in quiet)
        self.started = time.monotonic()
        self.jobs: dict[int, tuple[str, str, float]] = {}
        self.finished: list[tuple[int, float]] = []
        self.total = 0
        self.done = 0
        self.cores: int | None = None
        self.interrupted = False
        self.failed = False
        self.nothing_to_do = False
        self.logfile: str | None = None
        self._hook_interrupts()

    def _hook_interrupts(self) -> None:
        """A Ctrl-C before the scheduler runs (DAG building) escapes Snakemake: one line, no traceback."""
        previous = sys.excepthook

        def hook(kind, value, traceback):
            if issubclass(kind, KeyboardInterrupt):
                sys.stderr.write("Interrupted (Ctrl-C) before any job started; nothing was written.\n")
            else:
                previous(kind, value, traceback)

        sys.excepthook = hook

    # The four properties Snakemake asks of a logger plugin.
    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def _write(self, line: str) -> None:
        if not self.silent:
            self.stream.write(line + "\n")
            self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        if self.full:
            self.default.emit(record)
            return
        event = getattr(record, "event", None)
        text = str(record.msg) if record.msg is not None else ""
        if text.startswith("Complete log(s):"):
            self.logfile = text.split(":", 1)[1].strip()
        if event == LogEvent.JOB_INFO:
            wildcards = getattr(record, "wildcards", None) or {}
            what = " ".join(f"{k}={v}" for k, v in dict(wildcards).items())
            self.jobs[int(record.jobid)] = (record.rule_name, what, record.created)
        elif event == LogEvent.JOB_FINISHED:
            self.finished.append((int(record.job_id), record.created))
        elif event == LogEvent.PROGRESS:
            self.done, self.total = int(record.done), int(record.total)
            for jobid, when in self.finished:
                rule, what, start = self.jobs.get(jobid, ("job", str(jobid), when))
                width = len(str(self.total))
                self._write(
                    f"[{self.done:>{width}}/{self.total}] {rule} {what} ({_seconds(when - start)})".replace(
                        "  ", " "
                    )
                )
            self.finished.clear()
        elif event == LogEvent.RESOURCES_INFO:
            self.cores = getattr(record, "cores", self.cores)
        elif event == LogEvent.RUN_INFO:
            stats = getattr(record, "stats", None) or {}
            counts = {k: v for k, v in dict(stats).items() if k != "total"}
            total = dict(stats).get("total", sum(counts.values()))
            self.total = self.total or int(total)
            on = f" on {self.cores} core{'s' if self.cores != 1 else ''}" if self.cores else ""
            rules = ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            self._write(f"Running {total} job{'s' if total != 1 else ''}{on}: {rules}.")
        elif event in (LogEvent.WORKFLOW_STARTED, LogEvent.JOB_STARTED, LogEvent.SHELLCMD):
            return
        elif text.startswith(INTERRUPTED):
            self.interrupted = True
            self._write("Interrupted (Ctrl-C): stopping the running jobs...")
        elif self.interrupted and record.levelno >= logging.ERROR:
            return  # the interrupted jobs' failures: said once, at the end
        elif record.levelno >= logging.WARNING or event in (LogEvent.JOB_ERROR, LogEvent.GROUP_ERROR):
            self.failed = self.failed or record.levelno >= logging.ERROR
            self.default.emit(record)
        elif text.startswith(NOTHING_TO_DO):
            self.nothing_to_do = True
            self._write("Nothing to be done: every requested file is up to date.")
        elif not text.startswith(CHATTER) and text:
            self._write(text)

    def close(self) -> None:
        # Snakemake closes its handlers when the run ends, and logging closes them again at exit.
        closing, self.closed = not getattr(self, "closed", False), True
        try:
            if closing and not self.full and not self.silent:
                self._closing()
        finally:
            super().close()

    def _closing(self) -> None:
        elapsed = _seconds(time.monotonic() - self.started)
        log = f" Full log: {self.logfile}." if self.logfile else ""
        if self.interrupted:
            self._write(
                f"Stopped after {self.done} of {self.total} jobs ({elapsed}). Finished files are kept and "
                f"are whole; run the same command to go on.{log}"
            )
        elif self.failed:
            self._write(
                f"Failed after {self.done} of {self.total} jobs ({elapsed}): see the error above.{log}"
            )
        elif self.nothing_to_do or (self.total and self.done == self.total):
            ran = "" if self.nothing_to_do else f"Done: {self.total} jobs in {elapsed}. "
            self._write(ran + self._verdict())

    def _verdict(self) -> str:
        """'Report: <path>. <verdict>' from the report job's JSON file, or where it is missing."""
        try:
            data = json.loads(self.verdict_path.read_text(encoding="utf-8"))
            return f"Report: {data['report']}. {data['verdict']}"
        except (OSError, ValueError, KeyError, TypeError):
            return f"(no verdict: {self.verdict_path} is missing or unreadable)"
