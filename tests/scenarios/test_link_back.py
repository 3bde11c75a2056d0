"""Unsettled payments are settled as soon as the terminal learns the providers are back."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.payment import PaymentState
from tests.scenarios.test_restart_lifetime import Run

QR_OF_3_00 = ("key 3", "key 0", "key 0", "key enter", "key enter")


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_the_next_proper_answer_closes_a_failed_cancel_at_once(tmp_path: Path) -> None:
    async with Run(tmp_path, 0.0) as run:
        await run.do(*QR_OF_3_00, "sandbox error 1", "press cancel")
        journal = run.terminal.journal
        first = journal.recent(1)[0]
        assert first.state is PaymentState.CANCEL_FAILED
        assert run.terminal.runtime.status()["cancelling_in_background"] == [first.order_id]
        # No time passes: the next payment's invoice is the first proper answer since the
        # 503, and the background cancel follows it at once, not after its back-off.
        await run.do("key 5", "key 0", "key 0", "key enter", "key enter", "wait")
        closed = journal.get(first.order_id)
        restored = [e for e in run.events if e["event"] == "link:restored"]
        calls = [e for e in run.events if e["event"] == "reconcile:call"]
        screen = run.screen()
        still = run.terminal.runtime.status()["cancelling_in_background"]
    assert still == []
    assert closed is not None
    assert closed.state is PaymentState.CANCELLED
    assert not closed.needs_admin
    assert [e["source"] for e in restored] == ["sandbox answered"]
    assert [(c["op"], c["order_id"]) for c in calls] == [("cancel", first.order_id)]
    assert screen == "qr", "the new payment went on undisturbed"


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_a_failed_cancel_left_at_shutdown_is_closed_after_the_restart(
    tmp_path: Path,
) -> None:
    async with Run(tmp_path, 0.0) as run:
        await run.do(*QR_OF_3_00, "sandbox error 1", "press cancel")
        order_id = run.terminal.journal.recent(1)[0].order_id
    async with Run(tmp_path, 30.0) as after:
        await after.do("wait")
        payment = after.terminal.journal.get(order_id)
        found = [e for e in after.events if e["event"] == "journal:unsettled"]
    assert payment is not None
    assert payment.state is PaymentState.CANCELLED
    assert [e["order_id"] for e in found] == [order_id]
