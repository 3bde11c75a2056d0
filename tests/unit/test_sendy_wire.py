"""Sendy: the assumed wire (signing vectors, shapes), settings, shifts and activation."""

from __future__ import annotations

import dataclasses
import json
import logging
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.errors import ConfigError, ProviderProtocolError, ProviderUnavailable
from terminal.money import Money
from terminal.providers.base import Capabilities, Order, PaymentStatus
from terminal.providers.sandbox.server import SandboxServer
from terminal.providers.sendy import codec as wire
from terminal.providers.sendy.activation import MAX_ACTIVATION_ATTEMPTS, activate
from terminal.providers.sendy.driver import SendyProvider, provider_ref
from terminal.providers.sendy.fake import QR_SHAPES, SendyFake

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")

KEY = "sendy-test-key"
TERMINAL = "SENDY-TEST-1"
OPTIONS = {"terminal_id": TERMINAL}
SECRETS = {"terminal_key": KEY}
CODE = "151234567890123456"  # WeChat-shaped
NONCE = "00112233445566778899aabbccddeeff"
ORDER = Order("T0001-000001", Money(12_500, "RUB"), "coffee")

Handler = Callable[[httpx.Request], httpx.Response]


# -- signing vectors (no published ones: these were checked with `openssl dgst -hmac`) --


def test_request_signature_vector() -> None:
    body = b'{"order_id":"T0001-000001","terminal_id":"SENDY-TEST-1"}'
    signature = wire.request_signature(KEY, "POST", "/v1/pos/counters", NONCE, body)
    assert signature == "55ccb13487967cfb8f2d037516c09c7f8e2e02d45b876ec84b1b5425cd3bbf2d"


def test_response_signature_vector() -> None:
    body = b'{"data":{},"errMsg":"","errNo":0}'
    signature = wire.response_signature(KEY, NONCE, body)
    assert signature == "daff5ef66115588223dbbd4660ad6c328facd4cc971625db0fb3bf6a21358986"


def test_signature_matches_is_strict_but_ignores_case() -> None:
    good = wire.response_signature(KEY, NONCE, b"{}")
    assert wire.signature_matches(good, good.upper())
    assert not wire.signature_matches(good, None)
    assert not wire.signature_matches(good, good[:-1] + ("0" if good[-1] != "0" else "1"))


def test_bodies_are_sorted_compact_utf8() -> None:
    assert wire.encode({"b": 1, "a": "смена"}) == '{"a":"смена","b":1}'.encode()


@pytest.mark.parametrize(
    "body", [b"[]", b'{"errMsg":""}', b'{"errNo":true}', b'{"errNo":0,"data":[]}', b"<html>"]
)
def test_envelopes_that_are_not_envelopes_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any decoding failure is a ValueError
        wire.decode_envelope(body)


# -- a driver over httpx.MockTransport ---------------------------------------------------


class FakeWire:
    """Answers like a Sendy server (signed), recording the requests it saw."""

    def __init__(self, payment: dict[str, Any] | None = None, *, err_no: int = 0) -> None:
        self.requests: list[httpx.Request] = []
        self.payment = payment or payment_data()
        self.err_no = err_no
        self.sign_key = KEY
        self.status_code = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/pos/counters"):
            data: dict[str, Any] = {"transaction_no": 345, "shift_no": 12, "shift_opened": False}
            body = wire.encode_envelope(0, "", data)
        else:
            body = wire.encode_envelope(self.err_no, "refused" if self.err_no else "", self.payment)
        nonce = request.headers[wire.NONCE_HEADER]
        signature = wire.response_signature(self.sign_key, nonce, body)
        headers = {wire.SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
        return httpx.Response(self.status_code, content=body, headers=headers)

    def body(self, index: int) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.requests[index].content)
        return parsed


def payment_data(**changes: Any) -> dict[str, Any]:
    payment = wire.SendyPayment(
        ORDER.order_id, "WAITING", 345, 12, 12_500, "RUB", "sendy", None, ""
    ).to_data()
    return {**payment, **changes}


def mock_provider(
    handler: Handler,
    options: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
) -> SendyProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return SendyProvider(
        "sendy",
        SendyProvider.DEFAULT_CAPABILITIES,
        client=client,
        base_url="https://pos.sendy.invalid",
        options=OPTIONS if options is None else options,
        secrets=SECRETS if secrets is None else secrets,
    )


def assert_signed(request: httpx.Request) -> None:
    nonce = request.headers[wire.NONCE_HEADER]
    expected = wire.request_signature(KEY, "POST", request.url.path, nonce, request.content)
    assert request.headers[wire.SIGNATURE_HEADER] == expected
    assert request.headers[wire.TERMINAL_HEADER] == TERMINAL


