"""A training terminal says so to the POS: on the terminal, every payment and every event.

The demo is a training terminal (``[terminal] training = true``), so the terminal under
test takes no money; a POS that books what it answers would book pretend money unless
each answer says ``training: true``. The pairing code's screen and slip say TRAINING too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from terminal.api.resources import payment_resource
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from tests.api.conftest import Running
from tests.api.helpers import body, read_events, wait_state


async def test_the_terminal_resource_says_training(running: Running) -> None:
    """``GET /v1/terminal`` carries the mode, as the configuration has it."""
    key = await running.pair()
    async with running.client(key) as api:
        answer = await api.get("/v1/terminal")
    assert answer.status_code == 200
    assert answer.json()["training"] is True
    assert running.terminal.config.terminal.training is True


async def test_every_payment_and_every_event_says_training(running: Running) -> None:
    """The created payment, its look-ups, the list and each SSE event carry ``training``."""
    key = await running.pair()
    async with running.client(key) as api:
        listener = asyncio.create_task(read_events(api, 3, last_id="0"))
        created = await api.post(
            "/v1/payments", json=body("TR-1"), headers={"Idempotency-Key": "t"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["training"] is True
        order_id = created.json()["id"]
        await wait_state(api, order_id, "pending")
        await running.terminal.customer("pay")
        paid = await wait_state(api, order_id, "paid")
        assert paid["training"] is True
        looked_up = (await api.get("/v1/payments", params={"reference": "TR-1"})).json()
        assert [p["training"] for p in looked_up["payments"]] == [True]
        assert (await api.get("/v1/payments/last")).json()["training"] is True
        events = await asyncio.wait_for(listener, 10)
        # A terminal condition is an event too, and says the mode as well.
        running.terminal.device.escpos.paper = False
        running.terminal.runtime.reprint(running.terminal.journal.get(order_id))  # type: ignore[arg-type]
        await running.terminal.runtime.wait_idle()
        condition = await asyncio.wait_for(read_events(api, 1, last_id=str(events[-1][0])), 10)
    assert [data["payment"]["state"] for _, data in events] == ["new", "pending", "paid"]
    assert all(data["training"] is True for _, data in events)
    assert all(data["payment"]["training"] is True for _, data in events)
    assert condition[0][1]["type"] == "terminal"
    assert condition[0][1]["training"] is True


async def test_the_pairing_screen_and_slip_say_training(running: Running) -> None:
    """The code is shown with the TRAINING tag; the fingerprint slip is marked no payment."""
    escpos = running.terminal.device.escpos
    escpos.printed.clear()
    await running.terminal.api.api.pairings.open()
    await running.terminal.runtime.wait_idle()
    screen = running.terminal.runtime.screen
    assert screen is not None
    assert screen.name == "pairing"
    assert screen.mark == "TRAINING"
    slip = escpos.printed[-1].parsed.text_lines
    assert any("PAIRING" in line for line in slip)
    assert "TRAINING - NOT A PAYMENT" in slip[0]
    assert "TRAINING - NOT A PAYMENT" in slip[-1]


def _resource(training: bool) -> dict[str, Any]:
    payment = Payment(
        order_id="T0001-0000-000001", seq=1, shift=1, flow="mpm", provider="paymaster",
        amount=Money(1500, "RUB"), state=PaymentState.PAID, created_wall="2026-03-14T12:00:00Z",
    )  # fmt: skip
    return payment_resource(payment, None, [], (), training=training)


def test_a_terminal_in_service_says_no_training() -> None:
    """A real terminal's payments say ``training: false`` (money moved)."""
    assert _resource(False)["training"] is False
    assert _resource(True)["training"] is True
