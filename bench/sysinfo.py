"""Where the benchmarks put their files: which file system a folder is on, and a tmpfs."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fs_type", "tmpfs_dir", "SHM"]

SHM = Path("/dev/shm")


def fs_type(path: Path) -> str:
    """The file system type of the mount holding ``path`` (from /proc/mounts), or "unknown"."""
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def tmpfs_dir() -> Path | None:
    """/dev/shm when it is a writable tmpfs, else None."""
    if SHM.is_dir() and os.access(SHM, os.W_OK) and fs_type(SHM) == "tmpfs":
        return SHM
    return None
