"""Verystar (VeryPay v3) on the wire: signing, request and answer shapes, statuses, config, fake."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from terminal.config.model import ProviderConfig, RouteConfig
from terminal.errors import ConfigError, ProviderProtocolError, ProviderUnavailable
from terminal.machine.routing import route_code
from terminal.money import Money
from terminal.providers.base import Order, PaymentStatus
from terminal.providers.loopback_http import Request
from terminal.providers.registry import build_provider, capabilities_from
from terminal.providers.sandbox.ledger import SandboxLedger
from terminal.providers.sandbox.server import SandboxServer
from terminal.providers.verystar import codec as codec
from terminal.providers.verystar.driver import VerystarProvider
from terminal.providers.verystar.fake import VerystarFake
from terminal.providers.verystar.out_sn import order_id_from_out_sn, out_sn_for
from terminal.providers.verystar.settings import proxy_from, routes_from_openbravo
from terminal.providers.verystar.signing import sign_params, signing_string

SECRET = "testsecret"
OPTIONS = {"app_key": "testkey", "store_sn": "10001", "client_sn": "10001"}
SECRETS = {"app_secret": SECRET}
NOW = 1494571680  # the protocol's own example of a `time` value
BASE = "https://api.pay.verystar.invalid/"
ORDER = Order("T0001-c0de-000001", Money(12_500, "CNY"), "Coffee")
OUT_SN = "T0001ZHc0deZH000001"

Handler = Callable[[httpx.Request], httpx.Response]


# -- helpers ---------------------------------------------------------------------------------


def signed(data: dict[str, Any] | None, retcode: int | str = 0, msg: str = "ok") -> httpx.Response:
    """An answer as VeryPay sends it: the signature covers ``data`` only."""
    body = {
        "retcode": retcode,
        "msg": msg,
        "data": data or [],
        "sign": sign_params(data or {}, SECRET),
    }
    return httpx.Response(200, json=body)


def order_data(trade_state: str, **extra: Any) -> dict[str, Any]:
    return {"order_sn": "3100000000000000000042", "out_sn": OUT_SN, "total_fee": 12_500,
            "trade_state": trade_state, **extra}  # fmt: skip


class Wire:
    """A MockTransport handler answering from a script and keeping every request's form."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)

    def form(self, index: int = -1) -> dict[str, str]:
        return dict(parse_qsl(self.requests[index].content.decode()))

    def path(self, index: int = -1) -> str:
        return self.requests[index].url.path


def make_provider(
    wire: Handler,
    *,
    options: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
) -> VerystarProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(wire))
    return VerystarProvider(
        "verystar",
        VerystarProvider.DEFAULT_CAPABILITIES,
        client=client,
        base_url=BASE,
        options=OPTIONS if options is None else options,
        secrets=SECRETS if secrets is None else secrets,
        unix_time=lambda: NOW + 0.9,
    )


# -- signing: as VeryPay's PHP SDK does it -----------------------------------------------------


MICROPAY = {
    "store_sn": "10001",
    "client_sn": "10001",
    "auth_code": "280403182600310552",
    "total_fee": "5",
    "out_sn": "20180328012654796150",
    "body": "test goods",
    "goods_tag": "",  # empty: left out
    "channel": " ",  # empty after PHP's trim: left out
    "app_key": "testkey",
    "time": "1494571680",
    "sign": "anything",  # never signed
}
MICROPAY_STRING = (
    "app_key=testkey&auth_code=280403182600310552&body=test goods&client_sn=10001"
    "&out_sn=20180328012654796150&store_sn=10001&time=1494571680&total_fee=5"
)


def test_request_signature_is_md5_of_sorted_pairs_plus_secret() -> None:
    assert signing_string(MICROPAY) == MICROPAY_STRING  # sorted, no URL-encoding
    by_hand = hashlib.md5((MICROPAY_STRING + SECRET).encode()).hexdigest()  # noqa: S324
    assert sign_params(MICROPAY, SECRET) == by_hand
    # printf '%s' '<MICROPAY_STRING>testsecret' | md5sum
    assert sign_params(MICROPAY, SECRET) == "5e30f11298521d002988ee8922b1098f"


