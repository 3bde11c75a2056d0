"""A damaged, emptied or vanished journal is refused with every file kept; recovered on demand."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.cli import main
from terminal.errors import JournalDamaged, JournalError
from terminal.journal import Journal
from terminal.journal.listing import read_last_payments
from terminal.journal.marker import marker_path, read_marker
from terminal.journal.recovery import in_use, recover
from terminal.money import Money
from terminal.payment import Payment, PaymentState

WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _fill(journal: Journal, count: int, state: PaymentState = PaymentState.PAID) -> None:
    for _ in range(count):
        seq = journal.next_seq()
        payment = Payment(
            f"T0001-{journal.epoch}-{seq:06d}", seq, 1, "mpm", "sandbox",
            Money(100 * seq, "RUB"), state, provider_ref=f"SB-{seq:06d}",
        )  # fmt: skip
        journal.record(payment, note="step", mono=0.0, wall=WALL, wall_synced=True)


def _journal(folder: Path, count: int = 5) -> tuple[Path, str]:
    path = folder / "journal.sqlite3"
    with Journal.open(path, terminal_id="T0001") as journal:
        _fill(journal, count)
        return path, journal.epoch


def _hot_copy(folder: Path, target: Path, count: int = 5) -> str:
    """A journal as a power cut leaves it: its newest steps only in the WAL beside it."""
    path = folder / "journal.sqlite3"
    journal = Journal.open(path, terminal_id="T0001")
    _fill(journal, count)
    target.mkdir(parents=True)
    for name in (path.name, f"{path.name}-wal", marker_path(path).name):
        shutil.copyfile(folder / name, target / name)
    epoch = journal.epoch
    journal.close()
    return epoch


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _flip(path: Path, needle: bytes, *, at: int = 0, count: int = 1) -> None:
    data = bytearray(path.read_bytes())
    offset = data.index(needle) + at
    for i in range(offset, offset + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


# --- what a data directory that held a journal does --------------------------------------


def test_a_new_data_directory_gets_a_journal_and_its_marker(tmp_path: Path) -> None:
    path, epoch = _journal(tmp_path / "data", 0)
    marker = read_marker(path)
    assert marker is not None
    assert (marker.epoch, marker.terminal_id) == (epoch, "T0001")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, marker_path(path).name]


def test_a_journal_made_before_the_marker_gets_one(tmp_path: Path) -> None:
    path, epoch = _journal(tmp_path)
    marker_path(path).unlink()
    Journal.open(path, terminal_id="T0001").close()
    marker = read_marker(path)
    assert marker is not None
    assert marker.epoch == epoch


def test_a_zero_byte_journal_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path, epoch = _journal(tmp_path)
    path.write_bytes(b"")
    before = _files(tmp_path)
    with pytest.raises(JournalDamaged, match=f"empty \\(0 bytes\\).*held journal {epoch}"):
        Journal.open(path, terminal_id="T0001")
    assert _files(tmp_path) == before


def test_a_zero_byte_journal_with_its_wal_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "cut"
    _hot_copy(tmp_path / "live", target)
    path = target / "journal.sqlite3"
    path.write_bytes(b"")
    before = _files(target)
    with pytest.raises(JournalDamaged, match="write-ahead log"):
        Journal.open(path, terminal_id="T0001")
    assert _files(target) == before


def test_a_zero_byte_journal_is_refused_even_without_its_marker(tmp_path: Path) -> None:
    path, _ = _journal(tmp_path)
    marker_path(path).unlink()
    path.write_bytes(b"")
    with pytest.raises(JournalDamaged, match="empty"):
        Journal.open(path, terminal_id="T0001")
    assert path.stat().st_size == 0


def test_a_deleted_journal_is_refused_where_its_marker_is(tmp_path: Path) -> None:
    path, epoch = _journal(tmp_path)
    path.unlink()
    with pytest.raises(JournalDamaged, match=f"missing.*held journal {epoch}"):
        Journal.open(path, terminal_id="T0001")
    assert not path.exists()
    with pytest.raises(JournalDamaged, match="missing"):
        read_last_payments(path, terminal_id="T0001", last=5)


def test_a_journal_after_a_power_cut_opens_with_every_payment(tmp_path: Path) -> None:
    target = tmp_path / "cut"
    epoch = _hot_copy(tmp_path / "live", target, 7)
    with Journal.open(target / "journal.sqlite3", terminal_id="T0001") as journal:
        assert journal.epoch == epoch
        assert journal.next_seq() == 8


# --- damaged bytes ------------------------------------------------------------------------


def test_flipped_bytes_in_a_page_are_refused_as_damage(tmp_path: Path) -> None:
    path, _ = _journal(tmp_path)
    page = path.read_bytes().index(b"T0001-") // 512 * 512
    data = bytearray(path.read_bytes())
    for i in range(page, page + 12):  # the page's header and first cell pointers
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))
    before = _files(tmp_path)
    with pytest.raises(JournalDamaged, match="the journal file is damaged.*--recover"):
        Journal.open(path, terminal_id="T0001")
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    ("needle", "at"),
    [(b"PRIMARY KEY,\n        order_id", 2), (b"CREATE TABLE history", 15), (b"WITHOUT ROWID", 9)],
)
def test_one_byte_of_a_tables_schema_text_is_refused_as_damage(
    tmp_path: Path, needle: bytes, at: int
) -> None:
    path, _ = _journal(tmp_path)
    _flip(path, needle, at=at)
    with pytest.raises(JournalDamaged, match="damaged"):
        Journal.open(path, terminal_id="T0001")


def test_text_that_is_not_utf8_is_damage_not_a_traceback(tmp_path: Path) -> None:
    path, _ = _journal(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE payments SET provider = CAST(x'73ff6e64' AS TEXT) WHERE seq = 5")
    conn.commit()
    conn.close()
    with Journal.open(path, terminal_id="T0001") as journal:
        with pytest.raises(JournalDamaged, match="damaged"):
            journal.recent(5)


def test_flipped_bytes_anywhere_never_escape_as_anything_but_journal_errors(
    tmp_path: Path,
) -> None:
    path, _ = _journal(tmp_path, 8)
    good = path.read_bytes()
    refused = 0
    for offset in range(100, len(good), 37):
        data = bytearray(good)
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))
        marker_path(path).unlink(missing_ok=True)
        try:
            with Journal.open(path, terminal_id="T0001") as journal:
                journal.recent(20)
                journal.unresolved()
                journal.shift_summary()
                journal.outbox_pending()
        except JournalError:  # anything else escaping fails the test
            refused += 1
    assert refused > 0  # the flips did reach what the journal reads


# --- recovery -----------------------------------------------------------------------------


def test_recovery_keeps_the_epoch_when_the_last_number_is_read(tmp_path: Path) -> None:
    path, epoch = _journal(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE payments SET message = CAST(x'ff00' AS TEXT) WHERE seq = 2")
    conn.commit()
    conn.close()
    damaged = path.read_bytes()
    result = recover(path, terminal_id="T0001", now=WALL)
    assert result.epoch_kept
    assert result.epoch == epoch
    counts = {c.table: c for c in result.counts}
    assert (counts["payments"].recovered, counts["payments"].unreadable) == (4, 1)
    assert counts["history"].orphaned == 1  # the lost payment's step, left in the old file
    assert [p.name for p in result.kept] == ["journal.sqlite3.damaged-20260302T090000Z"]
    assert result.kept[0].read_bytes() == damaged
    with Journal.open(path, terminal_id="T0001") as journal:
        assert journal.epoch == epoch
        assert journal.next_seq() == 6
        assert [p.seq for p in journal.recent(10)] == [5, 4, 3, 1]
        assert journal.get(f"T0001-{epoch}-000004").history == ("paid",)  # type: ignore[union-attr]
    assert read_marker(path).epoch == epoch  # type: ignore[union-attr]


def test_recovery_of_a_damaged_page_makes_a_new_epoch_and_keeps_the_files(
    tmp_path: Path,
) -> None:
    path, epoch = _journal(tmp_path, 40)
    data = bytearray(path.read_bytes())
    needle, offset = f"T0001-{epoch}-000040".encode(), 0
    while True:  # the payments table's last page (the unique index holds the id too)
        offset = data.index(needle, offset + 1)
        page = offset // 512 * 512
        if b"sandbox" in data[page : page + 512]:
            break
    data[page : page + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    damaged = path.read_bytes()
    with pytest.raises(JournalDamaged):
        Journal.open(path, terminal_id="T0001")
    result = recover(path, terminal_id="T0001", now=WALL)
    assert not result.epoch_kept
    assert result.epoch != epoch
    assert result.old_epoch == epoch
    assert result.kept[0].read_bytes() == damaged
    payments = next(c for c in result.counts if c.table == "payments")
    assert 0 < payments.recovered < 40
    assert payments.errors
    with Journal.open(path, terminal_id="T0001") as journal:
        assert journal.epoch == result.epoch
        assert journal.integrity_check() == "ok"
        assert journal.get(f"T0001-{epoch}-000001") is not None


def test_recovery_of_a_zero_byte_journal_makes_an_empty_one_under_a_new_epoch(
    tmp_path: Path,
) -> None:
    path, epoch = _journal(tmp_path)
    path.write_bytes(b"")
    result = recover(path, terminal_id="T0001", now=WALL)
    assert not result.epoch_kept
    assert result.epoch != epoch
    assert result.kept[0].stat().st_size == 0
    with Journal.open(path, terminal_id="T0001") as journal:
        assert (journal.epoch, journal.next_seq()) == (result.epoch, 1)


_HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode = EXCLUSIVE")
conn.execute("BEGIN IMMEDIATE")
conn.execute("ROLLBACK")
print("holding", flush=True)
time.sleep(60)
"""


