"""PayMaster's wire format: request shapes, exact amounts, statuses, integrity checks, the fake.

PayMaster API v2 signs neither requests nor answers (a Bearer token authenticates the
terminal), so there are no signing vectors to reproduce. What stands in for a response
signature is the integrity check: an answer about another merchant, order, payment or
amount is a ``ProviderProtocolError``, never "paid".
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.config.model import ProviderConfig
from terminal.errors import ConfigError, ProviderProtocolError, ProviderUnavailable
from terminal.money import Money
from terminal.providers.base import Order, PaymentStatus
from terminal.providers.loopback_http import Request
from terminal.providers.paymaster import codec as wire
from terminal.providers.paymaster.driver import PayMasterProvider
from terminal.providers.paymaster.fake import DEMO_MERCHANT, PayMasterFake, sbp_link
from terminal.providers.registry import build_provider
from terminal.providers.sandbox.ledger import SandboxLedger
from terminal.providers.sandbox.server import SandboxServer

TOKEN = "tok-0123456789abcdef"
MERCHANT = "7f1c2d3e-0000-4000-8000-000000000001"
NOW = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
ORDER = Order("T0001-c0de-000042", Money(12_550, "RUB"), "Coffee")
PAY_ID = "1234567890"
LINK = "https://qr.nspk.ru/AD10000ABCDEFGHIJKLMNOPQRSTUVWXY?type=02&bank=100000000000&sum=12550&cur=RUB&crc=1A2B"
STICKER_LINK = (
    "https://qr.nspk.ru/AS10000ABCDEFGHIJKLMNOPQRSTUVWXY?type=01&bank=100000000000&crc=0F0F"
)

Handler = Callable[[httpx.Request], httpx.Response]


def payment(status: str = "Pending", **changes: Any) -> dict[str, Any]:
    """A payment's details as PayMaster answers them, about ``ORDER``."""
    data: dict[str, Any] = {
        "id": PAY_ID,
        "created": "2026-05-04T10:00:00Z",
        "testMode": False,
        "status": status,
        "merchantId": MERCHANT,
        "amount": {"value": Decimal("125.50"), "currency": "RUB"},
        "invoice": {"description": "Coffee", "orderNo": ORDER.order_id},
        "paymentData": {"paymentMethod": "Sbp"},
        "confirmation": {"type": "External", "paymentUrl": LINK},
    }
    data.update(changes)
    return data


def answer(data: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=wire.encode(data))


