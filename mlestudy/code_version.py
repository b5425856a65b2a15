"""Fingerprints of the package code each kind of job runs.

Rule scripts are thin, so Snakemake's own code-change trigger (which looks at
the script) cannot see a change in the science.  Rules pass these hashes as
``params``; when a family's code changes, exactly the jobs that ran it re-run.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent

SIMULATION = ("families/base.py", "simulate.py", "seeding.py", "estimates_io.py", "atomic.py")
SUMMARY = (*SIMULATION, "performance.py", "aggregate.py", "config.py")
CHECK = (*SIMULATION, "numerical.py")
FIGURES = (*SUMMARY, "figures.py", "outputs.py", "labels.py")
MANIFEST = ("manifest.py", "seeding.py", "estimates_io.py")
GRID_FIGURE = ("grid.py", "grid_figure.py", "figures.py", "labels.py", "outputs.py", "atomic.py")
REPORT = (
    "report.py",
    "outputs.py",
    "headline.py",
    "numbers.py",
    "labels.py",
    "config.py",
    "grid.py",
    "manifest.py",
)
"""The report's own code: its template is an input of the rule, so edits to either re-render it."""


@cache
def _digest(files: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_hash(files: tuple[str, ...], family: str | None = None) -> str:
    """Hash of ``files`` (package-relative), plus the family's own module if named.

    A family registered from outside the package has no file here; its
    distribution's version stands in for its code.
    """
    extra = ()
    if family is not None:
        from .families import registry

        module = type(registry()[family]).__module__
        path = PACKAGE / (module.removeprefix("mlestudy.").replace(".", "/") + ".py")
        if module.startswith("mlestudy.") and path.exists():
            extra = (str(path.relative_to(PACKAGE)),)
    return _digest(tuple(files) + extra)
