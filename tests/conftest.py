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
from workflow_helpers import build_tiny_study

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


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny study (``workflow_helpers.TINY``) in a temporary copy of the workflow.

    Built once per test session: pytest-xdist workers share the temporary root,
    and the first worker to need the study builds it while the others wait.
    Tests must not change it; copy it first (``shutil.copytree``) to re-run it.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    work, done = root / "tiny_study", root / "tiny_study.done"
    with _exclusive(root / "tiny_study.lock"):
        if not done.exists():
            shutil.rmtree(work, ignore_errors=True)
            build_tiny_study(work)
            done.touch()
    return work
