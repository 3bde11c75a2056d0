"""`payterm sandbox` on its own, and a terminal configured to use it over loopback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from terminal.providers.sandbox.ledger import SandboxLedger
from tests.scenarios.headless_process import HeadlessProcess


def start_sandbox(ledger: Path, provider: str = "sandbox") -> tuple[subprocess.Popen[str], str]:
    """`payterm sandbox` in a child process; returns it and the URL it listens on."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "terminal", "sandbox", "--port", "0", "--ledger", str(ledger),
         "--provider", provider],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"sandbox:serving (http://127\.0\.0\.1:\d+)", line)
        if found:
            return proc, found.group(1)
    raise AssertionError("the sandbox never said where it listens")


def test_terminal_pays_through_a_standalone_sandbox(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    sandbox, url = start_sandbox(ledger)
    try:
        config = tmp_path / "payterm.toml"
        config.write_text(
            f'[terminal]\ndata_dir = "{tmp_path / "data"}"\n\n'
            f'[providers.sandbox]\ndriver = "sandbox"\nurl = "{url}"\n'
        )
        terminal = HeadlessProcess(tmp_path, extra=["--config", str(config)])
        for command in ("key 9", "key 0", "key 0", "key enter", "key enter", "customer pay",
                        "advance 3", "journal 1"):  # fmt: skip
            terminal.send(command)
        terminal.quit()
        payments = [e for e in terminal.events if e["event"] == "journal:payment"]
        assert [(p["state"], p["amount_minor"]) for p in payments] == [("paid", 900)]
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=10)
        assert sandbox.stderr is not None
        sandbox.stderr.close()
    book = SandboxLedger.open(ledger)
    try:
        assert book.charges() == 1
    finally:
        book.close()
