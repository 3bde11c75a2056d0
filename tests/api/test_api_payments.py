"""Payments by API through the real server on loopback (TLS, pinned certificate)."""

from __future__ import annotations

import asyncio

from terminal.machine import KeyPressed
from terminal.machine.events import ScanBroken
from tests.api.conftest import Running
from tests.api.helpers import body, wait_state


async def test_qr_payment_paid_by_the_customer(running: Running) -> None:
    """The QR is shown as if typed on the keypad; the customer pays; the API tells it whole."""
    key = await running.pair()
    async with running.client(key) as api:
        created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "a1"})
        assert created.status_code == 201, created.text
        payment = created.json()
        assert created.headers["location"] == f"/v1/payments/{payment['id']}"
        assert payment["state"] == "new"
        assert payment["method"] == "qr"
        assert payment["reference"] == "POS-1"
        pending = await wait_state(api, payment["id"], "pending")
        assert running.terminal.runtime.screen is not None
        assert running.terminal.runtime.screen.name == "qr"
        await running.terminal.customer("pay")
        paid = await wait_state(api, payment["id"], "paid")
        assert paid["provider"] == "sandbox"
        assert paid["provider_reference"] == pending["provider_reference"]
        assert paid["number"] == 1
        assert paid["shift"] == 1
        assert [step["state"] for step in paid["history"]] == ["new", "pending", "paid"]
        assert all(step["at"] for step in paid["history"])
        last = (await api.get("/v1/payments/last")).json()
        assert last["id"] == payment["id"]
        found = (await api.get("/v1/payments", params={"reference": "POS-1"})).json()
        assert [p["id"] for p in found["payments"]] == [payment["id"]]
        shift = (await api.get("/v1/shifts/current")).json()
        assert shift["paid"] == {"count": 1, "totals_minor": {"RUB": 1500}}


async def test_same_key_replays_and_another_body_is_refused(running: Running) -> None:
    """The same key and body answer the same payment again; another body is 422."""
    key = await running.pair()
    async with running.client(key) as api:
        first = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "k"})
        again = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "k"})
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert again.json()["id"] == first.json()["id"]
        other = await api.post(
            "/v1/payments", json=body(amount_minor=999), headers={"Idempotency-Key": "k"}
        )
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert other.json()["field"] == "Idempotency-Key"
        missing = await api.post("/v1/payments", json=body())
        assert missing.status_code == 400
        assert missing.json()["field"] == "Idempotency-Key"
    assert len(running.terminal.journal.recent(10)) == 1


async def test_concurrent_creates_with_one_key_make_one_payment_and_one_call(
    running: Running,
) -> None:
    """Twenty creates at once with one key: one payment, one provider call, all answered it."""
    key = await running.pair()
    calls: list[str] = []
    running.terminal.runtime.subscribe(
        lambda name, details: calls.append(details["op"]) if name == "provider:call" else None
    )
    async with running.client(key) as api:
        answers = await asyncio.gather(*(
            api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "same"})
            for _ in range(20)
        ))  # fmt: skip
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    await running.terminal.runtime.wait_idle()
    assert calls.count("create") == 1
    assert len(running.terminal.journal.recent(10)) == 1


async def test_busy_terminal_answers_409_and_a_create_never_interrupts(running: Running) -> None:
    """While the cashier types, or a payment is under way, a create is 409 with what it does."""
    key = await running.pair()
    runtime = running.terminal.runtime
    async with running.client(key) as api:
        runtime.feed(KeyPressed("5"))
        await runtime.wait_idle()
        typing = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "t"})
        assert typing.status_code == 409
        assert typing.json()["phase"] == "amount"
        assert "entering an amount" in typing.json()["message"]
        runtime.feed(KeyPressed("clear"))
        await runtime.wait_idle()
        first = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "1"})
        await wait_state(api, first.json()["id"], "pending")
        second = await api.post(
            "/v1/payments", json=body("POS-2"), headers={"Idempotency-Key": "2"}
        )
        assert second.status_code == 409
        assert second.json()["payment_in_hand"] == first.json()["id"]
        status = (await api.get("/v1/terminal")).json()
        assert status["phase"] == "waiting"
        assert status["busy"] is True
        assert status["screen"]["name"] == "qr"
        assert status["printer"]["paper"] is True
        assert status["providers"]["sandbox"]["reachable"] is True
    assert runtime.state.payment is not None
    assert runtime.state.payment.order_id == first.json()["id"]


async def test_code_payment_waits_for_the_scan(running: Running) -> None:
    """method code: "show your code", then the scanner's read pays it with its reserved number."""
    key = await running.pair()
    async with running.client(key) as api:
        created = await api.post(
            "/v1/payments", json=body(method="code"), headers={"Idempotency-Key": "c"}
        )
        assert created.status_code == 201
        payment = created.json()
        assert payment["state"] == "awaiting_code"
        assert running.terminal.runtime.screen is not None
        assert running.terminal.runtime.screen.name == "present"
        running.terminal.device.scanner.scan("134567890123456789")
        paid = await wait_state(api, payment["id"], "paid", "pending")
        assert paid["id"] == payment["id"]
        assert paid["flow"] == "cpm"
        assert paid["code_masked"] == "1345**********6789"


