"""Unsettled payments settled in the background, played through the pure machine on a fake clock.

A cancel that failed leaves the order payable at the provider: the machine keeps sending
the same cancel on its ``reconcile`` timer, backing off, until the provider's word is
final; the dialog's own cancel is still sent once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from machine_script import (
    PAYMASTER,
    SETTINGS,
    EventSource,
    Expect,
    Row,
    Script,
    answer,
    effects_of,
    fail,
    fire,
    key,
    order_id,
    press,
    run,
    typed,
)

from terminal.machine import (
    BackgroundCall,
    CallProvider,
    Event,
    LinkRestored,
    Phase,
    ReconcileAnswered,
    ReconcileFailed,
    RecordPayment,
    State,
    Step,
    UnsettledFound,
)
from terminal.machine.background import BACKOFF_S, backoff_s
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.providers.base import PaymentStatus, ProviderAnswer
from terminal.views.model import SlipKind

P = PaymentState
S = PaymentStatus
QR = "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&sum=1500"


def sends(*ops: str) -> Callable[[Step], None]:
    """A row check: the step sends exactly these background calls, in order."""

    def check(result: Step) -> None:
        sent = tuple(e.op for e in effects_of(result, BackgroundCall))
        assert sent == ops, f"background calls {sent}, expected {ops}"

    return check


def bg_answer(status: PaymentStatus, op: str = "cancel", seq: int = 1) -> EventSource:
    """The provider's answer to a background call about attempt ``seq``."""
    reply = ProviderAnswer(status, status.value)
    return lambda script: ReconcileAnswered(script.last_payment(seq), reply, op)  # type: ignore[arg-type]


def bg_fail(op: str = "cancel", seq: int = 1) -> Callable[[Script], Event]:
    """No proper answer to a background call about attempt ``seq``."""
    return lambda script: ReconcileFailed(
        script.last_payment(seq), op, "ProviderUnavailable", "503"
    )  # type: ignore[arg-type]


#: A QR shown at t=2; the cashier cancels at 3; the one cancel gets a 503 at 4.
CANCEL_FAILED: list[Row] = [
    *typed(0, "1500"),
    (1, key("enter"), Expect(phase=Phase.CREATING, calls=("create",))),
    (2, answer("create", S.PENDING, qr=QR), Expect(phase=Phase.WAITING)),
    (3, press("cancel"), Expect(phase=Phase.CANCELLING, calls=("cancel",))),
    (4, fail("cancel", kind="ProviderUnavailable"), Expect(
        phase=Phase.DONE, payment=P.CANCEL_FAILED, records=(P.CANCEL_FAILED,),
        slips=(SlipKind.CANCEL_FAILED,), alerts=("cancel_failed",),
        fields={"needs_admin": True}, timers={"reconcile": BACKOFF_S[0]},
    )),
]  # fmt: skip


def pending_rounds(first_at: float, count: int) -> tuple[list[Row], float]:
    """``count`` background cancels answered "pending", each after the back-off; next due time."""
    rows: list[Row] = []
    at_s = first_at
    for attempt in range(1, count + 1):
        rows.append((at_s, fire("reconcile"), Expect(
            calls=(), records=(), check=sends("cancel"), timers={"reconcile": None},
        )))  # fmt: skip
        rows.append((at_s + 0.5, bg_answer(S.PENDING), Expect(
            calls=(), records=(), slips=(), alerts=(),
            timers={"reconcile": backoff_s(attempt)}, check=sends(),
        )))  # fmt: skip
        at_s += 0.5 + backoff_s(attempt)
    return rows, at_s


def test_backoff_grows_to_a_minute_and_stays_there() -> None:
    assert [backoff_s(n) for n in range(1, 8)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0]


def test_failed_cancel_is_cancelled_again_with_backoff_until_the_provider_closes_it() -> None:
    rounds, next_at = pending_rounds(9.0, 6)
    script = run(State(SETTINGS), [
        *CANCEL_FAILED,
        (19, fire("result"), Expect(phase=Phase.IDLE)),
        *rounds,
        (next_at, fire("reconcile"), Expect(check=sends("cancel"))),
        (next_at + 0.5, bg_answer(S.CANCELLED), Expect(
            phase=Phase.IDLE, records=(P.CANCELLED,), slips=(), alerts=(),
            timers={"reconcile": None}, state={"chases": ()},
        )),
    ])  # fmt: skip
    settled = script.last_payment(1)
    assert settled.state is P.CANCELLED
    assert not settled.needs_admin
    assert not settled.mismatch
    notes = [e.note for e in effects_of(script.steps, RecordPayment)]
    assert notes[-1] == "closed in the background: provider says cancelled"
    # The dialog's cancel went out once; every other cancel was the background's.
    dialog = [e for e in effects_of(script.steps, CallProvider) if e.op == "cancel"]
    assert len(dialog) == 1
    assert len(effects_of(script.steps, BackgroundCall)) == 7
    # The gaps between background cancels grew 5, 10, 20, 40, 60 and stayed at 60 s.
    fired = [at for at, ev in zip(_times(script), script.events, strict=True)
             if ev == fire("reconcile")]  # fmt: skip
    gaps = [round(b - a, 1) for a, b in zip(fired, fired[1:], strict=False)]
    assert gaps == [5.5, 10.5, 20.5, 40.5, 60.5, 60.5]


def test_failed_cancel_that_the_provider_answers_paid_is_a_loud_mismatch() -> None:
    script = run(State(SETTINGS), [
        *CANCEL_FAILED,
        (9, fire("reconcile"), Expect(check=sends("cancel"))),
        (9.5, bg_answer(S.PAID), Expect(
            payment=P.PAID, records=(P.PAID,), slips=(SlipKind.MISMATCH,),
            alerts=("reconcile_mismatch",), fields={"mismatch": True, "needs_admin": True},
            timers={"reconcile": None}, state={"chases": ()},
        )),
    ])  # fmt: skip
    assert script.last_payment(1).state is P.PAID


