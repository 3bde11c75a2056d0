"""The contract every provider driver keeps, each run against its own loopback fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from terminal.errors import (
    ProviderProtocolError,
    ProviderTechnicalError,
    ProviderTimeout,
    ProviderUnavailable,
)
from terminal.money import Money
from terminal.providers.base import FINAL_STATUSES, Order, PaymentStatus
from terminal.providers.fake_app import DUPLICATE_REFUNDS
from tests.contract.kit import CODE, DRIVERS, Kit, running_kit

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")


@pytest.fixture(params=DRIVERS)
async def kit(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Kit]:
    async with running_kit(request.param, tmp_path) as started:
        yield started


async def _start(kit: Kit, order):  # type: ignore[no-untyped-def]
    """Start a payment the way the driver supports: a QR if it can, else the customer's code."""
    if kit.provider.capabilities.supports_mpm:
        return await kit.provider.create_invoice(order)
    return await kit.provider.pay_with_code(order, CODE)


async def test_mpm_paid(kit: Kit) -> None:
    if not kit.provider.capabilities.supports_mpm:
        pytest.skip(f"{kit.driver} shows no QR")
    order = kit.order()
    created = await kit.provider.create_invoice(order)
    assert created.status is PaymentStatus.PENDING
    assert created.qr_payload
    assert (await kit.provider.query(order)).status is PaymentStatus.PENDING
    await kit.customer("pay", order.order_id)
    paid = await kit.provider.query(order)
    assert paid.status is PaymentStatus.PAID
    assert paid.raw_status
    assert kit.ledger.charges(order.order_id) == 1


async def test_cpm_paid(kit: Kit) -> None:
    if not kit.provider.capabilities.supports_cpm:
        pytest.skip(f"{kit.driver} takes no customer codes")
    order = kit.order()
    first = await kit.provider.pay_with_code(order, CODE)
    assert first.status in (PaymentStatus.PENDING, PaymentStatus.PAID)
    if first.status is PaymentStatus.PENDING:
        await kit.customer("pay", order.order_id)
    assert (await kit.provider.query(order)).status is PaymentStatus.PAID
    assert kit.ledger.charges() == 1


async def test_declined(kit: Kit) -> None:
    order = kit.order()
    assert (await _start(kit, order)).status is PaymentStatus.PENDING
    await kit.customer("decline", order.order_id)
    assert (await kit.provider.query(order)).status is PaymentStatus.DECLINED


async def test_customer_never_confirms_then_cancel(kit: Kit) -> None:
    order = kit.order()
    await _start(kit, order)
    await kit.customer("abandon", order.order_id)
    assert (await kit.provider.query(order)).status is PaymentStatus.PENDING
    cancelled = await kit.provider.cancel(order)
    assert cancelled.status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED)
    assert (await kit.provider.query(order)).status in FINAL_STATUSES
    assert kit.ledger.charges() == 0


async def test_cancel_of_a_paid_payment_says_paid(kit: Kit) -> None:
    order = kit.order()
    await _start(kit, order)
    await kit.customer("pay", order.order_id)
    assert (await kit.provider.cancel(order)).status in (PaymentStatus.PAID, PaymentStatus.REFUNDED)


async def test_answer_lost_after_charge_is_found_by_query(kit: Kit) -> None:
    order = kit.order()
    # Lose the answer of the request that charges (a driver may ask other things first,
    # e.g. Sendy's transaction counters, which the fake names in CHARGE_PATHS_PREFIX).
    prefix = getattr(kit.server.app, "CHARGE_PATHS_PREFIX", "/")
    kit.server.http.set_misbehaviour("lose_answer", count=1, paths_prefix=prefix)
    with pytest.raises(ProviderTechnicalError):
        await _start(kit, order)
    found = await kit.provider.query(order)
    assert found.status is PaymentStatus.PENDING, "the provider had taken the order"
    await kit.customer("pay", order.order_id)
    assert (await kit.provider.query(order)).status is PaymentStatus.PAID
    assert len(kit.ledger.payments()) == 1
    assert kit.ledger.charges() == 1


async def test_refund_twice_with_one_reference_refunds_once(kit: Kit) -> None:
    if not kit.provider.capabilities.supports_refund:
        pytest.skip(f"{kit.driver} has no refunds")
    order = kit.order()
    await _start(kit, order)
    await kit.customer("pay", order.order_id)
    for _ in range(2):
        answer = await kit.provider.refund(order, f"{order.order_id}-void", order.amount)
        assert answer.status is PaymentStatus.REFUNDED
    assert len(kit.ledger.refunds()) == 1


async def _paid(kit: Kit) -> Order:
    """A payment the customer paid, on a driver that refunds."""
    if not kit.provider.capabilities.supports_refund:
        pytest.skip(f"{kit.driver} has no refunds")
    order = kit.order()
    await _start(kit, order)
    await kit.customer("pay", order.order_id)
    assert (await kit.provider.query(order)).status is PaymentStatus.PAID
    return order


