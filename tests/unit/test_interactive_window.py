"""The interactive demo in a real pseudo-terminal: it checks the window size, draws, and keeps
log lines out of the window."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from terminal.config.model import Config, DisplayConfig
from terminal.demo.interactive import LOG_FILE, window_needed


def _demo_in_pty(data_dir: Path, columns: int, rows: int) -> tuple[subprocess.Popen[bytes], int]:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "terminal", "demo", "--data-dir", str(data_dir)],
        stdin=follower, stdout=follower, stderr=follower, close_fds=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    os.close(follower)
    return proc, leader


def _read_until(leader: int, proc: subprocess.Popen[bytes], needle: bytes, timeout: float) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < end:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    return seen


def test_the_window_needed_follows_the_display() -> None:
    assert window_needed(Config()) == (130, 52)
    tall = Config(display=DisplayConfig(driver="sh1106", width=128, height=128))
    assert window_needed(tall) == (130, 84)


def test_a_small_window_is_refused_with_the_size_needed(tmp_path: Path) -> None:
    proc, leader = _demo_in_pty(tmp_path, 100, 40)
    try:
        out = _read_until(leader, proc, b"--headless", timeout=60)
        assert proc.wait(timeout=30) == 2
    finally:
        os.close(leader)

    text = out.decode(errors="replace")
    assert "at least 130×52" in text
    assert "100×40" in text
    assert "\x1b[2J" not in text  # nothing was drawn


def test_the_demo_draws_keeps_logs_in_a_file_and_quits(tmp_path: Path) -> None:
    proc, leader = _demo_in_pty(tmp_path, 130, 52)
    try:
        out = _read_until(leader, proc, b"q=quit", timeout=60)
        os.write(leader, b"1")
        out += _read_until(leader, proc, b"phase: amount", timeout=30)
        os.write(leader, b"n")  # cut the network: logged as a warning
        out += _read_until(leader, proc, b"network: DOWN", timeout=30)
        os.write(leader, b"q")
        assert proc.wait(timeout=30) == 0
    finally:
        os.close(leader)

    text = out.decode(errors="replace")
    assert "READY" in text or "phase: idle" in text
    assert "network link down" in text  # the warning is in the events pane...
    assert " WARNING " not in text  # ...not written over the screen as a log line
    assert " INFO " not in text
    log = (tmp_path / LOG_FILE).read_text()
    assert "network link down" in log
