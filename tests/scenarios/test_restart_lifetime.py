"""A QR payment resumed after restarts ends when it would have ended without them.

The whole terminal (journal file, sandbox provider with its ledger file, emulated device)
is started, stopped mid-payment and started again on the same data folder, each start
on a fresh monotonic clock (a new boot) whose wall time has moved on by the time the
terminal was down. The invoice's 25 s lifetime is counted from its creation in the
journal, so ten restarts cannot stretch it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.demo.headless import HeadlessSession
from terminal.payment import PaymentState
from terminal.providers.sandbox.ledger import SandboxLedger
from tests.scenarios.runner import scenario_config

LIFETIME_S = 25.0
BOOT_WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Run:
    """One start of the terminal, at wall time ``BOOT_WALL + wall_s``, until :meth:`stop`."""

    def __init__(self, data_dir: Path, wall_s: float, *, synced: bool = True) -> None:
        config = scenario_config(data_dir, {"provider.invoice_lifetime_s": str(LIFETIME_S)})
        self.clock = FakeClock(start_wall=BOOT_WALL + timedelta(seconds=wall_s), synced=synced)
        self.terminal = Terminal(config, self.clock)
        self.events: list[dict[str, Any]] = []

    async def __aenter__(self) -> Run:
        await self.terminal.__aenter__()
        self.session = HeadlessSession(self.terminal, self.events.append)
        self._task = asyncio.create_task(self.terminal.runtime.run())
        await self.terminal.runtime.wait_idle()
        return self

    async def do(self, *lines: str) -> None:
        for line in lines:
            assert await self.session.execute(line), line

    def screen(self) -> str | None:
        screen = self.terminal.runtime.screen
        return screen.name if screen else None

    async def __aexit__(self, *exc: object) -> None:
        await self.terminal.runtime.stop(timeout_s=1.0)
        try:
            await self._task
        except (asyncio.CancelledError, BaseExceptionGroup):
            pass
        await self.terminal.__aexit__(None, None, None)


def _wall_of(entry_wall: str) -> datetime:
    return datetime.fromisoformat(entry_wall)


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_ten_restarts_do_not_stretch_a_25_s_invoice(tmp_path: Path) -> None:
    wall_s = 0.0
    async with Run(tmp_path, wall_s) as first:
        await first.do("key 1", "key 0", "key 0", "key enter", "key enter", "advance 2")
        assert first.screen() == "qr"
        await first.do("advance 1")
    wall_s += 3.0
    shown_after_restart = 0
    for _ in range(10):
        wall_s += 1.0  # the terminal is down for a second
        async with Run(tmp_path, wall_s) as run:
            await run.do("advance 1")
            if run.screen() == "qr":
                shown_after_restart += 1
            wall_s += 1.0
    async with Run(tmp_path, wall_s) as last:
        await last.do("advance 30")
        journal = last.terminal.journal
        payment = journal.recent(1)[0]
        history = journal.history(payment.order_id)
    assert shown_after_restart >= 5, "the invoice was resumed with its QR while time was left"
    assert payment.state is PaymentState.EXPIRED
    created = _wall_of(payment.created_wall)
    ended = _wall_of(next(h.wall for h in history if h.state == "expired"))
    # It ends at its original deadline (the next poll or timer after it, at most 1 s on),
    # not 25 s after the last restart.
    assert LIFETIME_S <= (ended - created).total_seconds() <= LIFETIME_S + 1.0
    ledger = SandboxLedger.open(tmp_path / "sandbox-sandbox.sqlite3")
    try:
        assert [r.status for r in ledger.payments()] == ["cancelled"]
        assert ledger.charges() == 0
    finally:
        ledger.close()


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_a_restart_past_the_lifetime_cancels_without_showing_the_qr(tmp_path: Path) -> None:
    async with Run(tmp_path, 0.0) as first:
        await first.do("key 1", "key 0", "key 0", "key enter", "key enter", "advance 2")
        assert first.screen() == "qr"
    async with Run(tmp_path, 60.0) as later:
        payment = later.terminal.journal.recent(1)[0]
        screens = [e["name"] for e in later.events if e["event"] == "display:screen"]
    assert payment.state is PaymentState.EXPIRED
    assert "qr" not in screens


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_a_restart_before_the_clock_is_synchronised_takes_the_lifetime_as_used(
    tmp_path: Path,
) -> None:
    async with Run(tmp_path, 0.0) as first:
        await first.do("key 1", "key 0", "key 0", "key enter", "key enter", "advance 2")
    # Two seconds later by the clock, but that clock is not synchronised yet: no trust.
    async with Run(tmp_path, 2.0, synced=False) as unsynced:
        payment = unsynced.terminal.journal.recent(1)[0]
    assert payment.state is PaymentState.EXPIRED