def test_answer_signature_covers_data_with_php_value_text() -> None:
    data = {
        "trade_state": "SUCCESS",
        "total_fee": 5,
        "out_sn": "20180328012654796150",
        "order_sn": "3118032801265479615070",
        "err_code": None,
        "is_subscribe": False,
    }
    expected = "order_sn=3118032801265479615070&out_sn=20180328012654796150&total_fee=5"
    assert signing_string(data) == expected + "&trade_state=SUCCESS"
    # printf '%s' '<that string>testsecret' | md5sum
    assert sign_params(data, SECRET) == "19dc8e11854324a06b53b692c8e36600"
    # an answer without data is signed over nothing: md5(app_secret)
    assert sign_params({}, SECRET) == "217df19d942a4a990ebeed63a983292f"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"b": "2", "a": "1"}, "a=1&b=2"),
        ({"B": "1", "_": "2", "b": "3"}, "B=1&_=2&b=3"),  # byte order, as PHP's ksort
        ({"flag": True, "off": False, "none": None}, "flag=1"),
        ({"fee": 5.0, "rate": 0.25}, "fee=5&rate=0.25"),
        ({"list": [1, 2], "SIGN": "x", " sign ": "y"}, "list=Array"),
        ({"text": "a&b=c d"}, "text=a&b=c d"),  # never URL-encoded
    ],
)
def test_signing_string_follows_php(params: dict[str, object], expected: str) -> None:
    assert signing_string(params) == expected


# -- out_sn: letters and digits, reversible --------------------------------------------------


@pytest.mark.parametrize(
    ("order_id", "out_sn"),
    [
        ("T0001-c0de-000001", "T0001ZHc0deZH000001"),
        ("T0001-c0de-000001-void", "T0001ZHc0deZH000001ZHvoid"),
        ("ZONE_1-ab12-000007", "ZZONEZU1ZHab12ZH000007"),
        ("kassa·1", "kassaZXc2ZXb71"),
    ],
)
def test_out_sn_is_alphanumeric_and_reversible(order_id: str, out_sn: str) -> None:
    assert out_sn_for(order_id) == out_sn
    assert out_sn.isascii()
    assert out_sn.isalnum()
    assert order_id_from_out_sn(out_sn) == order_id


def test_out_sn_never_merges_two_terminals_ids() -> None:
    ids = ["POS-1-ab12-000001", "POS1-ab12-000001", "POS1ab12000001", "POS_1-ab12-000001"]
    assert len({out_sn_for(i) for i in ids}) == len(ids)


@pytest.mark.parametrize("bad", ["T0001Z", "T0001ZQ", "ZX4", "ZXzz", "a-b", "ZXff"])
def test_out_sn_that_is_not_ours_does_not_decode(bad: str) -> None:
    with pytest.raises(ValueError, match="out_sn|escape|letters|decode"):
        order_id_from_out_sn(bad)


# -- requests on the wire --------------------------------------------------------------------


def _verified(form: dict[str, str]) -> dict[str, str]:
    assert form["app_key"] == "testkey"
    assert form["time"] == str(NOW)  # unix seconds, never milliseconds
    assert form["sign"] == sign_params(form, SECRET)
    return {k: v for k, v in form.items() if k not in ("app_key", "time", "sign")}


