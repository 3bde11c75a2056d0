"""Tests for the sandbox driver against the real sandbox server on 127.0.0.1, plus the registry."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.config.model import ProviderConfig
from terminal.errors import (
    ConfigError,
    ProviderProtocolError,
    ProviderTechnicalError,
    ProviderTimeout,
    ProviderUnavailable,
)
from terminal.money import Money
from terminal.providers.base import Capabilities, Order, PaymentStatus, Provider
from terminal.providers.httpx_errors import read_json, translate_httpx_errors
from terminal.providers.loopback_http import LoopbackHTTPServer, Mode, Request, Response
from terminal.providers.registry import build_client, build_provider, capabilities_from
from terminal.providers.sandbox import SandboxProvider, SandboxServer
from terminal.providers.sandbox.ledger import QR_BASE

CODE = "281234567890123456"
CFG = ProviderConfig(connect_timeout_s=2.0, read_timeout_s=5.0)


pytestmark = pytest.mark.usefixtures("no_asyncio_errors")


def order(n: int = 1, amount_minor: int = 1250) -> Order:
    return Order(f"T0001-{n:06d}", Money(amount_minor, "RUB"), "coffee")


async def customer(
    sandbox: SandboxServer, action: str, order_id: str | None = None
) -> dict[str, Any]:
    """Act as the customer through the sandbox's control endpoint."""
    async with httpx.AsyncClient(base_url=sandbox.url, trust_env=False) as control:
        answer = await control.post(
            "/control/customer", json={"action": action, "order_id": order_id}
        )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


async def ledger_view(sandbox: SandboxServer) -> dict[str, Any]:
    """Read the whole ledger through the sandbox's control endpoint."""
    async with httpx.AsyncClient(base_url=sandbox.url, trust_env=False) as control:
        data: dict[str, Any] = (await control.get("/control/ledger")).json()
    return data


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(tmp_path / "ledger.sqlite") as server:
        yield server


@pytest.fixture
async def provider(sandbox: SandboxServer) -> AsyncIterator[Provider]:
    driver = build_provider("sandbox", CFG, api_key=None, base_url=sandbox.url)
    yield driver
    await driver.aclose()


# -- flows ---------------------------------------------------------------------------


async def test_mpm_invoice_then_customer_pays(sandbox: SandboxServer, provider: Provider) -> None:
    created = await provider.create_invoice(order())
    assert created.status is PaymentStatus.PENDING
    assert created.raw_status == "pending"
    assert created.qr_payload == f"{QR_BASE}{created.provider_ref}"
    assert (await provider.query(order())).status is PaymentStatus.PENDING
    await customer(sandbox, "pay")
    paid = await provider.query(order())
    assert (paid.status, paid.raw_status) == (PaymentStatus.PAID, "paid")
    assert sandbox.ledger.charges(order().order_id) == 1


async def test_cpm_pending_until_the_customer_confirms(
    sandbox: SandboxServer, provider: Provider
) -> None:
    answer = await provider.pay_with_code(order(2), CODE)
    assert answer.status is PaymentStatus.PENDING
    assert answer.qr_payload is None
    await customer(sandbox, "pay", order(2).order_id)
    assert (await provider.query(order(2))).status is PaymentStatus.PAID
    record = sandbox.ledger.get(order(2).order_id)
    assert record is not None
    assert record.code_masked == "2812**********3456"


async def test_cpm_with_an_invalid_code_is_declined(provider: Provider) -> None:
    answer = await provider.pay_with_code(order(), "12ab")
    assert (answer.status, answer.message) == (PaymentStatus.DECLINED, "invalid payment code")


async def test_customer_declines(sandbox: SandboxServer, provider: Provider) -> None:
    await provider.create_invoice(order())
    await customer(sandbox, "decline")
    assert (await provider.query(order())).status is PaymentStatus.DECLINED


async def test_customer_lets_the_invoice_expire(sandbox: SandboxServer, provider: Provider) -> None:
    await provider.create_invoice(order())
    await customer(sandbox, "expire")
    assert (await provider.query(order())).status is PaymentStatus.EXPIRED


