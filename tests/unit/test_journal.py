"""Tests for the journal: schema and migrations, records, history, shifts, outbox, errors."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from terminal.errors import JournalError, JournalFull
from terminal.journal import Journal, schema
from terminal.journal.outbox import OutboxItem
from terminal.journal.payments import HistoryEntry
from terminal.journal.shifts import ShiftSummary
from terminal.money import Money
from terminal.payment import UNRESOLVED_STATES, Payment, PaymentState

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
S = PaymentState


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.database"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    j = Journal.open(path, terminal_id="T0001")
    yield j
    j.close()


def make(journal: Journal, *, amount: int = 1000, currency: str = "RUB", **kw: Any) -> Payment:
    """A NEW payment with the journal's next number in the current shift."""
    seq = journal.next_seq()
    fields: dict[str, object] = {
        "order_id": f"T0001-{journal.epoch}-{seq:06d}",
        "seq": seq,
        "shift": journal.current_shift(),
        "flow": "mpm",
        "provider": "sandbox",
        "amount": Money(amount, currency),
        "created_wall": WALL.isoformat(),
    }
    fields.update(kw)
    return Payment(**fields)  # type: ignore[arg-type]


def rec(journal: Journal, payment: Payment, note: str = "", *, mono: float = 1.0) -> Payment:
    journal.record(payment, note=note, mono=mono, wall=WALL, wall_synced=True)
    return payment


def pay(journal: Journal, state: PaymentState = S.PAID, **kw: Any) -> Payment:
    """Record a payment through NEW and PENDING to ``state``; return the final value."""
    p = rec(journal, make(journal, **kw), "intent")
    p = rec(journal, p.with_state(S.PENDING, provider_ref=f"ref-{p.seq}"), "accepted")
    if state is not S.PENDING:
        p = rec(journal, p.with_state(state, raw_status=state.value.upper()), "final")
    return p