async def test_micropay_request() -> None:
    wire = Wire(signed(order_data("USERPAYING")))
    provider = make_provider(wire)
    answer = await provider.pay_with_code(ORDER, "134567890123456789")
    request = wire.requests[0]
    assert request.method == "POST"
    assert request.url == "https://api.pay.verystar.invalid/v3/pay/micropay.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert _verified(wire.form()) == {
        "store_sn": "10001", "client_sn": "10001", "out_sn": OUT_SN,
        "auth_code": "134567890123456789", "total_fee": "12500", "body": "Coffee",
    }  # fmt: skip
    assert answer.status is PaymentStatus.PENDING
    assert answer.raw_status == "USERPAYING"
    assert answer.provider_ref == "3100000000000000000042"
    await provider.aclose()


async def test_unifiedorder_request_and_qr() -> None:
    qr = "weixin://wxpay/bizpayurl?pr=abc1234"
    wire = Wire(signed(order_data("NOTPAY", code_url=qr)))
    provider = make_provider(wire, options={**OPTIONS, "channel": "alipay"})
    answer = await provider.create_invoice(ORDER)
    assert wire.path() == "/v3/pay/unifiedorder.json"
    assert _verified(wire.form()) == {
        "store_sn": "10001", "client_sn": "10001", "out_sn": OUT_SN,
        "total_fee": "12500", "body": "Coffee", "channel": "alipay",
    }  # fmt: skip
    assert (answer.status, answer.qr_payload) == (PaymentStatus.PENDING, qr)
    await provider.aclose()


async def test_unifiedorder_without_qr_is_a_protocol_error() -> None:
    provider = make_provider(Wire(signed(order_data("NOTPAY"))))
    with pytest.raises(ProviderProtocolError, match="QR"):
        await provider.create_invoice(ORDER)
    await provider.aclose()


async def test_query_close_refund_requests() -> None:
    wire = Wire(
        signed(order_data("NOTPAY")),
        signed({"out_sn": OUT_SN}),
        signed({"out_sn": OUT_SN, "refund_out_sn": "RZH1", "refund_fee": 500}),
    )
    provider = make_provider(
        wire, options={**OPTIONS, "op_user_id": "7"}, secrets={**SECRETS, "op_user_pwd": "pw"}
    )
    await provider.query(ORDER)
    assert wire.path() == "/v3/pay/orderquery.json"
    assert _verified(wire.form()) == {"store_sn": "10001", "client_sn": "10001", "out_sn": OUT_SN}
    cancelled = await provider.cancel(ORDER)
    assert wire.path() == "/v3/pay/closeorder.json"
    assert (cancelled.status, cancelled.raw_status) == (PaymentStatus.CANCELLED, "CLOSED")
    refunded = await provider.refund(ORDER, "R-1", Money(500, "CNY"))
    assert wire.path() == "/v3/pay/refund.json"
    assert _verified(wire.form()) == {
        "store_sn": "10001", "client_sn": "10001", "out_sn": OUT_SN, "refund_fee": "500",
        "refund_out_sn": "RZH1", "op_user_id": "7", "op_user_pwd": "pw",
    }  # fmt: skip
    assert refunded.status is PaymentStatus.REFUNDED
    await provider.aclose()


async def test_openbravo_urls_override_the_paths() -> None:
    wire = Wire(signed(order_data("SUCCESS")), signed(order_data("SUCCESS")))
    urls = {"url_pay": "https://gw.example.invalid/vs/pay.json", "url_order_query": "/q/query"}
    provider = make_provider(wire, options={**OPTIONS, **urls})
    await provider.pay_with_code(ORDER, "134567890123456789")
    assert wire.requests[0].url == "https://gw.example.invalid/vs/pay.json"
    await provider.query(ORDER)
    assert wire.requests[1].url == "https://api.pay.verystar.invalid/q/query"
    await provider.aclose()


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("SUCCESS", PaymentStatus.PAID),
        ("USERPAYING", PaymentStatus.PENDING),
        ("NOTPAY", PaymentStatus.PENDING),
        ("PAYERROR", PaymentStatus.DECLINED),
        ("CLOSED", PaymentStatus.CANCELLED),
        ("REVOKED", PaymentStatus.CANCELLED),
        ("REFUND", PaymentStatus.REFUNDED),
    ],
)
async def test_trade_states_map_to_the_engine(word: str, status: PaymentStatus) -> None:
    provider = make_provider(Wire(signed(order_data(word), msg="why")))
    answer = await provider.query(ORDER)
    assert (answer.status, answer.raw_status) == (status, word)
    settled = status in (PaymentStatus.PAID, PaymentStatus.PENDING)
    assert answer.message == ("" if settled else "why")
    await provider.aclose()


