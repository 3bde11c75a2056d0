"""Refund by the slip, through the pure machine: scan or type, look up, approve, refund.

The rows run on the table terminal of ``machine_script`` (PayMaster refunds, PIN 2468,
badge 04a1b2c3); the journal's answer comes in as a ``PaymentLookedUp`` event, as the
runtime feeds it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from machine_script import (
    SETTINGS,
    Expect,
    answer,
    effects_of,
    fail,
    fire,
    in_doubt,
    key,
    order_id,
    press,
    run,
    scan,
    typed,
)

from terminal.machine import (
    TABLE,
    BadgeTapped,
    CallProvider,
    FindPayment,
    PaymentLookedUp,
    Phase,
    RecordPayment,
    RefundRequested,
    State,
)
from terminal.money import Money
from terminal.payment import Payment
from terminal.payment import PaymentState as P
from terminal.providers.base import Capabilities
from terminal.providers.base import PaymentStatus as S
from terminal.views.model import SlipKind
from terminal.views.screens import screen_for

#: A payment paid an hour ago through PayMaster: attempt 5, its slip shows PM-7705.
SLIP_REF = "PM-7705"
PAID = Payment(
    order_id(5), 5, 1, "mpm", "paymaster", Money(150_000, "RUB"), P.PAID, provider_ref=SLIP_REF
)


def found(payment: Payment | None = PAID, reference: str = SLIP_REF) -> PaymentLookedUp:
    """The journal's answer to a lookup."""
    return PaymentLookedUp(reference, payment)


def finds(reference: str) -> Expect:
    """The step asks the journal for ``reference`` and changes nothing else."""
    return Expect(
        phase=Phase.REFUND_SCAN,
        message="refund_looking",
        calls=(),
        records=(),
        check=lambda s: _assert_equal(effects_of(s, FindPayment), [FindPayment(reference)]),
    )


def _assert_equal(got: object, wanted: object) -> None:
    assert got == wanted, f"{got!r} != {wanted!r}"


#: From the idle screen to the supervisor's approval of the refund of PAID.
TO_APPROVAL = [
    (3600, RefundRequested(), Expect(
        phase=Phase.REFUND_SCAN, screen=("refund_scan", None), state={"refunding": True},
    )),
    (3601, scan(f" {SLIP_REF}\t"), finds(SLIP_REF)),
    (3601, found(), Expect(
        phase=Phase.APPROVAL, screen=("approval_refund", None), calls=(), records=(),
        fields={"order_id": PAID.order_id},
    )),
]  # fmt: skip


def test_refund_by_the_slip_is_journaled_then_sent_then_printed() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL,
        *[(3602, key(d), Expect(phase=Phase.APPROVAL)) for d in "1111"],
        (3602, key("enter"), Expect(phase=Phase.APPROVAL, message="wrong_pin", calls=())),
        *[(3603, key(d), Expect(phase=Phase.APPROVAL)) for d in "2468"],
        (3603, key("enter"), Expect(
            phase=Phase.VOIDING, payment=P.REFUNDING, records=(P.REFUNDING,), calls=("refund",),
            screen=("refunding", None),
        )),
        (3604, answer("refund", S.REFUNDED, 5), Expect(
            phase=Phase.DONE, payment=P.REFUNDED, records=(P.REFUNDED,), slips=(SlipKind.REFUND,),
            screen=("refunded", None), message="refunded", calls=(),
        )),
        (3619, fire("result"), Expect(phase=Phase.IDLE, state={"refunding": False})),
    ])  # fmt: skip
    [call] = effects_of(script.steps, CallProvider)
    assert call.refund_id == f"{PAID.order_id}-void"  # the payment's one refund key
    assert call.refund_amount == PAID.amount
    assert call.order.provider_ref == SLIP_REF
    assert script.last_payment().state is P.REFUNDED
    assert script.state.calls_out == 0


def test_a_supervisor_badge_approves_the_refund() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL,
        (3602, BadgeTapped("04a1b2c3"), Expect(phase=Phase.VOIDING, calls=("refund",))),
    ])  # fmt: skip
    assert script.last_payment().state is P.REFUNDING
    [call] = effects_of(script.steps, CallProvider)
    assert (call.op, call.refund_id) == ("refund", f"{PAID.order_id}-void")


