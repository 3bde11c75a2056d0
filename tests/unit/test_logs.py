"""Log lines: syslog priority prefixes for journald, the human format elsewhere."""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.system.logs import (
    HUMAN_FORMAT,
    JournalFormatter,
    configure_logging,
    is_journal_stream,
)


@pytest.fixture(autouse=True)
def root_handlers_kept() -> Iterator[None]:
    """configure_logging must not leave a handler on a closed test file behind."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _record(level: int, message: str, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("payterm.test", level, __file__, 1, message, None, exc_info)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("level", "prefix"),
    [
        (logging.CRITICAL, "<2>"),
        (logging.ERROR, "<3>"),
        (logging.WARNING, "<4>"),
        (logging.INFO, "<6>"),
        (logging.DEBUG, "<7>"),
        (logging.INFO + 5, "<6>"),  # a level between takes the one below
    ],
)
def test_each_level_gets_its_syslog_priority(level: int, prefix: str) -> None:
    line = JournalFormatter().format(_record(level, "printer offline"))
    assert line == f"{prefix}payterm.test: printer offline"


def test_every_line_of_a_traceback_keeps_the_priority() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record(logging.ERROR, "task failed", sys.exc_info())
    lines = JournalFormatter().format(record).splitlines()
    assert len(lines) > 3
    assert all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>RuntimeError: boom"


def _stream_id(path: Path) -> str:
    stat = os.stat(path)
    return f"{stat.st_dev}:{stat.st_ino}"


def test_stderr_into_the_journal_gets_prefixes_and_no_time(tmp_path: Path) -> None:
    log_file = tmp_path / "stderr"
    with open(log_file, "w") as stream:
        handler = configure_logging(stream=stream, environ={"JOURNAL_STREAM": _stream_id(log_file)})
        handler.handle(_record(logging.WARNING, "scanner disconnected"))
    assert log_file.read_text() == "<4>payterm.test: scanner disconnected\n"


def test_another_stream_than_the_journal_gets_the_human_format(tmp_path: Path) -> None:
    journal, log_file = tmp_path / "journal", tmp_path / "stderr"
    journal.write_text("")
    with open(log_file, "w") as stream:
        handler = configure_logging(stream=stream, environ={"JOURNAL_STREAM": _stream_id(journal)})
        handler.handle(_record(logging.WARNING, "scanner disconnected"))
    assert handler.formatter is not None
    assert handler.formatter._fmt == HUMAN_FORMAT
    text = log_file.read_text()
    assert text.endswith(" WARNING payterm.test: scanner disconnected\n")
    assert not text.startswith("<")


@pytest.mark.parametrize("value", ["", "12", "a:b", "12:"])
def test_journal_stream_needs_device_and_inode(value: str, tmp_path: Path) -> None:
    with open(tmp_path / "stderr", "w") as stream:
        assert not is_journal_stream(stream, {"JOURNAL_STREAM": value})


def test_a_stream_without_a_file_is_not_the_journal() -> None:
    assert not is_journal_stream(io.StringIO(), {"JOURNAL_STREAM": "1:2"})
