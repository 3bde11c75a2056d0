"""The machine's fault when the journal cannot be written: a full disk is tried again."""

from __future__ import annotations

from terminal.machine import (
    Alert,
    CheckJournal,
    JournalFailed,
    JournalWritable,
    KeyPressed,
    Phase,
    StartTimer,
    State,
    TimerFired,
    step,
)
from terminal.machine.recovery import JOURNAL_RETRY_S
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.views.screens import screen_for
from tests.unit.machine_script import SETTINGS, now_at

PATH_REASON = "/mnt/data/journal.sqlite3: cannot record T-1: the disk is full (disk full)"


def _waiting() -> State:
    payment = Payment("T0001-abcd-000007", 7, 1, "mpm", "sandbox", Money(500, "RUB"),
                      PaymentState.PENDING)  # fmt: skip
    return State(SETTINGS, phase=Phase.WAITING, payment=payment, next_seq=8, entry="500")


def test_a_full_disk_is_tried_again_on_a_monotonic_timer() -> None:
    result = step(_waiting(), JournalFailed(PATH_REASON, disk_full=True), now_at(1))
    assert result.state.phase is Phase.FAULT
    assert result.state.fault_kind == "disk_full"
    assert StartTimer("journal_retry", JOURNAL_RETRY_S) in result.effects
    assert [e.code for e in result.effects if isinstance(e, Alert)] == ["journal"]
    tried = step(result.state, TimerFired("journal_retry"), now_at(11))
    assert tried.effects == (CheckJournal(),)
    # Still full: the fault stays, the timer starts again, and no second alert is raised.
    again = step(tried.state, JournalFailed(PATH_REASON, disk_full=True), now_at(11))
    assert again.state.phase is Phase.FAULT
    assert StartTimer("journal_retry", JOURNAL_RETRY_S) in again.effects
    assert not [e for e in again.effects if isinstance(e, Alert)]
    assert step(again.state, KeyPressed("1"), now_at(12)).rejected


def test_room_again_ends_the_fault_and_drops_the_payment_cut_off() -> None:
    faulted = step(_waiting(), JournalFailed(PATH_REASON, disk_full=True), now_at(1)).state
    back = step(faulted, JournalWritable(next_seq=9), now_at(21))
    assert back.state.phase is Phase.IDLE
    assert (back.state.payment, back.state.fault, back.state.fault_kind) == (None, "", "")
    assert back.state.next_seq == 9  # never a number the journal already holds
    assert not back.rejected
    assert step(back.state, KeyPressed("1"), now_at(22)).state.phase is Phase.AMOUNT


def test_any_other_journal_failure_stays_latched() -> None:
    faulted = step(_waiting(), JournalFailed("I/O error"), now_at(1))
    assert not [e for e in faulted.effects if isinstance(e, StartTimer)]
    assert step(faulted.state, TimerFired("journal_retry"), now_at(11)).rejected
    assert step(faulted.state, JournalWritable(next_seq=9), now_at(11)).state.phase is Phase.FAULT


def test_the_fault_screen_says_it_in_words_without_the_path() -> None:
    full = step(_waiting(), JournalFailed(PATH_REASON, disk_full=True), now_at(1)).state
    screen = screen_for(full, "en")
    assert (screen.title, screen.lines) == (
        "OUT OF SERVICE",
        ("Disk full", "Call an administrator"),
    )
    assert screen_for(full, "ru").lines == ("Диск заполнен", "Обратитесь к администратору")
    other = step(_waiting(), JournalFailed("/mnt/data/j: I/O error"), now_at(1)).state
    assert screen_for(other, "en").lines == ("Journal failed", "Call an administrator")
    assert not any("/" in line for line in (*screen.lines, *screen_for(other, "en").lines))
