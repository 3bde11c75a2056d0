"""A terminal killed with SIGKILL mid-payment resolves the payment in doubt after restart."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from terminal.providers.sandbox.ledger import SandboxLedger
from tests.scenarios.headless_process import HeadlessProcess


def _wait_for_ledger_rows(path: Path) -> None:
    """Wait until the sandbox has taken the request (it is held back, not answered)."""
    for _ in range(1000):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            if db.execute("SELECT count(*) FROM payments").fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the sandbox never received the request")


def _start_payment(terminal: HeadlessProcess) -> None:
    for key in ("1", "0", "0", "enter"):
        terminal.send(f"key {key}")


def test_paid_before_the_kill_is_found_paid_and_charged_once(tmp_path: Path) -> None:
    first = HeadlessProcess(tmp_path)
    _start_payment(first)
    first.send("key enter")
    assert any(e.get("op") == "create" and e.get("status") == "pending" for e in first.events)
    first.send("customer pay")
    first.kill()

    second = HeadlessProcess(tmp_path)
    assert any(e["event"] == "journal:in_doubt" for e in second.events)
    second.send("journal 5")
    payments = [e for e in second.events if e["event"] == "journal:payment"]
    second.quit()
    assert [p["state"] for p in payments] == ["paid"]
    slips = [e["kind"] for e in second.events if e["event"] == "printer:slip"]
    assert slips == ["recovered"]
    queries = [e for e in second.events if e["event"] == "provider:call"]
    assert [q["op"] for q in queries] == ["query"], "a payment in doubt is only ever queried"
    ledger = SandboxLedger.open(tmp_path / "sandbox-sandbox.sqlite3")
    try:
        assert ledger.charges() == 1
    finally:
        ledger.close()


def test_killed_while_creating_resumes_the_same_invoice(tmp_path: Path) -> None:
    first = HeadlessProcess(tmp_path)
    _start_payment(first)
    first.send("sandbox slow")  # the sandbox takes the invoice but holds its answer back
    assert first.proc.stdin is not None
    first.proc.stdin.write("key enter\n")
    first.proc.stdin.flush()
    first.read_until("provider:call", op="create")
    _wait_for_ledger_rows(tmp_path / "sandbox-sandbox.sqlite3")
    first.kill()

    second = HeadlessProcess(tmp_path)
    second.send("screen")
    screen = [e for e in second.events if e["event"] == "screen"][-1]
    assert screen["name"] == "qr", "the invoice in doubt is shown again, not made anew"
    second.send("customer pay")
    second.send("advance 3")
    second.send("journal 5")
    payments = [e for e in second.events if e["event"] == "journal:payment"]
    second.quit()
    assert [(p["seq"], p["state"]) for p in payments] == [(1, "paid")]
    calls = [e["op"] for e in second.events if e["event"] == "provider:call"]
    assert "create" not in calls
    ledger = SandboxLedger.open(tmp_path / "sandbox-sandbox.sqlite3")
    try:
        assert ledger.charges() == 1
        assert len(ledger.payments()) == 1
    finally:
        ledger.close()