def files_state(path: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file next to the journal."""
    return {f.name: (f.stat().st_size, f.stat().st_mtime_ns) for f in path.parent.iterdir()}


# -- opening and schema ------------------------------------------------------------------


def test_open_creates_directory_schema_and_epoch(path: Path) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        assert path.exists()
        assert len(j.epoch) == 4
        int(j.epoch, 16)
        assert j.terminal_id == "T0001"
        assert j.integrity_check() == "ok"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert conn.execute("PRAGMA page_size").fetchone()[0] == schema.PAGE_SIZE
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_new_journal_reopens_idempotently(path: Path) -> None:
    # An empty journal file is refused, not migrated (test_journal_damage.py).
    with Journal.open(path, terminal_id="T0001") as j:
        epoch = j.epoch
        rec(j, make(j))
    with Journal.open(path, terminal_id="T0001") as j:
        assert j.epoch == epoch
        assert j.next_seq() == 2
    with Journal.open(path, terminal_id="T0001") as j:
        assert j.epoch == epoch
        assert [p.seq for p in j.recent()] == [1]


def test_each_journal_gets_its_own_epoch(tmp_path: Path) -> None:
    epochs = set()
    for n in range(8):
        with Journal.open(tmp_path / f"j{n}.db", terminal_id="T0001") as j:
            epochs.add(j.epoch)
    assert len(epochs) > 1


def test_newer_schema_is_refused_with_a_clear_message(path: Path) -> None:
    Journal.open(path, terminal_id="T0001").close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalError, match="newer") as info:
        Journal.open(path, terminal_id="T0001")
    assert str(path) in str(info.value)


def test_a_later_migration_step_runs_once_and_keeps_data(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        p = rec(j, make(j))
    step = ("CREATE TABLE extra (x INTEGER)", "INSERT INTO extra (x) VALUES (7)")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, step))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    for _ in range(2):
        with Journal.open(path, terminal_id="T0001") as j:
            assert j.get(p.order_id) == p
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
        assert conn.execute("SELECT x FROM extra").fetchall() == [(7,)]
    finally:
        conn.close()


def test_a_failing_migration_step_leaves_the_previous_version(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Journal.open(path, terminal_id="T0001").close()
    step = ("CREATE TABLE extra (x INTEGER)", "INSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, step))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(JournalError, match="no_such_table") as info:
        Journal.open(path, terminal_id="T0001")
    assert isinstance(info.value.__cause__, sqlite3.Error)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) - 1
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "extra" not in names
    finally:
        conn.close()


def test_a_file_that_is_not_a_journal_is_reported(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just some text " * 100)
    with pytest.raises(JournalError, match="not a journal") as info:
        Journal.open(path, terminal_id="T0001")
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.Error)


def test_a_path_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    bad = tmp_path / "file" / "journal.database"
    with pytest.raises(JournalError) as info:
        Journal.open(bad, terminal_id="T0001")
    assert str(bad) in str(info.value)
    assert not isinstance(info.value, JournalFull)


def test_a_second_opener_is_refused_while_the_journal_is_open(journal: Journal) -> None:
    with pytest.raises(JournalError, match="in use"):
        Journal.open(journal.path, terminal_id="T0001")
    assert journal.next_seq() == 1


def test_terminal_id_follows_the_configuration(path: Path) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        epoch = j.epoch
    with Journal.open(path, terminal_id="T0002") as j:
        assert (j.terminal_id, j.epoch) == ("T0002", epoch)


def test_close_is_idempotent_and_later_use_is_an_error(journal: Journal) -> None:
    journal.close()
    journal.close()
    assert not journal.is_open
    assert "closed" in repr(journal)
    with pytest.raises(JournalError, match="closed"):
        journal.next_seq()
    with pytest.raises(JournalError, match="closed"):
        rec(journal, Payment("x", 1, 1, "mpm", "sandbox", Money(1, "RUB")))


# -- records -----------------------------------------------------------------------------


def test_record_and_get_round_trip_every_field(journal: Journal) -> None:
    p = make(
        journal,
        flow="cpm",
        state=S.PAID,
        provider_ref="PR-1",
        qr_payload="https://qr.example/abc",
        code_masked="2810****1234",
        raw_status="TRADE_SUCCESS",
        message="ok",
        forced=True,
        needs_admin=True,
        mismatch=True,
        wall_synced=False,
    )
    rec(journal, p, "paid at once")
    got = journal.get(p.order_id)
    assert got == p
    assert got is not None
    assert got.history == ("paid",)
    assert journal.get("nope") is None


def test_history_keeps_every_step_with_its_clocks(journal: Journal) -> None:
    p = make(journal)
    tz = timezone(timedelta(hours=3))
    journal.record(p, note="intent", mono=5.0, wall=WALL, wall_synced=False)
    p = p.with_state(S.PENDING, raw_status="WAIT")
    journal.record(
        p, note="waiting", mono=6.5, wall=datetime(2026, 3, 1, 12, 31, tzinfo=tz), wall_synced=True
    )
    assert journal.history(p.order_id) == [
        HistoryEntry("new", "intent", "", 5.0, "2026-03-01T09:30:00+00:00", False),
        HistoryEntry("pending", "waiting", "WAIT", 6.5, "2026-03-01T09:31:00+00:00", True),
    ]
    got = journal.get(p.order_id)
    assert got is not None
    assert got.history == ("new", "pending")
    assert journal.history("unknown") == []


def test_naive_wall_time_is_refused(journal: Journal) -> None:
    naive = datetime(2026, 3, 1, 9, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        journal.record(make(journal), note="", mono=1.0, wall=naive, wall_synced=True)
    assert journal.recent() == []


def test_next_seq_counts_every_attempt_failed_ones_too(journal: Journal) -> None:
    assert journal.next_seq() == 1
    pay(journal, S.FAILED)
    pay(journal, S.PAID)
    assert journal.next_seq() == 3


def test_unchanged_record_writes_nothing(journal: Journal) -> None:
    p = rec(journal, make(journal), "intent")
    before = files_state(journal.path)
    rec(journal, p, "same again")
    assert files_state(journal.path) == before
    assert [h.note for h in journal.history(p.order_id)] == ["intent"]


def test_a_changed_message_in_the_same_state_is_recorded(journal: Journal) -> None:
    p = rec(journal, make(journal), "intent")
    rec(journal, p.with_state(S.NEW, message="retrying"), "retry")
    assert [h.note for h in journal.history(p.order_id)] == ["intent", "retry"]
    got = journal.get(p.order_id)
    assert got is not None
    assert got.message == "retrying"


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", Money(999, "RUB")), ("provider", "other"), ("shift", 7), ("flow", "cpm")],
)
def test_a_payments_identity_cannot_change(journal: Journal, field: str, value: object) -> None:
    p = rec(journal, make(journal), "intent")
    changed = p.with_state(S.PENDING, **{field: value})
    with pytest.raises(JournalError, match=field if field != "amount" else "amount_minor"):
        rec(journal, changed, "bad")
    assert journal.get(p.order_id) == p
    assert len(journal.history(p.order_id)) == 1


def test_a_number_cannot_be_used_twice(journal: Journal) -> None:
    p = rec(journal, make(journal), "intent")
    other = make(journal, seq=p.seq, order_id="T0001-other")
    with pytest.raises(JournalError, match="already used"):
        rec(journal, other)
    assert journal.get("T0001-other") is None
    assert journal.history("T0001-other") == []


def test_a_customer_code_never_reaches_the_disk_in_clear(journal: Journal) -> None:
    code = "281234567890123456"
    p = rec(journal, make(journal, flow="cpm", code_masked=code), "scanned")
    got = journal.get(p.order_id)
    assert got is not None
    assert got.code_masked == "2812**********3456"
    journal.close()
    for f in journal.path.parent.iterdir():
        assert code.encode() not in f.read_bytes()


@pytest.mark.parametrize("state", list(PaymentState))
def test_unresolved_holds_exactly_the_unresolved_states(
    journal: Journal, state: PaymentState
) -> None:
    p = rec(journal, make(journal))
    rec(journal, p.with_state(state, raw_status="x"))
    expected = [p.order_id] if state in UNRESOLVED_STATES else []
    assert [u.order_id for u in journal.unresolved()] == expected


def test_unresolved_is_in_seq_order_and_follows_changes(journal: Journal) -> None:
    a = rec(journal, make(journal))
    b = pay(journal, S.PENDING)
    c = pay(journal, S.DECLINED)
    d = rec(journal, make(journal))
    assert [u.order_id for u in journal.unresolved()] == [a.order_id, b.order_id, d.order_id]
    rec(journal, a.with_state(S.CANCEL_FAILED, needs_admin=True))
    rec(journal, b.with_state(S.PAID))
    got = journal.unresolved()
    assert [u.order_id for u in got] == [a.order_id, d.order_id]
    assert got[0].history == ("new", "cancel_failed")
    assert c.order_id not in {u.order_id for u in got}


def test_recent_is_newest_first_and_last_paid_finds_the_newest_paid(journal: Journal) -> None:
    assert journal.last_paid() is None
    p1 = pay(journal, S.PAID)
    p2 = pay(journal, S.PAID)
    pay(journal, S.DECLINED)
    assert [p.seq for p in journal.recent()] == [3, 2, 1]
    assert [p.seq for p in journal.recent(limit=2)] == [3, 2]
    last = journal.last_paid()
    assert last == p2
    assert last.history == ("new", "pending", "paid")
    rec(journal, p2.with_state(S.VOIDED))
    assert journal.last_paid() == p1


# -- shifts ------------------------------------------------------------------------------


def test_shift_summary_sums_only_paid_and_reports_forced_apart(journal: Journal) -> None:
    assert journal.current_shift() == 1
    pay(journal, S.PAID, amount=1000)
    pay(journal, S.PAID, amount=250)
    pay(journal, S.PAID, amount=7, currency="USD")
    pay(journal, S.FORCED, amount=500)
    pay(journal, S.DECLINED, amount=9000)
    v = pay(journal, S.PAID, amount=3000)
    rec(journal, v.with_state(S.VOIDED))
    s = journal.shift_summary()
    assert s.shift == 1
    assert s.opened_wall == WALL.isoformat()
    assert s.closed_wall is None
    assert (s.paid_count, s.paid_total) == (3, {"RUB": 1250, "USD": 7})
    assert (s.forced_count, s.forced_total) == (1, {"RUB": 500})
    assert s.voided_count == 1
    assert [p.seq for p in s.payments] == [1, 2, 3, 4, 5, 6]


def test_close_shift_closes_and_the_next_shift_opens(journal: Journal) -> None:
    pay(journal, S.PAID, amount=100)
    closed_at = WALL + timedelta(hours=8)
    z = journal.close_shift(wall=closed_at)
    assert isinstance(z, ShiftSummary)
    assert (z.shift, z.closed_wall, z.paid_total) == (1, closed_at.isoformat(), {"RUB": 100})
    assert journal.current_shift() == 2
    empty = journal.shift_summary()
    assert (empty.shift, empty.opened_wall, empty.payments) == (2, "", ())
    p = pay(journal, S.PAID, amount=40)
    assert p.shift == 2
    assert journal.shift_summary().paid_total == {"RUB": 40}
    assert journal.shift_summary(1).paid_total == {"RUB": 100}


def test_an_empty_shift_can_be_closed(journal: Journal) -> None:
    z = journal.close_shift(wall=WALL)
    assert (z.shift, z.opened_wall, z.closed_wall, z.paid_count) == (
        1,
        WALL.isoformat(),
        WALL.isoformat(),
        0,
    )
    assert journal.current_shift() == 2


# -- outbox ------------------------------------------------------------------------------


def test_a_final_record_goes_to_the_outbox_once(journal: Journal) -> None:
    p = pay(journal, S.PAID, qr_payload="https://qr.example/x")
    rec(journal, p, "same")
    rec(journal, p.with_state(S.PAID, message="printed"), "slip")
    items = journal.outbox_pending()
    assert [(i.order_id, json.loads(i.payload)["state"]) for i in items] == [(p.order_id, "paid")]
    body = json.loads(items[0].payload)
    assert body["terminal_id"] == "T0001"
    assert body["epoch"] == journal.epoch
    assert body["amount_minor"] == 1000
    assert body["currency"] == "RUB"
    assert body["provider_ref"] == p.provider_ref
    assert body["raw_status"] == "PAID"
    assert body["message"] == ""
    assert body["recorded_wall"] == WALL.isoformat()
    assert body["forced"] is False
    assert body["wall_synced"] is True
    assert "qr_payload" not in body
    assert items[0].created_wall == WALL.isoformat()


def test_each_final_state_is_sent_once_in_order(journal: Journal) -> None:
    a = pay(journal, S.PAID)
    pay(journal, S.PENDING)
    b = pay(journal, S.DECLINED)
    rec(journal, a.with_state(S.VOIDED, raw_status="REFUNDED"))
    items = journal.outbox_pending()
    assert [i.id for i in items] == sorted(i.id for i in items)
    got = [(i.order_id, json.loads(i.payload)["state"]) for i in items]
    assert got == [(a.order_id, "paid"), (b.order_id, "declined"), (a.order_id, "voided")]
    assert json.loads(items[0].payload)["raw_status"] == "PAID"


def test_forced_waits_for_its_resolution_before_going_out(journal: Journal) -> None:
    f = pay(journal, S.FORCED)
    assert journal.outbox_pending() == []
    rec(journal, f.with_state(S.PAID, mismatch=False))
    assert [json.loads(i.payload)["forced"] for i in journal.outbox_pending()] == [False]


def test_mark_sent_removes_items_in_any_order(journal: Journal) -> None:
    for _ in range(4):
        pay(journal, S.PAID)
    ids = [i.id for i in journal.outbox_pending()]
    assert [i.id for i in journal.outbox_pending(limit=2)] == ids[:2]
    journal.mark_sent([ids[1]], wall=WALL)
    assert [i.id for i in journal.outbox_pending()] == [ids[0], ids[2], ids[3]]
    journal.mark_sent([ids[0], 999], wall=WALL)
    assert [i.id for i in journal.outbox_pending()] == [ids[2], ids[3]]
    journal.mark_sent([ids[2], ids[3], ids[2]], wall=WALL)
    assert journal.outbox_pending() == []
    pay(journal, S.PAID)
    new = journal.outbox_pending()
    assert len(new) == 1
    assert isinstance(new[0], OutboxItem)
    assert new[0].id > ids[3]


def test_outbox_count_agrees_with_the_items_and_stops_at_its_limit(journal: Journal) -> None:
    assert journal.outbox_count() == 0
    for _ in range(4):
        pay(journal, S.PAID)
    pay(journal, S.PENDING)  # not final: not in the outbox
    ids = [i.id for i in journal.outbox_pending()]
    assert journal.outbox_count() == len(ids) == 4
    assert journal.outbox_count(limit=3) == 3
    journal.mark_sent([ids[1]], wall=WALL)
    assert journal.outbox_count() == 3
    assert journal.status()["outbox_pending"] == 3


def test_outbox_survives_reopening(path: Path) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        for _ in range(3):
            pay(j, S.PAID)
        first = j.outbox_pending()
        j.mark_sent([first[0].id], wall=WALL)
    with Journal.open(path, terminal_id="T0001") as j:
        assert j.outbox_pending() == first[1:]


def test_mark_sent_with_no_ids_writes_nothing(journal: Journal) -> None:
    pay(journal, S.PAID)
    before = files_state(journal.path)
    journal.mark_sent([], wall=WALL)
    assert files_state(journal.path) == before


# -- wear and failures -------------------------------------------------------------------


def test_reading_writes_nothing_and_there_is_no_shared_memory_file(journal: Journal) -> None:
    p = pay(journal, S.PAID)
    pay(journal, S.PENDING)
    before = files_state(journal.path)
    assert not any(name.endswith("-shm") for name in before)
    journal.get(p.order_id)
    journal.history(p.order_id)
    journal.unresolved()
    journal.recent()
    journal.last_paid()
    journal.shift_summary()
    journal.outbox_pending()
    journal.next_seq()
    journal.current_shift()
    journal.status()
    assert journal.integrity_check() == "ok"
    assert files_state(journal.path) == before


def test_a_full_disk_raises_journal_full_and_leaves_nothing_half_written(
    journal: Journal,
) -> None:
    kept = [pay(journal, S.PAID) for _ in range(3)]
    pending = pay(journal, S.PENDING)
    outbox = journal.outbox_pending()
    conn = journal._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    failed: Payment | None = None
    with pytest.raises(JournalFull) as info:  # noqa: PT012 - fill until the disk is full
        for _ in range(1000):
            failed = make(journal, qr_payload="q" * 200, message="m" * 200)
            rec(journal, failed)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, JournalError)
    assert str(journal.path) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.Error)
    assert failed is not None
    assert journal.get(failed.order_id) is None
    assert journal.history(failed.order_id) == []
    with pytest.raises(JournalFull):
        rec(journal, pending.with_state(S.PAID, message="x" * 400), "final")
    assert journal.get(pending.order_id) == pending
    assert len(journal.history(pending.order_id)) == 2
    assert journal.outbox_pending() == outbox
    assert all(journal.get(p.order_id) == p for p in kept)
    assert journal.integrity_check() == "ok"
    conn.execute("PRAGMA max_page_count = 1073741823")
    rec(journal, failed)
    assert journal.get(failed.order_id) == failed


@pytest.mark.parametrize("table", ["history", "outbox"])
def test_a_failure_inside_a_record_rolls_back_all_of_it(journal: Journal, table: str) -> None:
    pending = pay(journal, S.PENDING)
    conn = journal._conn
    assert conn is not None
    conn.execute(
        f"CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.{table} "
        "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    )
    with pytest.raises(JournalError, match="refused by test") as info:
        rec(journal, pending.with_state(S.PAID), "final")
    assert isinstance(info.value.__cause__, sqlite3.Error)
    assert journal.get(pending.order_id) == pending
    assert len(journal.history(pending.order_id)) == 2
    assert journal.outbox_pending() == []
    conn.execute("DROP TRIGGER refuse")
    paid = rec(journal, pending.with_state(S.PAID), "final")
    assert journal.get(paid.order_id) == paid
    assert len(journal.outbox_pending()) == 1


def test_status_and_repr_name_the_journal(journal: Journal) -> None:
    pay(journal, S.PENDING)
    status = journal.status()
    assert status["open"] is True
    assert status["unresolved"] == 1
    assert status["epoch"] == journal.epoch
    assert str(journal.path) in repr(journal)
    journal.close()
    assert journal.status()["open"] is False


# --- looking a payment up by what its slip shows (refund by the slip) ---------------------


def test_find_by_provider_order_order_id_or_through_number(path: Path) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        first = pay(j)
        second = pay(j)
        assert j.find(f"ref-{second.seq}") == second
        assert j.find(first.order_id) == first
        assert j.find(f"{first.seq:06d}") == first
        assert j.find(str(second.seq)) == second


def test_find_answers_none_for_what_no_payment_carries(path: Path) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        pay(j)
        assert j.find("ref-999") is None
        assert j.find("999") is None
        assert j.find("9" * 40) is None  # too long for a through-number: never an overflow
        assert j.find("") is None


def test_find_prefers_the_newest_payment_when_a_provider_reused_its_number(path: Path) -> None:
    with Journal.open(path, terminal_id="T0001") as j:
        pay(j)
        newer = rec(j, make(j).with_state(S.PAID, provider_ref="ref-1"), "final")
        assert j.find("ref-1") == newer


def test_a_journal_made_before_the_provider_order_index_gains_it(path: Path) -> None:
    conn = sqlite3.connect(path.parent.mkdir(parents=True) or path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size = {schema.PAGE_SIZE}")
        schema._apply(conn, schema.MIGRATIONS[0], 1)
    finally:
        conn.close()
    with Journal.open(path, terminal_id="T0001") as j:
        p = pay(j)
        assert j.find(f"ref-{p.seq}") == p
    conn = sqlite3.connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "payments_by_provider_ref" in names
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM payments WHERE provider_ref = 'x'"
        ).fetchall()
        assert "payments_by_provider_ref" in str(plan)
    finally:
        conn.close()


def test_orders_being_cancelled_in_the_background_are_counted(tmp_path: Path) -> None:
    wall = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with Journal.open(tmp_path / "j.sqlite3", terminal_id="T1") as journal:
        for seq, state in enumerate(
            [PaymentState.CANCEL_FAILED, PaymentState.CANCEL_FAILED, PaymentState.FORCED], 1
        ):
            payment = Payment(f"T1-0000-{seq:06d}", seq, 1, "mpm", "sandbox", Money(100, "RUB"),
                              state, created_wall=wall.isoformat())  # fmt: skip
            journal.record(payment, note="t", mono=0.0, wall=wall, wall_synced=True)
        assert journal.cancelling_in_background() == 2
        closed = journal.get("T1-0000-000001")
        assert closed is not None
        journal.record(closed.with_state(PaymentState.CANCELLED), note="closed", mono=1.0,
                       wall=wall, wall_synced=True)  # fmt: skip
        assert journal.cancelling_in_background() == 1


def test_the_wallet_paid_with_is_kept_and_reaches_the_outbox(tmp_path: Path) -> None:
    """The chosen payment type is a column of the payment and in its outbox record."""
    with Journal.open(tmp_path / "j.sqlite3", terminal_id="T0001") as journal:
        payment = make(journal, wallet="webmoney")
        journal.record(payment, note="intent", mono=0.0, wall=WALL, wall_synced=True)
        journal.record(payment.with_state(PaymentState.PAID), note="paid", mono=1.0, wall=WALL,
                       wall_synced=True)  # fmt: skip
        stored = journal.get(payment.order_id)
        assert stored is not None
        assert stored.wallet == "webmoney"
        (item,) = journal.outbox_pending(limit=10)
        body = json.loads(item.payload)
        assert body["wallet"] == "webmoney"


def test_a_journal_from_before_the_wallet_column_is_migrated(tmp_path: Path) -> None:
    """An older journal gets the column, its payments an empty wallet."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    before = schema.MIGRATIONS.index(schema._PAYMENT_WALLET)
    for version, steps in enumerate(schema.MIGRATIONS[:before], start=1):
        for statement in steps:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    with sqlite3.connect(path, isolation_level=None) as conn:
        assert schema.migrate(conn, path) == schema.SCHEMA_VERSION
        columns = [row[1] for row in conn.execute("PRAGMA table_info(payments)")]
    assert "wallet" in columns
