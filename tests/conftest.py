"""Shared test settings and the tiny end-to-end study.

Under CI (CI=true) hypothesis draws the same examples every run, so a red build
always reproduces; locally it explores new examples each time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from workflow_helpers import GRID, TINY, build_study

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (a file), across processes."""
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared(tmp_path_factory: pytest.TempPathFactory, name: str, config: dict) -> Path:
    """A study built once per test session, shared by the pytest-xdist workers.

    Workers share the temporary root; the first worker to need the study builds
    it while the others wait.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    work, done = root / name, root / f"{name}.done"
    with _exclusive(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(work, ignore_errors=True)
            build_study(work, config)
            done.touch()
    return work


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny study (``workflow_helpers.TINY``) in a temporary copy of the workflow.

    Tests must not change it; copy it first (``shutil.copytree``) to re-run it.
    """
    return _shared(tmp_path_factory, "tiny_study", TINY)


@pytest.fixture(scope="session")
def grid_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished study of a 2 x 3 scenario grid (``workflow_helpers.GRID``); read-only like ``study``."""
    return _shared(tmp_path_factory, "grid_study", GRID)
