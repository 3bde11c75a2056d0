"""What would stall the loop runs off it: journal commits, and threads holding the interpreter.

SQLite's own trace hook holds the COMMIT of the payment's intent (as a slow SD card's fsync
would) until the test lets it go; the whole terminal runs on the emulated device with its
embedded sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.demo.builtin import builtin_demo_config
from terminal.machine import CodeScanned, KeyPressed
from terminal.payment import PaymentState
from terminal.runtime.runtime import SWITCH_INTERVAL_S

ALIPAY_CODE = "286648397128431234"  # the demo routes prefix 28, 18 digits to the sandbox


class _HeldCommits:
    """Holds every COMMIT of a connection, once armed, until :meth:`release`."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.go = threading.Event()
        self.threads: list[str] = []

    def trace(self, sql: str) -> None:
        if self.armed and sql.strip().upper() == "COMMIT":
            self.threads.append(threading.current_thread().name)
            self.entered.set()
            assert self.go.wait(10), "the test never released the commit"

    def release(self) -> None:
        self.armed = False
        self.go.set()


@contextlib.asynccontextmanager
async def _running(tmp_path: Path) -> AsyncIterator[tuple[Terminal, list[str]]]:
    async with Terminal(builtin_demo_config(tmp_path), FakeClock()) as terminal:
        seen: list[str] = []
        terminal.runtime.subscribe(lambda name, details: seen.append(name))
        runner = asyncio.create_task(terminal.runtime.run())
        try:
            await terminal.runtime.wait_idle()
            yield terminal, seen
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, BaseExceptionGroup):
                await runner


async def _until(check: Any, what: str) -> None:
    for _ in range(2000):
        if check():
            return
        await asyncio.sleep(0.005)
    pytest.fail(f"never: {what}")


async def test_the_loop_runs_while_the_intent_is_committed_and_the_call_waits_for_it(
    tmp_path: Path,
) -> None:
    async with _running(tmp_path) as (terminal, seen):
        held = _HeldCommits()
        assert terminal.journal._conn is not None
        terminal.journal._conn.set_trace_callback(held.trace)
        runtime = terminal.runtime
        for key in "150":
            runtime.feed(KeyPressed(key))
        await runtime.wait_idle()
        held.armed = True
        runtime.feed(CodeScanned(ALIPAY_CODE))
        await _until(held.entered.is_set, "the intent's commit started")

        # The commit is held, as an fsync on a slow card would hold it: the loop still runs
        # (this test is a coroutine on it) and takes input, and nothing reached the provider.
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.001)
            ticks += 1
        runtime.feed(KeyPressed("5"))  # a key while the intent is being written: queued
        await asyncio.sleep(0.01)
        assert ticks == 5
        assert held.threads == ["payterm-journal_0"], "the commit runs on the journal thread"
        assert "provider:call" not in seen
        assert "journal:record" not in seen
        sandbox = terminal.sandboxes["sandbox"]
        assert sandbox.ledger.snapshot()["payments"] == [], "the provider saw nothing yet"

        held.release()
        await _until(lambda: "provider:call" in seen, "the provider call after the commit")
        assert seen.index("journal:record") < seen.index("provider:call")
        payment = runtime.state.payment
        assert payment is not None
        stored = terminal.journal.get(payment.order_id)
        assert stored is not None
        assert stored.state in (PaymentState.NEW, PaymentState.PENDING)
        await runtime.wait_idle()


async def test_a_failed_commit_on_the_journal_thread_stops_the_effects_after_it(
    tmp_path: Path,
) -> None:
    async with _running(tmp_path) as (terminal, seen):
        runtime = terminal.runtime
        for key in "150":
            runtime.feed(KeyPressed(key))
        await runtime.wait_idle()
        conn = terminal.journal._conn
        assert conn is not None
        conn.execute("PRAGMA query_only = 1")  # every write now fails, in whichever thread
        runtime.feed(CodeScanned(ALIPAY_CODE))
        await runtime.wait_idle()
        assert runtime.state.phase.value == "fault"
        assert "provider:call" not in seen
        assert terminal.sandboxes["sandbox"].ledger.snapshot()["payments"] == []


async def test_threads_hand_the_interpreter_back_to_the_loop_quickly_while_it_runs(
    tmp_path: Path,
) -> None:
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL_S, "Python's default (5 ms) is above the runtime's"
    async with _running(tmp_path):
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == pytest.approx(before), "given back when the runtime ends"
