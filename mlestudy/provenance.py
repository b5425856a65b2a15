"""Where a result came from: hashes of configs and files, the code's commit and versions.

Shared by the manifest and the report (which must not import each other).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PACKAGES = ("mlestudy", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "seaborn", "snakemake", "jinja2")


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def config_sha256(config: Mapping[str, Any]) -> str:
    """The config's fingerprint: sha256 of its canonical JSON.

    Key order and YAML layout do not change it; any value does.  It is taken
    over the config as written (defaults are not filled in), so anyone can
    recompute it from ``config.yaml``.
    """
    return hashlib.sha256(canonical_json(dict(config))).hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for part in iter(lambda: f.read(1 << 20), b""):
            h.update(part)
    return h.hexdigest()


def git_commit(cwd: str | Path = ".") -> str:
    """HEAD, with '+dirty' when tracked files differ; 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    import importlib.metadata  # here: only the manifest and the report need it

    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out
