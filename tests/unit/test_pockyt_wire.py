"""Pockyt's wire format: the published signing vector, request and answer shapes, the fake."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from terminal.config.model import ProviderConfig
from terminal.errors import (
    ConfigError,
    ProviderProtocolError,
    ProviderTechnicalError,
    ProviderUnavailable,
)
from terminal.money import Money
from terminal.providers.base import Capabilities, Order, PaymentStatus
from terminal.providers.pockyt.codec import (
    CONTENT_TYPE,
    PATHS,
    decode_body,
    md5_hex,
    parse_amount,
    sign,
    sign_string,
    signature_matches,
    vendor_for_code,
    verify_ipn,
    verify_sign,
)
from terminal.providers.pockyt.driver import PockytProvider
from terminal.providers.pockyt.fake import PockytFake, deep_link, transaction_no
from terminal.providers.registry import build_provider, capabilities_from
from terminal.providers.sandbox.server import SandboxServer

TOKEN = "test-token-0123456789"
OPTIONS = {"merchant_no": "200043", "store_no": "300014"}
ALIPAY_CODE = "286648397128431234"
WECHAT_CODE = "134567890123456789"
BASE = "https://mapi.pockyt.test"

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")


def order(amount_minor: int = 1250, currency: str = "USD") -> Order:
    return Order("T0001-000042", Money(amount_minor, currency), "coffee")


# -- signing --------------------------------------------------------------------------------

#: The worked example of Pockyt's (Yuansfer's) "API parameter signing" page.
PUBLISHED_TOKEN = "5cbfb079f15b150122261c8537086d77a"
PUBLISHED_PARAMS = {
    "amount": "1.00",
    "storeNo": "300014",
    "currency": "USD",
    "merchantNo": "200043",
    "callbackUrl": "https://wx.yuansfer.yunkeguan.com/wx",
    "terminal": "ONLINE",
    "ipnUrl": "https://wx.yuansfer.yunkeguan.com/wx",
    "reference": "seq_1525922323",
    "vendor": "alipay",
    "goodsInfo": '[{"goods_name":"Yuansfer","quantity":"1"}]',
    "timeout": "120",
}


def test_published_signing_example() -> None:
    assert md5_hex(PUBLISHED_TOKEN) == "186abea4b8610d7ff03768255588597a"
    assert sign_string(PUBLISHED_PARAMS, PUBLISHED_TOKEN) == (
        "amount=1.00&callbackUrl=https://wx.yuansfer.yunkeguan.com/wx&currency=USD"
        '&goodsInfo=[{"goods_name":"Yuansfer","quantity":"1"}]'
        "&ipnUrl=https://wx.yuansfer.yunkeguan.com/wx&merchantNo=200043"
        "&reference=seq_1525922323&storeNo=300014&terminal=ONLINE&timeout=120&vendor=alipay"
        "&186abea4b8610d7ff03768255588597a"
    )
    assert verify_sign(PUBLISHED_PARAMS, PUBLISHED_TOKEN) == "b6bfd66531ae7c9499115c7480a2c8aa"


def test_signing_skips_empty_values_and_the_signature_itself() -> None:
    with_extras = {**PUBLISHED_PARAMS, "note": "", "verifySign": "whatever", "extra": None}
    assert verify_sign(with_extras, PUBLISHED_TOKEN) == "b6bfd66531ae7c9499115c7480a2c8aa"


def test_sign_adds_the_signature() -> None:
    signed = sign(PUBLISHED_PARAMS, PUBLISHED_TOKEN)
    assert signed["verifySign"] == "b6bfd66531ae7c9499115c7480a2c8aa"
    assert signature_matches(signed, PUBLISHED_TOKEN)
    assert not signature_matches(signed, "another-token")


def test_verify_ipn() -> None:
    ipn = sign(
        {"transactionNo": "297553638300708562", "status": "success", "amount": "10.00",
         "currency": "USD", "settleCurrency": "USD", "time": "20201012213816",
         "reference": "T0001-000042", "vendorId": "2020101222001", "note": ""},
        TOKEN,
    )  # fmt: skip
    assert verify_ipn(ipn, TOKEN)
    assert not verify_ipn({**ipn, "amount": "1000.00"}, TOKEN)
    assert not verify_ipn(ipn, "another-token")
    assert not verify_ipn({k: v for k, v in ipn.items() if k != "verifySign"}, TOKEN)


@pytest.mark.parametrize(
    ("code", "vendor"),
    [(ALIPAY_CODE, "alipay"), ("2512345678901234", "alipay"),
     ("301234567890123456789012", "alipay"), (WECHAT_CODE, "wechatpay"),
     ("101234567890123456", "wechatpay"),
     ("6212345678901234567", "unionpay"), ("161234567890123456", None),
     ("1345678901234567", None), ("abc", None), ("", None)],
)  # fmt: skip
def test_vendor_routing_by_code(code: str, vendor: str | None) -> None:
    assert vendor_for_code(code) == vendor


def test_wechat_vendor_word_is_configurable() -> None:
    assert vendor_for_code(WECHAT_CODE, wechat_vendor="wechat") == "wechat"


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("12.50", "USD", 1250), ("13", "USD", 1300), (0.01, "USD", 1), (1250, "JPY", 1250),
     ("1.005", "USD", None), ("abc", "USD", None), (None, "USD", None), (True, "USD", None),
     ("-1.00", "USD", None), ("NaN", "USD", None)],
)  # fmt: skip
def test_parse_amount(value: object, currency: str, minor: int | None) -> None:
    parsed = parse_amount(value, currency)
    assert (parsed.amount_minor if parsed else None) == minor


# -- a driver over httpx.MockTransport ----------------------------------------------------


class Script:
    """Scripted Pockyt answers per path; records every request's form fields."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.content_types: list[str] = []
        self._answers: dict[str, list[httpx.Response | Exception]] = {}

    def answer(
        self,
        path: str,
        result: dict[str, Any] | None = None,
        *,
        code: str = "000100",
        message: str = "ok",
        status: int = 200,
        **top: Any,
    ) -> None:
        body: dict[str, Any] = {"ret_code": code, "ret_msg": message, **top}
        if result is not None:
            body["result"] = result
        self._answers.setdefault(path, []).append(httpx.Response(status, json=body))

    def raw(self, path: str, response: httpx.Response | Exception) -> None:
        self._answers.setdefault(path, []).append(response)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.path, dict(parse_qsl(request.content.decode()))))
        self.content_types.append(request.headers["content-type"])
        queue = self._answers.get(request.url.path)
        answer = queue.pop(0) if queue else httpx.Response(404, text="Not Found")
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def transaction(status: str = "pending", **fields: Any) -> dict[str, Any]:
    return {
        "amount": "12.50", "currency": "USD", "reference": "T0001-000042",
        "settleCurrency": "USD", "status": status, "transactionNo": "297553638300708562",
        "transactionType": "payment", **fields,
    }  # fmt: skip


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def make(script: Script) -> AsyncIterator[Callable[..., PockytProvider]]:
    clients: list[httpx.AsyncClient] = []

    def build(
        options: dict[str, str] | None = None, capabilities: Capabilities | None = None
    ) -> PockytProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(script))
        clients.append(client)
        return PockytProvider(
            "pockyt",
            capabilities or PockytProvider.DEFAULT_CAPABILITIES,
            client=client,
            base_url=BASE,
            options={**OPTIONS, **(options or {})},
            secrets={"token": TOKEN},
        )

    yield build
    for client in clients:
        await client.aclose()


