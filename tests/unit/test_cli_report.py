"""``payterm report``: X, Z (closing the shift), by shift and by time range, from a real journal."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.app import JOURNAL_FILE
from terminal.cli import main
from terminal.journal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment, PaymentState

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _journal(folder: Path) -> None:
    with Journal.open(folder / JOURNAL_FILE, terminal_id="T0001") as j:
        p = Payment(f"T0001-{j.epoch}-000001", 1, 1, "cpm", "sandbox", Money(12_345, "RUB"),
                    PaymentState.PAID, created_wall=WALL.isoformat())  # fmt: skip
        j.record(p, note="paid", mono=1.0, wall=WALL, wall_synced=True)


def test_x_then_z_then_the_closed_shift_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _journal(tmp_path)
    assert main(["report", "--data-dir", str(tmp_path)]) == 0
    x = capsys.readouterr().out
    assert "X REPORT" in x and "123.45 RUB" in x  # noqa: PT018
    assert main(["report", "z", "--data-dir", str(tmp_path)]) == 0
    assert "Z REPORT" in capsys.readouterr().out
    assert main(["report", "--shift", "1", "--detail", "--data-dir", str(tmp_path)]) == 0
    copy = capsys.readouterr().out
    assert "Z REPORT (COPY)" in copy and "000001" in copy  # noqa: PT018
    with Journal.open(tmp_path / JOURNAL_FILE, terminal_id="T0001") as j:
        assert j.current_shift() == 2


def test_a_time_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _journal(tmp_path)
    args = ["report", "--from", "2026-03-01", "--to", "2026-03-02", "--data-dir", str(tmp_path)]
    assert main(args) == 0
    assert "123.45 RUB" in capsys.readouterr().out
    assert main(["report", "--from", "2026-03-01", "--data-dir", str(tmp_path)]) == 2


_HOLD = """
import sys, time
from terminal.journal.journal import Journal
journal = Journal.open(__import__("pathlib").Path(sys.argv[1]), terminal_id="T0001")
journal.current_shift()  # a read: the running terminal holds its journal from the first one
print("holding", flush=True)
time.sleep(60)
"""


def test_z_is_refused_while_the_terminal_holds_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _journal(tmp_path)
    command = [sys.executable, "-c", _HOLD, str(tmp_path / JOURNAL_FILE)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "holding"
            assert main(["report", "z", "--data-dir", str(tmp_path)]) == 2
            assert "the terminal is running" in capsys.readouterr().err
        finally:
            holder.kill()
    with Journal.open(tmp_path / JOURNAL_FILE, terminal_id="T0001") as j:
        assert j.current_shift() == 1  # nothing was closed
