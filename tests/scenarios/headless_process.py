"""The headless demo in a child process, driven line by line, for tests that kill or restart it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


class HeadlessProcess:
    """``payterm demo --headless --fake-clock`` in a child process, driven line by line."""

    def __init__(self, data_dir: Path, extra: list[str] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "terminal", "demo", "--headless", "--fake-clock",
             "--data-dir", str(data_dir), *(extra or [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.read_until("terminal:ready")

    def read_until(self, name: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            self.events.append(event)
            if event["event"] == "error":
                raise AssertionError(event)
            if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                return event
        raise AssertionError(f"process ended before {name} {fields}; saw {self.events[-5:]}")

    def send(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read_until("ok", command=command)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except BrokenPipeError:
                    pass

    def quit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        code = self.proc.wait(timeout=20)
        self._close_pipes()
        assert code == 0