async def _refunds_behave(kit: Kit, duplicate: str, *, visible: bool = True) -> None:
    """Tell the fake how to answer a repeated refund and whether its lookups show refunds."""
    if kit.driver == "sandbox":
        if duplicate != "replay" or not visible:
            pytest.skip("the sandbox's own protocol answers a repeat with the first refund")
        return
    response = await kit.control("/control/refunds", {"duplicate": duplicate, "visible": visible})
    assert response.status_code == 200, response.text


async def _refund_with_the_answer_lost(kit: Kit, order: Order) -> None:
    """Send the refund; the provider books it and the answer never comes back."""
    kit.server.http.set_misbehaviour("lose_answer", count=1)
    with pytest.raises(ProviderTechnicalError):
        await kit.provider.refund(order, f"{order.order_id}-void", order.amount)
    assert len(kit.ledger.refunds()) == 1, "the provider booked the refund"


@pytest.mark.parametrize("duplicate", DUPLICATE_REFUNDS)
async def test_a_lost_refund_answer_then_the_retry_is_refunded_once(
    kit: Kit, duplicate: str
) -> None:
    order = await _paid(kit)
    await _refunds_behave(kit, duplicate)
    await _refund_with_the_answer_lost(kit, order)
    again = await kit.provider.refund(order, f"{order.order_id}-void", order.amount)
    assert again.status is PaymentStatus.REFUNDED, again
    assert len(kit.ledger.refunds()) == 1
    # What reconciliation asks about a voiding payment: the refund shows.
    assert (await kit.provider.query(order)).status is PaymentStatus.REFUNDED


async def test_a_repeated_refund_the_provider_does_not_show_yet_is_pending(kit: Kit) -> None:
    order = await _paid(kit)
    await _refunds_behave(kit, "refuse", visible=False)
    await _refund_with_the_answer_lost(kit, order)
    again = await kit.provider.refund(order, f"{order.order_id}-void", order.amount)
    assert again.status is PaymentStatus.PENDING, again
    assert (await kit.provider.query(order)).status is PaymentStatus.PAID
    await _refunds_behave(kit, "refuse", visible=True)
    last = await kit.provider.refund(order, f"{order.order_id}-void", order.amount)
    assert last.status is PaymentStatus.REFUNDED, last
    assert len(kit.ledger.refunds()) == 1


@pytest.mark.parametrize("duplicate", DUPLICATE_REFUNDS)
async def test_a_refund_refused_for_a_business_reason_still_reads_refused(
    kit: Kit, duplicate: str
) -> None:
    order = await _paid(kit)
    await _refunds_behave(kit, duplicate)
    more = Money(order.amount.amount_minor + 1, order.amount.currency)
    refused = await kit.provider.refund(order, f"{order.order_id}-void", more)
    assert refused.status is PaymentStatus.PAID, refused
    assert refused.message
    assert kit.ledger.refunds() == []


async def test_unknown_order_is_not_found(kit: Kit) -> None:
    assert (await kit.provider.query(kit.order())).status is PaymentStatus.NOT_FOUND


@pytest.mark.parametrize(
    ("mode", "error"),
    [("error", ProviderUnavailable), ("drop", ProviderUnavailable),
     ("garbage", ProviderProtocolError)],
)  # fmt: skip
async def test_misbehaviour_is_a_technical_error(
    kit: Kit, mode: str, error: type[ProviderTechnicalError]
) -> None:
    order = kit.order()
    await _start(kit, order)
    await kit.customer("pay", order.order_id)
    kit.server.http.set_misbehaviour(mode)
    for _ in range(3):  # every poll fails the same way: the engine's budget counts them
        with pytest.raises(error):
            await kit.provider.query(order)


@pytest.mark.parametrize("driver", DRIVERS)
async def test_slow_answer_is_a_timeout(driver: str, tmp_path: Path) -> None:
    async with running_kit(driver, tmp_path, read_timeout_s=0.2) as slow:
        slow.server.http.set_misbehaviour("slow", delay_s=1.0)
        with pytest.raises(ProviderTimeout):
            await slow.provider.query(slow.order())


async def test_wrong_signature_is_never_paid(kit: Kit) -> None:
    if kit.driver == "sandbox":
        pytest.skip("the sandbox protocol is not signed")
    order = kit.order()
    await _start(kit, order)
    await kit.customer("pay", order.order_id)
    response = await kit.control("/control/signatures", {"valid": False})
    assert response.status_code == 200
    with pytest.raises(ProviderProtocolError):
        await kit.provider.query(order)


async def test_one_connection_serves_every_poll(kit: Kit) -> None:
    order = kit.order()
    await _start(kit, order)
    for _ in range(5):
        await kit.provider.query(order)
    assert kit.server.http.connections_accepted == 1


@pytest.mark.parametrize(
    "body", [{"duplicate": "ignore"}, {"visible": "no"}, {"duplicate": None, "visible": True}]
)
async def test_the_refund_switch_refuses_what_it_does_not_know(
    kit: Kit, body: dict[str, object]
) -> None:
    if kit.driver == "sandbox":
        pytest.skip("the sandbox has no refund switch")
    response = await kit.control("/control/refunds", body)
    assert response.status_code == 400
    assert "duplicate" in response.json()["message"]
