"""The marker beside the journal: proof that this data directory has held a journal.

A journal file that is cut to zero bytes or deleted looks, to SQLite, like no journal at
all: it would make a new one with a new epoch and the old payments would vanish from
every listing. So when a journal is made, a small text file is written beside it
(``journal.sqlite3.marker``) naming its epoch, its terminal and when it was made. While
the marker is there, a missing or empty journal is refused (``JournalDamaged``) instead of
replaced; only ``payterm journal --recover`` makes a new one, deliberately. A data directory
with neither journal nor marker is brand new, and a journal is made there.

The marker is written once (and again after a recovery, or for a journal made before the
marker existed), atomically: a temporary file, fsynced, renamed into place, the folder
fsynced. It is never needed to read the journal; its epoch is a fallback for a recovery
that cannot read the journal's own.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Marker", "marker_path", "read_marker", "write_marker", "fsync_folder"]

log = logging.getLogger(__name__)

_SUFFIX = ".marker"
_HEADER = (
    "# payterm: this data directory holds a payment journal. Do not delete this file.\n"
    "# While it is here, a missing or empty journal is refused rather than replaced;\n"
    "# see `payterm journal --recover`.\n"
)


@dataclass(frozen=True, slots=True)
class Marker:
    """What the marker records: the journal's epoch, its terminal and when it was made."""

    epoch: str
    terminal_id: str
    created: str


def marker_path(journal: Path) -> Path:
    """Where the marker of the journal file ``journal`` lives (beside it)."""
    return journal.with_name(journal.name + _SUFFIX)


def read_marker(journal: Path) -> Marker | None:
    """The marker beside ``journal``, or None when there is none.

    A marker that exists but cannot be read or parsed still proves a journal was kept
    here: it is returned with empty fields rather than None.
    """
    path = marker_path(journal)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("journal:marker_unreadable path=%s error=%s", path, exc)
        return Marker("", "", "")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            fields[key.strip()] = value.strip()
    return Marker(fields.get("epoch", ""), fields.get("terminal_id", ""), fields.get("created", ""))


def write_marker(journal: Path, marker: Marker) -> None:
    """Write the marker beside ``journal`` atomically; raises OSError when it cannot."""
    path = marker_path(journal)
    temporary = path.with_name(path.name + ".tmp")
    body = (
        f"{_HEADER}epoch={marker.epoch}\nterminal_id={marker.terminal_id}\n"
        f"created={marker.created}\n"
    )
    try:
        with open(temporary, "wb") as out:
            out.write(body.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make renames and new files in ``folder`` durable (best effort where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