async def test_offline_asks_for_numbers_then_sends_the_code() -> None:
    server = FakeWire()
    provider = mock_provider(server)
    answer = await provider.pay_with_code(ORDER, CODE)
    await provider.aclose()
    counters, offline = server.requests
    assert counters.url.path == "/v1/pos/counters"
    assert server.body(0) == {"terminal_id": TERMINAL, "order_id": ORDER.order_id}
    assert offline.url.path == "/v1/pos/payment/offline"
    assert server.body(1) == {
        "terminal_id": TERMINAL, "order_id": ORDER.order_id, "transaction_no": 345,
        "shift_no": 12, "amount": 12_500, "currency": "RUB", "description": "coffee",
        "lang": "en", "qr": CODE,
    }  # fmt: skip
    for request in server.requests:
        assert_signed(request)
    assert answer.status is PaymentStatus.PENDING
    assert answer.raw_status == "WAITING"
    assert answer.provider_ref == "S12/T000345"
    assert answer.message == "Sendy shift 12, transaction 000345"


async def test_online_sends_the_chosen_service_and_returns_the_token_qr() -> None:
    qr = "weixin://wxpay/bizpayurl?pr=abc123"
    server = FakeWire(payment_data(service="wechat", qr=qr))
    options = {**OPTIONS, "service_wechat": "true", "online_service": "wechat"}
    provider = mock_provider(server, options)
    answer = await provider.create_invoice(ORDER)
    await provider.aclose()
    assert [r.url.path for r in server.requests] == ["/v1/pos/counters", "/v1/pos/payment/online"]
    assert server.body(1)["service"] == "wechat"
    assert "qr" not in server.body(1)
    assert answer.qr_payload == qr
    assert provider.online_services == ("sendy", "wechat")


async def test_online_service_can_be_chosen_per_payment_among_those_switched_on() -> None:
    server = FakeWire()
    provider = mock_provider(server, {**OPTIONS, "service_alipay": "true"})
    await provider.create_invoice(ORDER, service="alipay")
    with pytest.raises(ConfigError) as refused:
        await provider.create_invoice(ORDER, service="wechat")
    await provider.aclose()
    assert server.body(1)["service"] == "alipay"
    assert refused.value.key == "providers.sendy.options.service_wechat"


@pytest.mark.parametrize(("word", "status"), list(wire.STATUS_MAP.items()))
async def test_status_words_map_to_the_engine(word: str, status: PaymentStatus) -> None:
    server = FakeWire(payment_data(status=word))
    provider = mock_provider(server)
    answer = await provider.query(ORDER)
    await provider.aclose()
    assert [r.url.path for r in server.requests] == ["/v1/pos/payment/status"]
    assert server.body(0) == {"terminal_id": TERMINAL, "order_id": ORDER.order_id, "lang": "en"}
    assert (answer.status, answer.raw_status) == (status, word)


@pytest.mark.parametrize(
    ("err_no", "status", "raw"),
    [(wire.ErrNo.NOT_FOUND, PaymentStatus.NOT_FOUND, "not_found"),
     (wire.ErrNo.CONFLICT, PaymentStatus.DECLINED, "conflict"),
     (wire.ErrNo.SERVICE_OFF, PaymentStatus.DECLINED, "service_off")],
)  # fmt: skip
async def test_business_refusals_are_answers(err_no: int, status: PaymentStatus, raw: str) -> None:
    provider = mock_provider(FakeWire({}, err_no=err_no))
    answer = await provider.query(ORDER)
    await provider.aclose()
    assert (answer.status, answer.raw_status) == (status, raw)


@pytest.mark.parametrize(
    "change",
    [lambda w: setattr(w, "sign_key", "another-key"),
     lambda w: setattr(w, "payment", payment_data(status="SETTLED")),
     lambda w: setattr(w, "payment", payment_data(order_id="T0001-999999")),
     lambda w: setattr(w, "payment", payment_data(transaction_no="345")),
     lambda w: setattr(w, "err_no", wire.ErrNo.BAD_REQUEST),
     lambda w: setattr(w, "status_code", 400)],
    ids=["wrong-signature", "unknown-status", "other-order", "bad-field", "bad-request",
         "http-400"],
)  # fmt: skip
async def test_answers_that_are_not_the_protocol_are_protocol_errors(
    change: Callable[[FakeWire], None],
) -> None:
    server = FakeWire(payment_data(status="PAID"))
    change(server)
    provider = mock_provider(server)
    with pytest.raises(ProviderProtocolError):
        await provider.query(ORDER)
    await provider.aclose()