def driver(handler: Handler, **options: str) -> PayMasterProvider:
    """A driver whose every request goes to ``handler``."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return PayMasterProvider(
        "paymaster",
        PayMasterProvider.DEFAULT_CAPABILITIES,
        client=client,
        base_url="https://paymaster.ru",
        options={"merchant_id": MERCHANT, **options},
        secrets={"token": TOKEN},
        now=lambda: NOW,
    )


class Recorder:
    """A MockTransport handler answering from a queue and keeping every request.

    The refund list (``GET /api/v2/refunds``) is answered apart, from ``refund_list`` (no
    refunds unless a test says otherwise), and its requests kept in ``refund_requests``.
    """

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.refund_list: httpx.Response | dict[str, Any] = {"items": []}
        self.refund_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) == ("GET", "/api/v2/refunds"):
            self.refund_requests.append(request)
            listed = self.refund_list
            return listed if isinstance(listed, httpx.Response) else answer(listed)
        self.requests.append(request)
        return self.answers.pop(0)

    def body(self, index: int) -> Any:
        return wire.decode(self.requests[index].content)


# -- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "literal"),
    [(Money(12_550, "RUB"), "125.50"), (Money(1, "RUB"), "0.01"),
     (Money(999_999_999_999_99, "RUB"), "999999999999.99"), (Money(500, "JPY"), "500")],
)  # fmt: skip
def test_amounts_go_out_as_exact_decimal_numbers(money: Money, literal: str) -> None:
    text = wire.encode({"amount": wire.amount_json(money)}).decode()
    assert text == f'{{"amount":{{"value":{literal},"currency":"{money.currency}"}}}}'
    assert wire.amount_of(wire.decode(text.encode())["amount"]) == money


@pytest.mark.parametrize(
    ("value", "minor"), [(Decimal("125.5"), 12_550), (125, 12_500), ("0.10", 10)]
)
def test_amounts_come_back_exact(value: object, minor: int) -> None:
    assert wire.amount_of({"value": value, "currency": "RUB"}) == Money(minor, "RUB")


@pytest.mark.parametrize("value", [Decimal("125.505"), True, None, "12,50", "NaN"])
def test_an_amount_that_is_not_whole_kopecks_is_refused(value: object) -> None:
    with pytest.raises(wire.WireError):
        wire.amount_of({"value": value, "currency": "RUB"})


def test_a_text_value_cannot_smuggle_a_number_into_the_body() -> None:
    body = wire.encode({"d": "\x000\x00", "v": Decimal("1.00")}).decode()
    assert json.loads(body) == {"d": "0", "v": 1.0}


# -- requests ------------------------------------------------------------------------------


async def test_create_sends_an_sbp_payment_with_the_order_id_as_key_and_order_no() -> None:
    recorder = Recorder(answer(payment()))
    created = await driver(recorder).create_invoice(ORDER)
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v2/payments")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == ORDER.order_id
    assert request.headers["content-type"] == "application/json"
    assert b'"value":125.50' in request.content
    assert recorder.body(0) == {
        "merchantId": MERCHANT,
        "invoice": {"description": "Coffee", "orderNo": ORDER.order_id,
                    "expires": "2026-05-04T10:05:00Z"},
        "amount": {"value": Decimal("125.50"), "currency": "RUB"},
        "paymentData": {"paymentMethod": "sbp"},
    }  # fmt: skip
    assert (created.status, created.raw_status) == (PaymentStatus.PENDING, "Pending")
    assert (created.provider_ref, created.qr_payload) == (PAY_ID, LINK)


async def test_test_mode_is_sent_and_expires_can_be_left_out() -> None:
    recorder = Recorder(answer(payment(testMode=True)))
    await driver(recorder, test_mode="true", send_expires="false").create_invoice(ORDER)
    body = recorder.body(0)
    assert body["testMode"] is True
    assert "expires" not in body["invoice"]


async def test_polls_go_straight_to_the_payment_by_its_id() -> None:
    recorder = Recorder(answer(payment()), answer(payment("Settled")))
    provider = driver(recorder)
    await provider.create_invoice(ORDER)
    paid = await provider.query(ORDER)
    request = recorder.requests[1]
    assert (request.method, request.url.path) == ("GET", f"/api/v2/payments/{PAY_ID}")
    assert "idempotency-key" not in request.headers
    assert (paid.status, paid.raw_status) == (PaymentStatus.PAID, "Settled")


async def test_a_pending_payment_without_its_sbp_link_is_a_protocol_error() -> None:
    data = payment()
    del data["confirmation"]
    with pytest.raises(ProviderProtocolError, match=r"confirmation\.paymentUrl"):
        await driver(Recorder(answer(data))).create_invoice(ORDER)


async def test_sticker_mode_pays_on_the_cash_link_and_shows_its_payload() -> None:
    sticker = {"id": "555", "cashlink": True, "status": "Active", "payload": STICKER_LINK}
    settled = payment("Pending", paymentData={"paymentMethod": "Sbp", "stickerId": "555"})
    del settled["confirmation"]
    recorder = Recorder(answer(sticker), answer(settled), answer(settled))
    provider = driver(recorder, sticker_id="555")
    assert provider.capabilities.static_qr
    created = await provider.create_invoice(ORDER)
    polled = await provider.query(ORDER)
    assert [r.url.path for r in recorder.requests] == [
        "/api/v2/stickers/555", "/api/v2/payments", f"/api/v2/payments/{PAY_ID}"
    ]  # fmt: skip
    assert recorder.body(1)["paymentData"] == {"paymentMethod": "sbp", "stickerId": "555"}
    assert created.qr_payload == polled.qr_payload == STICKER_LINK


async def test_a_sticker_that_is_no_cash_link_is_refused() -> None:
    sticker = {"id": "555", "cashlink": False, "payload": STICKER_LINK}
    with pytest.raises(ProviderProtocolError, match="not a cash link"):
        await driver(Recorder(answer(sticker)), sticker_id="555").create_invoice(ORDER)


# -- statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "result_code", "expected", "raw"),
    [("Pending", None, PaymentStatus.PENDING, "Pending"),
     ("Confirmation", None, PaymentStatus.PENDING, "Confirmation"),
     ("Authorized", None, PaymentStatus.PENDING, "Authorized"),
     ("Settled", None, PaymentStatus.PAID, "Settled"),
     ("Cancelled", None, PaymentStatus.CANCELLED, "Cancelled"),
     ("Rejected", "CancelledByUser", PaymentStatus.DECLINED, "Rejected:CancelledByUser"),
     ("Rejected", "PaymentExpired", PaymentStatus.EXPIRED, "Rejected:PaymentExpired"),
     ("Cancelled", "PaymentExpired", PaymentStatus.EXPIRED, "Cancelled:PaymentExpired")],
)  # fmt: skip
async def test_statuses_map_and_the_raw_word_is_kept(
    status: str, result_code: str | None, expected: PaymentStatus, raw: str
) -> None:
    data = payment(status, **({"resultCode": result_code} if result_code else {}))
    got = await driver(Recorder(answer(data))).query(
        Order(ORDER.order_id, ORDER.amount, provider_ref=PAY_ID)
    )
    assert (got.status, got.raw_status) == (expected, raw)
    if result_code:
        assert got.message == wire.RESULT_TEXT[result_code]


async def test_the_providers_own_message_wins_over_the_result_code_text() -> None:
    data = payment("Rejected", resultCode="InsufficientFunds", message="Недостаточно средств")
    got = await driver(Recorder(answer(data))).create_invoice(ORDER)
    assert (got.status, got.message) == (PaymentStatus.DECLINED, "Недостаточно средств")


async def test_an_unknown_status_word_is_a_protocol_error_not_pending() -> None:
    with pytest.raises(ProviderProtocolError, match="unknown payment status"):
        await driver(Recorder(answer(payment("Waiting")))).create_invoice(ORDER)


# -- integrity: PayMaster's stand-in for a response signature ------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [({"merchantId": "someone-else"}, "merchant"),
     ({"invoice": {"description": "x", "orderNo": "T0001-c0de-000043"}}, "order"),
     ({"amount": {"value": Decimal("125.51"), "currency": "RUB"}}, "125.51 RUB"),
     ({"amount": {"value": Decimal("125.50"), "currency": "USD"}}, "USD"),
     ({"id": "999"}, "payment 999"),
     ({"testMode": True}, "test-mode"),
     ({"confirmation": {"paymentUrl": "http://evil.invalid/"}}, "https")],
)  # fmt: skip
async def test_an_answer_about_something_else_is_never_paid(
    changes: dict[str, Any], match: str
) -> None:
    order = Order(ORDER.order_id, ORDER.amount, provider_ref=PAY_ID)
    with pytest.raises(ProviderProtocolError, match=match):
        await driver(Recorder(answer(payment("Settled", **changes)))).query(order)


async def test_a_body_that_is_not_json_is_a_protocol_error() -> None:
    recorder = Recorder(httpx.Response(200, content=b"<html>502</html>"))
    with pytest.raises(ProviderProtocolError, match="not JSON"):
        await driver(recorder).create_invoice(ORDER)


# -- refusals ------------------------------------------------------------------------------


async def test_not_authorized_is_a_protocol_error_naming_the_token() -> None:
    refusal = {"code": "not_authorized", "message": "Unauthorized"}
    with pytest.raises(ProviderProtocolError, match=r"providers\.paymaster\.token") as caught:
        await driver(Recorder(answer(refusal, 401))).create_invoice(ORDER)
    assert TOKEN not in str(caught.value)


async def test_validation_error_lists_paymasters_reasons() -> None:
    refusal = {"code": "validation_error", "message": "One or many validation errors.",
               "errors": ["Specify required MerchantId value."]}  # fmt: skip
    with pytest.raises(ProviderProtocolError, match="Specify required MerchantId value"):
        await driver(Recorder(answer(refusal, 400))).create_invoice(ORDER)


async def test_a_4xx_without_an_error_code_is_a_protocol_error() -> None:
    with pytest.raises(ProviderProtocolError, match="HTTP 404 without an error code"):
        await driver(Recorder(answer({"title": "Not Found"}, 404))).create_invoice(ORDER)


async def test_a_server_error_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        await driver(Recorder(httpx.Response(502, content=b"bad gateway"))).create_invoice(ORDER)


async def test_a_key_already_used_means_created_before_so_the_driver_asks() -> None:
    violation = {"code": "idempotency_key_violation", "message": "duplicate"}
    recorder = Recorder(answer(violation, 409), answer({"items": [payment()]}),
                        answer(payment()))  # fmt: skip
    found = await driver(recorder).create_invoice(ORDER)
    assert [r.method for r in recorder.requests] == ["POST", "GET", "GET"]
    assert (found.status, found.provider_ref, found.qr_payload) == (
        PaymentStatus.PENDING, PAY_ID, LINK
    )  # fmt: skip


# -- finding a payment whose create answer was lost ----------------------------------------


async def test_a_lost_create_answer_is_followed_by_a_search_never_a_second_create() -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    recorder = Recorder()
    recorder.answers = [answer({"items": [payment()]}), answer(payment())]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return lost(request) if request.method == "POST" else recorder(request)

    provider = driver(handler)
    with pytest.raises(ProviderUnavailable):
        await provider.create_invoice(ORDER)
    found = await provider.query(ORDER)
    assert [(r.method, r.url.path) for r in requests] == [
        ("POST", "/api/v2/payments"), ("GET", "/api/v2/payments"),
        ("GET", f"/api/v2/payments/{PAY_ID}"),
    ]  # fmt: skip
    assert dict(requests[1].url.params) == {
        "merchantId": MERCHANT, "start": "2026-05-01T10:00:00Z", "end": "2026-05-04T11:00:00Z"
    }  # fmt: skip
    assert (found.status, found.provider_ref) == (PaymentStatus.PENDING, PAY_ID)


async def test_the_search_follows_the_cursor_and_prefers_a_settled_payment() -> None:
    other = payment(id="1", invoice={"description": "x", "orderNo": "T0001-c0de-000001"})
    rejected = payment("Rejected", id="2")
    first_page = answer({"items": [other, rejected], "cursor": "c2"})
    recorder = Recorder(
        first_page, answer({"items": [payment("Settled")]}), answer(payment("Settled"))
    )
    paid = await driver(recorder).query(ORDER)
    assert recorder.requests[1].url.params["cursor"] == "c2"
    assert recorder.requests[2].url.path == f"/api/v2/payments/{PAY_ID}"
    assert paid.status is PaymentStatus.PAID


async def test_an_order_paymaster_never_saw_is_not_found() -> None:
    assert (await driver(Recorder(answer({"items": []}))).query(ORDER)).status is (
        PaymentStatus.NOT_FOUND
    )


async def test_a_list_item_of_another_merchant_is_a_protocol_error() -> None:
    recorder = Recorder(answer({"items": [payment(merchantId="someone-else")]}))
    with pytest.raises(ProviderProtocolError, match="merchant"):
        await driver(recorder).query(ORDER)


# -- cancel and refund ---------------------------------------------------------------------


async def test_cancel_of_a_settled_payment_reports_it_paid() -> None:
    refused = {"code": "invalid_operation", "message": "Payment is settled"}
    recorder = Recorder(answer(refused, 400), answer(payment("Settled")))
    got = await driver(recorder).cancel(Order(ORDER.order_id, ORDER.amount, provider_ref=PAY_ID))
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("PUT", f"/api/v2/payments/{PAY_ID}/cancel")
    assert request.content == b""
    assert got.status is PaymentStatus.PAID


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Success", PaymentStatus.REFUNDED), ("Pending", PaymentStatus.PENDING),
     ("Rejected", PaymentStatus.PAID)],
)  # fmt: skip
async def test_refund_is_keyed_by_the_refund_id(status: str, expected: PaymentStatus) -> None:
    refund = {"id": "77", "paymentId": PAY_ID, "status": status,
              "amount": {"value": Decimal("125.50"), "currency": "RUB"}}  # fmt: skip
    recorder = Recorder(answer(refund))
    order = Order(ORDER.order_id, ORDER.amount, provider_ref=PAY_ID)
    got = await driver(recorder).refund(order, "T0001-c0de-000042-void", ORDER.amount)
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v2/refunds")
    assert request.headers["idempotency-key"] == "T0001-c0de-000042-void"
    assert recorder.body(0) == {
        "paymentId": PAY_ID, "amount": {"value": Decimal("125.50"), "currency": "RUB"}
    }  # fmt: skip
    assert (got.status, got.raw_status) == (expected, status)


async def test_a_refund_answer_about_another_payment_is_a_protocol_error() -> None:
    refund = {"id": "77", "paymentId": "42", "status": "Success",
              "amount": {"value": Decimal("125.50"), "currency": "RUB"}}  # fmt: skip
    order = Order(ORDER.order_id, ORDER.amount, provider_ref=PAY_ID)
    with pytest.raises(ProviderProtocolError, match="payment 42"):
        await driver(Recorder(answer(refund))).refund(order, "r-1", ORDER.amount)


def refund_item(status: str = "Success", value: str = "125.50", **changes: Any) -> dict[str, Any]:
    """A refund as the refund list shows it, of payment ``PAY_ID``."""
    item: dict[str, Any] = {"id": "77", "created": "2026-05-04T10:05:00Z", "paymentId": PAY_ID,
                            "amount": {"value": Decimal(value), "currency": "RUB"},
                            "status": status}  # fmt: skip
    item.update(changes)
    return item


DUPLICATE = {"code": "idempotency_key_violation", "message": "duplicate request"}
PAID_ORDER = Order(ORDER.order_id, ORDER.amount, provider_ref=PAY_ID)


@pytest.mark.parametrize(
    ("listed", "expected"),
    [([refund_item("Success")], PaymentStatus.REFUNDED),
     ([refund_item("Rejected"), refund_item("Success", id="78")], PaymentStatus.REFUNDED),
     ([refund_item("Pending")], PaymentStatus.PENDING),
     ([], PaymentStatus.PENDING),
     ([refund_item("Rejected")], PaymentStatus.PENDING),
     ([refund_item("Success", value="50.00")], PaymentStatus.PENDING),
     ([refund_item("Success", paymentId="999")], PaymentStatus.PENDING)],
)  # fmt: skip
async def test_a_refund_paymaster_calls_a_duplicate_is_looked_up_never_refused(
    listed: list[dict[str, Any]], expected: PaymentStatus
) -> None:
    recorder = Recorder(answer(DUPLICATE, 409))
    recorder.refund_list = {"items": listed}
    got = await driver(recorder).refund(PAID_ORDER, "T0001-c0de-000042-void", ORDER.amount)
    assert (got.status, got.raw_status) == (expected, "idempotency_key_violation")
    assert [r.method for r in recorder.requests] == ["POST"], "no payment status is read"
    (lookup,) = recorder.refund_requests
    assert dict(lookup.url.params) == {"merchantId": MERCHANT, "paymentId": PAY_ID}


@pytest.mark.parametrize(
    "listed",
    [httpx.Response(404, content=b"<html>not found</html>"),
     answer({"code": "validation_error", "message": "Specify required Start value."}, 400),
     {"refunds": []},
     {"items": [refund_item("Returned")]}],
)  # fmt: skip
async def test_a_duplicate_whose_refund_list_cannot_be_read_is_pending(
    listed: httpx.Response | dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(answer(DUPLICATE, 409), answer(DUPLICATE, 409))
    recorder.refund_list = listed
    provider = driver(recorder)
    with caplog.at_level(logging.WARNING, logger="terminal.providers.paymaster"):
        for _ in range(2):
            got = await provider.refund(PAID_ORDER, "r-1", ORDER.amount)
            assert got.status is PaymentStatus.PENDING
    assert len([r for r in caplog.records if "refund_list" in r.getMessage()]) == 1


async def test_a_duplicate_whose_refund_list_is_unreachable_is_a_technical_error() -> None:
    recorder = Recorder(answer(DUPLICATE, 409))
    recorder.refund_list = httpx.Response(503, content=b"busy")
    with pytest.raises(ProviderUnavailable):
        await driver(recorder).refund(PAID_ORDER, "r-1", ORDER.amount)


async def test_a_real_refusal_reads_as_the_payment_still_paid() -> None:
    refused = {"code": "invalid_operation", "message": "Refund is not allowed"}
    recorder = Recorder(answer(refused, 400), answer(payment("Settled")))
    got = await driver(recorder).refund(PAID_ORDER, "r-1", ORDER.amount)
    assert (got.status, got.raw_status) == (PaymentStatus.PAID, "invalid_operation")
    assert got.message == "refund refused: Refund is not allowed"


@pytest.mark.parametrize(
    ("listed", "expected"),
    [([refund_item("Success")], PaymentStatus.REFUNDED),
     ([refund_item("Pending")], PaymentStatus.PENDING)],
)  # fmt: skip
async def test_a_refusal_of_money_already_going_back_is_not_refused(
    listed: list[dict[str, Any]], expected: PaymentStatus
) -> None:
    refused = {"code": "invalid_operation", "message": "Payment is refunded"}
    recorder = Recorder(answer(refused, 400))
    recorder.refund_list = {"items": listed}
    got = await driver(recorder).refund(PAID_ORDER, "r-1", ORDER.amount)
    assert got.status is expected


@pytest.mark.parametrize(
    ("listed", "expected"),
    [({"items": [refund_item("Success")]}, PaymentStatus.REFUNDED),
     ({"items": [refund_item("Success", value="25.50"), refund_item("Success", id="78",
                                                                      value="100.00")]},
      PaymentStatus.REFUNDED),
     ({"items": [refund_item("Success", value="25.50")]}, PaymentStatus.PAID),
     ({"items": [refund_item("Pending")]}, PaymentStatus.PAID),
     ({"items": []}, PaymentStatus.PAID),
     (answer({"code": "not_found", "message": "no such endpoint"}, 404), PaymentStatus.PAID)],
)  # fmt: skip
async def test_a_settled_payment_is_refunded_once_its_refunds_give_it_all_back(
    listed: httpx.Response | dict[str, Any], expected: PaymentStatus
) -> None:
    recorder = Recorder(answer(payment("Settled")))
    recorder.refund_list = listed
    got = await driver(recorder).query(PAID_ORDER)
    assert got.status is expected
    assert len(recorder.refund_requests) == 1


async def test_a_pending_payment_asks_no_refund_list() -> None:
    recorder = Recorder(answer(payment("Pending")))
    assert (await driver(recorder).query(PAID_ORDER)).status is PaymentStatus.PENDING
    assert recorder.refund_requests == []


async def test_a_refund_list_in_another_currency_is_never_refunded() -> None:
    recorder = Recorder(answer(payment("Settled")))
    recorder.refund_list = {"items": [refund_item(amount={"value": Decimal("125.50"),
                                                           "currency": "USD"})]}  # fmt: skip
    assert (await driver(recorder).query(PAID_ORDER)).status is PaymentStatus.PAID


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "secrets", "key"),
    [({"merchant_id": MERCHANT}, {}, "providers.pm.token"),
     ({}, {"token": TOKEN}, "providers.pm.options.merchant_id"),
     ({"merchant_id": MERCHANT, "merchant_no": "1"}, {"token": TOKEN},
      "providers.pm.options.merchant_no"),
     ({"merchant_id": MERCHANT, "test_mode": "maybe"}, {"token": TOKEN},
      "providers.pm.options.test_mode"),
     ({"merchant_id": MERCHANT, "path_prefix": "v1"}, {"token": TOKEN},
      "providers.pm.options.path_prefix"),
     ({"merchant_id": MERCHANT, "lookup_window_h": "0"}, {"token": TOKEN},
      "providers.pm.options.lookup_window_h")],
)  # fmt: skip
def test_missing_or_wrong_settings_name_their_key(
    options: dict[str, str], secrets: dict[str, str], key: str
) -> None:
    cfg = ProviderConfig(driver="paymaster", url="https://paymaster.ru", options=options)
    with pytest.raises(ConfigError) as caught:
        build_provider("pm", cfg, api_key=None, secrets=secrets)
    assert caught.value.key == key


async def test_the_schedule_is_paymasters_and_the_config_may_change_it() -> None:
    cfg = ProviderConfig(driver="paymaster", url="https://paymaster.ru/api/v2",
                         options={"merchant_id": MERCHANT}, poll_interval_s=5.0)  # fmt: skip
    provider = build_provider("pm", cfg, api_key=TOKEN)
    caps = provider.capabilities
    assert (caps.supports_mpm, caps.supports_cpm, caps.supports_refund) == (True, False, True)
    assert (caps.poll_interval_s, caps.first_poll_delay_s) == (5.0, 3.0)
    assert (caps.invoice_lifetime_s, caps.no_answer_timeout_s, caps.static_qr) == (
        300.0, 30.0, False
    )  # fmt: skip
    assert "https://paymaster.ru " in repr(provider)  # the /api/v2 suffix is not doubled
    await provider.aclose()


async def test_the_token_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(answer(payment()), answer(payment("Settled")))
    provider = driver(recorder)
    await provider.create_invoice(ORDER)
    await provider.query(ORDER)
    await provider.pay_with_code(ORDER, "286648397128431234")
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(provider)
    assert "286648397128431234" not in caplog.text


# -- the fake ------------------------------------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[PayMasterFake]:
    ledger = SandboxLedger.open(tmp_path / "ledger.sqlite3")
    yield PayMasterFake(ledger)
    ledger.close()


def fake_request(method: str, path: str, body: dict[str, Any] | None = None,
                 **headers: str) -> Request:  # fmt: skip
    token = PayMasterFake.DEMO_SECRETS["token"]
    sent = {"authorization": f"Bearer {token}", "content-type": "application/json",
            "idempotency-key": "k-1", **headers}  # fmt: skip
    return Request(method, path, headers=sent, body=wire.encode(body or {}))


def create_body(**changes: Any) -> dict[str, Any]:
    body = wire.payment_body(ORDER, merchant_id=DEMO_MERCHANT, test_mode=True)
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [({"authorization": "Bearer wrong"}, create_body(), 401, "not_authorized"),
     ({"authorization": ""}, create_body(), 401, "not_authorized"),
     ({}, create_body(merchantId="someone-else"), 403, "not_authorized"),
     ({"idempotency-key": ""}, create_body(), 400, "validation_error"),
     ({"content-type": "text/plain"}, create_body(), 400, "validation_error"),
     ({}, create_body(amount={"value": Decimal("1.005"), "currency": "RUB"}), 400,
      "validation_error"),
     ({}, create_body(paymentData={"paymentMethod": "bankcard"}), 400, "validation_error"),
     ({}, create_body(invoice={"orderNo": "x", "description": "y",
                               "expires": "2001-01-01T00:00:00Z"}), 400, "validation_error")],
)  # fmt: skip
async def test_the_fake_refuses_what_paymaster_refuses(
    fake: PayMasterFake, headers: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    response = await fake(fake_request("POST", "/api/v2/payments", body, **headers))
    assert response.status == status
    assert wire.decode(response.body)["code"] == code
    assert fake.ledger.payments() == []


async def test_the_fake_answers_a_payment_with_a_real_shaped_sbp_link(fake: PayMasterFake) -> None:
    response = await fake(fake_request("POST", "/api/v2/payments", create_body()))
    data = wire.decode(response.body)
    assert (data["status"], data["merchantId"], data["testMode"]) == (
        "Pending",
        DEMO_MERCHANT,
        True,
    )
    assert data["amount"] == {"value": Decimal("125.50"), "currency": "RUB"}
    link = data["confirmation"]["paymentUrl"]
    assert re.fullmatch(
        r"https://qr\.nspk\.ru/AD[A-Z2-7]{30}\?type=02&bank=\d{12}&sum=12550&cur=RUB"
        r"&crc=[0-9A-F]{4}", link,
    )  # fmt: skip
    record = fake.ledger.get(ORDER.order_id)
    assert record is not None
    assert link == sbp_link(record)


async def test_the_fake_takes_a_repeat_as_the_same_payment_and_another_amount_as_a_violation(
    fake: PayMasterFake,
) -> None:
    first = await fake(fake_request("POST", "/api/v2/payments", create_body()))
    again = await fake(fake_request("POST", "/api/v2/payments", create_body()))
    assert wire.decode(first.body)["id"] == wire.decode(again.body)["id"]
    other = create_body(amount={"value": Decimal("1.00"), "currency": "RUB"})
    refused = await fake(fake_request("POST", "/api/v2/payments", other))
    assert (refused.status, wire.decode(refused.body)["code"]) == (409, "idempotency_key_violation")
    assert len(fake.ledger.payments()) == 1


# -- driver and fake together over loopback -------------------------------------------------


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[SandboxServer, PayMasterProvider]]:
    options, secrets = dict(PayMasterFake.DEMO_OPTIONS), dict(PayMasterFake.DEMO_SECRETS)
    server = SandboxServer(tmp_path / "pm.sqlite3", driver="paymaster", options=options,
                           secrets=secrets)  # fmt: skip
    url = await server.start()
    cfg = ProviderConfig(driver="paymaster", url=url, options=options, read_timeout_s=5.0)
    provider = build_provider("paymaster", cfg, api_key=None, secrets=secrets)
    assert isinstance(provider, PayMasterProvider)
    try:
        yield server, provider
    finally:
        await provider.aclose()
        await server.stop()


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_a_lying_fake_is_caught_on_the_search_path_too(
    served: tuple[SandboxServer, PayMasterProvider],
) -> None:
    server, provider = served
    await provider.create_invoice(ORDER)
    server.ledger.customer("pay", ORDER.order_id)
    fake = server.app
    assert isinstance(fake, PayMasterFake)
    fake.signatures_valid = False
    restarted = PayMasterProvider(
        "paymaster", provider.capabilities, client=httpx.AsyncClient(), base_url=server.url,
        options=PayMasterFake.DEMO_OPTIONS, secrets=PayMasterFake.DEMO_SECRETS,
    )  # fmt: skip
    try:
        with pytest.raises(ProviderProtocolError, match="merchant"):
            await restarted.query(ORDER)  # no payment id known: found through the list
        with pytest.raises(ProviderProtocolError):
            await provider.query(ORDER)
    finally:
        await restarted.aclose()


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_cursor_pages_and_a_sticker_over_loopback(
    served: tuple[SandboxServer, PayMasterProvider],
) -> None:
    server, provider = served
    fake = server.app
    assert isinstance(fake, PayMasterFake)
    fake.PAGE_SIZE = 1
    for n in range(3):
        await provider.create_invoice(Order(f"T0001-c0de-10000{n}", Money(100 + n, "RUB")))
    fresh = PayMasterProvider(
        "paymaster", provider.capabilities, client=httpx.AsyncClient(), base_url=server.url,
        options={**PayMasterFake.DEMO_OPTIONS, "sticker_id": "4242"},
        secrets=PayMasterFake.DEMO_SECRETS,
    )  # fmt: skip
    try:
        found = await fresh.query(Order("T0001-c0de-100002", Money(102, "RUB")))
        assert found.status is PaymentStatus.PENDING
        assert found.qr_payload is not None
        assert "?type=01&" in found.qr_payload
        on_sticker = await fresh.create_invoice(ORDER)
        record = server.ledger.get(ORDER.order_id)
        assert record is not None
        assert on_sticker.qr_payload == found.qr_payload
        server.ledger.customer("pay", ORDER.order_id)
        refunded = await fresh.refund(ORDER, "r-1", Money(50, "RUB"))
        assert refunded.status is PaymentStatus.REFUNDED
        assert server.ledger.refunds()[0].amount_minor == 50
    finally:
        await fresh.aclose()