@pytest.mark.parametrize(
    ("payment", "notice"),
    [
        (None, "refund_not_found"),
        (replace(PAID, state=P.REFUNDED), "refund_already"),
        (replace(PAID, state=P.REFUNDING), "refund_under_way"),
        (replace(PAID, state=P.VOIDED), "refund_already"),
        (replace(PAID, state=P.VOIDING), "refund_already"),
        (replace(PAID, state=P.DECLINED), "refund_not_paid"),
        (replace(PAID, state=P.FORCED), "refund_not_paid"),
        (replace(PAID, state=P.PENDING), "refund_not_paid"),
        (replace(PAID, provider="gone"), "refund_unsupported"),
    ],
    ids=[
        "unknown",
        "refunded",
        "refunding",
        "voided",
        "voiding",
        "declined",
        "forced",
        "pending",
        "provider-gone",
    ],
)
def test_what_cannot_be_refunded_is_said_and_nothing_is_sent(
    payment: Payment | None, notice: str
) -> None:
    script = run(State(SETTINGS), TO_APPROVAL[:2])
    result = script.feed(3602, found(payment))
    assert result.state.phase is Phase.REFUND_SCAN
    assert result.state.message == notice
    assert result.state.payment is None
    assert result.effects == ()


def test_a_provider_that_takes_no_refunds_is_refused() -> None:
    providers = {**SETTINGS.providers, "paymaster": Capabilities(supports_refund=False)}
    script = run(State(replace(SETTINGS, providers=providers)), TO_APPROVAL[:2])
    result = script.feed(3602, found())
    assert (result.state.phase, result.state.message) == (Phase.REFUND_SCAN, "refund_unsupported")


@pytest.mark.parametrize(
    ("code", "notice"),
    [("\x00PM-1", "code_unreadable"), ("PM 77", "code_unreadable"), ("", "code_unreadable"),
     ("9" * 65, "code_too_long")],
    ids=["control", "space", "empty", "too-long"],
)  # fmt: skip
def test_a_garbled_scan_is_refused_without_a_lookup(code: str, notice: str) -> None:
    script = run(State(SETTINGS), TO_APPROVAL[:1])
    result = script.feed(3601, scan(code))
    assert (result.state.phase, result.state.message, result.effects) == (
        Phase.REFUND_SCAN, notice, (),
    )  # fmt: skip


def test_the_slip_number_can_be_typed_and_edited() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL[:1],
        (3601, key("enter"), Expect(phase=Phase.REFUND_SCAN, rejected=True)),
        *[(3601, key(d), Expect(phase=Phase.REFUND_SCAN, calls=())) for d in "0059"],
        (3601, key("backspace"), Expect(state={"entry": "005"})),
        (3601, key("clear"), Expect(phase=Phase.REFUND_SCAN, state={"entry": ""})),
        *[(3602, key(d), Expect(phase=Phase.REFUND_SCAN)) for d in "000005"],
        (3602, key("enter"), finds("000005")),
        (3602, found(reference="000005"), Expect(phase=Phase.APPROVAL)),
    ])  # fmt: skip
    lookups = [effect.reference for effect in effects_of(script.steps, FindPayment)]
    assert lookups == ["000005"]  # only the number Enter was pressed for
    assert script.state.payment == PAID


def test_a_typed_number_stops_at_twelve_digits() -> None:
    script = run(State(SETTINGS), TO_APPROVAL[:1])
    for digit in "1234567890123":
        script.feed(3601, key(digit))
    assert script.state.entry == "123456789012"


@pytest.mark.parametrize("leave", [press("cancel"), key("clear")], ids=["cancel", "clear"])
def test_cancel_or_clear_leaves_the_refund(leave: object) -> None:
    script = run(State(SETTINGS), TO_APPROVAL[:1])
    result = script.feed(3601, leave)  # type: ignore[arg-type]
    assert result.state.phase is Phase.IDLE
    assert not result.state.refunding


def test_cancel_in_the_approval_goes_back_to_scanning() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL,
        (3602, press("cancel"), Expect(phase=Phase.REFUND_SCAN, calls=(), records=())),
    ])  # fmt: skip
    assert script.state.payment is None


def test_three_wrong_pins_refuse_the_refund() -> None:
    script = run(State(SETTINGS), TO_APPROVAL)
    for _ in range(3):
        for digit in "1111":
            script.feed(3602, key(digit))
        script.feed(3602, key("enter"))
    assert (script.state.phase, script.state.message) == (Phase.REFUND_SCAN, "approval_refused")
    assert effects_of(script.steps, CallProvider) == []


