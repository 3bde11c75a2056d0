"""The payment flows of the requirements as tables played through the pure machine.

Each flow is a list of rows ``(time_s, event, Expect(...))``; adding a flow means adding
rows. Invariants every flow must keep (write-ahead, order numbering, one cancel only…)
are checked over all flows at once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pytest
from machine_script import (
    ALIPAY_CODE,
    PAYMASTER,
    SETTINGS,
    VERYSTAR,
    WECHAT_CODE,
    EventSource,
    Expect,
    Row,
    Script,
    answer,
    effects_of,
    fail,
    fire,
    in_doubt,
    key,
    now_at,
    order_id,
    press,
    run,
    scan,
    typed,
    unchanged_but_time,
)

from terminal.machine import (
    BadgeTapped,
    CallProvider,
    CodeScanned,
    Effect,
    Event,
    InDoubtFound,
    JournalFailed,
    Phase,
    PrinterReported,
    PrintSlip,
    ProviderAnswered,
    ProviderFailed,
    ReconcileAnswered,
    RecordPayment,
    Settings,
    StartTimer,
    State,
    Step,
    step,
)
from terminal.money import Money
from terminal.payment import PaymentState
from terminal.providers.base import PaymentStatus, ProviderAnswer
from terminal.views.model import SlipKind
from terminal.views.screens import screen_for

P = PaymentState
S = PaymentStatus
K = SlipKind
QR = "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&sum=1500"
REF = "PM-50117"
RUB_15 = Money(1500, "RUB")


@dataclass(frozen=True)
class Flow:
    """A named table of rows played from a fresh terminal with ``settings``."""

    name: str
    rows: Sequence[Row]
    settings: Settings = SETTINGS
    final: Callable[[Script], object] | None = None


# --- small builders ------------------------------------------------------------------------


def has(kind: type[Effect], **attrs: object) -> Callable[[Step], None]:
    """A row check: the step's last ``kind`` effect has ``attrs`` (``a__b`` reads ``a.b``)."""

    def check(result: Step) -> None:
        found = effects_of(result, kind)
        assert found, f"no {kind.__name__} among {result.effects}"
        for name, expected in attrs.items():
            value: object = found[-1]
            for part in name.split("__"):
                value = getattr(value, part)
            assert value == expected, f"{kind.__name__}.{name}: {value!r} != {expected!r}"

    return check


def no_effects(result: Step) -> None:
    """A row check: the step asks for nothing at all."""
    assert result.effects == (), f"unexpected effects {result.effects}"


def no_timer(name: str) -> Callable[[Step], None]:
    """A row check: the step starts no timer ``name`` (a query is out; its answer will)."""

    def check(result: Step) -> None:
        started = [e for e in effects_of(result, StartTimer) if e.name == name]
        assert not started, f"timer {name!r} started: {started}"

    return check


def recorded(**attrs: object) -> Callable[[Step], None]:
    """A row check on the payment the step writes to the journal."""
    return has(RecordPayment, **{f"payment__{name}": v for name, v in attrs.items()})


def polls(
    first_at: float,
    count: int,
    reply: EventSource,
    expect: Expect,
    *,
    interval: float,
    lag: float = 0.5,
) -> list[Row]:
    """``count`` poll rounds: the poll timer fires, a query goes out, ``reply`` comes back.

    The reply comes ``lag`` s after the poll and the next poll ``interval`` s after the
    reply, so round k polls at ``first_at + k * (lag + interval)``.
    """
    rows: list[Row] = []
    at_s = first_at
    for _ in range(count):
        rows.append((at_s, fire("poll"), Expect(calls=("query",))))
        rows.append((at_s + lag, reply, expect))
        at_s += lag + interval
    return rows


def reconcile(status: PaymentStatus, seq: int | None = None) -> Callable[[Script], Event]:
    """A late provider answer about a payment as the journal last recorded it."""
    return lambda script: ReconcileAnswered(script.last_payment(seq), ProviderAnswer(status))


WAITING = Expect(phase=Phase.WAITING, calls=())
STILL_PENDING = Expect(phase=Phase.WAITING, payment=P.PENDING, calls=(), records=())


def mpm_to_waiting(*, slips: tuple[SlipKind, ...] = (), screen: str = "qr") -> list[Row]:
    """Type 15.00, ask for a QR, get it: the terminal waits, first poll due at t=4."""
    shown = QR if screen == "qr" else None
    return [
        *typed(0, "1500"),
        (1, key("enter"), Expect(
            phase=Phase.CREATING, payment=P.NEW, calls=("create",), records=(P.NEW,),
            screen=("wait", None),
            fields={"order_id": order_id(1), "seq": 1, "amount": RUB_15, "flow": "mpm"},
            check=has(CallProvider, provider="paymaster", order__order_id=order_id(1),
                      order__amount=RUB_15),
        )),
        (2, answer("create", S.PENDING, ref=REF, qr=QR), Expect(
            phase=Phase.WAITING, payment=P.PENDING, records=(P.PENDING,), slips=slips,
            calls=(), timers={"poll": PAYMASTER.first_poll_delay_s, "deadline": 119.0},
            screen=(screen, shown), fields={"provider_ref": REF, "qr_payload": QR},
        )),
    ]  # fmt: skip


#: Network lost after the customer paid: three failed polls exhaust PayMaster's budget.
LOST = [
    *mpm_to_waiting(),
    *polls(4, 2, fail("query"), WAITING, interval=3),  # polls at 4 and 7.5
    (11, fire("poll"), Expect(calls=("query",))),
    (11.5, fail("query"), Expect(
        phase=Phase.NO_CONNECTION, payment=P.PENDING, slips=(K.NOT_CONFIRMED,), calls=(),
        screen=("no_connection", None), state={"tech_errors": 3},
    )),
]  # fmt: skip

MPM_PAID_AT_8 = [
    *mpm_to_waiting(),
    (4, fire("poll"), Expect(calls=("query",))),
    (4.5, answer("query", S.PENDING), replace(STILL_PENDING, timers={"poll": 3.0})),
    (7.5, fire("poll"), Expect(calls=("query",))),
    (8, answer("query", S.PAID), Expect(
        phase=Phase.DONE, payment=P.PAID, records=(P.PAID,), slips=(K.PAYMENT,),
        screen=("paid", None),
    )),
]  # fmt: skip

CPM_WAITING = [
    *typed(0, "1500"),
    (1, scan(WECHAT_CODE), Expect(
        phase=Phase.PAYING, payment=P.NEW, calls=("pay",), records=(P.NEW,),
        state={"wallet": "wechat", "code": WECHAT_CODE},
        fields={"flow": "cpm", "provider": "verystar", "code_masked": "1345**********6789"},
        check=has(CallProvider, op="pay", code=WECHAT_CODE, provider="verystar"),
    )),
    (2, answer("pay", S.PENDING, ref="VS-77"), Expect(
        phase=Phase.WAITING, payment=P.PENDING, records=(P.PENDING,), slips=(),
        timers={"poll": VERYSTAR.first_poll_delay_s, "deadline": 44.0},
        screen=("confirm", None),
    )),
]  # fmt: skip

