"""A consistent copy of a journal file and its write-ahead log, to read without touching them.

The running service holds its journal exclusively, and SQLite folds a write-ahead log
into the file when a connection closes; a technician's command or a check must change
neither. So the file and its WAL are copied to another folder and the copy is read; a
copy taken while the service wrote is taken again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["SIDE_FILES", "copy_snapshot", "side_file"]

#: The files SQLite keeps beside a journal in WAL mode (no -shm: the lock is exclusive).
SIDE_FILES = ("-wal",)
_ATTEMPTS = 5


def side_file(path: Path, side: str) -> Path:
    """The side file ``side`` ("-wal") of the journal at ``path``."""
    return Path(f"{path}{side}")


def _signature(path: Path) -> tuple[tuple[int, int], ...]:
    """Size and modification time of the journal and its WAL (absent: (-1, -1))."""
    result = []
    for name in (path, *(side_file(path, side) for side in SIDE_FILES)):
        try:
            stat = os.stat(name)
            result.append((stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            result.append((-1, -1))
    return tuple(result)


def copy_snapshot(path: Path, folder: Path) -> Path:
    """Copy the journal and its WAL into ``folder`` while neither changes; the copy's path.

    :raises OSError: the journal cannot be read (FileNotFoundError when it is missing).
    """
    copy = folder / path.name
    for _ in range(_ATTEMPTS):
        before = _signature(path)
        for side in ("", *SIDE_FILES):
            source, target = side_file(path, side), side_file(copy, side)
            target.unlink(missing_ok=True)
            try:
                shutil.copyfile(source, target)
            except FileNotFoundError:
                if not side:
                    raise
        if _signature(path) == before:
            return copy
    return copy  # busy all along: read the last copy (its newest payments may be missing)