async def test_query_of_an_unknown_order_is_not_found(provider: Provider) -> None:
    answer = await provider.query(order(99))
    assert answer.status is PaymentStatus.NOT_FOUND


async def test_cancel_of_a_pending_invoice(provider: Provider) -> None:
    await provider.create_invoice(order())
    assert (await provider.cancel(order())).status is PaymentStatus.CANCELLED
    assert (await provider.query(order())).status is PaymentStatus.CANCELLED


async def test_cancel_of_a_paid_payment_answers_paid(
    sandbox: SandboxServer, provider: Provider
) -> None:
    await provider.create_invoice(order())
    await customer(sandbox, "pay")
    answer = await provider.cancel(order())
    assert (answer.status, answer.raw_status) == (PaymentStatus.PAID, "paid")
    assert sandbox.ledger.charges() == 1


async def test_cancel_of_an_unknown_order_is_not_found(provider: Provider) -> None:
    assert (await provider.cancel(order(42))).status is PaymentStatus.NOT_FOUND


async def test_refund_twice_with_one_refund_id_refunds_once(
    sandbox: SandboxServer, provider: Provider
) -> None:
    await provider.create_invoice(order())
    await customer(sandbox, "pay")
    first = await provider.refund(order(), "T0001-000001-R1", Money(1250, "RUB"))
    second = await provider.refund(order(), "T0001-000001-R1", Money(1250, "RUB"))
    assert first.status is second.status is PaymentStatus.REFUNDED
    assert first.raw_status == second.raw_status == "refunded"
    view = await ledger_view(sandbox)
    assert len(view["refunds"]) == 1
    assert view["payments"][0]["status"] == "refunded"
    assert (await provider.query(order())).status is PaymentStatus.REFUNDED


async def test_refund_of_an_unpaid_payment_is_refused(provider: Provider) -> None:
    await provider.create_invoice(order())
    answer = await provider.refund(order(), "R1", Money(100, "RUB"))
    assert (answer.status, answer.raw_status) == (PaymentStatus.PENDING, "not_paid")


async def test_refund_of_more_than_was_paid_is_refused(
    sandbox: SandboxServer, provider: Provider
) -> None:
    await provider.create_invoice(order())
    await customer(sandbox, "pay")
    answer = await provider.refund(order(), "R1", Money(5000, "RUB"))
    assert (answer.status, answer.raw_status) == (PaymentStatus.PAID, "exceeds")


async def test_a_refund_id_booked_already_is_never_read_as_refused(
    sandbox: SandboxServer, provider: Provider
) -> None:
    await provider.create_invoice(order())
    await customer(sandbox, "pay")
    await provider.refund(order(), "R1", Money(500, "RUB"))
    answer = await provider.refund(order(), "R1", Money(1250, "RUB"))
    assert (answer.status, answer.raw_status) == (PaymentStatus.PENDING, "conflict")
    assert len((await ledger_view(sandbox))["refunds"]) == 1


async def test_reused_order_id_with_another_amount_is_declined(provider: Provider) -> None:
    await provider.create_invoice(order(amount_minor=100))
    answer = await provider.create_invoice(order(amount_minor=200))
    assert (answer.status, answer.raw_status) == (PaymentStatus.DECLINED, "conflict")


async def test_order_id_is_sent_as_the_idempotency_key(
    sandbox: SandboxServer, provider: Provider
) -> None:
    first = await provider.create_invoice(order())
    again = await provider.create_invoice(order())
    assert again.provider_ref == first.provider_ref
    assert len(sandbox.ledger.payments()) == 1


# -- technical failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("error", ProviderUnavailable),
        ("drop", ProviderUnavailable),
        ("garbage", ProviderProtocolError),
        ("lose_answer", ProviderUnavailable),
    ],
)
async def test_misbehaviour_maps_to_the_technical_error_tree(
    sandbox: SandboxServer, provider: Provider, mode: Mode, error: type[Exception]
) -> None:
    sandbox.http.set_misbehaviour(mode, count=1)
    with pytest.raises(error) as caught:
        await provider.create_invoice(order())
    assert caught.value.provider == "sandbox"  # type: ignore[attr-defined]
    assert caught.value.order_id == order().order_id  # type: ignore[attr-defined]


