"""A payment resumed after a restart keeps the deadline it had: its lifetime is read back
from the journal's wall time of its creation, and an unknowable one is taken as used up."""

from __future__ import annotations

import pytest
from machine_script import PAYMASTER, SETTINGS, VERYSTAR, Expect, answer, fire, in_doubt, run

from terminal.machine import Phase, PrintSlip, State
from terminal.machine.lifetime import elapsed_since_creation, resumed_start
from terminal.machine.states import Now
from terminal.payment import PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind

P = PaymentState
S = PaymentStatus
LIFETIME = PAYMASTER.invoice_lifetime_s  # 120 s


def test_a_resumed_qr_ends_at_its_original_deadline() -> None:
    # Created 100 s before the restart: 20 s of its 120 s are left, counted from second 0.
    script = run(State(SETTINGS), [
        (0, in_doubt(7, P.PENDING, created_s=-100), Expect(phase=Phase.RESOLVING)),
        (1, answer("query", S.PENDING, 7), Expect(
            phase=Phase.WAITING, timers={"deadline": 19.0},
        )),
        (3, fire("poll"), Expect(calls=("query",))),
        (3.5, answer("query", S.PENDING, 7), Expect(phase=Phase.WAITING)),
        (20, fire("deadline"), Expect(phase=Phase.CANCELLING, calls=("cancel",))),
        (20.5, answer("cancel", S.CANCELLED, 7), Expect(phase=Phase.DONE, payment=P.EXPIRED)),
    ])  # fmt: skip
    assert script.state.phase is Phase.DONE  # ended 20 s on, not 120 s after the restart


def test_a_cpm_payment_keeps_its_confirmation_window() -> None:
    script = run(State(SETTINGS), [
        (0, in_doubt(3, P.PENDING, flow="cpm", created_s=-40), Expect(phase=Phase.RESOLVING)),
        (1, answer("query", S.PENDING, 3), Expect(
            phase=Phase.WAITING, timers={"deadline": VERYSTAR.confirm_timeout_s - 41},
        )),
    ])  # fmt: skip
    assert script.timers["deadline"] == VERYSTAR.confirm_timeout_s - 40  # from second 0


@pytest.mark.parametrize(
    ("created_s", "synced", "why"),
    [
        (-LIFETIME - 5, True, "its lifetime ran out while the terminal was down"),
        (-10, False, "it was created while the wall clock was not synchronised"),
        (+30, True, "the wall clock reads earlier than at its creation"),
    ],
)
def test_a_resumed_payment_past_or_of_unknown_age_is_cancelled_without_showing_the_qr(
    created_s: float, synced: bool, why: str
) -> None:
    script = run(State(SETTINGS), [
        (0, in_doubt(7, P.PENDING, created_s=created_s, synced=synced),
         Expect(phase=Phase.RESOLVING, calls=("query",))),
        (1, answer("query", S.PENDING, 7), Expect(
            phase=Phase.CANCELLING, calls=("cancel",), message="not_paid_in_time",
            timers={"deadline": None},
        )),
        (1.5, answer("cancel", S.CANCELLED, 7), Expect(phase=Phase.DONE, payment=P.EXPIRED)),
    ])  # fmt: skip
    screens = [s.state.phase for s in script.steps]
    assert Phase.WAITING not in screens, why
    qr_slips = [e for s in script.steps for e in s.effects
                if isinstance(e, PrintSlip) and e.kind is SlipKind.QR]  # fmt: skip
    assert qr_slips == [], why


def test_a_resumed_payment_of_unknown_age_that_was_paid_is_still_found_paid() -> None:
    script = run(State(SETTINGS), [
        (0, in_doubt(7, P.PENDING, synced=False), Expect(phase=Phase.RESOLVING)),
        (1, answer("query", S.PAID, 7), Expect(
            phase=Phase.DONE, payment=P.PAID, slips=(SlipKind.RECOVERED,),
        )),
    ])  # fmt: skip
    assert script.state.phase is Phase.DONE


def test_the_current_wall_clock_not_synchronised_is_the_safe_reading_too() -> None:
    payment = in_doubt(7, P.PENDING).payment
    unsynced = Now(mono=500.0, wall="2026-03-02T09:00:05+00:00", wall_synced=False)
    assert elapsed_since_creation(payment, unsynced) is None
    assert resumed_start(SETTINGS, payment, unsynced) == 500.0 - LIFETIME


def test_elapsed_time_is_read_from_the_recorded_wall_times() -> None:
    payment = in_doubt(7, P.PENDING, created_s=-90).payment
    later = Now(mono=7.0, wall="2026-03-02T09:00:00Z", wall_synced=True)
    assert elapsed_since_creation(payment, later) == 90.0
    assert resumed_start(SETTINGS, payment, later) == 7.0 - 90.0
    no_zone = Now(mono=7.0, wall="2026-03-02T09:00:00", wall_synced=True)
    assert elapsed_since_creation(payment, no_zone) is None
