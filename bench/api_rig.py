"""The processes the API benchmark runs: the sandbox and the terminal, each on its own.

:class:`Rig` starts the bench sandbox in a child process (it prints when each request
arrives) and ``payterm demo --headless --api`` in another, pointed at it; :class:`Child`
reads a child's output in a thread, each line with the ``perf_counter_ns`` it was read at
(the monotonic clock, the same in every process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Child", "Rig", "STALL_S", "event_line"]

REPO = Path(__file__).resolve().parent.parent
STALL_S = 30.0

SANDBOX = """
import asyncio, sys, time
from pathlib import Path
from bench.rig import BenchSandbox
def arrived(request, ns):
    if not request.path.startswith("/control"):
        sys.stdout.write(f"A {ns}\\n")
        sys.stdout.flush()
async def main():
    sandbox = BenchSandbox(Path(sys.argv[1]), on_request=arrived)
    print("URL", await sandbox.start(), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""
CONFIG = """
[terminal]
id = "BENCH"
training = true
hardware = "emulated"
data_dir = "{data_dir}"

[payment]
mpm_provider = "sandbox"

[providers.sandbox]
driver = "sandbox"
url = "{url}"
poll_interval_s = 0.1
first_poll_delay_s = 0.05
"""


class Child:
    """A child process whose stdout lines are read by a thread, each with its arrival ns."""

    def __init__(self, argv: list[str], *, stdin: bool = False) -> None:
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        )  # fmt: skip
        self.lines: list[tuple[int, str]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            ns = time.perf_counter_ns()
            with self._changed:
                self.lines.append((ns, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_line(self, start: int, test: Any, what: str) -> tuple[int, int, str]:
        """The first line from index ``start`` on that ``test`` accepts: (index, ns, text)."""
        deadline = time.monotonic() + STALL_S
        index = start
        with self._changed:
            while True:
                while index < len(self.lines):
                    ns, text = self.lines[index]
                    if test(text):
                        return index, ns, text
                    index += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise RuntimeError(f"never saw: {what}")
                self._changed.wait(left)

    def send(self, command: str) -> None:
        """Write one command line to the child's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        """Ask it to quit (its stdin closed), then terminate it if it lingers."""
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(timeout=10)

    def rss_mb(self) -> float:
        """The child's resident memory now, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS for the terminal's process")


def event_line(name: str) -> Any:
    """A test for :meth:`Child.wait_line`: a headless JSON line of event ``name``."""

    def test(text: str) -> bool:
        return text.startswith("{") and json.loads(text).get("event") == name

    return test


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Rig:
    """The sandbox and the terminal, each in its own process, for one data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sandbox = Child([sys.executable, "-c", SANDBOX, str(folder / "ledger.sqlite3")])
        _, _, line = self.sandbox.wait_line(0, lambda t: t.startswith("URL "), "sandbox URL")
        self.sandbox_url = line.split()[1]
        self.config = folder / "terminal.toml"
        data_dir = folder / "data"
        self.config.write_text(CONFIG.format(data_dir=data_dir, url=self.sandbox_url))
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.cert = data_dir / "api-cert.pem"
        self.socket = data_dir / "api.sock"
        self.terminal: Child | None = None

    def start_terminal(self) -> float:
        """Start the terminal; the seconds until it said ``terminal:ready``."""
        started = time.perf_counter_ns()
        self.terminal = Child(
            [sys.executable, "-m", "terminal", "demo", "--headless", "--api",
             "--api-port", str(self.port), "--config", str(self.config),
             "--data-dir", str(self.folder / "data")],
            stdin=True,
        )  # fmt: skip
        _, ready, _ = self.terminal.wait_line(0, event_line("terminal:ready"), "terminal:ready")
        return (ready - started) / 1e9

    def stop_terminal(self) -> None:
        """Stop the terminal's process."""
        if self.terminal is not None:
            self.terminal.stop()
            self.terminal = None

    def close(self) -> None:
        """Stop both processes."""
        self.stop_terminal()
        self.sandbox.process.terminate()
        self.sandbox.process.wait(timeout=10)

    async def command(self, command: str) -> None:
        """A headless command, until it answered ``ok``."""
        terminal = self.terminal
        assert terminal is not None
        start = len(terminal.lines)
        terminal.send(command)
        _, _, text = await asyncio.to_thread(
            terminal.wait_line, start,
            lambda t: t.startswith("{") and json.loads(t).get("event") in ("ok", "error"),
            f"the answer to {command!r}",
        )  # fmt: skip
        if json.loads(text)["event"] != "ok":
            raise RuntimeError(f"{command!r}: {text}")

    async def pair(self, tls: ssl.SSLContext) -> str:
        """Pair the bench's POS as a person would: the code read off the terminal's screen."""
        terminal = self.terminal
        assert terminal is not None
        start = len(terminal.lines)
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket))
        async with httpx.AsyncClient(transport=transport, base_url="http://payterm") as local:
            opened = await local.post("/local/pairing")
        if opened.status_code != 201:
            raise RuntimeError(f"pairing refused: {opened.text}")

        def pairing_screen(text: str) -> bool:
            data = json.loads(text) if text.startswith("{") else {}
            return data.get("event") == "display:screen" and data.get("name") == "pairing"

        _, _, text = await asyncio.to_thread(terminal.wait_line, start, pairing_screen, "code")
        code = json.loads(text)["amount"].replace(" ", "")
        async with httpx.AsyncClient(base_url=self.url, verify=tls, trust_env=False) as c:
            answer = await c.post("/v1/pairings", json={"code": code, "name": "bench"})
        return str(answer.json()["api_key"])

    async def arrival(self, index: int, what: str) -> int:
        """The ns the sandbox saw its first request from line ``index`` on."""
        _, ns, _ = await asyncio.to_thread(
            self.sandbox.wait_line, index, lambda t: t.startswith("A "), what
        )
        return ns