FORCED_FROM_DIALOG = [
    *LOST,
    (20, press("force"), Expect(phase=Phase.APPROVAL, screen=("approval", None))),
    *[(20, key(d), Expect(phase=Phase.APPROVAL)) for d in "2468"],
    (20, key("enter"), Expect(
        phase=Phase.DONE, payment=P.FORCED, records=(P.FORCED,), slips=(K.FORCED,),
        alerts=("forced",), fields={"forced": True}, message="forced",
    )),
]  # fmt: skip

CANCEL_FAILED = [
    *LOST,
    (20, press("cancel"), Expect(phase=Phase.CANCELLING, calls=("cancel",))),
    (21, fail("cancel"), Expect(
        phase=Phase.DONE, payment=P.CANCEL_FAILED, records=(P.CANCEL_FAILED,),
        slips=(K.CANCEL_FAILED,), alerts=("cancel_failed",), calls=(),
        fields={"needs_admin": True},
    )),
]  # fmt: skip

VOID_SETTINGS = replace(SETTINGS, result_screen_s=600.0)
#: A void whose refund got no answer: the payment is VOIDING until the provider says.
VOID_FAILED = [
    *MPM_PAID_AT_8,
    (20, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
    (21, key("enter"), Expect(phase=Phase.VOIDING, records=(P.VOIDING,))),
    (22, fail("refund"), Expect(phase=Phase.DONE, payment=P.VOIDING, message="void_failed")),
]
REJECTED = Expect(rejected=True, calls=(), records=(), slips=())


def wrong_pin(at_s: float, attempts: int, phase: Phase = Phase.APPROVAL) -> list[Row]:
    """Rows typing a wrong PIN and Enter."""
    message = "approval_refused" if phase is not Phase.APPROVAL else "wrong_pin"
    return [
        *[(at_s, key(d), Expect(phase=Phase.APPROVAL)) for d in "1111"],
        (at_s, key("enter"), Expect(phase=phase, message=message,
                                     state={"pin": "", "pin_attempts": attempts})),
    ]  # fmt: skip


# --- the flows -----------------------------------------------------------------------------

FLOWS: list[Flow] = [
    # MPM (002): QR on screen, printed, or a sticker; poll at the provider's cadence.
    Flow("mpm_qr_on_screen_paid", [
        *MPM_PAID_AT_8,
        (23, fire("result"), Expect(phase=Phase.IDLE, state={"payment": None}, calls=())),
    ]),
    Flow("mpm_qr_printed_paid", [
        *mpm_to_waiting(slips=(K.QR,), screen="qr_printed")[:-1],
        (2, answer("create", S.PENDING, ref=REF, qr=QR), Expect(
            phase=Phase.WAITING, slips=(K.QR,), screen=("qr_printed", None),
            check=has(PrintSlip, payment__qr_payload=QR, payment__state=P.PENDING),
        )),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.5, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID,
                                              slips=(K.PAYMENT,))),
    ], settings=replace(SETTINGS, qr_mode=0)),
    Flow("mpm_sticker_paid", [
        *mpm_to_waiting(screen="sticker"),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.5, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID)),
    ], settings=replace(SETTINGS, qr_mode=2)),
    Flow("mpm_declined", [
        *mpm_to_waiting(),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.5, answer("query", S.DECLINED, message="insufficient funds"), Expect(
            phase=Phase.DONE, payment=P.DECLINED, records=(P.DECLINED,), slips=(K.FAILURE,),
            fields={"message": "insufficient funds"}, screen=("declined", None),
        )),
    ]),
    Flow("mpm_expired_while_pending", [
        *mpm_to_waiting(),
        # The provider keeps answering PENDING until the invoice's lifetime (1 + 120 s) ends.
        *polls(4, 34, answer("query", S.PENDING), STILL_PENDING, interval=3),
        (121, fire("deadline"), Expect(
            phase=Phase.CANCELLING, calls=("cancel",), message="not_paid_in_time",
        )),
        (121.5, answer("cancel", S.CANCELLED), Expect(
            phase=Phase.DONE, payment=P.EXPIRED, records=(P.EXPIRED,), slips=(K.FAILURE,),
            screen=("expired", None),
        )),
    ]),
    # CPM (000, 003, 004): scan, route, pay, confirm in the app.
    Flow("cpm_confirmed_in_app", [
        *CPM_WAITING,
        (6, fire("poll"), Expect(calls=("query",))),
        (6.5, answer("query", S.PENDING),
         replace(STILL_PENDING, timers={"poll": VERYSTAR.poll_interval_s})),
        (8.5, fire("poll"), Expect(calls=("query",))),
        (9, answer("query", S.PAID), Expect(
            phase=Phase.DONE, payment=P.PAID, slips=(K.PAYMENT,), state={"code": ""},
        )),
    ]),
    Flow("cpm_scanned_while_typing_paid_at_once", [
        *typed(0, "990", enter=False),
        (1, scan(ALIPAY_CODE), Expect(phase=Phase.PAYING, calls=("pay",),
                                      state={"wallet": "alipay"},
                                      fields={"amount": Money(990, "RUB")})),
        (2, answer("pay", S.PAID, ref="VS-1"), Expect(phase=Phase.DONE, payment=P.PAID,
                                                      slips=(K.PAYMENT,))),
    ]),
    Flow("cpm_never_confirmed_is_reversed", [
        *CPM_WAITING,
        # Deadline at 1 + 45 s; the wallet keeps saying PENDING until then.
        *polls(6, 16, answer("query", S.PENDING), STILL_PENDING, interval=2),
        (46, fire("deadline"), Expect(phase=Phase.CANCELLING, calls=("cancel",),
                                      check=has(CallProvider, provider="verystar"))),
        (46.5, answer("cancel", S.CANCELLED), Expect(
            phase=Phase.DONE, payment=P.EXPIRED, records=(P.EXPIRED,), slips=(K.FAILURE,),
        )),
    ]),
    Flow("cpm_unknown_code_then_known", [
        *typed(0, "1500"),
        (1, scan("9999999999999999"), Expect(phase=Phase.READY, message="code_unknown",
                                             calls=(), records=())),
        (2, scan("SBP12345"), Expect(phase=Phase.READY, message="code_unknown", calls=())),
        (3, scan(WECHAT_CODE), Expect(phase=Phase.PAYING, message="", fields={"seq": 1})),
    ]),
    # Network lost after the customer paid (002), and the dialog's Retry.
    Flow("network_lost_retry_then_paid", [
        *LOST,
        # The query goes out at once; its answer schedules the next poll (never two in flight).
        (20, press("retry"), Expect(
            phase=Phase.WAITING, calls=("query",), check=no_timer("poll"),
            state={"retrying": True, "tech_errors": 0, "deadline": 121.0},
        )),
        (20.5, fail("query"), replace(WAITING, slips=())),
        # Failures go on past the budget: Retry polls for the invoice's whole lifetime.
        *polls(23.5, 4, fail("query"), Expect(phase=Phase.WAITING, slips=()), interval=3),
        (37.5, fire("poll"), Expect(calls=("query",))),
        (38, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID,
                                             slips=(K.PAYMENT,))),
    ], final=lambda script: _count_slips(script, K.NOT_CONFIRMED, 1)),
    Flow("network_lost_retry_until_lifetime_ends", [
        *LOST,
        (20, press("retry"), Expect(phase=Phase.WAITING, calls=("query",))),
        (20.5, fail("query"), WAITING),
        *polls(23.5, 28, fail("query"), Expect(phase=Phase.WAITING, slips=()), interval=3),
        (121, fire("deadline"), Expect(phase=Phase.NO_CONNECTION, slips=(), calls=())),
        (130, press("retry"), Expect(phase=Phase.WAITING, calls=("query",),
                                     state={"deadline": 160.0})),
    ], final=lambda script: _count_slips(script, K.NOT_CONFIRMED, 1)),
    Flow("no_proper_answer_for_too_long", [
        *mpm_to_waiting(),
        *polls(4, 8, fail("query"), WAITING, interval=3),  # last failure at 29: silent 27 s
        (32, fire("poll"), Expect(calls=("query",))),
        (32.5, fail("query"), Expect(phase=Phase.NO_CONNECTION, slips=(K.NOT_CONFIRMED,),
                                     state={"tech_errors": 9})),
    ], settings=replace(SETTINGS, providers={
        **SETTINGS.providers, "paymaster": replace(PAYMASTER, technical_error_budget=50)})),
    Flow("create_hangs_past_no_answer_timeout", [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (31, fail("create"), Expect(phase=Phase.NO_CONNECTION, payment=P.NEW,
                                    slips=(K.NOT_CONFIRMED,), calls=())),
    ]),
    # WebMoney (001): any proper answer resets the technical-error count.
    Flow("proper_answer_resets_error_count", [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING, fields={"provider": "webmoney"})),
        (2, answer("create", S.PENDING, qr=QR), Expect(phase=Phase.WAITING,
                                                       timers={"poll": 5.0})),
        *polls(7, 4, fail("query"), WAITING, interval=5),
        (29, fire("poll"), Expect(calls=("query",), state={"tech_errors": 4})),
        (29.5, answer("query", S.PENDING), replace(STILL_PENDING, state={"tech_errors": 0})),
        *polls(34.5, 4, fail("query"), WAITING, interval=5),
        (56.5, fire("poll"), Expect(phase=Phase.WAITING, state={"tech_errors": 4})),
        (57, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID)),
    ], settings=replace(SETTINGS, mpm_provider="webmoney"),
       final=lambda script: _count_slips(script, K.NOT_CONFIRMED, 0)),
    Flow("error_budget_exhausted_without_proper_answer", [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (2, answer("create", S.PENDING, qr=QR), Expect(phase=Phase.WAITING)),
        *polls(7, 4, fail("query"), WAITING, interval=5),
        (29, fire("poll"), Expect(calls=("query",))),
        (29.5, fail("query"), Expect(phase=Phase.NO_CONNECTION, slips=(K.NOT_CONFIRMED,))),
    ], settings=replace(SETTINGS, mpm_provider="webmoney")),
    # Cancel from the dialog: sent once, whatever comes back.
    Flow("dialog_cancel_cancelled", [
        *LOST,
        (20, press("cancel"), Expect(phase=Phase.CANCELLING, calls=("cancel",),
                                     screen=("cancelling", None))),
        (21, answer("cancel", S.CANCELLED), Expect(
            phase=Phase.DONE, payment=P.CANCELLED, records=(P.CANCELLED,), slips=(K.FAILURE,),
        )),
        (22, press("cancel"), REJECTED),
        (36, fire("result"), Expect(phase=Phase.IDLE)),
    ]),
    Flow("dialog_cancel_but_customer_had_paid", [
        *LOST,
        (20, press("cancel"), Expect(phase=Phase.CANCELLING, calls=("cancel",))),
        (21, answer("cancel", S.PAID, ref=REF), Expect(
            phase=Phase.DONE, payment=P.PAID, records=(P.PAID,), slips=(K.PAYMENT,),
        )),
    ]),
    Flow("dialog_cancel_fails_needs_admin", [
        *CANCEL_FAILED,
        (25, press("cancel"), REJECTED),
        (26, press("retry"), REJECTED),
        (27, press("force"), REJECTED),
        (36, fire("result"), Expect(phase=Phase.IDLE, calls=())),
    ]),
    Flow("dialog_cancel_left_open_by_provider", [
        *LOST,
        (20, press("cancel"), Expect(phase=Phase.CANCELLING, calls=("cancel",))),
        (21, answer("cancel", S.PENDING), Expect(
            phase=Phase.DONE, payment=P.CANCEL_FAILED, slips=(K.CANCEL_FAILED,),
            alerts=("cancel_failed",), fields={"needs_admin": True},
        )),
    ]),
    Flow("retry_while_waiting_asks_at_once", [
        *mpm_to_waiting(),
        (3, press("retry"), Expect(phase=Phase.WAITING, calls=("query",), records=())),
        (3.5, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID)),
    ]),
    Flow("printer_trouble_never_holds_a_payment_up", [
        *mpm_to_waiting(slips=(K.QR,), screen="qr_printed"),
        (2.5, PrinterReported("qr", order_id(1), "paper"), Expect(
            phase=Phase.WAITING, calls=(), records=(), slips=(), timers={},
            state={"printer_problem": "paper"},
            check=no_effects,
        )),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.5, answer("query", S.PAID), Expect(phase=Phase.DONE, slips=(K.PAYMENT,),
                                              state={"printer_problem": "paper"})),
        (5, PrinterReported("payment", order_id(1), ""), Expect(
            phase=Phase.DONE, payment=P.PAID, state={"printer_problem": ""},
        )),
    ], settings=replace(SETTINGS, qr_mode=0)),
    Flow("waiting_cancelled_by_cashier", [
        *mpm_to_waiting(),
        (3, press("cancel"), Expect(phase=Phase.CANCELLING, calls=("cancel",),
                                    message="cancelled_by_cashier")),
        (3.5, answer("cancel", S.CANCELLED), Expect(phase=Phase.DONE, payment=P.CANCELLED)),
    ]),
    # A lost answer to create/pay: query first, re-send the same order only if unknown.
    Flow("lost_create_answer_not_found_resent", [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING, calls=("create",))),
        (2, fail("create"), Expect(phase=Phase.WAITING, payment=P.NEW, calls=(),
                                   timers={"poll": 3.0})),
        (5, fire("poll"), Expect(calls=("query",))),
        (5.5, answer("query", S.NOT_FOUND), Expect(
            phase=Phase.CREATING, payment=P.NEW, calls=("create",), records=(),
            check=has(CallProvider, order__order_id=order_id(1)),
        )),
        (6, answer("create", S.PENDING, ref=REF, qr=QR), Expect(
            phase=Phase.WAITING, payment=P.PENDING, screen=("qr", QR),
        )),
    ]),
    Flow("lost_create_answer_found_pending", [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (2, fail("create"), Expect(phase=Phase.WAITING)),
        (5, fire("poll"), Expect(calls=("query",))),
        (5.5, answer("query", S.PENDING, ref=REF, qr=QR), Expect(
            phase=Phase.WAITING, payment=P.PENDING, calls=(), records=(P.PENDING,),
            screen=("qr", QR),
        )),
    ]),
    Flow("lost_pay_answer_not_found_resent", [
        *typed(0, "1500"),
        (1, scan(WECHAT_CODE), Expect(phase=Phase.PAYING, calls=("pay",))),
        (2, fail("pay"), Expect(phase=Phase.WAITING, payment=P.NEW, calls=(),
                                timers={"poll": 2.0})),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.5, answer("query", S.NOT_FOUND), Expect(
            phase=Phase.PAYING, calls=("pay",),
            check=has(CallProvider, code=WECHAT_CODE, order__order_id=order_id(1)),
        )),
        (5, answer("pay", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID)),
    ]),
    # Force (000): a supervisor's approval by PIN or badge.
    Flow("force_from_dialog_pin", [
        *LOST,
        (20, press("force"), Expect(phase=Phase.APPROVAL)),
        *wrong_pin(21, 1),
        *wrong_pin(22, 2),
        *wrong_pin(23, 0, phase=Phase.NO_CONNECTION),
        (30, press("force"), Expect(phase=Phase.APPROVAL, state={"pin_attempts": 0})),
        *[(30, key(d), Expect(phase=Phase.APPROVAL)) for d in "2468"],
        (31, key("enter"), Expect(
            phase=Phase.DONE, payment=P.FORCED, records=(P.FORCED,), slips=(K.FORCED,),
            alerts=("forced",), fields={"forced": True}, screen=("forced", None),
        )),
    ]),
    Flow("force_from_dialog_badge", [
        *LOST,
        (20, press("force"), Expect(phase=Phase.APPROVAL)),
        (21, BadgeTapped("deadbeef"), Expect(phase=Phase.APPROVAL, message="wrong_pin")),
        (22, BadgeTapped("04A1B2C3"), Expect(
            phase=Phase.DONE, payment=P.FORCED, slips=(K.FORCED,), alerts=("forced",),
        )),
    ]),
    Flow("force_from_waiting_then_cancelled", [
        *mpm_to_waiting(),
        (3, press("force"), Expect(phase=Phase.APPROVAL, calls=(),
                                   state={"return_phase": Phase.WAITING})),
        *[(4, key(d), Expect(phase=Phase.APPROVAL)) for d in "24"],
        (10, press("cancel"), Expect(
            phase=Phase.WAITING, payment=P.PENDING, calls=(), records=(),
            timers={"poll": 3.0, "deadline": 111.0}, state={"pin": ""},
        )),
        (13, fire("poll"), Expect(calls=("query",))),
        (13.5, answer("query", S.PAID), Expect(phase=Phase.DONE, payment=P.PAID)),
    ]),
    Flow("force_from_waiting_attempts_exhausted", [
        *mpm_to_waiting(),
        (3, press("force"), Expect(phase=Phase.APPROVAL)),
        *wrong_pin(4, 1),
        *wrong_pin(5, 2),
        *wrong_pin(6, 0, phase=Phase.WAITING),
        (9, fire("poll"), Expect(calls=("query",))),
    ]),
    Flow("force_without_approval", [
        *mpm_to_waiting(),
        (3, press("force"), Expect(phase=Phase.DONE, payment=P.FORCED, records=(P.FORCED,),
                                   slips=(K.FORCED,), alerts=("forced",),
                                   fields={"forced": True})),
    ], settings=replace(SETTINGS, force_requires_approval=False)),
    # Reconcile after the network comes back.
    Flow("forced_then_provider_says_declined", [
        *FORCED_FROM_DIALOG,
        (30, reconcile(S.DECLINED), Expect(
            phase=Phase.DONE, payment=P.DECLINED, records=(P.DECLINED,), slips=(K.MISMATCH,),
            alerts=("reconcile_mismatch",), fields={"mismatch": True, "forced": True},
        )),
    ]),
    Flow("forced_then_provider_says_expired_later", [
        *FORCED_FROM_DIALOG,
        (35, fire("result"), Expect(phase=Phase.IDLE)),
        (90, reconcile(S.EXPIRED), Expect(
            phase=Phase.IDLE, records=(P.EXPIRED,), slips=(K.MISMATCH,),
            alerts=("reconcile_mismatch",), check=recorded(mismatch=True),
        )),
    ]),
    Flow("forced_then_provider_says_paid", [
        *FORCED_FROM_DIALOG,
        (30, reconcile(S.PAID), Expect(
            payment=P.PAID, records=(P.PAID,), slips=(), alerts=(),
            fields={"mismatch": False},
        )),
    ]),
    Flow("forced_then_provider_still_pending", [
        *FORCED_FROM_DIALOG,
        (30, reconcile(S.PENDING), Expect(payment=P.FORCED, records=(), slips=())),
    ]),
    Flow("reconcile_of_an_earlier_payment_leaves_the_current_one", [
        *FORCED_FROM_DIALOG,
        (35, fire("result"), Expect(phase=Phase.IDLE)),
        *typed(40, "700"),
        (41, key("enter"), Expect(phase=Phase.CREATING, fields={"seq": 2})),
        (42, reconcile(S.DECLINED, seq=1), Expect(
            phase=Phase.CREATING, payment=P.NEW, fields={"seq": 2}, records=(P.DECLINED,),
            slips=(K.MISMATCH,), alerts=("reconcile_mismatch",),
            check=recorded(order_id=order_id(1), mismatch=True),
        )),
        (43, answer("create", S.PENDING, 2, qr=QR), Expect(phase=Phase.WAITING)),
    ]),
    Flow("cancel_failed_then_provider_says_paid", [
        *CANCEL_FAILED,
        (30, reconcile(S.PAID), Expect(
            payment=P.PAID, records=(P.PAID,), slips=(K.MISMATCH,),
            alerts=("reconcile_mismatch",), fields={"mismatch": True, "needs_admin": True},
        )),
    ]),
    Flow("cancel_failed_then_provider_says_cancelled", [
        *CANCEL_FAILED,
        (30, reconcile(S.CANCELLED), Expect(
            payment=P.CANCELLED, records=(P.CANCELLED,), slips=(), alerts=(),
            fields={"mismatch": False, "needs_admin": False},
        )),
    ]),
    # Void right after payment (000).
    Flow("void_right_after_payment", [
        *MPM_PAID_AT_8,
        (20, press("cancel"), Expect(phase=Phase.VOID_CONFIRM, calls=(),
                                     screen=("void_confirm", None))),
        (21, key("enter"), Expect(
            phase=Phase.VOIDING, payment=P.VOIDING, calls=("refund",), records=(P.VOIDING,),
            check=has(CallProvider, refund_id=f"{order_id(1)}-void", refund_amount=RUB_15),
        )),
        (22, answer("refund", S.REFUNDED), Expect(
            phase=Phase.DONE, payment=P.VOIDED, records=(P.VOIDED,), slips=(K.VOID,),
            message="voided", screen=("voided", None),
        )),
        (23, press("cancel"), REJECTED),
    ], settings=VOID_SETTINGS),
    Flow("void_at_the_end_of_the_window", [
        *MPM_PAID_AT_8,
        (128, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
        (129, press("cancel"), Expect(phase=Phase.DONE, payment=P.PAID, calls=(),
                                      timers={"result": 600.0})),
        (129, press("cancel"), REJECTED),
    ], settings=VOID_SETTINGS),
    Flow("void_outside_the_window", [
        *MPM_PAID_AT_8,
        (128.5, press("cancel"), replace(REJECTED, phase=Phase.DONE)),
    ], settings=VOID_SETTINGS),
    Flow("void_fails_then_retried", [
        *MPM_PAID_AT_8,
        (20, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
        (21, key("enter"), Expect(phase=Phase.VOIDING, calls=("refund",))),
        (22, fail("refund"), Expect(phase=Phase.DONE, payment=P.VOIDING,
                                    message="void_failed", records=(), slips=())),
        (30, press("retry"), Expect(
            phase=Phase.VOIDING, calls=("refund",), records=(P.VOIDING,),
            check=has(CallProvider, refund_id=f"{order_id(1)}-void"),
        )),
        (31, answer("refund", S.REFUNDED), Expect(phase=Phase.DONE, payment=P.VOIDED)),
    ], settings=VOID_SETTINGS),
    Flow("void_fails_then_reconciled_refunded", [
        *VOID_FAILED,
        (622, fire("result"), Expect(phase=Phase.IDLE)),
        (700, reconcile(S.REFUNDED), Expect(phase=Phase.IDLE, records=(P.VOIDED,), slips=(),
                                            alerts=())),
    ], settings=VOID_SETTINGS),
    Flow("void_fails_then_reconciled_still_paid", [
        *VOID_FAILED,
        (622, fire("result"), Expect(phase=Phase.IDLE)),
        (700, reconcile(S.PAID), Expect(
            phase=Phase.IDLE, records=(P.PAID,), alerts=("void_not_done",),
            check=recorded(needs_admin=True),
        )),
    ], settings=VOID_SETTINGS),
    Flow("void_refused_by_provider", [
        *MPM_PAID_AT_8,
        (20, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
        (21, key("enter"), Expect(phase=Phase.VOIDING)),
        (22, answer("refund", S.DECLINED), Expect(phase=Phase.DONE, payment=P.PAID,
                                                  message="void_refused", records=(P.PAID,))),
        (23, press("retry"), REJECTED),
    ], settings=VOID_SETTINGS),
    Flow("no_void_without_refund_support", [
        *MPM_PAID_AT_8,
        (20, press("cancel"), REJECTED),
    ], settings=replace(VOID_SETTINGS, providers={
        **SETTINGS.providers, "paymaster": replace(PAYMASTER, supports_refund=False)})),
    # Payments in doubt after a restart.
    Flow("in_doubt_was_paid", [
        (0, in_doubt(7), Expect(phase=Phase.RESOLVING, calls=("query",), records=(),
                                state={"next_seq": 8}, screen=("resolving", None),
                                check=has(CallProvider, order__order_id=order_id(7)))),
        (1, answer("query", S.PAID, 7, ref="PM-7"), Expect(
            phase=Phase.DONE, payment=P.PAID, records=(P.PAID,), slips=(K.RECOVERED,),
        )),
    ]),
    Flow("in_doubt_never_reached_provider", [
        (0, in_doubt(7), Expect(phase=Phase.RESOLVING, calls=("query",))),
        (1, answer("query", S.NOT_FOUND, 7), Expect(
            phase=Phase.DONE, payment=P.FAILED, records=(P.FAILED,), slips=(K.RECOVERED,),
            calls=(),
        )),
        (16, fire("result"), Expect(phase=Phase.IDLE, calls=())),
    ]),
    Flow("in_doubt_cpm_never_reached_provider", [
        (0, in_doubt(3, flow="cpm"), Expect(phase=Phase.RESOLVING, calls=("query",))),
        (1, answer("query", S.NOT_FOUND, 3), Expect(phase=Phase.DONE, payment=P.FAILED,
                                                    calls=())),
    ]),
    Flow("in_doubt_still_pending", [
        (0, in_doubt(7, P.PENDING), Expect(phase=Phase.RESOLVING, calls=("query",))),
        # Created 10 s before the restart: its 120 s lifetime ends at second 110, not 125.
        (5, answer("query", S.PENDING, 7), Expect(
            phase=Phase.WAITING, payment=P.PENDING, records=(),
            timers={"poll": PAYMASTER.first_poll_delay_s, "deadline": 105.0},
        )),
        (7, fire("poll"), Expect(calls=("query",))),
        (7.5, answer("query", S.PAID, 7), Expect(phase=Phase.DONE, slips=(K.RECOVERED,))),
    ]),
    Flow("in_doubt_provider_unreachable_for_a_while", [
        (0, in_doubt(7, P.PENDING), Expect(phase=Phase.RESOLVING, calls=("query",))),
        (1, fail("query", 7), Expect(phase=Phase.RESOLVING, calls=(), timers={"poll": 3.0})),
        (4, fire("poll"), Expect(phase=Phase.RESOLVING, calls=("query",))),
        (4.5, answer("query", S.PAID, 7), Expect(phase=Phase.DONE, slips=(K.RECOVERED,))),
    ]),
    Flow("two_in_doubt_one_after_the_other", [
        (0, in_doubt(7), Expect(phase=Phase.RESOLVING, calls=("query",))),
        (0, in_doubt(9), Expect(phase=Phase.RESOLVING, calls=(),
                                state={"next_seq": 10},
                                fields={"order_id": order_id(7)})),
        (1, answer("query", S.PAID, 9), REJECTED),
        (1, answer("query", S.PAID, 7), Expect(phase=Phase.DONE, payment=P.PAID)),
        (16, fire("result"), Expect(
            phase=Phase.RESOLVING, calls=("query",), fields={"order_id": order_id(9)},
            check=has(CallProvider, order__order_id=order_id(9)),
        )),
        (17, answer("query", S.NOT_FOUND, 9), Expect(phase=Phase.DONE, payment=P.FAILED,
                                                     calls=())),
        (32, fire("result"), Expect(phase=Phase.IDLE, state={"queue": ()})),
        *typed(40, "100"),
        (41, key("enter"), Expect(phase=Phase.CREATING, fields={"seq": 10},
                                  check=has(CallProvider, order__order_id=order_id(10)))),
    ]),
    Flow("in_doubt_found_mid_payment_waits_its_turn", [
        *MPM_PAID_AT_8[:-1],
        (8, in_doubt(7), Expect(phase=Phase.WAITING, calls=(), state={"next_seq": 8})),
        (8, answer("query", S.PAID), Expect(phase=Phase.DONE)),
        (9, key("enter"), Expect(phase=Phase.RESOLVING, calls=("query",),
                                 fields={"order_id": order_id(7)})),
    ]),
    # A journal that cannot be written stops the terminal.
    Flow("journal_fails_while_waiting", [
        *mpm_to_waiting(),
        (3, JournalFailed("disk I/O error"), Expect(
            phase=Phase.FAULT, calls=(), alerts=("journal",), screen=("fault", None),
            state={"fault": "disk I/O error"},
        )),
        (4, fire("poll"), REJECTED),
        (5, answer("query", S.PAID), REJECTED),
        (6, key("1"), REJECTED),
    ]),
]  # fmt: skip


def _count_slips(script: Script, kind: SlipKind, expected: int) -> None:
    slips = [e for e in effects_of(script.steps, PrintSlip) if e.kind is kind]
    assert len(slips) == expected, f"{len(slips)} {kind.value} slips, expected {expected}"


def _play(flow: Flow) -> Script:
    return run(State(flow.settings), flow.rows)


FLOW_IDS = [flow.name for flow in FLOWS]


def test_flow_names_are_unique() -> None:
    """Each flow has its own name (they are the test ids)."""
    assert len(set(FLOW_IDS)) == len(FLOW_IDS)


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_flow(flow: Flow) -> None:
    """Every row of the flow leaves the machine where the table says."""
    script = _play(flow)
    assert len(script.steps) == len(flow.rows), "every row was played and checked"
    if flow.final is not None:
        flow.final(script)


# --- invariants over every flow --------------------------------------------------------------


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_write_ahead(flow: Flow) -> None:
    """A payment is journaled as NEW, in the same step and before, its first provider call."""
    journaled: set[str] = {e.payment.order_id for e in _in_doubt_payments(flow)}
    for result in _play(flow).steps:
        for effect in result.effects:
            if isinstance(effect, RecordPayment):
                if effect.payment.order_id not in journaled:
                    assert effect.payment.state is P.NEW, f"first record of {effect.payment}"
                journaled.add(effect.payment.order_id)
            elif isinstance(effect, CallProvider):
                assert effect.order.order_id in journaled, f"{effect} before its record"


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_order_ids_carry_terminal_epoch_and_number(flow: Flow) -> None:
    """Order ids read ``<terminal>-<epoch>-<seq:06d>`` and match the payment's number."""
    for record in effects_of(_play(flow).steps, RecordPayment):
        payment = record.payment
        assert re.fullmatch(r"T0042-0007-\d{6}", payment.order_id)
        assert payment.order_id.endswith(f"-{payment.seq:06d}")


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_cancel_is_sent_at_most_once(flow: Flow) -> None:
    """No order is ever cancelled twice."""
    calls = effects_of(_play(flow).steps, CallProvider)
    cancels = Counter(c.order.order_id for c in calls if c.op == "cancel")
    assert all(n == 1 for n in cancels.values()), cancels


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_create_or_pay_is_repeated_only_after_a_query(flow: Flow) -> None:
    """After a create/pay went out, the same order is only sent again once a query was made."""
    last_op: dict[str, str] = {}
    for call in effects_of(_play(flow).steps, CallProvider):
        oid = call.order.order_id
        if call.op in ("create", "pay"):
            assert last_op.get(oid, "query") == "query", f"{call.op} of {oid} repeated blind"
        last_op[oid] = call.op


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_one_query_in_flight_at_most(flow: Flow) -> None:
    """A payment never has two queries out at once: the next poll waits for the answer."""
    script = _play(flow)
    assert _queries_overlapping(script) == []


def _queries_overlapping(script: Script) -> list[str]:
    out: set[str] = set()
    overlapping: list[str] = []
    for event, result in zip(script.events, script.steps, strict=True):
        if isinstance(event, ProviderAnswered | ProviderFailed) and event.op == "query":
            out.discard(event.order_id)
        for call in effects_of(result, CallProvider):
            if call.op == "query":
                if call.order.order_id in out:
                    overlapping.append(call.order.order_id)
                out.add(call.order.order_id)
    return overlapping


@pytest.mark.parametrize("flow", FLOWS, ids=FLOW_IDS)
def test_not_confirmed_slip_at_most_once(flow: Flow) -> None:
    """The "not confirmed" slip comes out once per payment at most."""
    slips = effects_of(_play(flow).steps, PrintSlip)
    counts = Counter(s.payment.order_id for s in slips if s.kind is K.NOT_CONFIRMED)
    assert all(n == 1 for n in counts.values()), counts


def _in_doubt_payments(flow: Flow) -> list[InDoubtFound]:
    return [event for _, event, _ in flow.rows if isinstance(event, InDoubtFound)]


# --- numbering -----------------------------------------------------------------------------


def test_every_attempt_takes_the_next_number_failed_ones_too() -> None:
    """Declined and lost attempts keep their numbers; notices (bad codes) take none."""
    script = run(State(SETTINGS), [
        *typed(0, "1500"),
        (1, key("enter"), Expect(fields={"seq": 1})),
        (2, answer("create", S.DECLINED), Expect(payment=P.DECLINED)),
        *typed(3, "700"),
        (4, scan("bad code"), Expect(message="code_unreadable", records=())),
        (5, scan(WECHAT_CODE), Expect(phase=Phase.PAYING, fields={"seq": 2})),
        (6, fail("pay", 2), Expect(phase=Phase.WAITING)),
        (8, fire("poll"), Expect(calls=("query",))),
        (8.5, answer("query", S.NOT_FOUND, 2), Expect(phase=Phase.PAYING, fields={"seq": 2})),
        (9, answer("pay", S.PAID, 2), Expect(payment=P.PAID)),
        (10, key("5"), Expect(phase=Phase.AMOUNT)),
        (10, key("enter"), Expect(phase=Phase.READY)),
        (11, key("enter"), Expect(phase=Phase.CREATING, fields={"seq": 3})),
    ])  # fmt: skip
    ids = [r.payment.order_id for r in effects_of(script.steps, RecordPayment)]
    assert list(dict.fromkeys(ids)) == [order_id(1), order_id(2), order_id(3)]
    assert script.state.next_seq == 4


@pytest.mark.parametrize("synced", [True, False])
def test_payment_keeps_the_wall_time_and_whether_it_was_synced(synced: bool) -> None:
    """The record carries the wall time it began at, flagged while NTP has not synced yet."""
    ready = run(State(SETTINGS), typed(0, "1500")).state
    result = step(ready, key("enter"), now_at(30, synced=synced))
    payment = effects_of(result, RecordPayment)[0].payment
    assert payment.created_wall == "2026-03-02T09:00:30Z"
    assert payment.wall_synced is synced


@pytest.mark.parametrize(
    ("code", "notice"),
    [
        ("", "code_empty"),
        ("1" * 65, "code_too_long"),
        ("\x1b[2J134567890123", "code_unreadable"),
        ("13456789\x000123456", "code_unreadable"),
        ("1345 6789 0123 4567", "code_unreadable"),
        ("кошелёк-1234567890", "code_unreadable"),
        ("9" * 18, "code_unknown"),
    ],
    ids=["empty", "too_long", "escape", "nul", "spaces", "non_ascii", "unknown"],
)
def test_garbled_or_unknown_code_gives_a_notice_and_no_payment(code: str, notice: str) -> None:
    """A scan that is not a routable wallet code leaves the amount ready and charges nothing."""
    script = run(State(SETTINGS), typed(0, "1500"))
    result = script.feed(1, CodeScanned(code))
    assert not result.rejected
    assert result.effects == ()
    assert result.state.phase is Phase.READY
    assert result.state.message == notice
    assert result.state.next_seq == 1


# --- the fault latch and rejections --------------------------------------------------------

ANY_EVENT: list[Event] = [
    key("1"),
    key("enter"),
    scan(WECHAT_CODE),
    press("retry"),
    press("cancel"),
    press("force"),
    BadgeTapped("04a1b2c3"),
    fire("poll"),
    fire("result"),
    answer("query", S.PAID),
    fail("query"),
    in_doubt(5),
    PrinterReported("payment", order_id(1), "paper"),
    ReconcileAnswered(in_doubt(1, P.FORCED).payment, ProviderAnswer(S.DECLINED)),
]


@pytest.mark.parametrize("event", ANY_EVENT, ids=lambda e: type(e).__name__)
def test_fault_is_latched(event: Event) -> None:
    """After the journal failed, every event is refused and changes nothing."""
    script = run(State(SETTINGS), [*mpm_to_waiting()])
    faulted = script.feed(3, JournalFailed("disk full")).state
    result = step(faulted, event, now_at(10))
    assert result.rejected.startswith("Can't ")
    assert result.rejected.endswith(" when in fault")
    assert result.effects == ()
    assert unchanged_but_time(faulted, result.state)


#: (rows to reach a phase, event, the rejection's text)
REJECTIONS: list[tuple[str, list[Row], Event, str]] = [
    ("idle_enter", [], key("enter"), "Can't KeyPressed(enter) when in idle"),
    ("idle_retry", [], press("retry"), "Can't ButtonPressed(retry) when in idle"),
    ("idle_answer", [], answer("query", S.PAID), "Can't ProviderAnswered(query) when in idle"),
    ("amount_force", typed(0, "5", enter=False), press("force"),
     "Can't ButtonPressed(force) when in amount"),
    ("ready_digit", typed(0, "5"), key("7"), "Can't KeyPressed(7) when in ready"),
    ("creating_cancel", mpm_to_waiting()[:-1], press("cancel"),
     "Can't ButtonPressed(cancel) when in creating"),
    ("waiting_scan", mpm_to_waiting(), scan(WECHAT_CODE), "Can't CodeScanned when in waiting"),
    ("waiting_other_order", mpm_to_waiting(), answer("query", S.PAID, 2),
     "Can't ProviderAnswered(query) when in waiting"),
    ("waiting_badge", mpm_to_waiting(), BadgeTapped("04a1b2c3"),
     "Can't BadgeTapped when in waiting"),
    ("dialog_key", LOST, key("enter"), "Can't KeyPressed(enter) when in no_connection"),
    ("dialog_answer", LOST, answer("query", S.PAID),
     "Can't ProviderAnswered(query) when in no_connection"),
    ("approval_retry", [*LOST, (20, press("force"), Expect())], press("retry"),
     "Can't ButtonPressed(retry) when in approval"),
    ("cancelling_retry", [*LOST, (20, press("cancel"), Expect())], press("retry"),
     "Can't ButtonPressed(retry) when in cancelling"),
    ("done_timer_poll", MPM_PAID_AT_8, fire("poll"), "Can't TimerFired(poll) when in done"),
    ("done_force", MPM_PAID_AT_8, press("force"), "Can't ButtonPressed(force) when in done"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "event", "text"),
    [(rows, event, text) for _, rows, event, text in REJECTIONS],
    ids=[name for name, *_ in REJECTIONS],
)
def test_rejection_names_event_and_phase_and_changes_nothing(
    rows: list[Row], event: Event, text: str
) -> None:
    """An event the phase does not take is refused with a sentence and no effect."""
    before = run(State(SETTINGS), rows).state
    result = step(before, event, now_at(50))
    assert result.rejected == text
    assert result.effects == ()
    assert unchanged_but_time(before, result.state)


def test_script_refuses_a_timer_that_is_not_due() -> None:
    """The player itself catches a table that fires a poll at the wrong time."""
    rows = [*mpm_to_waiting(), (5, fire("poll"), Expect(calls=("query",)))]
    with pytest.raises(AssertionError, match="due at 4"):
        run(State(SETTINGS), rows)


# --- awkward cases, each once broken ---------------------------------------------------------


def test_in_doubt_payment_unknown_to_provider_is_never_resent_after_retry() -> None:
    """A payment found in doubt at start and unknown to the provider is FAILED, never re-sent.

    Here the provider is unreachable at first, so the dialog comes up; after Retry the
    provider says NOT_FOUND while the phase is WAITING, not RESOLVING: it must still not
    be taken for a lost create answer.
    """
    script = run(State(SETTINGS), [
        (0, in_doubt(7), Expect(phase=Phase.RESOLVING, calls=("query",))),
        (1, fail("query", 7), Expect(phase=Phase.RESOLVING)),
        (4, fire("poll"), Expect(calls=("query",))),
        (5, fail("query", 7), Expect(phase=Phase.RESOLVING)),
        (8, fire("poll"), Expect(calls=("query",))),
        (9, fail("query", 7), Expect(phase=Phase.NO_CONNECTION)),
        (20, press("retry"), Expect(phase=Phase.WAITING, calls=("query",))),
    ])  # fmt: skip
    result = script.feed(21, answer("query", S.NOT_FOUND, 7))
    assert [c.op for c in effects_of(result, CallProvider)] == []
    assert result.state.phase is Phase.DONE
    assert result.state.payment is not None
    assert result.state.payment.state is P.FAILED


#: Force pressed while a poll was out: its answer comes back during the approval.
POLL_OUT_DURING_APPROVAL = [
    *mpm_to_waiting(),
    (4, fire("poll"), Expect(calls=("query",))),
    (4.2, press("force"), Expect(phase=Phase.APPROVAL)),
]


def test_final_answer_arriving_during_approval_is_taken() -> None:
    """A PAID answer to a poll sent before Force ends the approval: the payment is paid."""
    script = run(State(SETTINGS), POLL_OUT_DURING_APPROVAL)
    result = script.feed(4.5, answer("query", S.PAID))
    assert not result.rejected
    assert result.state.phase is Phase.DONE
    assert result.state.payment is not None
    assert result.state.payment.state is P.PAID
    assert [s.kind for s in effects_of(result, PrintSlip)] == [K.PAYMENT]


def test_pending_or_failed_answer_during_approval_leaves_the_supervisor_to_decide() -> None:
    """A PENDING answer or a failure during the approval keeps the approval open."""
    script = run(State(SETTINGS), POLL_OUT_DURING_APPROVAL)
    pending = script.feed(4.5, answer("query", S.PENDING))
    assert (pending.state.phase, pending.effects, pending.rejected) == (Phase.APPROVAL, (), "")
    script = run(State(SETTINGS), POLL_OUT_DURING_APPROVAL)
    failed = script.feed(4.5, fail("query"))
    assert (failed.state.phase, failed.effects, failed.rejected) == (Phase.APPROVAL, (), "")
    assert failed.state.tech_errors == 1


def test_answer_about_another_order_during_approval_is_refused() -> None:
    """An answer naming another order never touches the payment in hand.

    Were it absorbed, the payment could take another order's provider reference, which
    the slips print as the refund barcode.
    """
    script = run(State(SETTINGS), POLL_OUT_DURING_APPROVAL)
    before = script.state
    result = script.feed(4.5, answer("query", S.PENDING, 2, ref="SOMEONE-ELSE"))
    assert result.rejected == "Can't ProviderAnswered(query) when in approval"
    assert unchanged_but_time(before, result.state)


def test_retry_while_a_poll_is_out_sends_no_second_query() -> None:
    """Retry pressed while a poll's query is out does not put a second query in flight.

    ``_waiting_button`` answers Retry with ``CancelTimer("poll")`` and a fresh query, but
    when the poll timer has just fired its query is still out: two answers then come back,
    and two failures are counted against the technical-error budget for one outage.
    """
    script = run(State(SETTINGS), [
        *mpm_to_waiting(),
        (4, fire("poll"), Expect(calls=("query",))),
        (4.2, press("retry"), Expect(phase=Phase.WAITING)),
        (4.5, fail("query"), WAITING),
        # A failure nobody asked for (a duplicate) is refused, never counted.
        (4.6, fail("query"), REJECTED),
    ])  # fmt: skip
    assert _queries_overlapping(script) == []
    assert script.state.tech_errors == 1


def test_void_is_journaled_before_the_refund_is_sent() -> None:
    """Write-ahead for money going back: the void (VOIDING) is journaled before ``refund``."""
    script = run(State(VOID_SETTINGS), [
        *MPM_PAID_AT_8,
        (20, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
    ])  # fmt: skip
    result = script.feed(21, key("enter"))
    written = [e for e in result.effects if isinstance(e, RecordPayment | CallProvider)]
    assert [type(e).__name__ for e in written] == ["RecordPayment", "CallProvider"]
    assert isinstance(written[0], RecordPayment)
    assert written[0].payment.state is P.VOIDING


@pytest.mark.parametrize("unresolved", [P.FORCED, P.CANCEL_FAILED, P.VOIDING])
def test_only_new_or_pending_payments_are_resumed(unresolved: PaymentState) -> None:
    """Payments that reconciliation settles are never resumed as if interrupted."""
    result = Script(State(SETTINGS)).feed(0, in_doubt(3, unresolved))
    assert result.rejected == f"Can't resume a {unresolved.value} payment"
    assert result.state.phase is Phase.IDLE
    assert result.effects == ()


def test_lost_qr_is_asked_for_again_with_the_same_order() -> None:
    """The create's answer (with the QR) was lost and a query shows no QR: create again."""
    script = run(State(SETTINGS), [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING, calls=("create",))),
        (2, fail("create"), Expect(phase=Phase.WAITING, calls=())),
        (5, fire("poll"), Expect(calls=("query",))),
        (5.5, answer("query", S.PENDING, ref=REF), Expect(
            phase=Phase.CREATING, payment=P.PENDING, records=(P.PENDING,), calls=("create",),
            check=has(CallProvider, order__order_id=order_id(1)),
        )),
        (6, answer("create", S.PENDING, ref=REF, qr=QR), Expect(
            phase=Phase.WAITING, payment=P.PENDING, calls=(), screen=("qr", QR),
            fields={"qr_payload": QR},
        )),
    ])  # fmt: skip
    assert script.state.payment is not None
    assert script.state.payment.seq == 1


def test_printed_qr_comes_out_once_it_arrives_late() -> None:
    """Mode 0: a QR that arrives only on the second create is printed then, once."""
    script = run(State(replace(SETTINGS, qr_mode=0)), [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (2, fail("create"), Expect(phase=Phase.WAITING)),
        (5, fire("poll"), Expect(calls=("query",))),
        (5.5, answer("query", S.PENDING, ref=REF), Expect(calls=("create",), slips=())),
        (6, answer("create", S.PENDING, ref=REF, qr=QR), Expect(slips=(K.QR,))),
    ])  # fmt: skip
    qr_slips = [e for e in effects_of(script.steps, PrintSlip) if e.kind is K.QR]
    assert len(qr_slips) == 1


def test_pending_refund_is_not_a_refusal() -> None:
    """A refund the provider has not finished stays a void in progress, never "refused"."""
    script = run(State(VOID_SETTINGS), [
        *MPM_PAID_AT_8,
        (20, press("cancel"), Expect(phase=Phase.VOID_CONFIRM)),
        (21, key("enter"), Expect(phase=Phase.VOIDING, calls=("refund",), records=(P.VOIDING,))),
        (22, answer("refund", S.PENDING), Expect(
            phase=Phase.DONE, payment=P.VOIDING, message="void_failed", records=(), slips=(),
        )),
        (30, press("retry"), Expect(phase=Phase.VOIDING, calls=("refund",))),
        (31, answer("refund", S.REFUNDED), Expect(phase=Phase.DONE, payment=P.VOIDED)),
    ])  # fmt: skip
    refunds = [c for c in script.effects() if isinstance(c, CallProvider) and c.op == "refund"]
    assert {c.refund_id for c in refunds} == {f"{order_id(1)}-void"}


def test_a_qr_too_long_for_the_display_is_printed_instead() -> None:
    """Mode 1 on a small display: a long payload (a dynamic SBP link) goes on the slip."""
    small = replace(SETTINGS, screen_qr_max_chars=len(QR) - 1)
    script = run(State(small), [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (2, answer("create", S.PENDING, ref=REF, qr=QR), Expect(
            phase=Phase.WAITING, slips=(K.QR,), screen=("qr_printed", None),
        )),
    ])  # fmt: skip
    assert script.state.payment is not None
    roomy = run(State(replace(SETTINGS, screen_qr_max_chars=len(QR))), mpm_to_waiting())
    assert screen_for(roomy.state, "en").qr == QR


def test_a_badge_listed_by_its_digest_approves_force() -> None:
    """Secrets may list a badge by sha256 of its UID instead of the UID itself."""
    import hashlib

    digest = hashlib.sha256(bytes.fromhex("04a1b2c3")).hexdigest()
    settings = replace(SETTINGS, supervisor_badges=frozenset({digest}))
    script = run(State(settings), [*LOST, (20, press("force"), Expect(phase=Phase.APPROVAL))])
    result = script.feed(21, BadgeTapped("04A1B2C3"))
    assert result.state.phase is Phase.DONE
    assert result.state.payment is not None
    assert result.state.payment.state is P.FORCED
    stranger = run(State(settings), [*LOST, (20, press("force"), Expect(phase=Phase.APPROVAL))])
    assert stranger.feed(21, BadgeTapped("04a1b2c4")).state.phase is Phase.APPROVAL