async def test_create_invoice_request_and_answer(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(
        PATHS["qrcode"],
        {"reference": "T0001-000042", "amount": "12.50", "currency": "USD",
         "settleCurrency": "USD", "transactionNo": "297553638914321581", "timeout": "5",
         "deepLink": "https://qr.alipay.com/bax05773sia4dshxhw7100f3"},
        message="add success",
    )  # fmt: skip
    answer = await make().create_invoice(order())
    assert answer.status is PaymentStatus.PENDING
    assert answer.qr_payload == "https://qr.alipay.com/bax05773sia4dshxhw7100f3"
    assert answer.provider_ref == "297553638914321581"
    (path, params), content_type = script.requests[0], script.content_types[0]
    assert path == "/app-instore/v3/create-trans-qrcode"
    assert content_type == CONTENT_TYPE
    assert params == sign(
        {"merchantNo": "200043", "storeNo": "300014", "amount": "12.50", "currency": "USD",
         "settleCurrency": "USD", "vendor": "alipay", "reference": "T0001-000042",
         "timeout": "5"},
        TOKEN,
    )  # fmt: skip


@pytest.mark.parametrize(("lifetime_s", "minutes"), [(300.0, "5"), (90.0, "2"), (20.0, "1")])
async def test_qr_timeout_follows_the_invoice_lifetime(
    script: Script, make: Callable[..., PockytProvider], lifetime_s: float, minutes: str
) -> None:
    script.answer(PATHS["qrcode"], transaction(deepLink="weixin://wxpay/bizpayurl?pr=abc1234"))
    caps = Capabilities(invoice_lifetime_s=lifetime_s)
    await make({"vendor": "wechatpay", "store_admin_no": "77"}, caps).create_invoice(order())
    params = script.requests[0][1]
    assert (params["timeout"], params["vendor"], params["storeAdminNo"]) == (
        minutes,
        "wechatpay",
        "77",
    )


async def test_lost_invoice_answer_query_then_recover_the_qr(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    link = "https://qr.alipay.com/bax05773sia4dshxhw7100f3"
    script.raw(PATHS["qrcode"], httpx.RemoteProtocolError("Server disconnected"))
    script.answer(PATHS["query"], transaction("pending"))
    script.answer(PATHS["qrcode"], transaction(deepLink=link))
    script.answer(PATHS["query"], transaction("pending"))
    provider = make()
    with pytest.raises(ProviderUnavailable):
        await provider.create_invoice(order())
    assert script.paths == [PATHS["qrcode"]], "nothing re-sent before a query"
    found = await provider.query(order())
    assert (found.status, found.qr_payload) == (PaymentStatus.PENDING, link)
    assert script.paths == [PATHS["qrcode"], PATHS["query"], PATHS["qrcode"]]
    assert script.requests[0][1] == script.requests[2][1], "the same reference and amount"
    assert (await provider.query(order())).qr_payload is None
    assert script.paths[3:] == [PATHS["query"]], "the QR is asked for once it is known"


@pytest.mark.parametrize("word", ["success", "closed"])
async def test_lost_invoice_that_is_final_is_not_asked_again(
    script: Script, make: Callable[..., PockytProvider], word: str
) -> None:
    script.raw(PATHS["qrcode"], httpx.ReadTimeout("no answer"))
    script.answer(PATHS["query"], transaction(word))
    provider = make()
    with pytest.raises(ProviderTechnicalError):
        await provider.create_invoice(order())
    assert (await provider.query(order())).qr_payload is None
    assert script.paths == [PATHS["qrcode"], PATHS["query"]]


async def test_qr_recovery_failing_keeps_the_query_answer(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.raw(PATHS["qrcode"], httpx.ConnectError("refused"))
    script.answer(PATHS["query"], transaction("pending"))
    script.answer(PATHS["qrcode"], code="000022", message="reference already used", status=400)
    provider = make()
    with pytest.raises(ProviderUnavailable):
        await provider.create_invoice(order())
    answer = await provider.query(order())
    assert (answer.status, answer.qr_payload) == (PaymentStatus.PENDING, None)


async def test_invoice_without_deep_link_is_a_protocol_error(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["qrcode"], transaction())
    with pytest.raises(ProviderProtocolError, match="deepLink"):
        await make().create_invoice(order())


async def test_pay_with_code_adds_then_prepays(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["add"], {**transaction(), "status": None, "transactionStatus": "init"})
    script.answer(
        PATHS["prepay"], {**transaction(), "status": None, "transactionStatus": "pending"}
    )
    answer = await make({"store_admin_no": "77"}).pay_with_code(order(), WECHAT_CODE)
    assert (answer.status, answer.raw_status) == (PaymentStatus.PENDING, "pending")
    assert answer.provider_ref == "297553638300708562"
    assert script.paths == [PATHS["add"], PATHS["prepay"]]
    add, prepay = script.requests[0][1], script.requests[1][1]
    assert add == sign(
        {"merchantNo": "200043", "storeNo": "300014", "storeAdminNo": "77", "amount": "12.50",
         "currency": "USD", "settleCurrency": "USD", "reference": "T0001-000042"},
        TOKEN,
    )  # fmt: skip
    assert prepay == sign(
        {"merchantNo": "200043", "storeNo": "300014", "storeAdminNo": "77",
         "transactionNo": "297553638300708562", "paymentBarcode": WECHAT_CODE,
         "vendor": "wechatpay"},
        TOKEN,
    )  # fmt: skip


async def test_prepay_missing_falls_back_to_pay_and_remembers(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    provider = make()
    for _ in range(2):
        script.answer(PATHS["add"], {**transaction(), "status": None, "transactionStatus": "init"})
        script.answer(
            PATHS["pay"], {**transaction(), "status": None, "transactionStatus": "success"}
        )
    first = await provider.pay_with_code(order(), ALIPAY_CODE)
    second = await provider.pay_with_code(order(), ALIPAY_CODE)
    assert first.status is second.status is PaymentStatus.PAID
    assert script.paths == [PATHS["add"], PATHS["prepay"], PATHS["pay"], PATHS["add"], PATHS["pay"]]
    assert script.requests[2][1]["vendor"] == "alipay"


async def test_an_added_transaction_past_init_is_never_paid_again(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["add"], {**transaction(), "status": None, "transactionStatus": "success"})
    assert (await make().pay_with_code(order(), ALIPAY_CODE)).status is PaymentStatus.PAID
    assert script.paths == [PATHS["add"]]


async def test_unknown_code_is_declined_without_a_request(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    answer = await make().pay_with_code(order(), "9999")
    assert (answer.status, answer.raw_status) == (PaymentStatus.DECLINED, "unknown_code")
    assert script.requests == []


async def test_query_goes_by_reference(script: Script, make: Callable[..., PockytProvider]) -> None:
    script.answer(PATHS["query"], transaction("success"))
    answer = await make().query(order())
    assert (answer.status, answer.raw_status) == (PaymentStatus.PAID, "success")
    assert script.requests == [
        (PATHS["query"], sign({"merchantNo": "200043", "storeNo": "300014",
                               "reference": "T0001-000042"}, TOKEN))
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"status": "init"}, PaymentStatus.PENDING), ({"status": "dealing"}, PaymentStatus.PENDING),
     ({"status": "pending"}, PaymentStatus.PENDING), ({"status": "success"}, PaymentStatus.PAID),
     ({"status": "failed"}, PaymentStatus.DECLINED), ({"status": "closed"}, PaymentStatus.EXPIRED),
     ({"status": "success", "refundAmount": "5.00"}, PaymentStatus.PAID),
     ({"status": "success", "refundAmount": "12.50"}, PaymentStatus.REFUNDED),
     ({"status": "closed", "voidAmount": "12.50"}, PaymentStatus.REFUNDED),
     ({"status": None, "transactionStatus": "success"}, PaymentStatus.PAID)],
)  # fmt: skip
async def test_status_mapping(
    script: Script,
    make: Callable[..., PockytProvider],
    fields: dict[str, Any],
    status: PaymentStatus,
) -> None:
    script.answer(PATHS["query"], transaction(**fields))
    assert (await make().query(order())).status is status


async def test_cancel_closed_means_cancelled(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["cancel"], {**transaction("closed"), "amount": 12.5})
    answer = await make().cancel(order())
    assert (answer.status, answer.raw_status) == (PaymentStatus.CANCELLED, "closed")
    assert script.requests[0][1]["reference"] == "T0001-000042"


async def test_cancel_refused_reports_the_real_status(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["cancel"], code="000040", message="transaction status error", status=400)
    script.answer(PATHS["query"], transaction("failed"))
    answer = await make().cancel(order())
    assert answer.status is PaymentStatus.DECLINED
    assert answer.message == "cancel refused: transaction status error"


async def test_refund_request_and_answer(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(
        PATHS["refund"],
        {"amount": "12.50", "currency": "USD", "reference": "T0001-000042",
         "refundAmount": "12.50", "refundReference": "T0001-000042-void",
         "refundTransactionNo": "297553638302358781", "settleCurrency": "USD",
         "status": "success", "transactionNo": "297553638300708562"},
    )  # fmt: skip
    answer = await make({"settle_currency": "HKD"}).refund(
        order(), "T0001-000042-void", Money(1250, "USD")
    )
    assert (answer.status, answer.provider_ref) == (PaymentStatus.REFUNDED, "297553638300708562")
    assert script.requests[0][1] == sign(
        {"merchantNo": "200043", "storeNo": "300014", "refundAmount": "12.50", "currency": "USD",
         "settleCurrency": "HKD", "reference": "T0001-000042",
         "refundReference": "T0001-000042-void"},
        TOKEN,
    )  # fmt: skip


async def test_refund_refused_reports_the_payment_status(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["refund"], code="000040", message="not paid", status=400)
    script.answer(PATHS["query"], transaction("pending"))
    answer = await make().refund(order(), "r1", Money(1250, "USD"))
    assert (answer.status, answer.message) == (PaymentStatus.PENDING, "refund refused: not paid")


@pytest.mark.parametrize("op", ["query", "cancel", "refund"])
async def test_no_record_is_not_found(
    script: Script, make: Callable[..., PockytProvider], op: str
) -> None:
    script.answer(PATHS[op], code="000021", message="no information", status=400)
    provider = make()
    if op == "refund":
        answer = await provider.refund(order(), "r1", Money(1250, "USD"))
    else:
        answer = await getattr(provider, op)(order())
    assert (answer.status, answer.raw_status) == (PaymentStatus.NOT_FOUND, "000021")


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [("000020", "amount is empty", ProviderProtocolError),
     ("000022", "parameter mismatch", ProviderProtocolError),
     ("000023", "bad amount", ProviderProtocolError),
     ("000030", "no permission", ProviderProtocolError),
     ("000040", "transaction status error", ProviderProtocolError),
     ("000000", "data error : verifySign", ProviderProtocolError),
     ("000000", "system error", ProviderUnavailable),
     ("000080", "vendor system error", ProviderUnavailable),
     ("009999", "new code", ProviderProtocolError)],
)  # fmt: skip
async def test_ret_codes_of_a_refused_add(
    script: Script,
    make: Callable[..., PockytProvider],
    code: str,
    message: str,
    error: type[ProviderTechnicalError],
) -> None:
    script.answer(PATHS["add"], code=code, message=message, status=400)
    with pytest.raises(error, match=code) as raised:
        await make().pay_with_code(order(), ALIPAY_CODE)
    assert message in str(raised.value)
    assert script.paths == [PATHS["add"]], "nothing is sent after a refused add"


async def test_error_message_spelt_ret_msg_or_retmsg(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.raw(
        PATHS["query"],
        httpx.Response(400, json={"ret_code": "000000", "retMsg": "data error : verifySign"}),
    )
    with pytest.raises(ProviderProtocolError, match="check the token"):
        await make().query(order())


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, text="<html>busy</html>"), httpx.Response(200, json=["a"]),
     httpx.Response(200, json={"result": {}}), httpx.Response(404, text="Not Found"),
     httpx.Response(200, json={"ret_code": "000100", "result": "x"}),
     httpx.Response(200, json={"ret_code": "000100", "ret_msg": "ok"})],
)  # fmt: skip
async def test_garbage_answers_are_protocol_errors(
    script: Script, make: Callable[..., PockytProvider], response: httpx.Response
) -> None:
    script.raw(PATHS["query"], response)
    with pytest.raises(ProviderProtocolError):
        await make().query(order())


