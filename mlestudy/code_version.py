"""Fingerprints of the code each kind of job runs.

Rule scripts are thin, so Snakemake's own code-change trigger (which looks at
the script's modification time) cannot see a change in the science, and sees a
``touch`` as one.  Rules pass these hashes as ``params`` instead: the content of
the rule's script and of every package module it runs.  When that code changes,
exactly the jobs that ran it re-run; the default profile leaves Snakemake's
``code`` trigger out.

Which modules a job runs is read from the code itself, not listed by hand, so
a new module is covered the day it is imported.  Starting from what the script
imports, the closure follows imports through the package (:func:`package_files`):
a module's top-level imports always (they run when it is imported), and the
imports inside a function or class only when that name is imported or used by
something already included.  So ``jobs.py`` counts for every job, but its
``aggregate_job``'s import of ``aggregate.py`` only for the aggregate job.
Imports under ``if TYPE_CHECKING:`` never run and are not followed.
Fingerprints are of whole files' bytes: any edit to a file a job runs re-runs it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .atomic import write_text_atomic

PACKAGE = Path(__file__).resolve().parent
ALL = "*"
"""Stands for every name of a module (``import mlestudy.x``, ``from . import x``)."""


@dataclass(frozen=True)
class _Module:
    """What one package module imports: at the top, and inside each top-level definition."""

    path: str
    top: tuple[tuple[str, str], ...]
    """(module, name) pairs imported when the module is imported."""
    inner: dict[str, tuple[tuple[str, str], ...]]
    """Top-level name -> (module, name) pairs imported inside its definition."""
    uses: dict[str, frozenset[str]]
    """Top-level name -> other top-level names of the module it refers to."""


def _module_path(module: str) -> Path | None:
    """The file of a ``mlestudy`` module (a package's ``__init__.py``), or None."""
    if module != "mlestudy" and not module.startswith("mlestudy."):
        return None
    parts = module.split(".")[1:]
    candidates = [PACKAGE.joinpath(*parts, "__init__.py")]
    if parts:
        candidates.append(PACKAGE.joinpath(*parts[:-1], parts[-1] + ".py"))
    return next((c for c in candidates if c.is_file()), None)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import`` statement."""
    if not node.level:
        return node.module or ""
    parts = current.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
"""Fields of a statement that hold statements: imports are statements, so only these are searched."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _imports(nodes: Iterable[ast.AST], current: str, is_package: bool) -> list[tuple[str, str]]:
    """(module, name) pairs of every import among the statements ``nodes`` and their blocks.

    Blocks under ``if TYPE_CHECKING:`` are skipped: they never run.
    """
    found: list[tuple[str, str]] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found += [(alias.name, ALL) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(current, is_package, node)
            for alias in node.names:
                # `from . import x` may name a submodule; `from .m import f` names f in m.
                sub = f"{module}.{alias.name}"
                found.append((sub, ALL) if _module_path(sub) else (module, alias.name))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        for block in _BLOCKS:
            stack.extend(getattr(node, block, ()))
    return found


@cache
def _parse(module: str) -> _Module | None:
    path = _module_path(module)
    if path is None:
        return None
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    is_package = path.name == "__init__.py"
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    names = {n.name for n in tree.body if isinstance(n, definitions)}

    def referred(node: ast.stmt) -> set[str]:
        # Identifiers in the statement's lines (comments and strings too: more, never fewer, files).
        text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        return set(_IDENTIFIER.findall(text)) & names

    top: list[tuple[str, str]] = []
    inner: dict[str, tuple[tuple[str, str], ...]] = {}
    uses: dict[str, frozenset[str]] = {"": frozenset()}
    for node in tree.body:
        if isinstance(node, definitions):
            inner[node.name] = tuple(_imports(node.body, module, is_package))
            uses[node.name] = frozenset(referred(node) - {node.name})
        else:  # runs at import time, and so does any definition it uses
            top += _imports([node], module, is_package)
            uses[""] |= referred(node)
    return _Module(str(path.relative_to(PACKAGE)), tuple(top), inner, uses)


CACHE = PACKAGE / "__pycache__" / "code_version.json"
"""Closures already worked out, valid while no package file changes size or modification time.

Every job process works out its own fingerprint (Snakemake evaluates a job's
params in the job), and parsing the package costs tens of ms against well
under a ms to read the answer back.  The files' bytes are hashed every time.
"""


def _signature() -> str:
    """What the cached closures depend on: every package module's path, size and mtime."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(PACKAGE)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


@cache
def _cached() -> dict[str, list[str]]:
    try:
        stored = json.loads(CACHE.read_text(encoding="utf-8"))
        return dict(stored["closures"]) if stored.get("signature") == _signature() else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def package_files(imports: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Package files (relative to the package) that code doing ``imports`` runs, sorted.

    ``imports`` are (module, name) pairs; name :data:`ALL` for a whole module.
    """
    imports = sorted(set(imports))
    key = json.dumps(imports)
    known = _cached()
    if key not in known:
        known[key] = list(_closure(imports))
        try:  # a cache, not a result: a read-only package just works it out again next time
            write_text_atomic(CACHE, json.dumps({"signature": _signature(), "closures": known}))
        except OSError:
            pass
    return tuple(known[key])


def _closure(imports: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """:func:`package_files`, worked out from the code."""
    files: set[str] = set()
    done: set[tuple[str, str]] = set()
    queue = list(imports)
    while queue:
        module, name = queue.pop()
        if (module, name) in done:
            continue
        done.add((module, name))
        info = _parse(module)
        if info is None:
            continue  # not a package module (numpy, ...), or a name of a parent package
        files.add(info.path)
        queue += [(m, n) for m, n in info.top if (m, n) not in done]
        wanted = set(info.inner) if name == ALL else {name, *info.uses.get("", ())}
        seen: set[str] = set()
        while wanted:
            n = wanted.pop()
            if n in seen or n not in info.inner:
                continue
            seen.add(n)
            queue += list(info.inner[n])
            wanted |= info.uses.get(n, frozenset())
        if name != ALL and name not in info.inner:
            queue.append((f"{module}.{name}", ALL))  # re-exported submodule or module-level name
    return tuple(sorted(files))


def script_imports(script: str | Path) -> list[tuple[str, str]]:
    """(module, name) pairs of the ``mlestudy`` imports of a rule script."""
    tree = ast.parse(Path(script).read_text(encoding="utf-8"), filename=str(script))
    return [(m, n) for m, n in _imports(tree.body, "__main__", False) if m.split(".")[0] == "mlestudy"]


@cache
def job_files(function: str) -> tuple[str, ...]:
    """Package files that ``mlestudy.jobs.<function>`` runs."""
    return package_files([("mlestudy.jobs", function)])


def model_files(family: str) -> tuple[str, ...]:
    """Package files of a model type's own module, for an i.i.d. family the family's too, and what they import.

    A model or family registered from outside the package has no file here
    (empty); its distribution's version stands in for its code.
    """
    from .models import get_model_type

    kind = get_model_type(family)
    modules = {kind.__module__}
    if hasattr(kind, "family"):  # an i.i.d. family bound by ScalarModel
        modules.add(type(kind.family).__module__)
    return package_files([(m, ALL) for m in sorted(modules) if _module_path(m)])


@cache
def _digest(files: tuple[str, ...], extra: tuple[str, ...] = ()) -> str:
    h = hashlib.sha256()
    for name in sorted(set(files)):
        h.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes() + b"\0")
    for path in extra:
        h.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_hash(files: Iterable[str], family: str | None = None) -> str:
    """Hash of ``files`` (package-relative), plus the model's (and family's) module and its imports if named."""
    extra = model_files(family) if family is not None else ()
    return _digest(tuple(files) + extra)


def script_hash(script: str | Path, family: str | None = None) -> str:
    """Fingerprint of a rule script: its bytes, and every package file it runs (and the model's)."""
    files = package_files(script_imports(script))
    extra = model_files(family) if family is not None else ()
    return _digest(files + extra, (str(script),))


JOBS = {
    "SIMULATION": "simulate_job",
    "SUMMARY": "aggregate_job",
    "CHECK": "check_job",
    "FIGURES": "figures_job",
    "MANIFEST": "manifest_job",
    "REPORT": "report_job",
}
"""Lists of the files each job function runs, as module attributes (``code_version.SIMULATION``).

Computed on first use, not at import: every job process imports this module
through the Snakefile, and parsing the package takes a few tens of ms.
SIMULATION is what the manifest fingerprints for each chunk.
"""


def __getattr__(name: str) -> tuple[str, ...]:
    if name in JOBS:
        return job_files(JOBS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