async def test_slow_answer_is_a_timeout(sandbox: SandboxServer) -> None:
    cfg = ProviderConfig(connect_timeout_s=2.0, read_timeout_s=0.2)
    driver = build_provider("sandbox", cfg, api_key=None, base_url=sandbox.url)
    sandbox.http.set_misbehaviour("slow", delay_s=30.0)
    try:
        with pytest.raises(ProviderTimeout) as caught:
            await driver.query(order())
        assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    finally:
        await driver.aclose()


async def test_reset_carries_the_httpx_cause(sandbox: SandboxServer, provider: Provider) -> None:
    sandbox.http.set_misbehaviour("drop", count=1)
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.query(order())
    assert isinstance(caught.value.__cause__, httpx.TransportError)


async def test_lost_answer_then_query_finds_exactly_one_invoice(
    sandbox: SandboxServer, provider: Provider
) -> None:
    sandbox.http.set_misbehaviour("lose_answer", count=1)
    with pytest.raises(ProviderUnavailable):
        await provider.create_invoice(order())
    found = await provider.query(order())
    assert found.status is PaymentStatus.PENDING
    assert found.qr_payload is not None
    view = await ledger_view(sandbox)
    assert [p["order_id"] for p in view["payments"]] == [order().order_id]


async def test_no_server_is_unavailable(tmp_path: Path) -> None:
    async with SandboxServer(tmp_path / "ledger.sqlite") as server:
        url = server.url
    driver = build_provider("sandbox", CFG, api_key=None, base_url=url)
    try:
        with pytest.raises(ProviderUnavailable):
            await driver.query(order())
    finally:
        await driver.aclose()


async def test_driver_never_retries_by_itself(sandbox: SandboxServer, provider: Provider) -> None:
    sandbox.http.set_misbehaviour("error")
    with pytest.raises(ProviderUnavailable):
        await provider.query(order())
    assert sandbox.http.requests_received == 1


async def test_one_client_connection_serves_every_call(
    sandbox: SandboxServer, provider: Provider
) -> None:
    await provider.create_invoice(order())
    await provider.query(order())
    await provider.query(order())
    await provider.cancel(order())
    await provider.pay_with_code(order(2), CODE)
    assert sandbox.http.connections_accepted == 1
    assert sandbox.http.requests_received == 5


async def test_ledger_survives_a_sandbox_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    async with SandboxServer(path) as first:
        driver = build_provider("sandbox", CFG, api_key=None, base_url=first.url)
        await driver.create_invoice(order())
        await customer(first, "pay")
        await driver.aclose()
    async with SandboxServer(path) as second:
        driver = build_provider("sandbox", CFG, api_key=None, base_url=second.url)
        try:
            assert (await driver.query(order())).status is PaymentStatus.PAID
        finally:
            await driver.aclose()
        assert second.ledger.charges() == 1


# -- auth and secrets ------------------------------------------------------------------


async def test_api_key_is_required_when_the_sandbox_has_one(tmp_path: Path) -> None:
    async with SandboxServer(tmp_path / "ledger.sqlite", api_key="s3cret-key") as server:
        keyless = build_provider("sandbox", CFG, api_key=None, base_url=server.url)
        keyed = build_provider("sandbox", CFG, api_key="s3cret-key", base_url=server.url)
        wrong = build_provider("sandbox", CFG, api_key="guess", base_url=server.url)
        try:
            with pytest.raises(ProviderProtocolError, match="401") as caught:
                await keyless.create_invoice(order())
            with pytest.raises(ProviderProtocolError, match="401"):
                await wrong.query(order())
            assert "s3cret" not in str(caught.value)
            assert (await keyed.create_invoice(order())).status is PaymentStatus.PENDING
            assert len(server.ledger.payments()) == 1
        finally:
            for driver in (keyless, keyed, wrong):
                await driver.aclose()


async def test_codes_and_keys_never_reach_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with SandboxServer(tmp_path / "ledger.sqlite", api_key="s3cret-key") as server:
        driver = build_provider("sandbox", CFG, api_key="s3cret-key", base_url=server.url)
        try:
            await driver.pay_with_code(order(), CODE)
        finally:
            await driver.aclose()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "2812**********3456" in logged
    assert CODE not in logged
    assert "s3cret" not in logged


