"""Server-Sent Events: one per payment step and terminal condition, resumable across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.conftest import api_config, start
from tests.api.helpers import body, read_events, wait_state


async def test_events_follow_a_payment_and_resume_after_a_restart(tmp_path: Path) -> None:
    """Every state change is an event; Last-Event-ID after a restart loses and repeats none."""
    config = api_config(tmp_path)
    async with start(config) as running:
        key = await running.pair()
        async with running.client(key) as api:
            listener = asyncio.create_task(read_events(api, 3, last_id="0"))
            created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "e"})
            order_id = created.json()["id"]
            await wait_state(api, order_id, "pending")
            await running.terminal.customer("pay")
            await wait_state(api, order_id, "paid")
            events = await asyncio.wait_for(listener, 10)
        states = [data["payment"]["state"] for _, data in events]
        assert states == ["new", "pending", "paid"]
        assert all(data["payment"]["id"] == order_id for _, data in events)
        ids = [event_id for event_id, _ in events]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
        # A paper-out is a terminal condition with an event of its own.
        running.terminal.device.escpos.paper = False
        running.terminal.runtime.reprint(running.terminal.journal.get(order_id))  # type: ignore[arg-type]
        await running.terminal.runtime.wait_idle()
    async with start(config) as restarted:
        async with restarted.client(key) as api:
            after = await asyncio.wait_for(read_events(api, 1, last_id=str(ids[1])), 10)
            assert after[0][0] == ids[2]
            assert after[0][1]["payment"]["state"] == "paid"
            condition = await asyncio.wait_for(read_events(api, 1, last_id=str(ids[2])), 10)
    assert condition[0][1]["type"] == "terminal"
    assert condition[0][1]["condition"] == "printer"
    assert condition[0][1]["problem"]
