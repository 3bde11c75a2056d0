"""Replace a set of files so that each is either wholly old or wholly new, even on a power cut.

Every new file is first written in full to a temporary file beside it and flushed to the
card; only then are the temporary files renamed over the old ones, and the folders flushed.
A failure (full disk, read-only file system) before the renames changes nothing; a failure
during them puts back the files already replaced, from hard links made beforehand (which
need no free space). After a power cut a temporary file may be left behind: it is never
read, and the next install removes it.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NewFile",
    "NewLink",
    "Removal",
    "Change",
    "TMP_SUFFIX",
    "install",
    "only_real",
    "fsync_dir",
    "make_dirs",
]

log = logging.getLogger(__name__)

#: The suffix of temporary files (".<name>.import-tmp"); left-overs are removed at install.
TMP_SUFFIX = ".import-tmp"
_OLD_SUFFIX = ".import-old"


@dataclass(frozen=True, slots=True)
class NewFile:
    """Write ``data`` to ``path`` with ``mode``, group ``group`` when it exists and we are root.

    ``previous`` names where the replaced file is kept (a hard link), if anywhere.
    """

    path: Path
    data: bytes
    mode: int = 0o644
    group: str | None = None
    previous: Path | None = None


@dataclass(frozen=True, slots=True)
class NewLink:
    """Make ``path`` a symbolic link to ``target``."""

    path: Path
    target: str


@dataclass(frozen=True, slots=True)
class Removal:
    """Remove ``path`` if it exists."""

    path: Path


Change = NewFile | NewLink | Removal


def install(changes: Sequence[Change]) -> None:
    """Carry ``changes`` out all-or-nothing as far as the file system allows; OSError on failure.

    On failure every file is as it was before the call (unless putting it back failed too,
    which is logged).
    """
    folders = list(dict.fromkeys(change.path.parent for change in changes))
    for folder in folders:
        make_dirs(folder)
        _remove_leftovers(folder)
    staged: list[tuple[Change, Path | None]] = []
    try:
        for change in changes:
            staged.append((change, _stage(change)))
    except BaseException:
        _discard(tmp for _, tmp in staged)
        raise
    kept: list[Change] = []  # the file in place has a hard link to put it back from
    done: list[Change] = []  # replaced or removed
    try:
        for change, tmp in staged:
            _keep_old(change)
            kept.append(change)
            if tmp is not None:
                os.replace(tmp, change.path)
            else:
                change.path.unlink(missing_ok=True)
            done.append(change)
        for folder in folders:
            fsync_dir(folder)
    except OSError:
        _put_back(done)
        _discard(_old(change.path) for change in kept if change not in done)
        _discard(tmp for _, tmp in staged)
        raise
    _settle_old(changes)
    for folder in folders:
        fsync_dir(folder)


def only_real(changes: Sequence[Change]) -> list[Change]:
    """Drop the changes that would leave a file exactly as it is (content, mode, link)."""
    return [change for change in changes if not _unchanged(change)]


def _unchanged(change: Change) -> bool:
    path = change.path
    if isinstance(change, Removal):
        return not os.path.lexists(path)
    if isinstance(change, NewLink):
        return path.is_symlink() and os.readlink(path) == change.target
    if path.is_symlink() or not path.is_file():
        return False
    return path.read_bytes() == change.data and (path.stat().st_mode & 0o7777) == change.mode


def make_dirs(folder: Path, mode: int = 0o755) -> None:
    """Make ``folder`` and its missing parents with ``mode`` whatever the umask."""
    if folder.is_dir():
        return
    make_dirs(folder.parent, mode)
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
        os.chmod(folder, mode)


def fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries (renames, new files) to the storage; ignored where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_SUFFIX}")


def _old(path: Path) -> Path:
    return path.with_name(f".{path.name}{_OLD_SUFFIX}")


def _remove_leftovers(folder: Path) -> None:
    """Remove what an install cut short by a power cut left in ``folder``."""
    for entry in folder.iterdir():
        if entry.name.startswith(".") and entry.name.endswith((TMP_SUFFIX, _OLD_SUFFIX)):
            log.info("removing %s, left by an install that did not finish", entry)
            entry.unlink(missing_ok=True)


def _stage(change: Change) -> Path | None:
    """Write the new content beside its final place and flush it; None for a removal."""
    if isinstance(change, Removal):
        return None
    tmp = _tmp(change.path)
    tmp.unlink(missing_ok=True)
    if isinstance(change, NewLink):
        os.symlink(change.target, tmp)
        return tmp
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        _owner(fd, change.group)
        os.fchmod(fd, change.mode)
        view = memoryview(change.data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _owner(fd: int, group: str | None) -> None:
    """As root: owner root, group ``group`` when it exists (else root). Others: unchanged."""
    if os.geteuid() != 0:
        return
    gid = 0
    if group is not None:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            log.warning("group %s does not exist; the file stays root's alone", group)
    os.fchown(fd, 0, gid)


def _keep_old(change: Change) -> None:
    """Hard-link the file about to be replaced, to put it back or keep it as the previous one."""
    if os.path.lexists(change.path) and not change.path.is_dir():
        old = _old(change.path)
        old.unlink(missing_ok=True)
        os.link(change.path, old, follow_symlinks=False)


def _put_back(done: list[Change]) -> None:
    for change in reversed(done):
        old = _old(change.path)
        try:
            if os.path.lexists(old):
                os.replace(old, change.path)
            elif not isinstance(change, Removal):
                change.path.unlink(missing_ok=True)
        except OSError as exc:
            log.critical("could not put back %s after a failed install: %s", change.path, exc)


def _settle_old(changes: Sequence[Change]) -> None:
    """Keep the replaced files that have a ``previous`` name; drop the other hard links."""
    for change in changes:
        old = _old(change.path)
        if not os.path.lexists(old):
            continue
        previous = change.previous if isinstance(change, NewFile) else None
        with contextlib.suppress(OSError):
            if previous is not None:
                os.replace(old, previous)
            else:
                old.unlink()


def _discard(paths: Iterable[Path | None]) -> None:
    for path in paths:
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