# -- wrong-shaped answers --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "T0001-000001", "status": "teleported"},
        {"order_id": "T0001-000002", "status": "paid"},
        {"order_id": "T0001-000001"},
        {"order_id": "T0001-000001", "status": True},
        ["paid"],
    ],
)
async def test_wrong_shaped_answers_are_protocol_errors(body: object) -> None:
    async def handler(request: Request) -> Response:
        return Response.json(body)

    async with LoopbackHTTPServer(handler) as server:
        driver = build_provider("sandbox", CFG, api_key=None, base_url=server.url)
        try:
            with pytest.raises(ProviderProtocolError):
                await driver.query(order())
        finally:
            await driver.aclose()


def test_read_json_rejects_bool_for_int() -> None:
    response = httpx.Response(200, json={"amount_minor": True})
    with pytest.raises(ProviderProtocolError, match="amount_minor"):
        read_json(response, provider="p", required={"amount_minor": int})
    assert read_json(httpx.Response(200, json={"amount_minor": 5}), provider="p") == {
        "amount_minor": 5
    }


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ProviderUnavailable), (503, ProviderUnavailable), (429, ProviderUnavailable)],
)
def test_read_json_turns_server_errors_into_unavailable(
    status: int, error: type[ProviderTechnicalError]
) -> None:
    with pytest.raises(error, match=str(status)):
        read_json(httpx.Response(status, json={}), provider="p", order_id="o1")


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        (httpx.ConnectTimeout("t"), ProviderTimeout),
        (httpx.PoolTimeout("t"), ProviderTimeout),
        (httpx.ConnectError("c"), ProviderUnavailable),
        (httpx.WriteError("w"), ProviderUnavailable),
        (httpx.RemoteProtocolError("r"), ProviderUnavailable),
        (httpx.DecodingError("d"), ProviderProtocolError),
    ],
)
def test_translate_httpx_errors(raised: Exception, error: type[ProviderTechnicalError]) -> None:
    with pytest.raises(error) as caught, translate_httpx_errors("pm", "o7"):
        raise raised
    assert (caught.value.provider, caught.value.order_id) == ("pm", "o7")
    assert caught.value.__cause__ is raised


def test_translate_httpx_errors_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), translate_httpx_errors("pm"):
        raise KeyError("x")


# -- registry --------------------------------------------------------------------------


def test_unknown_driver_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"providers\.pm\.driver") as caught:
        build_provider("pm", ProviderConfig(driver="paymaster9"), api_key=None)
    assert caught.value.key == "providers.pm.driver"


def test_embedded_url_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match=r"providers\.sandbox\.url"):
        build_provider("sandbox", ProviderConfig(), api_key=None)


async def test_built_client_has_explicit_timeouts() -> None:
    cfg = ProviderConfig(connect_timeout_s=1.5, read_timeout_s=7.0)
    client = build_client(cfg)
    try:
        assert client.timeout == httpx.Timeout(connect=1.5, read=7.0, write=7.0, pool=1.5)
    finally:
        await client.aclose()


def test_capabilities_come_from_the_config() -> None:
    cfg = ProviderConfig(poll_interval_s=5.0, technical_error_budget=3, invoice_lifetime_s=600.0)
    caps = capabilities_from(cfg)
    assert (caps.poll_interval_s, caps.technical_error_budget, caps.invoice_lifetime_s) == (
        5.0,
        3,
        600.0,
    )


async def test_an_injected_client_is_used_and_left_open(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        driver = build_provider(
            "sandbox", ProviderConfig(), api_key=None, client=client, base_url=sandbox.url
        )
        assert isinstance(driver, SandboxProvider)
        await driver.create_invoice(order())
        await driver.aclose()
        assert not client.is_closed
        assert (await client.get(f"{sandbox.url}/v1/payments/{order().order_id}")).is_success


async def test_driver_owning_its_client_closes_it(sandbox: SandboxServer) -> None:
    client = httpx.AsyncClient(trust_env=False)
    driver = SandboxProvider("sandbox", Capabilities(), client=client, base_url=sandbox.url)
    await driver.aclose()
    await driver.aclose()
    assert client.is_closed
