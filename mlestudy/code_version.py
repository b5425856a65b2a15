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

SIMULATION = (
    "families/base.py",
    "models/base.py",
    "models/scalar.py",
    "status.py",
    "simulate.py",
    "seeding.py",
    "estimates_io.py",
    "atomic.py",
)
SUMMARY = (*SIMULATION, "performance.py", "aggregate.py", "config.py")
CHECK = (*SIMULATION, "numerical.py")
FIGURES = (*SUMMARY, "figures.py", "outputs.py")
MANIFEST = ("manifest.py", "seeding.py", "estimates_io.py")


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
    extra: tuple[str, ...] = ()
    if family is not None:
        extra = model_files(family)
    return _digest(tuple(files) + extra)


def model_files(family: str) -> tuple[str, ...]:
    """Package files that define a model type: its own module and, for a family, the family's."""
    from .models import get_model_type

    kind = get_model_type(family)
    modules = {kind.__module__}
    if hasattr(kind, "family"):  # an i.i.d. family bound by ScalarModel
        modules.add(type(kind.family).__module__)
    out = []
    for module in sorted(m for m in modules if m.startswith("mlestudy.")):
        path = PACKAGE / (module.removeprefix("mlestudy.").replace(".", "/") + ".py")
        if path.exists():
            out.append(str(path.relative_to(PACKAGE)))
    return tuple(out)