@pytest.mark.parametrize(
    "data",
    [
        order_data("MAYBE"),  # unknown word: never paid
        {"out_sn": OUT_SN, "total_fee": 12_500},  # no status at all
        order_data("SUCCESS", out_sn="T0001ZHc0deZH000002"),  # another order
        order_data("SUCCESS", total_fee=1),  # another amount
    ],
)
async def test_doubtful_answers_are_protocol_errors(data: dict[str, Any]) -> None:
    provider = make_provider(Wire(signed(data)))
    with pytest.raises(ProviderProtocolError):
        await provider.query(ORDER)
    await provider.aclose()


def _body(sign: object, data: object = None) -> httpx.Response:
    payload: dict[str, object] = {"retcode": 0, "msg": "ok", "data": data or order_data("SUCCESS")}
    if sign is not None:
        payload["sign"] = sign
    return httpx.Response(200, json=payload)


@pytest.mark.parametrize(
    "response",
    [
        _body(sign_params(order_data("SUCCESS"), "another-secret")),
        _body(sign_params(order_data("SUCCESS"), SECRET).upper()),
        _body(None),
        _body(12345),
        _body(sign_params({}, SECRET), data="SUCCESS"),
        httpx.Response(200, content=b"retcode=0"),
        httpx.Response(404, json={"retcode": 0}),
    ],
)
async def test_wrong_signature_or_shape_is_never_paid(response: httpx.Response) -> None:
    provider = make_provider(Wire(response))
    with pytest.raises(ProviderProtocolError):
        await provider.query(ORDER)
    await provider.aclose()


async def test_string_retcode_and_php_empty_data_are_understood() -> None:
    provider = make_provider(Wire(signed(None, retcode="20001", msg="order not exist")))
    answer = await provider.query(ORDER)
    assert (answer.status, answer.raw_status) == (PaymentStatus.NOT_FOUND, "20001")
    await provider.aclose()


@pytest.mark.parametrize(
    ("retcode", "error"),
    [
        (10013, ProviderUnavailable),  # refund: send again with the same refund_out_sn
        (10007, ProviderUnavailable),
        (10001, ProviderProtocolError),
        (10003, ProviderProtocolError),
        (10002, ProviderProtocolError),
        (99999, ProviderProtocolError),
    ],
)
async def test_technical_retcodes(retcode: int, error: type[Exception]) -> None:
    provider = make_provider(Wire(signed(None, retcode=retcode, msg="busy")))
    with pytest.raises(error, match=str(retcode)):
        await provider.refund(ORDER, "R-1", ORDER.amount)
    await provider.aclose()


async def test_close_of_a_paid_order_answers_paid_after_a_query() -> None:
    wire = Wire(signed(None, retcode=20002, msg="paid"), signed(order_data("SUCCESS")))
    provider = make_provider(wire)
    answer = await provider.cancel(ORDER)
    assert [wire.path(0), wire.path(1)] == ["/v3/pay/closeorder.json", "/v3/pay/orderquery.json"]
    assert (answer.status, answer.raw_status) == (PaymentStatus.PAID, "SUCCESS")
    assert "cannot be closed" in answer.message
    await provider.aclose()


async def test_refused_refund_reports_the_payment_as_it_stands() -> None:
    wire = Wire(signed(None, retcode=20004, msg="too much"), signed(order_data("SUCCESS")))
    provider = make_provider(wire)
    answer = await provider.refund(ORDER, "R-1", Money(99_999, "CNY"))
    assert answer.status is PaymentStatus.PAID
    assert answer.message == codec.REFUSAL_MESSAGES[codec.Refusal.EXCEEDS]
    await provider.aclose()