def test_recovery_refuses_a_sound_journal_and_one_in_use(tmp_path: Path) -> None:
    path, _ = _journal(tmp_path)
    with pytest.raises(JournalError, match="sound"):
        recover(path, terminal_id="T0001")
    path.write_bytes(b"")  # damaged, and held by a running terminal (another process)
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "holding"
            assert in_use(path)
            with pytest.raises(JournalError, match="in use"):
                recover(path, terminal_id="T0001")
        finally:
            holder.kill()
    assert not in_use(path)
    assert path.stat().st_size == 0


def test_the_journal_command_checks_and_recovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    path, epoch = _journal(data)
    config = tmp_path / "payterm.toml"
    config.write_text(f'[terminal]\nid = "T0001"\ndata_dir = "{data}"\n', encoding="utf-8")
    assert main(["journal", "--config", str(config), "--check"]) == 0
    assert "sound (5 payments)" in capsys.readouterr().out
    path.write_bytes(b"")
    assert main(["journal", "--config", str(config), "--check", "--json"]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert not checked["sound"]
    assert "empty" in checked["problem"]
    assert main(["journal", "--config", str(config)]) == 2
    assert "--recover" in capsys.readouterr().err
    assert main(["journal", "--config", str(config), "--recover"]) == 0
    report = capsys.readouterr().out
    assert "kept as it was" in report
    assert f"was epoch {epoch}" in report
    assert main(["journal", "--config", str(config)]) == 0
    assert "no payments" in capsys.readouterr().out
    assert main(["journal", "--config", str(config), "--recover"]) == 2
    assert "nothing to recover" in capsys.readouterr().err
