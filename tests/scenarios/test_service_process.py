"""`payterm run` in a child process under a stand-in for systemd's notify socket."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

#: systemd's watchdog timeout for the child: WATCHDOG=1 every 0.2 s.
WATCHDOG_USEC = 400_000


class FakeSystemd:
    """The notify socket systemd would give, and the service started with it."""

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(1.0)
        self.messages: list[str] = []
        self.stderr_path = folder / "stderr"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, config: Path, *options: str, **extra_env: str) -> None:
        """Start `payterm run` as systemd would: notify socket, watchdog, journald stream."""
        with open(self.stderr_path, "wb") as stderr:
            stat = os.fstat(stderr.fileno())
            env = {
                **os.environ, "NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": str(WATCHDOG_USEC),
                "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}", **extra_env,
            }  # fmt: skip
            env.pop("WATCHDOG_PID", None)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "terminal", "run", *options, "--config", str(config)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
            )  # fmt: skip

    def wait_for(self, wanted: str, *, count: int = 1) -> list[str]:
        """Read messages until ``count`` of them hold the line ``wanted`` (60 s at most)."""
        assert self.proc is not None
        for _ in range(60):
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                if self.proc.poll() is not None:
                    break
                continue
            if sum(wanted in m.splitlines() for m in self.messages) >= count:
                return self.messages
        raise AssertionError(
            f"no {wanted} (exit {self.proc.poll()}); got {self.messages[-5:]}\n{self.stderr()}"
        )

    def drained(self) -> list[str]:
        """Every message still queued (the child has ended, so nothing more comes)."""
        self.sock.setblocking(False)
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return self.messages

    def stderr(self) -> str:
        """What the service logged."""
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> None:
        """Kill the service if it still runs; close the socket."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.sock.close()


@pytest.fixture
def systemd() -> Iterator[FakeSystemd]:
    # AF_UNIX paths must stay under 108 bytes: a short folder of its own.
    with tempfile.TemporaryDirectory(prefix="ptsvc", dir="/tmp") as folder:
        fake = FakeSystemd(Path(folder))
        try:
            yield fake
        finally:
            fake.close()


def _config(tmp_path: Path, body: str = "") -> Path:
    """A config file for the emulated device with its data in ``tmp_path/data``."""
    config = tmp_path / "payterm.toml"
    config.write_text(
        '[terminal]\nhardware = "emulated"\ntraining = true\n'
        f'data_dir = "{tmp_path / "data"}"\n{body}'
    )
    return config


def test_ready_watchdog_status_then_sigterm_stops_cleanly(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    systemd.start(_config(tmp_path))
    messages = systemd.wait_for("READY=1")
    assert "READY=1\nSTATUS=ready; TRAINING: no real payments" in messages  # training = true
    systemd.wait_for("WATCHDOG=1", count=len([m for m in messages if m == "WATCHDOG=1"]) + 3)
    assert systemd.proc is not None
    systemd.proc.send_signal(signal.SIGTERM)
    systemd.wait_for("STOPPING=1")
    assert systemd.proc.wait(timeout=60) == 0
    messages = systemd.drained()
    stopping = next(i for i, m in enumerate(messages) if "STOPPING=1" in m.splitlines())
    ready = next(i for i, m in enumerate(messages) if "READY=1" in m.splitlines())
    assert ready < stopping
    assert sum("READY=1" in m.splitlines() for m in messages) == 1
    # Logs went to "journald": a priority on each line, no time stamp (journald adds its own).
    lines = systemd.stderr().splitlines()
    journal = tmp_path / "data" / "journal.sqlite3"
    assert f"<6>payterm.service: ready (journal {journal})" in lines
    assert "<6>payterm.service: SIGTERM received: stopping" in lines
    assert not [line for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)], lines
    assert "<6>payterm.status: status: ready; TRAINING: no real payments" in lines
    assert "Traceback" not in systemd.stderr()


def test_sigint_stops_cleanly_too(tmp_path: Path, systemd: FakeSystemd) -> None:
    systemd.start(_config(tmp_path))
    systemd.wait_for("READY=1")
    assert systemd.proc is not None
    systemd.proc.send_signal(signal.SIGINT)
    systemd.wait_for("STOPPING=1")
    assert systemd.proc.wait(timeout=60) == 0


def test_no_ready_when_the_journal_cannot_open(tmp_path: Path, systemd: FakeSystemd) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    systemd.start(_config(tmp_path))
    assert systemd.proc is not None
    assert systemd.proc.wait(timeout=60) == 2
    assert not [m for m in systemd.drained() if "READY=1" in m.splitlines()]
    err = systemd.stderr()
    assert "payterm: " in err
    assert str(blocker) in err
    assert "Traceback" not in err


def test_a_pi_with_a_broken_display_starts_and_says_so(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    pytest.importorskip("evdev")
    pytest.importorskip("luma.oled")
    config = tmp_path / "payterm.toml"
    config.write_text(
        f'[terminal]\nhardware = "pi"\ntraining = true\ndata_dir = "{tmp_path / "data"}"\n'
        "[display]\ni2c_port = 99\n"  # a bus no machine has
        '[printer]\nconnection = "none"\n'
        f'[scanner]\ndevice = "{tmp_path / "no-scanner"}"\n'
        f'[keypad]\ndevice = "{tmp_path / "no-keypad"}"\n'
    )
    # gpiozero's mock pins stand in for the Pi's, so the buttons open.
    systemd.start(config, GPIOZERO_PIN_FACTORY="mock")
    systemd.wait_for("READY=1")
    systemd.wait_for(
        "STATUS=ready; display not working; scanner disconnected; keypad disconnected; "
        "TRAINING: no real payments"
    )
    assert systemd.proc is not None
    systemd.proc.send_signal(signal.SIGTERM)
    assert systemd.proc.wait(timeout=60) == 0
    err = systemd.stderr()
    assert "/dev/i2c-99" in err
    assert "display.i2c_port" in err
    assert "<3>hw.select: display cannot be opened" in err
    assert "Traceback" not in err


def test_payterm_journal_reads_the_journal_of_the_running_service(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    config = _config(tmp_path)
    systemd.start(config)
    systemd.wait_for("READY=1")
    listed = subprocess.run(
        [sys.executable, "-m", "terminal", "journal", "--config", str(config), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert systemd.proc is not None
    systemd.proc.send_signal(signal.SIGTERM)
    assert systemd.proc.wait(timeout=60) == 0


def test_with_wait_on_error_a_bad_config_is_reported_and_the_service_waits(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    config = _config(tmp_path, "[display]\nadress = 60\n")
    systemd.start(config, "--wait-on-error")
    messages = systemd.wait_for("READY=1")
    status = next(m for m in messages if "READY=1" in m.splitlines())
    assert "STATUS=no usable configuration: " in status
    assert "display.adress" in status
    assert systemd.proc is not None
    assert systemd.proc.poll() is None  # waiting, so systemd does not restart it in a loop
    systemd.proc.send_signal(signal.SIGTERM)
    assert systemd.proc.wait(timeout=60) == 0
    assert "<3>payterm.service: no usable configuration" in systemd.stderr()
