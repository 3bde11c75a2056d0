"""Partial refunds, Force on a refund and the Z report's refusal, through the pure machine."""

from __future__ import annotations

from dataclasses import replace

from machine_script import SETTINGS, answer, effects_of, fail, key, order_id, press, run

from terminal.machine import (
    Alert,
    CallProvider,
    CloseShift,
    Phase,
    RecordPayment,
    RefundRequested,
    ShiftClosed,
    ShiftCloseFailed,
    ShiftCloseRequested,
    State,
)
from terminal.machine.events import PaymentLookedUp
from terminal.money import Money
from terminal.payment import Payment, Refund
from terminal.payment import PaymentState as P
from terminal.providers.base import PaymentStatus as S
from terminal.views.screens import screen_for

CAPS = replace(SETTINGS.providers["paymaster"], partial_refund=True)
PARTIAL = replace(
    SETTINGS, providers={**SETTINGS.providers, "paymaster": CAPS}, refund_requires_approval=False
)
PAID = Payment(order_id(5), 5, 1, "mpm", "paymaster", Money(150_000, "RUB"), P.PAID,
               provider_ref="PM-7705")  # fmt: skip


def _to_amount(payment: Payment = PAID) -> object:
    script = run(State(PARTIAL, shift=3), [])
    script.feed(3600, RefundRequested())
    script.feed(3601, PaymentLookedUp("PM-7705", payment))
    assert script.state.phase is Phase.REFUND_AMOUNT
    return script


def _type(script: object, digits: str) -> None:
    for d in digits:
        script.feed(3602, key(d))  # type: ignore[attr-defined]


def test_a_typed_amount_is_refunded_under_the_first_key_then_partially_refunded() -> None:
    script = _to_amount()
    _type(script, "50000")
    assert screen_for(script.state, "en").amount == "500.00 RUB"  # type: ignore[attr-defined]
    script.feed(3603, key("enter"))  # type: ignore[attr-defined]
    step = script.feed(3604, key("enter"))  # type: ignore[attr-defined]  # confirm
    [call] = effects_of([step], CallProvider)
    assert (call.refund_id, call.refund_amount) == (f"{order_id(5)}-void", Money(50_000, "RUB"))
    [written] = effects_of([step], RecordPayment)
    assert written.payment.state is P.REFUNDING
    assert written.payment.refunds[0].shift == 3, "a refund belongs to the shift it is made in"
    step = script.feed(3605, answer("refund", S.REFUNDED, 5))  # type: ignore[attr-defined]
    [done] = effects_of([step], RecordPayment)
    assert done.payment.state is P.PARTIALLY_REFUNDED
    assert done.payment.refundable_minor == 100_000


def test_the_next_partial_refund_has_its_own_key_and_enter_alone_refunds_the_rest() -> None:
    first = Refund(f"{order_id(5)}-void", 1, Money(50_000, "RUB"), 3, "refunded")
    script = _to_amount(replace(PAID, state=P.PARTIALLY_REFUNDED, refunds=(first,)))
    script.feed(3603, key("enter"))  # type: ignore[attr-defined]
    step = script.feed(3604, key("enter"))  # type: ignore[attr-defined]
    [call] = effects_of([step], CallProvider)
    assert (call.refund_id, call.refund_amount) == (f"{order_id(5)}-r2", Money(100_000, "RUB"))
    step = script.feed(3605, answer("refund", S.REFUNDED, 5))  # type: ignore[attr-defined]
    [done] = effects_of([step], RecordPayment)
    assert done.payment.state is P.REFUNDED


def test_more_than_is_left_is_refused_with_the_amount_left() -> None:
    script = _to_amount()
    _type(script, "150001")
    step = script.feed(3603, key("enter"))  # type: ignore[attr-defined]
    assert step.state.phase is Phase.REFUND_AMOUNT
    assert step.state.message == "refund_exceeds"
    assert not effects_of([step], CallProvider)
    assert "Left 1500.00 RUB" in screen_for(step.state, "en").lines


