"""Where log lines go: to journald with priorities under systemd, else human-readable.

Under systemd the service's stderr is a stream into journald, and systemd says so in
``$JOURNAL_STREAM`` ("<device>:<inode>" of that stream). journald reads an ``<N>`` prefix
on each line as its syslog priority and stamps the time itself, so lines written there
carry the prefix and no timestamp; ``journalctl -p warning -u payterm`` then filters by level.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

__all__ = ["configure_logging", "JournalFormatter", "HUMAN_FORMAT", "is_journal_stream"]

#: The format of log lines on a terminal or in a file.
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _priority(levelno: int) -> int:
    """The syslog priority of a logging level (levels between take the one below)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class JournalFormatter(logging.Formatter):
    """Formats a record as ``<N>name: message``; every line of a traceback gets the prefix."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record's text, each line starting with its syslog priority."""
        prefix = f"<{_priority(record.levelno)}>"
        return prefix + super().format(record).replace("\n", "\n" + prefix)


def is_journal_stream(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when ``stream`` is the journald stream ``$JOURNAL_STREAM`` names."""
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False  # no file behind it (a test's capture, a closed stream)
    return stat.st_dev == int(device) and stat.st_ino == int(inode)


def configure_logging(
    verbose: bool = False,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Send the process's logs to ``stream`` (stderr), formatted for journald when it is one.

    Like :func:`logging.basicConfig`, it leaves a root logger that already has handlers
    alone; the handler made is returned either way.
    """
    out = sys.stderr if stream is None else stream
    env = os.environ if environ is None else environ
    handler = logging.StreamHandler(out)
    if is_journal_stream(out, env):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter(HUMAN_FORMAT))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    return handler