def test_a_failed_refund_is_retried_with_the_same_key() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL,
        (3602, BadgeTapped("04a1b2c3"), Expect(phase=Phase.VOIDING, calls=("refund",))),
        (3610, fail("refund", 5), Expect(
            phase=Phase.DONE, payment=P.REFUNDING, message="refund_failed", records=(),
        )),
        (3611, press("retry"), Expect(
            phase=Phase.VOIDING, calls=("refund",), records=(P.REFUNDING,),
        )),
        (3612, answer("refund", S.REFUNDED, 5), Expect(
            payment=P.REFUNDED, slips=(SlipKind.REFUND,),
        )),
    ])  # fmt: skip
    keys = {call.refund_id for call in effects_of(script.steps, CallProvider)}
    assert keys == {f"{PAID.order_id}-void"}


def test_a_refund_the_provider_refuses_leaves_the_payment_paid() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL,
        (3602, BadgeTapped("04a1b2c3"), Expect(phase=Phase.VOIDING)),
        (3603, answer("refund", S.DECLINED, 5), Expect(
            phase=Phase.DONE, payment=P.PAID, records=(P.PAID,), slips=(),
            message="refund_refused",
        )),
    ])  # fmt: skip
    assert [p.state for p in (r.payment for r in effects_of(script.steps, RecordPayment))] == [
        P.REFUNDING, P.PAID,
    ]  # fmt: skip
    assert screen_for(script.state, "en").lines == ("Refund refused by provider",)


def test_without_approval_the_cashier_confirms_the_refund() -> None:
    settings = replace(SETTINGS, refund_requires_approval=False)
    script = run(State(settings), [
        *TO_APPROVAL[:2],
        (3601, found(), Expect(phase=Phase.VOID_CONFIRM, calls=())),
        (3602, press("cancel"), Expect(phase=Phase.IDLE, state={"payment": None})),
        *TO_APPROVAL[:2],
        (3603, found(), Expect(phase=Phase.VOID_CONFIRM)),
        (3603, key("enter"), Expect(phase=Phase.VOIDING, calls=("refund",))),
    ])  # fmt: skip
    assert len(effects_of(script.steps, CallProvider)) == 1  # the first time was cancelled
    assert Phase.APPROVAL not in {step.state.phase for step in script.steps}
    assert script.last_payment().state is P.REFUNDING


def test_the_refund_key_drops_an_amount_being_typed() -> None:
    script = run(State(SETTINGS), typed(0, "1500", enter=False))
    result = script.feed(1, RefundRequested())
    assert (result.state.phase, result.state.entry) == (Phase.REFUND_SCAN, "")


def test_the_refund_key_is_refused_while_a_payment_or_refund_is_under_way() -> None:
    allowed = {phase for (phase, event), _ in TABLE.items() if event is RefundRequested}
    assert allowed == {Phase.IDLE, Phase.AMOUNT, Phase.READY, Phase.DONE}
    script = run(State(SETTINGS), [
        *TO_APPROVAL,
        (3602, RefundRequested(), Expect(phase=Phase.APPROVAL, rejected=True)),
        (3602, BadgeTapped("04a1b2c3"), Expect(phase=Phase.VOIDING)),
        (3602, RefundRequested(), Expect(phase=Phase.VOIDING, rejected=True)),
    ])  # fmt: skip
    assert len(effects_of(script.steps, CallProvider)) == 1


def test_a_stray_provider_answer_during_the_refund_approval_is_refused() -> None:
    script = run(State(SETTINGS), TO_APPROVAL)
    result = script.feed(3602, answer("query", S.PAID, 5))
    assert result.rejected
    assert result.state.phase is Phase.APPROVAL


def test_a_payment_in_doubt_waits_until_the_refund_is_left() -> None:
    script = run(State(SETTINGS), [
        *TO_APPROVAL[:1],
        (3601, in_doubt(9), Expect(phase=Phase.REFUND_SCAN, calls=())),
        (3602, press("cancel"), Expect(phase=Phase.RESOLVING, calls=("query",))),
    ])  # fmt: skip
    assert script.state.payment is not None
    assert script.state.payment.seq == 9
    assert not script.state.refunding