def test_force_on_an_unconfirmed_refund_needs_a_supervisor_and_records_it_forced() -> None:
    script = _to_amount()
    script.feed(3603, key("enter"))  # type: ignore[attr-defined]
    script.feed(3604, key("enter"))  # type: ignore[attr-defined]
    step = script.feed(3610, fail("refund", 5))  # type: ignore[attr-defined]
    assert step.state.message == "refund_failed"
    step = script.feed(3611, press("force"))  # type: ignore[attr-defined]
    assert step.state.phase is Phase.APPROVAL
    for d in "2468":
        script.feed(3612, key(d))  # type: ignore[attr-defined]
    step = script.feed(3613, key("enter"))  # type: ignore[attr-defined]
    [forced] = effects_of([step], RecordPayment)
    refund = forced.payment.refunds[-1]
    assert (refund.state, refund.forced, refund.reconciled) == ("forced", True, False)
    assert forced.payment.state is P.REFUNDED
    assert forced.payment.is_unresolved, "a forced refund is reconciled later"


def test_the_z_report_is_refused_while_a_payment_is_under_way_and_closes_otherwise() -> None:
    script = run(State(PARTIAL, shift=4), [])
    step = script.feed(10, ShiftCloseRequested())
    assert effects_of([step], CloseShift) == [CloseShift(4, "keypad")]
    assert step.state.shift == 4, "the shift moves on only once the journal closed it"
    step = script.feed(10, ShiftClosed(4))
    assert step.state.shift == 5
    script = _to_amount()
    step = script.feed(3602, ShiftCloseRequested())  # type: ignore[attr-defined]
    assert step.rejected
    assert step.state.message == "z_busy"
    assert step.state.shift == 3


def test_a_close_the_journal_could_not_write_leaves_the_shift_open_and_says_so() -> None:
    script = run(State(PARTIAL, shift=4), [])
    script.feed(10, ShiftCloseRequested())
    step = script.feed(10, ShiftCloseFailed(4, "disk I/O error"))
    assert step.state.shift == 4
    assert step.state.message == "z_failed"
    [alert] = effects_of([step], Alert)
    assert alert.code == "z_failed"
    assert "shift 4 not closed" in alert.message
    assert "Shift not closed: journal" in screen_for(step.state, "en").lines
    # A stray word about another shift changes nothing.
    assert script.feed(11, ShiftClosed(3)).rejected


def test_a_forced_refund_is_reconciled_in_the_background_and_a_refusal_raised_loudly() -> None:
    from terminal.machine import BackgroundCall
    from terminal.machine.events import ReconcileAnswered, UnsettledFound
    from terminal.providers.base import ProviderAnswer

    forced = Refund(f"{order_id(5)}-void", 1, Money(150_000, "RUB"), 3, "forced", forced=True)
    payment = replace(PAID, state=P.REFUNDED, refunds=(forced,))
    script = run(State(PARTIAL, shift=3), [])
    step = script.feed(10, UnsettledFound(payment))
    [call] = effects_of([step], BackgroundCall)
    assert call.op == "refund", "sent again under its own key"
    refused = ProviderAnswer(S.PAID, "rejected")
    step = script.feed(11, ReconcileAnswered(payment, refused, "refund"))
    [written] = effects_of([step], RecordPayment)
    refund = written.payment.refunds[-1]
    assert (refund.reconciled, refund.mismatch) == (True, True)
    assert not written.payment.is_unresolved
    assert [a.code for a in effects_of([step], Alert)] == ["refund_mismatch"]


def test_an_api_refund_takes_a_part_where_the_provider_can_and_never_more_than_is_left() -> None:
    from terminal.machine.api_events import ApiRefundRequested

    script = run(State(PARTIAL, shift=3), [])
    assert script.feed(10, ApiRefundRequested(PAID, 150_001)).rejected
    step = script.feed(11, ApiRefundRequested(PAID, 40_000))
    [call] = effects_of([step], CallProvider)
    assert call.refund_amount == Money(40_000, "RUB")
    whole_only = replace(SETTINGS, refund_requires_approval=False)  # PayMaster: in full only
    script = run(State(whole_only, shift=3), [])
    refused = script.feed(10, ApiRefundRequested(PAID, 40_000))
    assert refused.rejected
    assert "refunds only all that is left (150000)" in refused.rejected
    [call] = effects_of([script.feed(11, ApiRefundRequested(PAID))], CallProvider)
    assert call.refund_amount == Money(150_000, "RUB")
