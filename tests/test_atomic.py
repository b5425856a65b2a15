"""A write killed half-way never leaves a file under the output's real name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlestudy.atomic import write_atomic

HALF_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mlestudy.atomic import write_atomic

    def writer(tmp: Path) -> None:
        tmp.write_bytes(b"PAR1 half a file")
        print(tmp, flush=True)
        time.sleep(600)  # killed here, mid-write

    write_atomic(sys.argv[1], writer)
    """
)


@pytest.mark.parametrize("previous", [None, b"PAR1 an older, whole file PAR1"], ids=["new", "rewrite"])
def test_sigkill_during_write_atomic(tmp_path: Path, previous: bytes | None) -> None:
    """SIGKILL mid-write: the real name is absent (or still the old whole file).

    Only a dot-prefixed ``.tmp`` name is left, which no output pattern
    (``*.parquet``) matches; the next write succeeds beside it.
    """
    target = tmp_path / "estimates" / "reps0-1000.parquet"
    if previous is not None:
        target.parent.mkdir()
        target.write_bytes(previous)
    proc = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        tmp = Path(proc.stdout.readline().strip())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    if previous is None:
        assert not target.exists()
    else:
        assert target.read_bytes() == previous
    assert (
        tmp.parent == target.parent and tmp.name.startswith(".reps0-1000.parquet.") and tmp.suffix == ".tmp"
    )
    assert tmp.read_bytes() == b"PAR1 half a file"
    assert sorted(target.parent.glob("*.parquet")) == ([target] if previous else [])

    write_atomic(target, lambda p: p.write_bytes(b"PAR1 whole PAR1"))
    assert target.read_bytes() == b"PAR1 whole PAR1"
    assert tmp.read_bytes() == b"PAR1 half a file"  # left alone, never renamed into place


def test_failed_writer_removes_its_temporary_file(tmp_path: Path) -> None:
    """A writer that raises (as opposed to being killed) cleans up after itself."""
    target = tmp_path / "out.csv"

    def broken(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, broken)
    assert list(tmp_path.iterdir()) == []