def test_failures_back_off_and_the_link_coming_back_sends_at_once() -> None:
    run(State(SETTINGS), [
        *CANCEL_FAILED,
        (9, fire("reconcile"), Expect(check=sends("cancel"))),
        (9.25, bg_fail(), Expect(records=(), timers={"reconcile": 5.0})),
        (14.25, fire("reconcile"), Expect(check=sends("cancel"))),
        (14.5, bg_fail(), Expect(records=(), timers={"reconcile": 10.0})),
        (24.5, fire("reconcile"), Expect(check=sends("cancel"))),
        (24.75, bg_fail(), Expect(records=(), timers={"reconcile": 20.0})),
        # Due only at 44.75, but the network is back at 30: the cancel goes now.
        (30, LinkRestored("test"), Expect(check=sends("cancel"), timers={"reconcile": None})),
        (30, LinkRestored("test"), Expect(check=sends())),  # one call out at a time
        (30.25, bg_answer(S.PENDING), Expect(timers={"reconcile": 5.0})),  # back-off restarted
        (35.25, fire("reconcile"), Expect(check=sends("cancel"))),
        (35.5, bg_answer(S.EXPIRED), Expect(records=(P.CANCELLED,), state={"chases": ()})),
    ])  # fmt: skip


def test_the_link_back_with_nothing_to_settle_does_nothing() -> None:
    result = Script(State(SETTINGS)).feed(0, LinkRestored("test"))
    assert effects_of(result, BackgroundCall) == []
    assert effects_of(result, CallProvider) == []
    assert result.state.chases == ()


def _stored(state: PaymentState, seq: int = 4, provider: str = "paymaster") -> Payment:
    return Payment(
        order_id(seq), seq, 1, "mpm", provider, Money(2500, "RUB"), state,
        needs_admin=state is P.CANCEL_FAILED, forced=state is P.FORCED,
        created_wall="2026-03-02T08:00:00+00:00",
    )  # fmt: skip


def test_after_a_restart_a_cancel_failed_payment_is_cancelled_at_once() -> None:
    cancel_failed, forced = _stored(P.CANCEL_FAILED, 4), _stored(P.FORCED, 5)
    script = run(State(SETTINGS), [
        (0, UnsettledFound(cancel_failed), Expect(phase=Phase.IDLE, check=sends("cancel"))),
        (0, UnsettledFound(forced), Expect(check=sends("query"))),
        (0, UnsettledFound(forced), Expect(check=sends())),  # found twice: asked once
        (0.5, ReconcileAnswered(cancel_failed, ProviderAnswer(S.CANCELLED), "cancel"), Expect(
            records=(P.CANCELLED,), check=lambda r: _note_is(r, "closed in the background"),
        )),
        (0.7, ReconcileAnswered(forced, ProviderAnswer(S.PAID), "query"), Expect(
            records=(P.PAID,), slips=(), state={"chases": ()},
        )),
    ])  # fmt: skip
    assert script.last_payment(4).state is P.CANCELLED


def _note_is(result: Step, prefix: str) -> None:
    notes = [e.note for e in effects_of(result, RecordPayment)]
    assert notes, "nothing recorded"
    assert notes[0].startswith(prefix), notes


def test_only_unsettled_payments_are_chased() -> None:
    result = Script(State(SETTINGS)).feed(0, UnsettledFound(_stored(P.PENDING)))
    assert result.rejected
    assert result.state.chases == ()


def test_a_provider_without_cancel_is_queried_instead() -> None:
    no_cancel = replace(PAYMASTER, supports_cancel=False)
    settings = replace(SETTINGS, providers={**SETTINGS.providers, "paymaster": no_cancel})
    run(State(settings), [
        (0, UnsettledFound(_stored(P.CANCEL_FAILED)), Expect(check=sends("query"))),
    ])  # fmt: skip


def test_the_payment_the_cashier_is_voiding_is_left_to_the_cashier() -> None:
    run(State(replace(SETTINGS, void_window_s=120.0)), [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (2, answer("create", S.PENDING, qr=QR), Expect(phase=Phase.WAITING)),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.5, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID)),
        (6, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
        (7, key("enter"), Expect(phase=Phase.VOIDING, records=(P.VOIDING,),
                                 timers={"reconcile": 5.0})),
        # The refund is still out: no background query of the same payment.
        (12, fire("reconcile"), Expect(phase=Phase.VOIDING, check=sends(),
                                       timers={"reconcile": 5.0})),
        (13, answer("refund", S.REFUNDED), Expect(
            phase=Phase.DONE, payment=P.VOIDED, timers={"reconcile": None},
            state={"chases": ()},
        )),
    ])  # fmt: skip


def test_a_late_background_answer_about_a_settled_payment_changes_nothing() -> None:
    script = run(State(SETTINGS), [
        *CANCEL_FAILED,
        (9, fire("reconcile"), Expect(check=sends("cancel"))),
        (9.5, bg_answer(S.CANCELLED), Expect(records=(P.CANCELLED,))),
    ])  # fmt: skip
    stale = ReconcileAnswered(
        replace(script.last_payment(1), state=P.CANCEL_FAILED), ProviderAnswer(S.PAID), "cancel"
    )
    result = script.feed(10, stale)
    assert effects_of(result, RecordPayment) == []
    assert result.state.payment is not None
    assert result.state.payment.state is P.CANCELLED


def _times(script: Script) -> list[float]:
    """The time of each event the script played (kept by the rows' order)."""
    return [s.state.now for s in script.steps]
