"""Every error of the journal's storage layer is a JournalError in words, and loses nothing.

The sqlite3 module raises its own errors (sqlite3.Error and its kinds) and, for a value
it cannot bind, Python's (OverflowError for an int beyond 64 bits, UnicodeEncodeError for
a string that is not valid Unicode). None of them may reach the runtime as a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.errors import JournalError, JournalFull
from terminal.journal import Journal
from terminal.journal.database import journal_error
from terminal.money import Money
from terminal.payment import Payment

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "data" / "journal.database", terminal_id="T0001")
    yield j
    j.close()


def new_payment(journal: Journal, amount: int = 1000) -> Payment:
    seq = journal.next_seq()
    return Payment(
        order_id=f"T0001-{journal.epoch}-{seq:06d}", seq=seq, shift=journal.current_shift(),
        flow="mpm", provider="sandbox", amount=Money(amount, "RUB"),
        created_wall=WALL.isoformat(),
    )  # fmt: skip


def record(journal: Journal, payment: Payment, note: str = "intent") -> None:
    journal.record(payment, note=note, mono=1.0, wall=WALL, wall_synced=True)


def assert_nothing_written_and_still_usable(journal: Journal, failed: Payment) -> None:
    assert journal.get(failed.order_id) is None
    assert journal.history(failed.order_id) == []
    good = new_payment(journal)
    record(journal, good)
    assert journal.get(good.order_id) == good


def test_an_amount_beyond_64_bits_is_a_journal_error_in_words(journal: Journal) -> None:
    huge = new_payment(journal, amount=10**29)
    with pytest.raises(JournalError) as info:
        record(journal, huge)
    message = str(info.value)
    assert f"cannot record {huge.order_id}" in message
    assert "beyond the 64-bit integers SQLite stores" in message
    assert str(journal.path) in message
    assert info.value.reason == "journal: value too big"
    assert isinstance(info.value.__cause__, OverflowError)
    assert_nothing_written_and_still_usable(journal, huge)


def test_the_largest_64_bit_amount_is_stored_and_one_more_is_refused(journal: Journal) -> None:
    largest = new_payment(journal, amount=2**63 - 1)
    record(journal, largest)
    assert journal.get(largest.order_id) == largest
    with pytest.raises(JournalError, match="64-bit"):
        record(journal, new_payment(journal, amount=2**63))


def test_a_text_that_is_not_unicode_is_a_journal_error(journal: Journal) -> None:
    payment = new_payment(journal)
    with pytest.raises(JournalError, match="not valid Unicode") as info:
        record(journal, payment, note="bad \ud800 note")
    assert info.value.reason == "journal: bad text"
    assert isinstance(info.value.__cause__, UnicodeError)
    assert_nothing_written_and_still_usable(journal, payment)


def test_a_value_too_long_for_the_database_is_a_journal_error(journal: Journal) -> None:
    conn = journal._conn
    assert conn is not None
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 2000)
    payment = new_payment(journal)
    with pytest.raises(JournalError, match="too long or out of range") as info:
        record(journal, payment, note="x" * 5000)
    assert isinstance(info.value.__cause__, sqlite3.DataError)
    assert info.value.reason == "journal: bad value"
    assert_nothing_written_and_still_usable(journal, payment)


def test_a_read_only_journal_is_a_journal_error(journal: Journal) -> None:
    conn = journal._conn
    assert conn is not None
    conn.execute("PRAGMA query_only = 1")
    payment = new_payment(journal)
    with pytest.raises(JournalError, match="the journal is read-only") as info:
        record(journal, payment)
    assert info.value.reason == "journal: read-only"
    assert not isinstance(info.value, JournalFull)
    conn.execute("PRAGMA query_only = 0")
    assert_nothing_written_and_still_usable(journal, payment)


def test_a_read_with_a_value_sqlite_cannot_bind_is_a_journal_error(journal: Journal) -> None:
    with pytest.raises(JournalError, match="64-bit") as info:
        journal._db.rows("read the next number", "SELECT ?", (2**64,))
    assert "cannot read the next number" in str(info.value)
    with pytest.raises(JournalError, match="of a kind the journal does not store") as info:
        journal._db.rows("read a payment", "SELECT ?", (object(),))
    assert isinstance(info.value.__cause__, sqlite3.ProgrammingError)
    assert journal.next_seq() == 1


def test_a_locked_database_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError) as raised:
            other.execute("INSERT INTO t VALUES (1)")
    finally:
        holder.close()
        other.close()
    error = journal_error(path, "record T0001-0000-000001", raised.value)
    assert type(error) is JournalError
    assert str(error).startswith(f"{path}: cannot record T0001-0000-000001: ")
    assert "in use by another process" in str(error)
    assert error.reason == "journal: in use"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (sqlite3.InterfaceError("Error binding parameter 1"), "of a kind the journal"),
        (sqlite3.ProgrammingError("Incorrect number of bindings"), "of a kind the journal"),
        (sqlite3.DataError("string or blob too big"), "too long or out of range"),
        (OverflowError("Python int too large"), "64-bit"),
    ],
)
def test_each_kind_of_value_error_is_told_in_words(exc: Exception, words: str) -> None:
    error = journal_error(Path("/var/lib/payterm/journal.database"), "record X", exc)
    assert type(error) is JournalError
    assert words in str(error)
    assert str(exc) in str(error)
    assert error.reason.startswith("journal: ")
    assert len(error.reason) <= 22  # one line of the out-of-service screen


def test_a_closed_journal_says_so_in_few_words(journal: Journal) -> None:
    journal.close()
    with pytest.raises(JournalError, match="closed") as info:
        journal.next_seq()
    assert info.value.reason == "journal: closed"


def test_a_full_disk_keeps_its_own_words() -> None:
    exc = sqlite3.OperationalError("database or disk is full")
    exc.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    error = journal_error(Path("/j.db"), "record X", exc)
    assert isinstance(error, JournalFull)
    assert error.reason == "journal: disk full"