async def test_server_error_is_unavailable(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.raw(PATHS["query"], httpx.Response(502, text="bad gateway"))
    with pytest.raises(ProviderUnavailable):
        await make().query(order())


@pytest.mark.parametrize(
    ("fields", "what"),
    [({"reference": "T0001-000041"}, "reference"), ({"amount": "1250.00"}, "amount"),
     ({"status": "refunded"}, "unknown transaction status")],
)  # fmt: skip
async def test_answers_about_something_else_are_refused(
    script: Script, make: Callable[..., PockytProvider], fields: dict[str, Any], what: str
) -> None:
    script.answer(PATHS["query"], {**transaction("success"), **fields})
    with pytest.raises(ProviderProtocolError, match=what):
        await make().query(order())


async def test_amount_in_another_currency_is_not_compared(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    script.answer(PATHS["query"], transaction("success", amount="80.00", currency="CNY"))
    assert (await make().query(order())).status is PaymentStatus.PAID


# -- answer signatures (the terminal's defensive rule) --------------------------------------


async def test_wrong_signature_in_result_is_a_protocol_error(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    result = transaction("success")
    script.answer(PATHS["query"], {**result, "verifySign": verify_sign(result, "wrong-token")})
    with pytest.raises(ProviderProtocolError, match="verifySign"):
        await make().query(order())


async def test_wrong_signature_at_top_level_is_a_protocol_error(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    result = transaction("success")
    script.answer(PATHS["query"], result, verifySign=verify_sign(result, "wrong-token"))
    with pytest.raises(ProviderProtocolError, match="verifySign"):
        await make().query(order())


async def test_right_signature_is_accepted(
    script: Script, make: Callable[..., PockytProvider]
) -> None:
    result = transaction("success")
    script.answer(PATHS["query"], sign(result, TOKEN))
    script.answer(PATHS["query"], result, verifySign=verify_sign(result, TOKEN))
    provider = make()
    assert (await provider.query(order())).status is PaymentStatus.PAID
    assert (await provider.query(order())).status is PaymentStatus.PAID


# -- configuration ---------------------------------------------------------------------------


def build(options: dict[str, str], secrets: dict[str, str]) -> None:
    cfg = ProviderConfig(driver="pockyt", url=BASE, options=options)
    build_provider("till", cfg, api_key=None, secrets=secrets)


@pytest.mark.parametrize(
    ("options", "secrets", "key"),
    [({"store_no": "1"}, {"token": "t"}, "providers.till.options.merchant_no"),
     ({"merchant_no": "1"}, {"token": "t"}, "providers.till.options.store_no"),
     (OPTIONS, {}, "providers.till.token"),
     (OPTIONS, {"token": " "}, "providers.till.token"),
     ({**OPTIONS, "vendor": "paypal"}, {"token": "t"}, "providers.till.options.vendor"),
     ({**OPTIONS, "wechat_vendor": "wx"}, {"token": "t"}, "providers.till.options.wechat_vendor"),
     ({**OPTIONS, "settle_currency": "usd"}, {"token": "t"},
      "providers.till.options.settle_currency"),
     ({**OPTIONS, "path_prefix": "v1"}, {"token": "t"}, "providers.till.options.path_prefix"),
     ({**OPTIONS, "merchant": "1"}, {"token": "t"}, "providers.till.options.merchant")],
)  # fmt: skip
def test_configuration_errors_name_the_key(
    options: dict[str, str], secrets: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        build(options, secrets)
    assert raised.value.key == key


def test_default_schedule() -> None:
    caps = capabilities_from(ProviderConfig(driver="pockyt", url=BASE))
    assert (caps.first_poll_delay_s, caps.poll_interval_s) == (5.0, 3.0)
    assert (caps.confirm_timeout_s, caps.invoice_lifetime_s) == (60.0, 300.0)
    assert (caps.supports_mpm, caps.supports_cpm, caps.supports_refund) == (True, True, True)


# -- the fake ----------------------------------------------------------------------------------


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(
        tmp_path / "pockyt.sqlite3",
        driver="pockyt",
        options=PockytFake.DEMO_OPTIONS,
        secrets=PockytFake.DEMO_SECRETS,
    )
    async with server:
        yield server


@pytest.fixture
async def driver(fake: SandboxServer) -> AsyncIterator[PockytProvider]:
    cfg = ProviderConfig(driver="pockyt", url=fake.url, options=dict(PockytFake.DEMO_OPTIONS))
    provider = build_provider("pockyt", cfg, api_key=None, secrets=dict(PockytFake.DEMO_SECRETS))
    assert isinstance(provider, PockytProvider)
    yield provider
    await provider.aclose()


async def post(fake: SandboxServer, path: str, body: bytes, content_type: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as client:
        return await client.post(path, content=body, headers={"Content-Type": content_type})


def demo_params(**fields: str) -> dict[str, str]:
    return {"merchantNo": "900001", "storeNo": "900002", **fields}


async def test_fake_refuses_a_badly_signed_request(fake: SandboxServer) -> None:
    params = demo_params(reference="T0001-000042", amount="12.50", currency="USD",
                         settleCurrency="USD", vendor="alipay")  # fmt: skip
    wrong = sign(params, "not-the-token")
    form = "&".join(f"{k}={v}" for k, v in wrong.items()).encode()
    answer = await post(fake, PATHS["qrcode"], form, CONTENT_TYPE)
    assert answer.status_code == 400
    assert answer.json() == {"ret_code": "000000", "ret_msg": "data error : verifySign"}
    assert fake.ledger.payments() == []


async def test_fake_refuses_another_merchant(fake: SandboxServer) -> None:
    params = sign({"merchantNo": "1", "storeNo": "900002", "reference": "x"},
                  PockytFake.DEMO_SECRETS["token"])  # fmt: skip
    answer = await post(fake, PATHS["query"], json.dumps(params).encode(), "application/json")
    assert (answer.status_code, answer.json()["ret_code"]) == (400, "000030")


async def test_fake_takes_json_and_paths_without_the_prefix(fake: SandboxServer) -> None:
    params = sign(demo_params(reference="T0001-000042"), PockytFake.DEMO_SECRETS["token"])
    answer = await post(fake, PATHS["query"], json.dumps(params).encode(), "application/json")
    assert answer.json() == {"ret_code": "000021", "ret_msg": "no information for this reference"}


@pytest.mark.parametrize("vendor", ["alipay", "wechatpay"])
async def test_fake_qr_payloads_have_the_wallets_shape(fake: SandboxServer, vendor: str) -> None:
    cfg = ProviderConfig(
        driver="pockyt", url=fake.url, options={**PockytFake.DEMO_OPTIONS, "vendor": vendor}
    )
    provider = build_provider("pockyt", cfg, api_key=None, secrets=dict(PockytFake.DEMO_SECRETS))
    try:
        answer = await provider.create_invoice(order())
    finally:
        await provider.aclose()
    assert answer.qr_payload == deep_link(vendor, "T0001-000042")
    start = (
        "weixin://wxpay/bizpayurl?pr=" if vendor == "wechatpay" else "https://qr.alipay.com/bax0"
    )
    assert answer.qr_payload.startswith(start)
    assert answer.provider_ref == transaction_no("T0001-000042")
    assert answer.provider_ref is not None
    assert len(answer.provider_ref) == 18
    assert answer.provider_ref.isdigit()


async def test_lost_prepay_answer_is_not_resent_and_query_finds_it(
    fake: SandboxServer, driver: PockytProvider
) -> None:
    fake.http.set_misbehaviour("lose_answer", count=1, paths_prefix=PATHS["prepay"])
    with pytest.raises(ProviderUnavailable):
        await driver.pay_with_code(order(), ALIPAY_CODE)
    assert fake.http.requests_received == 2, "add, then prepay once; no fallback, no re-send"
    found = await driver.query(order())
    assert (found.status, found.raw_status) == (PaymentStatus.PENDING, "pending")
    fake.ledger.customer("pay", "T0001-000042")
    assert (await driver.query(order())).status is PaymentStatus.PAID
    assert fake.ledger.charges() == 1
    assert fake.http.connections_accepted == 2, "a new connection only after the reset"


async def test_lost_invoice_answer_over_the_fake(
    fake: SandboxServer, driver: PockytProvider
) -> None:
    fake.http.set_misbehaviour("lose_answer", count=1, paths_prefix=PATHS["qrcode"])
    with pytest.raises(ProviderUnavailable):
        await driver.create_invoice(order())
    found = await driver.query(order())
    assert found.status is PaymentStatus.PENDING
    assert found.qr_payload == deep_link("alipay", "T0001-000042")
    assert len(fake.ledger.payments()) == 1


async def test_cpm_over_the_fake_uses_one_connection(
    fake: SandboxServer, driver: PockytProvider
) -> None:
    assert (await driver.pay_with_code(order(), WECHAT_CODE)).status is PaymentStatus.PENDING
    for _ in range(3):
        assert (await driver.query(order())).status is PaymentStatus.PENDING
    fake.ledger.customer("pay", "T0001-000042")
    assert (await driver.query(order())).status is PaymentStatus.PAID
    assert fake.http.connections_accepted == 1


async def test_fake_cancel_of_paid_is_a_reversal(
    fake: SandboxServer, driver: PockytProvider
) -> None:
    await driver.create_invoice(order())
    fake.ledger.customer("pay", "T0001-000042")
    answer = await driver.cancel(order())
    assert (answer.status, answer.raw_status) == (PaymentStatus.REFUNDED, "closed")
    assert (await driver.query(order())).status is PaymentStatus.REFUNDED
    assert [r.amount_minor for r in fake.ledger.refunds()] == [1250]


async def test_fake_refund_of_unpaid_is_refused_with_the_status(
    fake: SandboxServer, driver: PockytProvider
) -> None:
    await driver.create_invoice(order())
    answer = await driver.refund(order(), "r1", Money(1250, "USD"))
    assert answer.status is PaymentStatus.PENDING
    assert answer.message.startswith("refund refused: transaction status error")
    assert fake.ledger.refunds() == []


async def test_fake_cancel_of_an_added_transaction_closes_it(
    fake: SandboxServer, driver: PockytProvider
) -> None:
    fake.http.set_misbehaviour("drop", count=1, paths_prefix=PATHS["prepay"])
    with pytest.raises(ProviderUnavailable):
        await driver.pay_with_code(order(), ALIPAY_CODE)
    assert (await driver.query(order())).raw_status == "init"
    assert (await driver.cancel(order())).status is PaymentStatus.CANCELLED
    assert (await driver.query(order())).status is PaymentStatus.EXPIRED
    assert fake.ledger.payments() == []


def test_decode_body_forms_and_json() -> None:
    assert decode_body(b"a=1&b=x%26y&c=", CONTENT_TYPE) == {"a": "1", "b": "x&y", "c": ""}
    assert decode_body(b'{"a": 1, "b": null}', "application/json; charset=utf-8") == {"a": "1"}
    with pytest.raises(ValueError, match="not an object"):
        decode_body(b"[1]", "application/json")


# -- logs ------------------------------------------------------------------------------------


async def test_logs_hold_no_token_and_only_masked_codes(
    fake: SandboxServer, driver: PockytProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await driver.pay_with_code(order(), ALIPAY_CODE)
    await driver.query(order())
    token = PockytFake.DEMO_SECRETS["token"]
    assert caplog.records, "the flow logs something"
    assert token not in caplog.text
    assert md5_hex(token) not in caplog.text
    assert ALIPAY_CODE not in caplog.text
    assert "2866**********1234" in caplog.text