async def test_an_old_answer_replayed_for_another_request_is_refused() -> None:
    seen: list[httpx.Response] = []

    def replay(request: httpx.Request) -> httpx.Response:
        if not seen:
            seen.append(FakeWire(payment_data(status="PAID"))(request))
        return httpx.Response(200, content=seen[0].content, headers=seen[0].headers)

    provider = mock_provider(replay)
    assert (await provider.query(ORDER)).status is PaymentStatus.PAID
    with pytest.raises(ProviderProtocolError, match="signature"):
        await provider.query(ORDER)  # the same signed "paid", but for another nonce
    await provider.aclose()


async def test_unsigned_answers_and_refused_requests_are_protocol_errors() -> None:
    def unsigned(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=wire.encode_envelope(0, "", payment_data()))

    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=wire.encode_envelope(2, "bad request signature"))

    for handler, words in ((unsigned, "signature"), (refused, "terminal_key")):
        provider = mock_provider(handler)
        with pytest.raises(ProviderProtocolError, match=words):
            await provider.query(ORDER)
        await provider.aclose()


async def test_russian_messages_and_language_are_sent() -> None:
    server = FakeWire(payment_data(status="REJECTED", message="отклонено"))
    provider = mock_provider(server, {**OPTIONS, "language": "ru"})
    answer = await provider.query(ORDER)
    await provider.aclose()
    assert server.body(0)["lang"] == "ru"
    assert answer.message == "Sendy смена 12, транзакция 000345: отклонено"


async def test_refund_is_not_offered_and_changes_nothing() -> None:
    server = FakeWire(payment_data(status="PAID"))
    provider = mock_provider(server)
    assert provider.capabilities.supports_refund is False
    answer = await provider.refund(ORDER, "r1", ORDER.amount)
    await provider.aclose()
    assert [r.url.path for r in server.requests] == ["/v1/pos/payment/status"]
    assert (answer.status, answer.raw_status) == (PaymentStatus.PAID, "refund_unsupported")


def test_default_capabilities() -> None:
    caps = SendyProvider.DEFAULT_CAPABILITIES
    assert (caps.supports_mpm, caps.supports_cpm, caps.supports_cancel) == (True, True, True)
    assert (caps.poll_interval_s, caps.confirm_timeout_s) == (3.0, 60.0)
    assert provider_ref(3, 7) == "S3/T000007"


async def test_codes_are_masked_and_keys_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = mock_provider(FakeWire())
    await provider.pay_with_code(ORDER, CODE)
    await provider.aclose()
    assert "1512**********3456" in caplog.text
    assert CODE not in caplog.text
    assert KEY not in caplog.text
    assert KEY not in repr(provider)
    assert KEY not in repr(provider.settings)


