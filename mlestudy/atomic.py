"""Write files so that a reader never sees half of one.

Everything goes to a temporary name in the target directory and is renamed into
place; a killed job leaves at most a stray ``.tmp`` file, never a truncated
result under the real name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        writer(Path(tmp))
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for reading
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Atomically write a text file (UTF-8)."""
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
