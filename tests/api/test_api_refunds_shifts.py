"""Partial refunds and shift closes by API, through the real server and the machine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.config.model import ProviderConfig, RouteConfig
from terminal.machine import KeyPressed
from tests.api.conftest import Running, api_config, start
from tests.api.helpers import body, wait_state


async def _paid(running: Running, api: httpx.AsyncClient, key: str) -> str:
    """A QR payment of 15.00 the customer paid, the terminal back at idle; its id."""
    created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": key})
    order_id = str(created.json()["id"])
    await wait_state(api, order_id, "pending")
    await running.terminal.customer("pay")
    await wait_state(api, order_id, "paid")
    running.terminal.runtime.feed(KeyPressed("clear"))  # back to idle from the result
    await running.terminal.runtime.wait_idle()
    return order_id


def _approve(running: Running) -> None:
    """The demo's supervisor types the PIN on the keypad."""
    for key in (*"1234", "enter"):
        running.terminal.runtime.feed(KeyPressed(key))


async def _refund(api: httpx.AsyncClient, order_id: str, key: str, **fields: Any) -> httpx.Response:
    return await api.post(f"/v1/payments/{order_id}/refunds", json=fields or None,
                          headers={"Idempotency-Key": key})  # fmt: skip


async def test_partial_refunds_each_with_its_key_until_nothing_is_left(running: Running) -> None:
    async with running.client(await running.pair()) as api:
        order_id = await _paid(running, api, "p")
        first = await _refund(api, order_id, "r1", amount_minor=400)
        assert first.status_code == 202, first.text
        _approve(running)
        part = await wait_state(api, order_id, "partially_refunded")
        assert (part["refunded_minor"], part["refundable_minor"]) == (400, 1100)
        [refund] = part["refunds"]
        assert (refund["amount_minor"], refund["state"], refund["number"]) == (400, "refunded", 1)
        assert refund["id"] == f"{order_id}-void"
        assert refund["done_at"]
        assert refund["requested_at"]
        assert refund["shift"] == 1
        too_much = await _refund(api, order_id, "r2", amount_minor=1101)
        assert too_much.status_code == 422
        assert (too_much.json()["code"], too_much.json()["refundable_minor"]) == (
            "refund_exceeds", 1100)  # fmt: skip
        assert "1100" in too_much.json()["message"]
        replay = await _refund(api, order_id, "r1", amount_minor=400)
        assert replay.status_code == 202
        assert replay.headers["idempotent-replayed"] == "true"
        assert len(replay.json()["refunds"]) == 1, "a replay refunds nothing more"
        rest = await _refund(api, order_id, "r3")  # no amount: all that is left
        assert rest.status_code == 202, rest.text
        _approve(running)
        done = await wait_state(api, order_id, "refunded")
    assert done["final"] is True
    assert (done["refunded_minor"], done["refundable_minor"]) == (1500, 0)
    assert [(r["id"], r["amount_minor"]) for r in done["refunds"]] == [
        (f"{order_id}-void", 400), (f"{order_id}-r2", 1100)]  # fmt: skip
    ledger = next(iter(running.terminal.sandboxes.values())).ledger
    assert len(ledger.refunds()) == 2


@pytest.fixture
async def paymaster(tmp_path: Path) -> AsyncIterator[Running]:
    """A terminal whose only provider, PayMaster's embedded fake, refunds only in full."""
    config = api_config(tmp_path)
    config = replace(
        config, providers={"paymaster": ProviderConfig(driver="paymaster")},
        payment=replace(config.payment, mpm_provider="paymaster"),
        routes=(RouteConfig(wallet="any", provider="paymaster"),),
    )  # fmt: skip
    async with start(config) as value:
        yield value


async def test_a_part_is_refused_with_why_where_the_provider_refunds_only_in_full(
    paymaster: Running,
) -> None:
    async with paymaster.client(await paymaster.pair()) as api:
        order_id = await _paid(paymaster, api, "p")
        partial = await _refund(api, order_id, "r1", amount_minor=100)
        assert partial.status_code == 422
        problem = partial.json()
        assert (problem["code"], problem["field"]) == ("partial_refund_unsupported", "amount_minor")
        assert "paymaster" in problem["message"]
        assert problem["refundable_minor"] == 1500
        whole = await _refund(api, order_id, "r2", amount_minor=1500)  # all of it is fine
        assert whole.status_code == 202, whole.text


async def test_close_answers_the_z_and_a_closed_shift_reads_back(running: Running) -> None:
    async with running.client(await running.pair()) as api:
        await _paid(running, api, "p")
        closed = await api.post("/v1/shifts/current/close")
        assert closed.status_code == 200, closed.text
        z = closed.json()
        assert (z["kind"], z["shift"]) == ("z", 1)
        assert z["closed_at"] is not None
        [sandbox] = z["totals"]
        assert (sandbox["provider"], sandbox["paid"], sandbox["net_minor"]) == (
            "sandbox", {"count": 1, "minor": 1500}, 1500)  # fmt: skip
        again = await api.get("/v1/shifts/1")
        assert again.status_code == 200
        assert again.json() == z
        detailed = (await api.get("/v1/shifts/1", params={"detail": "true"})).json()
        assert [t["amount_minor"] for t in detailed["transactions"]] == [1500]
        assert (await api.get("/v1/shifts/current")).json()["shift"] == 2
        open_one = await api.get("/v1/shifts/2")
        assert open_one.status_code == 404
        assert "/v1/shifts/current" in open_one.json()["message"]
        # A retry of the close already done, naming its shift, closes nothing more.
        retry = await api.post("/v1/shifts/current/close", json={"shift": 1})
        assert retry.status_code == 409
        assert (retry.json()["code"], retry.json()["current_shift"]) == ("shift_not_current", 2)
        nxt = await api.post("/v1/payments", json=body("P2"), headers={"Idempotency-Key": "n"})
        assert (await wait_state(api, nxt.json()["id"], "pending"))["shift"] == 2
    assert running.terminal.journal.current_shift() == 2


async def test_close_during_a_payment_is_refused_with_what_the_terminal_does(
    running: Running,
) -> None:
    async with running.client(await running.pair()) as api:
        created = await api.post("/v1/payments", json=body(), headers={"Idempotency-Key": "p"})
        await wait_state(api, created.json()["id"], "pending")
        refused = await api.post("/v1/shifts/current/close", json={"shift": 1})
        assert refused.status_code == 409
        problem = refused.json()
        assert (problem["code"], problem["phase"], problem["current_shift"]) == (
            "busy",
            "waiting",
            1,
        )
        assert problem["doing"] == "a payment is under way"
        assert "stays open" in problem["message"]
    assert running.terminal.journal.current_shift() == 1
    assert running.terminal.runtime.state.shift == 1