# -- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "secrets", "key"),
    [({}, SECRETS, "providers.sendy.options.terminal_id"),
     (OPTIONS, {}, "providers.sendy.terminal_key"),
     ({**OPTIONS, "online_service": "wechat"}, SECRETS, "providers.sendy.options.online_service"),
     ({**OPTIONS, "online_service": "paypal"}, SECRETS, "providers.sendy.options.online_service"),
     ({**OPTIONS, "service_sendy": "false"}, SECRETS, "providers.sendy.options.service_sendy"),
     ({**OPTIONS, "service_wechat": "yes"}, SECRETS, "providers.sendy.options.service_wechat"),
     ({**OPTIONS, "language": "de"}, SECRETS, "providers.sendy.options.language"),
     ({**OPTIONS, "api_root": "v1"}, SECRETS, "providers.sendy.options.api_root"),
     ({**OPTIONS, "slip_width": "48"}, SECRETS, "providers.sendy.options.slip_width")],
)  # fmt: skip
def test_wrong_settings_name_their_key(
    options: dict[str, str], secrets: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        mock_provider(FakeWire(), options, secrets)
    assert error.value.key == key


def test_slip_settings_point_to_the_printer() -> None:
    with pytest.raises(ConfigError, match=r"\[printer\] columns"):
        mock_provider(FakeWire(), {**OPTIONS, "slip_width": "32"})


# -- against the fake on loopback ---------------------------------------------------------


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(
        tmp_path / "ledger.sqlite3", driver="sendy", options=OPTIONS, secrets=SECRETS
    )
    async with server:
        yield server


@pytest.fixture
async def provider(fake: SandboxServer) -> AsyncIterator[SendyProvider]:
    driver = SendyProvider(
        "sendy", Capabilities(), client=httpx.AsyncClient(trust_env=False), base_url=fake.url,
        options=OPTIONS, secrets=SECRETS,
    )  # fmt: skip
    yield driver
    await driver.aclose()


def order(n: int) -> Order:
    return Order(f"T0001-{n:06d}", Money(1_000 * n, "RUB"), "tea")


async def customer(fake: SandboxServer, action: str, order_id: str) -> None:
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as control:
        answer = await control.post(
            "/control/customer", json={"action": action, "order_id": order_id}
        )
    assert answer.status_code == 200, answer.text


async def test_every_transaction_has_its_number_and_shifts_follow_the_close(
    fake: SandboxServer, provider: SendyProvider
) -> None:
    refs = [
        (await provider.create_invoice(order(1))).provider_ref,
        (await provider.pay_with_code(order(2), "not-a-code")).provider_ref,  # declined
        (await provider.pay_with_code(order(3), CODE)).provider_ref,
    ]
    assert refs == ["S1/T000001", "S1/T000002", "S1/T000003"]
    await customer(fake, "pay", order(1).order_id)
    await customer(fake, "pay", order(3).order_id)
    totals = await provider.close_shift()
    assert totals == wire.ShiftTotals(1, True, 2, 4_000, "RUB")  # the declined one is not counted
    assert await provider.close_shift(1) == totals  # asked again after a lost answer: the same
    assert (await provider.close_shift()).closed is False  # no shift is open now
    answer = await provider.create_invoice(order(4))
    assert answer.provider_ref == "S2/T000004"
    assert provider.status()["last_shift_no"] == 2


async def test_online_qr_has_the_service_shape(fake: SandboxServer, tmp_path: Path) -> None:
    options = {**OPTIONS, "service_alipay": "true", "online_service": "alipay"}
    driver = SendyProvider(
        "sendy", Capabilities(), client=httpx.AsyncClient(trust_env=False), base_url=fake.url,
        options=options, secrets=SECRETS,
    )  # fmt: skip
    answer = await driver.create_invoice(order(1))
    await driver.aclose()
    payment_id = fake.ledger.payments()[0].payment_id
    assert answer.qr_payload == QR_SHAPES["alipay"].format(token=payment_id)


async def test_a_lost_numbers_answer_leaves_nothing_and_the_resend_keeps_the_number(
    fake: SandboxServer, provider: SendyProvider
) -> None:
    fake.http.set_misbehaviour("lose_answer", count=1, paths_prefix="/v1/pos/counters")
    with pytest.raises(ProviderUnavailable):
        await provider.create_invoice(order(1))
    assert (await provider.query(order(1))).status is PaymentStatus.NOT_FOUND
    again = await provider.create_invoice(order(1))  # what the engine does on NOT_FOUND
    assert again.provider_ref == "S1/T000001"
    assert len(fake.ledger.payments()) == 1


async def test_a_lost_payment_answer_is_found_by_query(
    fake: SandboxServer, provider: SendyProvider
) -> None:
    fake.http.set_misbehaviour("lose_answer", count=1, paths_prefix=SendyFake.CHARGE_PATHS_PREFIX)
    with pytest.raises(ProviderUnavailable):
        await provider.pay_with_code(order(1), CODE)
    found = await provider.query(order(1))
    assert (found.status, found.provider_ref) == (PaymentStatus.PENDING, "S1/T000001")
    await customer(fake, "pay", order(1).order_id)
    assert (await provider.query(order(1))).status is PaymentStatus.PAID
    assert fake.ledger.charges() == 1


async def test_the_fake_refuses_badly_signed_requests(fake: SandboxServer) -> None:
    wrong = SendyProvider(
        "sendy", Capabilities(), client=httpx.AsyncClient(trust_env=False), base_url=fake.url,
        options=OPTIONS, secrets={"terminal_key": "not-the-key"},
    )  # fmt: skip
    with pytest.raises(ProviderProtocolError, match="refused"):
        await wrong.create_invoice(order(1))
    await wrong.aclose()
    body = wire.encode({"terminal_id": TERMINAL, "order_id": "T0001-000001"})
    headers = {wire.TERMINAL_HEADER: TERMINAL, wire.NONCE_HEADER: NONCE,
               wire.SIGNATURE_HEADER: "00" * 32}  # fmt: skip
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as raw:
        answer = await raw.post("/v1/pos/counters", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["errNo"] == wire.ErrNo.BAD_SIGNATURE
    assert fake.ledger.payments() == []


# -- activation ------------------------------------------------------------------------


async def run_activation(fake: SandboxServer, state: Path, code: str) -> Any:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await activate(
            client, fake.url, terminal_id=TERMINAL, serial_number="SN-0042",
            activation_code=code, state_path=state,
        )  # fmt: skip


async def test_activation_stores_the_key_privately_and_the_driver_uses_it(
    fake: SandboxServer, tmp_path: Path
) -> None:
    state = tmp_path / "data" / "sendy.json"
    result = await run_activation(fake, state, SendyFake.DEMO_ACTIVATION_CODE)
    assert (result.activated, result.attempts_used, result.warning) == (True, 1, "")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    saved = json.loads(state.read_text())
    assert (saved["terminal_key"], saved["serial_number"]) == (KEY, "SN-0042")
    assert SendyFake.DEMO_ACTIVATION_CODE not in state.read_text()
    assert KEY not in repr(result)
    driver = SendyProvider(
        "sendy", Capabilities(), client=httpx.AsyncClient(trust_env=False), base_url=fake.url,
        options={**OPTIONS, "state_path": str(state)}, secrets={},
    )  # fmt: skip
    assert (await driver.create_invoice(order(1))).status is PaymentStatus.PENDING
    await driver.aclose()
    again = await run_activation(fake, state, SendyFake.DEMO_ACTIVATION_CODE)
    assert again.activated
    assert "activated before" in again.warning


async def test_three_wrong_attempts_void_the_code_and_a_fourth_is_refused_here(
    fake: SandboxServer, tmp_path: Path
) -> None:
    state = tmp_path / "sendy.json"
    lefts = [(await run_activation(fake, state, "1111-WRONG")).attempts_left for _ in range(3)]
    assert lefts == [2, 1, 0]
    sent = fake.http.requests_received
    fourth = await run_activation(fake, state, "1111-WRONG")
    assert fake.http.requests_received == sent, "the fourth attempt never left the terminal"
    assert not fourth.activated
    assert (fourth.attempts_used, fourth.attempts_left) == (MAX_ACTIVATION_ATTEMPTS, 0)
    assert "void" in fourth.message
    assert "merchant cabinet" in fourth.message
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert "1111-WRONG" not in state.read_text()


async def test_an_activation_whose_answer_was_lost_used_its_attempt(
    fake: SandboxServer, tmp_path: Path
) -> None:
    state = tmp_path / "sendy.json"
    fake.http.set_misbehaviour("lose_answer", count=1)
    with pytest.raises(ProviderUnavailable):
        await run_activation(fake, state, SendyFake.DEMO_ACTIVATION_CODE)
    result = await run_activation(fake, state, SendyFake.DEMO_ACTIVATION_CODE)
    assert (result.activated, result.attempts_used) == (True, 2)


async def test_an_activation_that_never_left_uses_no_attempt(tmp_path: Path) -> None:
    state = tmp_path / "sendy.json"

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as client:
        with pytest.raises(ProviderUnavailable):
            await activate(
                client, "https://pos.sendy.invalid", terminal_id=TERMINAL,
                serial_number="SN-1", activation_code="2222", state_path=state,
            )  # fmt: skip
    assert set(json.loads(state.read_text())["attempts"].values()) == {0}


async def test_an_activation_answer_with_a_wrong_signature_is_refused(
    fake: SandboxServer, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as control:
        await control.post("/control/signatures", json={"valid": False})
    state = tmp_path / "sendy.json"
    with pytest.raises(ProviderProtocolError, match="signature"):
        await run_activation(fake, state, SendyFake.DEMO_ACTIVATION_CODE)
    assert "terminal_key" not in json.loads(state.read_text())


def test_a_state_file_for_another_terminal_or_open_to_all_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "sendy.json"
    state.write_text(json.dumps({"terminal_id": "OTHER", "terminal_key": "k", "attempts": {}}))
    options = {**OPTIONS, "state_path": str(state)}
    with pytest.raises(ConfigError, match="OTHER") as other:
        mock_provider(FakeWire(), options, {})
    assert other.value.key == "providers.sendy.options.state_path"
    state.write_text(json.dumps({"terminal_id": TERMINAL, "terminal_key": "k", "attempts": {}}))
    state.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        mock_provider(FakeWire(), options, {})


async def test_the_service_the_cashier_chose_reaches_the_wire_through_the_order() -> None:
    """``order.wallet`` (the choice list's pick) is the online service sent."""
    server = FakeWire()
    provider = mock_provider(server, {**OPTIONS, "service_alipay": "true"})
    await provider.create_invoice(dataclasses.replace(ORDER, wallet="alipay"))
    await provider.create_invoice(ORDER)  # no choice: options.online_service
    await provider.aclose()
    assert server.body(1)["service"] == "alipay"
    assert server.body(3)["service"] == "sendy"
