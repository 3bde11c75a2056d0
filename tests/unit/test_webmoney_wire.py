"""WebMoney gateway driver: the assumed codec's signing and shapes, config, the fake, and TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import re
import ssl
import stat
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from terminal.config.model import ProviderConfig
from terminal.errors import ConfigError, ProviderProtocolError, ProviderUnavailable
from terminal.money import Money
from terminal.providers.base import Order, PaymentStatus
from terminal.providers.loopback_http import LoopbackHTTPServer, Request
from terminal.providers.registry import build_provider
from terminal.providers.sandbox.ledger import SandboxLedger
from terminal.providers.webmoney import codec as codec
from terminal.providers.webmoney.driver import WebMoneyProvider
from terminal.providers.webmoney.fake import WIRE_STATES, WebMoneyFake
from terminal.providers.webmoney.tls import client_for, client_ssl_context

OPTIONS = dict(WebMoneyFake.DEMO_OPTIONS)
SECRETS = dict(WebMoneyFake.DEMO_SECRETS)
KEY = SECRETS["agent_key"]
BASE = "http://gw.test"
ENDPOINT = f"{BASE}{OPTIONS['service_path']}"
NS = f"{{{codec.NS_SERVICE}}}"

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


def order(n: int = 1, amount_minor: int = 12_500) -> Order:
    return Order(f"T0001-c0de-{n:06d}", Money(amount_minor, "RUB"), "Coffee")


def driver(
    handler: Handler,
    *,
    options: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    base_url: str = BASE,
) -> WebMoneyProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), trust_env=False)
    return WebMoneyProvider(
        "wm",
        WebMoneyProvider.DEFAULT_CAPABILITIES,
        client=client,
        base_url=base_url,
        options=OPTIONS if options is None else options,
        secrets=SECRETS if secrets is None else secrets,
    )


@dataclass
class Recorder:
    """A MockTransport handler that answers with canned replies and keeps every request."""

    replies: list[httpx.Response]
    seen: list[httpx.Request]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.replies.pop(0)


def canned(*replies: httpx.Response) -> Recorder:
    return Recorder(list(replies), [])


def reply(operation: codec.Operation, key: str = KEY, **fields: str) -> httpx.Response:
    """A signed gateway answer: a pending 125.00 RUB payment unless ``fields`` say otherwise."""
    base = {
        "ResultCode": "0",
        "OrderId": order().order_id,
        "TransactionId": "7001",
        "State": "Created",
        "Amount": "125.00",
        "Currency": "RUB",
        "QrData": "https://qr.nspk.ru/AD1?type=02",
    }
    body = codec.encode_reply(operation, {**base, **fields}, key)
    return httpx.Response(200, content=body, headers={"Content-Type": codec.CONTENT_TYPE})


def xml_reply(text: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=text.encode(), headers={"Content-Type": "text/xml"})


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SandboxLedger]:
    books = SandboxLedger.open(tmp_path / "webmoney.sqlite3")
    yield books
    books.close()


def over_fake(fake: WebMoneyFake) -> Handler:
    """Route httpx requests straight into the fake (no socket)."""

    async def handle(request: httpx.Request) -> httpx.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = await fake(
            Request(request.method, request.url.path, request.url.query.decode(), headers,
                    request.content)
        )  # fmt: skip
        return httpx.Response(
            answer.status, content=answer.body, headers={"Content-Type": answer.content_type}
        )

    return handle


@pytest.fixture
def fake(ledger: SandboxLedger) -> WebMoneyFake:
    return WebMoneyFake(ledger)


@pytest.fixture
async def provider(fake: WebMoneyFake) -> AsyncIterator[WebMoneyProvider]:
    wm = driver(over_fake(fake))
    yield wm
    await wm.aclose()


# -- signing (assumed scheme; no published vector exists) -----------------------------


def test_signature_vector() -> None:
    values = ["900001", "0", "9001", "0", "1", "T0001-c0de-000001"]
    assert codec.canonical("GetPaymentStatus", values) == (
        "GetPaymentStatus|900001|0|9001|0|1|T0001-c0de-000001"
    )
    assert codec.sign(KEY, "GetPaymentStatus", values) == (
        "BB6FC0D4A6500096D41C654329DD8BF85B5BFEEB7818BC529FFC013F23375A99"
    )


def test_signature_escapes_the_separator() -> None:
    values = [
        "900001",
        "0",
        "9001",
        "0",
        "1",
        "T0001-c0de-000001",
        "125.00",
        "RUB",
        "Coffee | cake",
    ]
    assert codec.canonical("CreateQrPayment", values).endswith("|RUB|Coffee \\| cake")
    assert codec.sign(KEY, "CreateQrPayment", values) == (
        "7E86C33E27F2AD98F7B493DEA479C2EC5EB051E6BBDBA43357EB6103EC472F86"
    )
    assert codec.canonical("X", ["a|", "b"]) != codec.canonical("X", ["a", "|b"])
    assert codec.canonical("X", ["a\\", "b"]) == "X|a\\\\|b"


# -- request and answer shapes -------------------------------------------------------


async def test_create_request_shape() -> None:
    recorder = canned(reply(codec.Operation.CREATE))
    wm = driver(recorder)
    answer = await wm.create_invoice(order())
    assert answer.status is PaymentStatus.PENDING
    assert (answer.raw_status, answer.provider_ref) == ("Created", "7001")
    assert answer.qr_payload == "https://qr.nspk.ru/AD1?type=02"
    [sent] = recorder.seen
    assert (sent.method, str(sent.url)) == ("POST", ENDPOINT)
    assert sent.headers["content-type"] == "text/xml; charset=utf-8"
    assert sent.headers["soapaction"] == '"http://tempuri.org/IApiService/CreateQrPayment"'
    root = ET.fromstring(sent.content)
    record = root.find(f"{{{codec.NS_SOAP}}}Body/{NS}CreateQrPayment/{NS}request")
    assert record is not None
    fields = {child.tag.removeprefix(NS): child.text or "" for child in record}
    assert fields == {
        "AgentId": "900001", "Wmid": "0", "PosId": "9001", "CrsId": "0", "PaymentType": "1",
        "OrderId": "T0001-c0de-000001", "Amount": "125.00", "Currency": "RUB",
        "Description": "Coffee", "Sign": fields["Sign"],
    }  # fmt: skip
    signed = [fields[name] for name in codec.REQUEST_FIELDS[codec.Operation.CREATE]]
    assert fields["Sign"] == codec.sign(KEY, "CreateQrPayment", signed)
    assert KEY.encode() not in sent.content
    await wm.aclose()


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        (codec.Operation.STATUS, lambda wm, o: wm.query(o)),
        (codec.Operation.CANCEL, lambda wm, o: wm.cancel(o)),
    ],
)
async def test_status_and_cancel_name_the_order_only(
    operation: codec.Operation, call: Callable[[WebMoneyProvider, Order], Awaitable[object]]
) -> None:
    recorder = canned(reply(operation, State="Cancelled"))
    await call(driver(recorder), Order(order().order_id, order().amount, provider_ref=None))
    [sent] = recorder.seen
    assert sent.headers["soapaction"].endswith(f'/{operation.value}"')
    _, fields = codec.decode_request({"soapaction": sent.headers["soapaction"]}, sent.content, KEY)
    assert set(fields) == {*codec.REQUEST_FIELDS[operation], "Sign"}
    assert fields["OrderId"] == order().order_id


async def test_payment_type_code_option_goes_on_the_wire() -> None:
    recorder = canned(reply(codec.Operation.STATUS))
    options = {**OPTIONS, "payment_type": "alipay", "payment_type_code": "17"}
    await driver(recorder, options=options).query(order())
    assert b">17</" in recorder.seen[0].content


@pytest.mark.parametrize(("state", "status"), sorted(codec.STATE_MAP.items()))
async def test_state_mapping(state: str, status: PaymentStatus) -> None:
    answer = await driver(canned(reply(codec.Operation.STATUS, State=state))).query(order())
    assert (answer.status, answer.raw_status) == (status, state)


async def test_not_found_and_duplicate_are_answers() -> None:
    wm = driver(
        canned(
            reply(codec.Operation.STATUS, ResultCode="1", State="", Amount="", OrderId=""),
            reply(codec.Operation.CREATE, ResultCode="2", State=""),
        )
    )
    assert (await wm.query(order())).status is PaymentStatus.NOT_FOUND
    duplicate = await wm.create_invoice(order())
    assert duplicate.status is PaymentStatus.DECLINED
    assert "already used" in duplicate.message


@pytest.mark.parametrize(
    "bad",
    [
        {"State": "Settled"},  # a state word the codec does not know
        {"OrderId": "T0001-c0de-999999"},  # an answer about another order
        {"Amount": "1.00"},  # another amount
        {"Currency": "USD"},
        {"ResultCode": "10"},  # the gateway refused our signature
        {"ResultCode": "11"},  # the gateway does not know this POS
        {"ResultCode": "99"},
        {"ResultCode": "x"},
    ],
)
async def test_answers_that_are_not_this_payment_are_protocol_errors(bad: dict[str, str]) -> None:
    with pytest.raises(ProviderProtocolError):
        await driver(canned(reply(codec.Operation.STATUS, **bad))).query(order())


async def test_wrong_response_signature_is_never_paid() -> None:
    wrong = reply(codec.Operation.STATUS, key="another-key", State="Paid")
    with pytest.raises(ProviderProtocolError, match="signature"):
        await driver(canned(wrong)).query(order())


async def test_unsigned_or_tampered_answer_is_a_protocol_error() -> None:
    signed = reply(codec.Operation.STATUS, State="Rejected").content.decode()
    tampered = signed.replace(">Rejected<", ">Paid<")
    unsigned = re.sub(r"<Sign>[^<]*</Sign>", "", signed)
    assert tampered != signed
    assert unsigned != signed
    for text in (tampered, unsigned):
        with pytest.raises(ProviderProtocolError):
            await driver(canned(xml_reply(text))).query(order())


async def test_answer_for_another_operation_is_refused() -> None:
    with pytest.raises(ProviderProtocolError):
        await driver(canned(reply(codec.Operation.CANCEL, State="Paid"))).query(order())


async def test_pending_invoice_without_qr_is_a_protocol_error() -> None:
    with pytest.raises(ProviderProtocolError, match="QrData"):
        await driver(canned(reply(codec.Operation.CREATE, QrData=""))).create_invoice(order())


async def test_dtd_is_refused_before_parsing() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<s:Envelope xmlns:s="{codec.NS_SOAP}"><s:Body>&b;</s:Body></s:Envelope>'
    )
    with pytest.raises(ProviderProtocolError, match="DTD"):
        await driver(canned(xml_reply(bomb))).query(order())


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (xml_reply(codec.encode_fault("boom").decode(), 500), ProviderUnavailable),
        (httpx.Response(503, text="busy"), ProviderUnavailable),
        (httpx.Response(404, text="endpoint not found"), ProviderProtocolError),
        (httpx.Response(403, text="client certificate required"), ProviderProtocolError),
        (xml_reply(codec.encode_fault("boom").decode(), 200), ProviderProtocolError),
        (httpx.Response(200, content=b"\x00\xffgarbage"), ProviderProtocolError),
        (httpx.Response(200, json={"ResultCode": 0}), ProviderProtocolError),
    ],
)
async def test_any_http_status_but_200_or_any_non_record_is_technical(
    response: httpx.Response, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await driver(canned(response)).query(order())


async def test_lost_answer_is_not_resent() -> None:
    seen: list[httpx.Request] = []

    async def drop(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(ProviderUnavailable):
        await driver(drop).create_invoice(order())
    assert len(seen) == 1


async def test_customer_codes_are_declined_without_a_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = canned()
    caplog.set_level(logging.DEBUG)
    answer = await driver(recorder).pay_with_code(order(), "286648397128431234")
    assert answer.status is PaymentStatus.DECLINED
    assert recorder.seen == []
    assert "286648397128431234" not in caplog.text
    assert "2866**********1234" in caplog.text


# -- configuration -------------------------------------------------------------------


def test_default_capabilities_follow_the_public_record() -> None:
    caps = WebMoneyProvider.DEFAULT_CAPABILITIES
    assert (caps.supports_mpm, caps.supports_cpm) == (True, False)
    assert (caps.poll_interval_s, caps.first_poll_delay_s) == (5.0, 5.0)
    assert caps.invoice_lifetime_s >= 120.0


def test_registry_builds_it_with_the_configured_schedule() -> None:
    cfg = ProviderConfig(
        driver="webmoney", url=BASE, options=OPTIONS, technical_error_budget=3,
        invoice_lifetime_s=180.0,
    )  # fmt: skip
    wm = build_provider("wm", cfg, api_key=None, secrets=SECRETS)
    assert wm.capabilities.technical_error_budget == 3
    assert wm.capabilities.invoice_lifetime_s == 180.0
    assert wm.capabilities.poll_interval_s == 5.0


async def test_short_overall_timeout_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    caps = WebMoneyProvider.DEFAULT_CAPABILITIES
    short = type(caps)(
        **{**{f: getattr(caps, f) for f in caps.__slots__}, "invoice_lifetime_s": 60.0}
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(canned()), trust_env=False)
    WebMoneyProvider("wm", short, client=client, base_url=BASE, options=OPTIONS, secrets=SECRETS)
    assert "under 120 s" in caplog.text
    await client.aclose()


@pytest.mark.parametrize(
    ("options", "secrets", "base_url", "key"),
    [
        ({"agent_number": ""}, SECRETS, BASE, "providers.wm.options.agent_number"),
        ({"pos_number": " "}, SECRETS, BASE, "providers.wm.options.pos_number"),
        ({"service_path": ""}, SECRETS, BASE, "providers.wm.options.service_path"),
        ({"service_path": "ApiService.svc"}, SECRETS, BASE, "providers.wm.options.service_path"),
        ({"payment_type": ""}, SECRETS, BASE, "providers.wm.options.payment_type"),
        ({"payment_type": "visa"}, SECRETS, BASE, "providers.wm.options.payment_type"),
        ({"wmid": "Z123"}, SECRETS, BASE, "providers.wm.options.wmid"),
        ({"crs_id": "-1"}, SECRETS, BASE, "providers.wm.options.crs_id"),
        ({"merchant_no": "1"}, SECRETS, BASE, "providers.wm.options.merchant_no"),
        ({}, {}, BASE, "providers.wm.agent_key"),
        ({}, SECRETS, "https://dev.runpay.com", "providers.wm.options.pfx_path"),
        ({"pfx_path": "/x/9001.pfx"}, SECRETS, BASE, "providers.wm.pfx_password"),
        ({}, SECRETS, "https://dev.runpay.com/PosIntegration2/ApiService.svc", "providers.wm.url"),
    ],
)
def test_missing_or_wrong_settings_name_their_key(
    options: dict[str, str], secrets: dict[str, str], base_url: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        driver(canned(), options={**OPTIONS, **options}, secrets=secrets, base_url=base_url)
    assert caught.value.key == key


def test_wmid_and_crs_id_default_to_zero() -> None:
    options = {k: v for k, v in OPTIONS.items() if k not in ("wmid", "crs_id")}
    fields = driver(canned(), options=options).settings.merchant_fields()
    assert (fields["Wmid"], fields["CrsId"]) == ("0", "0")


async def test_client_for_plain_http_needs_no_certificate() -> None:
    async with client_for(OPTIONS, SECRETS, name="wm", url="http://127.0.0.1:1") as client:
        assert not client.is_closed
    with pytest.raises(ConfigError) as caught:
        client_for(OPTIONS, SECRETS, name="wm", url="https://dev.runpay.com")
    assert caught.value.key == "providers.wm.options.pfx_path"


async def test_secrets_are_never_logged(
    provider: WebMoneyProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await provider.create_invoice(order())
    await provider.query(order())
    await provider.cancel(order())
    assert KEY not in caplog.text
    assert KEY not in repr(provider)


# -- against the fake ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payment_type", "prefix"),
    [
        ("sbp", "https://qr.nspk.ru/AD"),
        ("webmoney", "wmk:payto?Purse=Z"),
        ("wechat", "weixin://wxpay/bizpayurl?pr="),
        ("alipay", "https://qr.alipay.com/bax"),
    ],
)
async def test_fake_qr_payloads_look_like_each_payment_type(
    fake: WebMoneyFake, payment_type: str, prefix: str
) -> None:
    wm = driver(over_fake(fake), options={**OPTIONS, "payment_type": payment_type})
    created = await wm.create_invoice(order())
    assert created.qr_payload is not None
    assert created.qr_payload.startswith(prefix)
    assert (await wm.query(order())).qr_payload == created.qr_payload


async def test_sbp_payload_carries_the_amount_in_kopecks(provider: WebMoneyProvider) -> None:
    created = await provider.create_invoice(order(amount_minor=12_345))
    assert created.qr_payload is not None
    assert "&sum=12345&cur=RUB&crc=" in created.qr_payload
    assert len(created.qr_payload.split("?")[0].rsplit("/", 1)[1]) == 32  # a QRC id


@pytest.mark.parametrize(
    ("action", "status", "raw"),
    [
        ("pay", PaymentStatus.PAID, "Paid"),
        ("decline", PaymentStatus.DECLINED, "Rejected"),
        ("expire", PaymentStatus.EXPIRED, "Expired"),
        ("abandon", PaymentStatus.PENDING, "Created"),
    ],
)
async def test_fake_statuses(
    provider: WebMoneyProvider, ledger: SandboxLedger, action: str, status: PaymentStatus, raw: str
) -> None:
    created = await provider.create_invoice(order())
    ledger.customer(action, order().order_id)  # type: ignore[arg-type]
    answer = await provider.query(order())
    assert (answer.status, answer.raw_status) == (status, raw)
    assert answer.provider_ref == created.provider_ref == ledger.payments()[0].payment_id


async def test_every_state_the_fake_sends_is_mapped() -> None:
    assert set(WIRE_STATES.values()) <= set(codec.STATE_MAP)


async def test_refunds_partial_then_full_and_refusals(
    provider: WebMoneyProvider, ledger: SandboxLedger
) -> None:
    assert (await provider.refund(order(), "r0", Money(100, "RUB"))).status is (
        PaymentStatus.NOT_FOUND
    )
    await provider.create_invoice(order())
    not_paid = await provider.refund(order(), "r0", Money(100, "RUB"))
    assert (not_paid.status, not_paid.message) == (PaymentStatus.PENDING, "the payment is not paid")
    ledger.customer("pay", order().order_id)
    part = await provider.refund(order(), "r1", Money(2_500, "RUB"))
    assert (part.status, part.raw_status) == (PaymentStatus.REFUNDED, "PartiallyRefunded")
    assert (await provider.query(order())).status is PaymentStatus.PAID
    too_much = await provider.refund(order(), "r2", Money(12_500, "RUB"))
    assert too_much.message == "the refund exceeds what was paid"
    rest = await provider.refund(order(), "r3", Money(10_000, "RUB"))
    assert (rest.status, rest.raw_status) == (PaymentStatus.REFUNDED, "Refunded")
    assert (await provider.refund(order(), "r3", Money(10_000, "RUB"))).status is (
        PaymentStatus.REFUNDED
    )
    assert [r.refund_id for r in ledger.refunds()] == ["r1", "r3"]


async def test_fake_cancel(provider: WebMoneyProvider, ledger: SandboxLedger) -> None:
    assert (await provider.cancel(order(1))).status is PaymentStatus.NOT_FOUND
    await provider.create_invoice(order(1))
    assert (await provider.cancel(order(1))).status is PaymentStatus.CANCELLED
    await provider.create_invoice(order(2))
    ledger.customer("pay", order(2).order_id)
    paid = await provider.cancel(order(2))
    assert (paid.status, paid.raw_status) == (PaymentStatus.PAID, "Paid")


async def test_same_order_id_other_amount_is_declined(provider: WebMoneyProvider) -> None:
    await provider.create_invoice(order())
    again = await provider.create_invoice(order(amount_minor=1))
    assert again.status is PaymentStatus.DECLINED


async def test_fake_refuses_a_badly_signed_request(
    fake: WebMoneyFake, ledger: SandboxLedger
) -> None:
    fields = {
        "AgentId": "900001", "Wmid": "0", "PosId": "9001", "CrsId": "0", "PaymentType": "1",
        "OrderId": order().order_id, "Amount": "125.00", "Currency": "RUB", "Description": "",
    }  # fmt: skip
    wire = codec.encode_request(codec.Operation.CREATE, fields, "a-wrong-key")
    headers = {name.lower(): value for name, value in wire.headers.items()}
    answer = await fake(Request("POST", OPTIONS["service_path"], "", headers, wire.body))
    refused = codec.decode_reply(codec.Operation.CREATE, answer.body, KEY)
    assert refused.result_code == codec.Result.BAD_SIGNATURE
    assert ledger.payments() == []
    wm = driver(over_fake(fake), secrets={"agent_key": "a-wrong-key"})
    with pytest.raises(ProviderProtocolError):
        await wm.create_invoice(order())
    assert ledger.payments() == []


async def test_fake_refuses_an_unknown_terminal_and_bad_requests(
    fake: WebMoneyFake, ledger: SandboxLedger
) -> None:
    with pytest.raises(ProviderProtocolError, match="POS"):
        await driver(over_fake(fake), options={**OPTIONS, "pos_number": "9002"}).query(order())
    wrong_path = await fake(Request("POST", "/v1/Other.svc", "", {}, b""))
    assert wrong_path.status == 404
    no_action = await fake(Request("POST", OPTIONS["service_path"], "", {}, b"<x/>"))
    assert no_action.status == 500
    garbage = await fake(
        Request("POST", OPTIONS["service_path"], "",
                {"soapaction": codec.Operation.STATUS.action}, b"<x/>")
    )  # fmt: skip
    assert garbage.status == 400
    assert ledger.payments() == []


async def test_fake_signs_wrongly_on_command(
    provider: WebMoneyProvider, fake: WebMoneyFake
) -> None:
    await provider.create_invoice(order())
    fake.signatures_valid = False
    with pytest.raises(ProviderProtocolError, match="signature"):
        await provider.query(order())


# -- TLS with the .pfx client certificate ----------------------------------------------


@dataclass
class Pki:
    """A test CA, a server certificate for 127.0.0.1 and a client .pfx."""

    ca_file: Path
    server_cert: Path
    server_key: Path
    pfx: Path
    password: str = "pfx-pass"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *extensions: tuple[x509.ExtensionType, bool],
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue(
        "payterm test CA", ca_key, None, (x509.BasicConstraints(ca=True, path_length=0), True)
    )
    issuer = (ca.subject, ca_key)
    server = _issue(
        "127.0.0.1", server_key, issuer,
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
    )  # fmt: skip
    client = _issue(
        "9001",
        client_key,
        issuer,
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    )
    pem = serialization.Encoding.PEM
    pfx = pkcs12.serialize_key_and_certificates(
        b"9001", client_key, client, [ca], serialization.BestAvailableEncryption(b"pfx-pass")
    )
    return Pki(
        ca_file=_pem(folder / "ca.pem", ca.public_bytes(pem)),
        server_cert=_pem(folder / "server.pem", server.public_bytes(pem)),
        server_key=_pem(
            folder / "server.key",
            server_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
        pfx=_pem(folder / "9001.pfx", pfx),
    )


@pytest.fixture
async def tls_fake(pki: Pki, fake: WebMoneyFake) -> AsyncIterator[LoopbackHTTPServer]:
    """The fake over HTTPS on 127.0.0.1, requiring a client certificate from the test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(cafile=pki.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    async with LoopbackHTTPServer(fake, ssl_context=context) as server:
        yield server


def tls_options(pki: Pki) -> dict[str, str]:
    return {**OPTIONS, "pfx_path": str(pki.pfx), "ca_file": str(pki.ca_file)}


def tls_driver(client: httpx.AsyncClient, url: str, pki: Pki) -> WebMoneyProvider:
    secrets = {**SECRETS, "pfx_password": pki.password}
    return WebMoneyProvider(
        "wm", WebMoneyProvider.DEFAULT_CAPABILITIES, client=client, base_url=url,
        options=tls_options(pki), secrets=secrets, owns_client=True,
    )  # fmt: skip


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_pfx_client_certificate_opens_the_gateway(
    pki: Pki, tls_fake: LoopbackHTTPServer, ledger: SandboxLedger
) -> None:
    assert tls_fake.url.startswith("https://127.0.0.1:")
    secrets = {**SECRETS, "pfx_password": pki.password}
    client = client_for(tls_options(pki), secrets, name="wm", url=tls_fake.url)
    wm = tls_driver(client, tls_fake.url, pki)
    created = await wm.create_invoice(order())
    assert created.status is PaymentStatus.PENDING
    assert (await wm.query(order())).status is PaymentStatus.PENDING
    assert tls_fake.connections_accepted == 1
    assert len(ledger.payments()) == 1
    await wm.aclose()


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_gateway_refuses_a_client_without_certificate(
    pki: Pki, tls_fake: LoopbackHTTPServer, ledger: SandboxLedger
) -> None:
    bare = ssl.create_default_context(cafile=pki.ca_file)
    wm = tls_driver(httpx.AsyncClient(verify=bare, trust_env=False), tls_fake.url, pki)
    with pytest.raises(ProviderUnavailable):
        await wm.create_invoice(order())
    assert ledger.payments() == []
    await wm.aclose()


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_server_verification_stays_on(pki: Pki, tls_fake: LoopbackHTTPServer) -> None:
    system_cas_only = client_ssl_context(pki.pfx, pki.password)  # the test CA is not trusted
    assert system_cas_only.verify_mode is ssl.CERT_REQUIRED
    assert system_cas_only.check_hostname
    client = httpx.AsyncClient(verify=system_cas_only, trust_env=False)
    wm = tls_driver(client, tls_fake.url, pki)
    with pytest.raises(ProviderUnavailable):
        await wm.query(order())
    await wm.aclose()


def test_private_key_touches_disk_only_encrypted_and_briefly(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[tuple[str, bytes, int]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: str, keyfile: str, password: str) -> None:
        mode = stat.S_IMODE(os.stat(keyfile).st_mode)
        loaded.append((keyfile, Path(keyfile).read_bytes(), mode))
        assert password != pki.password
        original(self, certfile, keyfile, password=password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    client_ssl_context(pki.pfx, pki.password, cafile=pki.ca_file)
    [(keyfile, content, mode)] = loaded
    assert content.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert mode == 0o600
    assert not Path(keyfile).exists()
    assert not Path(keyfile).parent.exists()


def test_wrong_pfx_password_or_file_names_the_key(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        client_ssl_context(pki.pfx, "wrong", provider="wm")
    assert caught.value.key == "providers.wm.pfx_password"
    with pytest.raises(ConfigError) as caught:
        client_ssl_context(tmp_path / "missing.pfx", "x", provider="wm")
    assert caught.value.key == "providers.wm.options.pfx_path"
    with pytest.raises(ConfigError) as caught:
        client_for(tls_options(pki), {**SECRETS, "pfx_password": "wrong"}, name="wm")
    assert caught.value.key == "providers.wm.pfx_password"


def test_reply_helper_is_a_valid_answer() -> None:
    decoded = codec.decode_reply(codec.Operation.STATUS, reply(codec.Operation.STATUS).content, KEY)
    assert decoded.result_code == codec.Result.OK
