"""Whether the terminal's data folder can be where the configuration puts it.

Run on a configuration already valid in itself, with its relative paths resolved, by
``payterm check-config`` (and so at every start) and by the first-boot import. It looks
and never touches: nothing is created, and no permission beyond reading folders is needed,
so it runs as any user on a build machine. With the import's ``root`` other than ``/`` the
folders are looked for under ``root``, and a symbolic link on the way is not followed (on
an image being built it would point into the build machine): what lies beyond it is not
judged. Whether the terminal's user may write there is not judged either: that needs the
terminal itself, and ``payterm doctor`` tells it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from terminal.config.rules import Problem

__all__ = ["KERNEL_FOLDERS", "data_dir_problems"]

_KEY = ("terminal", "data_dir")
_FIX = "use a folder on the SD card such as /var/lib/payterm"

#: Folders where no journal can be kept, and why.
KERNEL_FOLDERS: dict[PurePosixPath, str] = {
    PurePosixPath("/proc"): "the kernel's view of its processes",
    PurePosixPath("/sys"): "the kernel's view of its devices",
    PurePosixPath("/dev"): "device files",
    PurePosixPath("/run"): "a memory file system emptied at every start",
}


def data_dir_problems(data_dir: PurePosixPath, *, root: Path = Path("/")) -> list[Problem]:
    """What is wrong with the absolute ``data_dir`` of a terminal whose files are at ``root``.

    Refused: a folder under /proc, /sys, /dev or /run; a path that is a file; a path under a
    file. A folder that does not exist yet is fine when what exists of it is a folder: the
    terminal makes it at start.
    """
    path = PurePosixPath(os.path.normpath(data_dir))
    for top, what in KERNEL_FOLDERS.items():
        if path == top or top in path.parents:
            return [(_KEY, f"is under {top}, {what}, where no journal can be kept; {_FIX}")]
    rooted = root == Path("/")
    for place in reversed((path, *path.parents[:-1])):  # from the top, "/" itself left out
        try:
            mode = (os.stat if rooted else os.lstat)(root / place.relative_to("/")).st_mode
        except OSError:
            return []  # not there (the terminal makes the rest at start), or not readable here
        if stat.S_ISLNK(mode):
            return []  # only under a root other than /: its target is not on this machine
        if stat.S_ISDIR(mode):
            continue
        if place == path:
            return [(_KEY, f"{place} is a file, not a folder; {_FIX}, or move the file away")]
        return [(_KEY, f"is under {place}, which is a file, not a folder; {_FIX}")]
    return []