async def test_out_sn_conflict_is_declined() -> None:
    provider = make_provider(Wire(signed(None, retcode=20006, msg="dup")))
    answer = await provider.pay_with_code(ORDER, "134567890123456789")
    assert (answer.status, answer.raw_status) == (PaymentStatus.DECLINED, "20006")
    await provider.aclose()


async def test_other_currency_is_declined_without_a_request() -> None:
    wire = Wire()
    provider = make_provider(wire)
    rub = Order("T0001-c0de-000009", Money(100, "RUB"))
    for answer in (await provider.create_invoice(rub), await provider.pay_with_code(rub, "1345")):
        assert (answer.status, answer.raw_status) == (
            PaymentStatus.DECLINED,
            "currency_not_accepted",
        )
    assert wire.requests == []
    await provider.aclose()


async def test_currency_any_sends_the_amount_as_is() -> None:
    wire = Wire(signed({**order_data("NOTPAY", code_url="weixin://x"), "total_fee": 100}))
    provider = make_provider(wire, options={**OPTIONS, "currency": "any"})
    await provider.create_invoice(Order("T0001-c0de-000001", Money(100, "RUB")))
    assert wire.form()["total_fee"] == "100"
    await provider.aclose()


async def test_logs_hold_no_secret_and_no_whole_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wire = Wire(signed(order_data("USERPAYING")), signed(None, retcode=10003, msg="sign"))
    provider = make_provider(wire)
    await provider.pay_with_code(ORDER, "134567890123456789")
    with pytest.raises(ProviderProtocolError) as caught:
        await provider.query(ORDER)
    await provider.aclose()
    text = caplog.text + str(caught.value) + repr(provider) + json.dumps(provider.status())
    assert SECRET not in text
    assert "134567890123456789" not in text
    assert "1345**********6789" in caplog.text


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "secrets", "key"),
    [
        ({**OPTIONS, "app_key": ""}, SECRETS, "providers.verystar.options.app_key"),
        (OPTIONS, {}, "providers.verystar.app_secret"),
        ({"app_key": "k", "client_sn": "1"}, SECRETS, "providers.verystar.options.store_sn"),
        ({"app_key": "k", "store_sn": "1"}, SECRETS, "providers.verystar.options.client_sn"),
        ({**OPTIONS, "currency": "yuan"}, SECRETS, "providers.verystar.options.currency"),
        ({**OPTIONS, "proxy": "socks5://p:1080"}, SECRETS, "providers.verystar.options.proxy"),
        ({**OPTIONS, "url_refund": "ftp://x/r"}, SECRETS, "providers.verystar.options.url_refund"),
        ({**OPTIONS, "url_pay": "/pay?x=1"}, SECRETS, "providers.verystar.options.url_pay"),
        ({**OPTIONS, "merchant_no": "1"}, SECRETS, "providers.verystar.options.merchant_no"),
    ],
)
def test_bad_or_missing_settings_name_the_key(
    options: dict[str, str], secrets: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_provider(Wire(), options=options, secrets=secrets)
    assert caught.value.key == key


def test_app_key_may_live_in_the_secrets_file() -> None:
    options = {k: v for k, v in OPTIONS.items() if k != "app_key"}
    provider = make_provider(Wire(), options=options, secrets={**SECRETS, "app_key": "k"})
    assert provider.status()["store_sn"] == "10001"


def test_openbravo_barcode_lists_point_to_routes() -> None:
    with pytest.raises(ConfigError, match=r"\[\[routes\]\]"):
        make_provider(Wire(), options={**OPTIONS, "alipay_prefixes": "25,28"})


def test_proxy_from() -> None:
    assert proxy_from({}) is None
    assert proxy_from({"proxy": " "}) is None
    assert proxy_from({"proxy": "http://10.0.0.1:3128"}) == "http://10.0.0.1:3128"
    with pytest.raises(ConfigError) as caught:
        proxy_from({"proxy": "10.0.0.1:3128"}, name="verystar_wechat")
    assert caught.value.key == "providers.verystar_wechat.options.proxy"
    provider = make_provider(Wire(), options={**OPTIONS, "proxy": "https://proxy.invalid:8443"})
    assert provider.proxy == "https://proxy.invalid:8443"


def test_default_schedule_and_overrides() -> None:
    caps = capabilities_from(ProviderConfig(driver="verystar"))
    assert (caps.first_poll_delay_s, caps.poll_interval_s, caps.confirm_timeout_s) == (5, 3, 45)
    assert (caps.supports_mpm, caps.supports_cpm, caps.supports_refund) == (True, True, True)
    wechat = capabilities_from(ProviderConfig(driver="verystar", poll_interval_s=5.0))
    assert (wechat.poll_interval_s, wechat.confirm_timeout_s) == (5.0, 45.0)


def test_routes_from_openbravo_lists() -> None:
    routes = routes_from_openbravo(
        "16, 17,18,19,20,21,22,23,24,18", "25,26,27,28,29,30", "18", " 10,11,12,13,14,15,",
        "verystar_alipay", wechat_provider="verystar_wechat",
    )  # fmt: skip
    alipay, wechat = routes
    assert alipay == RouteConfig("alipay", "verystar_alipay", ("25", "26", "27", "28", "29", "30"),
                                 tuple(range(16, 25)))  # fmt: skip
    assert wechat == RouteConfig("wechat", "verystar_wechat",
                                 ("10", "11", "12", "13", "14", "15"), (18,))  # fmt: skip
    assert route_code("286648397128431234", routes) == alipay
    assert route_code("134567890123456789", routes) == wechat
    assert route_code("161234567890123456", routes) is None


def test_routes_from_openbravo_skips_a_wallet_with_no_lists() -> None:
    routes = routes_from_openbravo("", "", "18", "", "verystar")
    assert routes == (RouteConfig("wechat", "verystar", (), (18,)),)


@pytest.mark.parametrize(
    ("args", "key"),
    [(("x", "", "", ""), "alipay_lengths"), (("", "", "0", ""), "wechat_lengths"),
     (("", "2-5", "", ""), "alipay_prefixes"), (("", "", "", "1 0"), "wechat_prefixes")],
)  # fmt: skip
def test_routes_from_openbravo_names_the_bad_list(
    args: tuple[str, str, str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        routes_from_openbravo(*args, "verystar")
    assert caught.value.key == key


# -- the fake ---------------------------------------------------------------------------------


def _fake_request(form: dict[str, str], path: str = "/v3/pay/orderquery.json") -> Request:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return Request("POST", path, headers=headers, body=urlencode(form).encode())


def _form(secret: str = SECRET, **changes: str) -> dict[str, str]:
    form = {"store_sn": "10001", "client_sn": "10001", "out_sn": OUT_SN, "app_key": "testkey",
            "time": str(NOW), **changes}  # fmt: skip
    form["sign"] = sign_params(form, secret)
    return form


@pytest.fixture
def fake(tmp_path: Path) -> VerystarFake:
    ledger = SandboxLedger.open(tmp_path / "ledger.sqlite3")
    return VerystarFake(ledger, options=OPTIONS, secrets=SECRETS)


@pytest.mark.parametrize(
    ("form", "retcode"),
    [
        (_form(), 20001),  # well signed: the order is simply unknown
        (_form(secret="wrong"), 10003),
        (_form(app_key="other"), 10001),
        (_form(time=str(NOW * 1000)), 10002),  # milliseconds are refused
        ({**_form(), "out_sn": "T0001ZHc0deZH000002"}, 10003),  # changed after signing
    ],
)
async def test_fake_checks_every_request(
    fake: VerystarFake, form: dict[str, str], retcode: int
) -> None:
    answer = json.loads((await fake(_fake_request(form))).body)
    assert answer["retcode"] == retcode
    assert answer["sign"] == sign_params(answer["data"] or {}, SECRET)
    fake.ledger.close()


async def test_fake_refuses_a_json_body(fake: VerystarFake) -> None:
    request = Request("POST", "/v3/pay/orderquery.json", body=json.dumps(_form()).encode(),
                      headers={"content-type": "application/json"})  # fmt: skip
    assert json.loads((await fake(request)).body)["retcode"] == 10002
    fake.ledger.close()


async def test_fake_keeps_the_terminals_ids_and_signs_wrongly_on_demand(
    fake: VerystarFake,
) -> None:
    pay = _form(auth_code="134567890123456789", total_fee="700")
    answer = json.loads((await fake(_fake_request(pay, "/v3/pay/micropay.json"))).body)
    assert (answer["retcode"], answer["data"]["trade_state"]) == (0, "USERPAYING")
    assert answer["data"]["channel"] == "wx"
    assert [p.order_id for p in fake.ledger.payments()] == ["T0001-c0de-000001"]
    fake.signatures_valid = False
    answer = json.loads((await fake(_fake_request(_form()))).body)
    assert answer["sign"] != sign_params(answer["data"], SECRET)
    fake.ledger.close()


async def test_driver_against_fake_sends_once_then_queries(tmp_path: Path) -> None:
    """A lost answer is never re-sent: the next call is a query, on the same connection."""
    server = SandboxServer(tmp_path / "l.sqlite3", driver="verystar", options=OPTIONS,
                           secrets=SECRETS)  # fmt: skip
    url = await server.start()
    provider = build_provider(
        "verystar", ProviderConfig(driver="verystar", url=url, options=OPTIONS),
        api_key=None, secrets=SECRETS,
    )  # fmt: skip
    try:
        server.http.set_misbehaviour("lose_answer", count=1, paths_prefix="/v3/")
        with pytest.raises(ProviderUnavailable):
            await provider.pay_with_code(ORDER, "286648397128431234")
        assert server.http.requests_received == 1
        for _ in range(3):
            assert (await provider.query(ORDER)).status is PaymentStatus.PENDING
        assert server.http.requests_received == 4
        assert server.http.connections_accepted == 2  # the reset one, then one for every poll
        assert len(server.ledger.payments()) == 1
    finally:
        await provider.aclose()
        await server.stop()


async def test_fake_knows_its_store_and_terminal(fake: VerystarFake) -> None:
    for changed in (_form(store_sn="10002"), _form(client_sn="")):
        answer = json.loads((await fake(_fake_request(changed))).body)
        assert answer["retcode"] == 10002
    fake.ledger.close()


async def test_a_query_may_carry_the_qr_of_a_pending_order() -> None:
    provider = make_provider(Wire(signed(order_data("NOTPAY", code_url="weixin://wxpay/q"))))
    answer = await provider.query(ORDER)
    assert (answer.status, answer.qr_payload) == (PaymentStatus.PENDING, "weixin://wxpay/q")
    await provider.aclose()


async def test_an_id_too_long_for_out_sn_is_declined_without_a_request() -> None:
    wire = Wire()
    provider = make_provider(wire)
    fits = Order("-" * 25 + "-abcd-000001", Money(100, "CNY"))
    too_long = Order("-" * 26 + "-abcd-000001", Money(100, "CNY"))
    assert len(out_sn_for(fits.order_id)) == 64
    answer = await provider.pay_with_code(too_long, "134567890123456789")
    assert (answer.status, answer.raw_status) == (PaymentStatus.DECLINED, "out_sn_too_long")
    assert wire.requests == []
    await provider.aclose()
