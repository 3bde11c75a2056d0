"""The sd_notify client against real AF_UNIX datagram sockets: by path and abstract name."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.system.sdnotify import Notifier, watchdog_interval_s


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: AF_UNIX socket paths must stay under 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="sdn", dir="/tmp") as folder:
        yield Path(folder)


@pytest.fixture
def listener(short_dir: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound to a path, as systemd's notify socket; and that path."""
    path = str(short_dir / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def _pending(sock: socket.socket) -> list[str]:
    """Every datagram already in the socket's queue, without waiting."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        return messages
    finally:
        sock.settimeout(5)


def test_without_notify_socket_nothing_is_sent_and_no_socket_made() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready("ready") is False
    assert notifier.watchdog() is False
    assert notifier._socket is None


def test_each_message_reaches_a_path_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("ready")
    assert notifier.status("payment 000123 in progress")
    assert notifier.watchdog()
    assert notifier.stopping()
    notifier.close()
    assert _pending(sock) == [
        "READY=1\nSTATUS=ready",
        "STATUS=payment 000123 in progress",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_messages_reach_an_abstract_socket() -> None:
    name = f"payterm-test-{os.getpid()}-{id(object())}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
        notifier.close()
    finally:
        sock.close()


def test_a_status_stays_on_one_line(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.status("printer offline\nscanner disconnected")
    notifier.close()
    assert sock.recv(4096) == b"STATUS=printer offline scanner disconnected"


def test_a_failed_send_is_logged_once_and_never_raised(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(short_dir / "nobody-listens")})
    with caplog.at_level(logging.WARNING, logger="payterm.sdnotify"):
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
        assert notifier.ready() is False
    notifier.close()
    warnings = [r for r in caplog.records if r.name == "payterm.sdnotify"]
    assert len(warnings) == 1
    assert "nobody-listens" in warnings[0].getMessage()


def test_a_socket_that_appears_later_gets_the_next_message(short_dir: Path) -> None:
    path = str(short_dir / "late")
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.watchdog() is False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        assert notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        notifier.close()
        sock.close()


def test_an_unusable_address_disables_notifying() -> None:
    notifier = Notifier({"NOTIFY_SOCKET": "relative/path"})
    assert not notifier.enabled
    assert notifier.ready() is False


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "4242"}, 0.5),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "4243"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval_s(environ, pid=4242) == expected


def test_watchdog_interval_defaults_to_this_process() -> None:
    mine = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval_s(mine) == 1.0