async def test_code_payment_takes_no_broken_scan_and_strips_aim(running: Running) -> None:
    """A broken read asks for a new scan; the next, with an AIM identifier, pays the bare code."""
    key = await running.pair()
    async with running.client(key) as api:
        created = await api.post(
            "/v1/payments", json=body(method="code"), headers={"Idempotency-Key": "aim"}
        )
        payment = created.json()
        runtime = running.terminal.runtime
        runtime.feed(ScanBroken("the kernel dropped events"))
        await runtime.wait_idle()
        assert runtime.state.message == "scan_again"
        assert (await api.get(f"/v1/payments/{payment['id']}")).json()["state"] == "awaiting_code"
        running.terminal.device.scanner.scan("]Q1134567890123456789")
        paid = await wait_state(api, payment["id"], "paid", "pending")
        assert paid["code_masked"] == "1345**********6789"


async def test_cancel_is_sent_once(running: Running) -> None:
    """Cancel acts as the button: the payment is cancelled; a second cancel is 409."""
    key = await running.pair()
    async with running.client(key) as api:
        created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "x"})
        order_id = created.json()["id"]
        await wait_state(api, order_id, "pending")
        cancelling = await api.post(f"/v1/payments/{order_id}/cancel")
        assert cancelling.status_code == 202
        await wait_state(api, order_id, "cancelled")
        again = await api.post(f"/v1/payments/{order_id}/cancel")
        assert again.status_code == 409
        assert again.json()["code"] == "already_final"
        unknown = await api.post("/v1/payments/T0001-none/cancel")
        assert unknown.status_code == 404


async def test_abandoning_an_awaiting_payment(running: Running) -> None:
    """A payment waiting for the customer's code is cancelled by API before any provider call."""
    key = await running.pair()
    async with running.client(key) as api:
        created = await api.post(
            "/v1/payments", json=body(method="choose"), headers={"Idempotency-Key": "ch"}
        )
        order_id = created.json()["id"]
        assert created.json()["state"] == "awaiting_choice"
        assert (await api.post(f"/v1/payments/{order_id}/cancel")).status_code == 202
        assert (await api.get(f"/v1/payments/{order_id}")).json()["state"] == "abandoned"
        # Its number stays accounted: the next payment takes the next one.
        nxt = await api.post("/v1/payments", json=body("P2"), headers={"Idempotency-Key": "n"})
        assert nxt.json()["number"] == created.json()["number"] + 1


async def test_refund_in_full_and_more_than_paid_refused(running: Running) -> None:
    """A paid payment is refunded in full (202, the result as its state); more than it is 422."""
    key = await running.pair()
    async with running.client(key) as api:
        created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "p"})
        order_id = created.json()["id"]
        await wait_state(api, order_id, "pending")
        await running.terminal.customer("pay")
        await wait_state(api, order_id, "paid")
        running.terminal.runtime.feed(KeyPressed("clear"))  # back to idle from the result
        await running.terminal.runtime.wait_idle()
        url = f"/v1/payments/{order_id}/refunds"
        too_much = await api.post(
            url, json={"amount_minor": 1501}, headers={"Idempotency-Key": "r"}
        )
        assert too_much.status_code == 422
        assert too_much.json()["code"] == "refund_exceeds"
        assert too_much.json()["field"] == "amount_minor"
        accepted = await api.post(url, headers={"Idempotency-Key": "r"})
        assert accepted.status_code == 202, accepted.text
        # The demo asks a supervisor: the PIN on the keypad approves it.
        for digit in "1234":
            running.terminal.runtime.feed(KeyPressed(digit))
        running.terminal.runtime.feed(KeyPressed("enter"))
        refunded = await wait_state(api, order_id, "refunded")
        assert refunded["final"] is True
        replay = await api.post(url, headers={"Idempotency-Key": "r"})
        assert replay.status_code == 202
        assert replay.headers["idempotent-replayed"] == "true"
        twice = await api.post(url, headers={"Idempotency-Key": "r2"})
        assert twice.status_code == 409
        assert twice.json()["code"] == "not_refundable"


async def test_receipt_is_printed_again(running: Running) -> None:
    """Reprint prints the payment's slip once more."""
    key = await running.pair()
    slips: list[str] = []
    running.terminal.runtime.subscribe(
        lambda name, details: slips.append(details["kind"]) if name == "printer:slip" else None
    )
    async with running.client(key) as api:
        created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "s"})
        order_id = created.json()["id"]
        await wait_state(api, order_id, "pending")
        await running.terminal.customer("pay")
        await wait_state(api, order_id, "paid")
        await running.terminal.runtime.wait_idle()
        before = slips.count("payment")
        answer = await api.post(f"/v1/payments/{order_id}/receipt")
        assert answer.status_code == 202
        await running.terminal.runtime.wait_idle()
        assert slips.count("payment") == before + 1
