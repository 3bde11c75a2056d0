"""The Z report through the real path: the keypad's ``z_report`` key on the emulated device,
the journal's close written ahead of the machine's next shift, the slip read back from the
ESC/POS bytes the printer got."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hw.printer.escpos_text import parse_escpos
from terminal.payment import PaymentState
from tests.scenarios.runner import scenario_config
from tests.scenarios.test_restart_lifetime import Run

#: The demo's operator keys, with the fourth (plus, "f4" on the emulated keypad) closing the shift.
Z_KEYS = {"slash": "cancel", "asterisk": "reprint", "minus": "x_report", "plus": "z_report"}
PAY_12_00 = ("key 1", "key 2", "key 0", "key 0", "key enter", "key enter", "customer pay",
             "advance 3")  # fmt: skip


class ZRun(Run):
    """A terminal on the emulated device whose keypad has the ``z_report`` key."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, 0.0)
        config = scenario_config(data_dir, {})
        keypad = dataclasses.replace(config.keypad, operator_keys=Z_KEYS)
        self.terminal = type(self.terminal)(dataclasses.replace(config, keypad=keypad), self.clock)

    def z_slips(self) -> list[tuple[str, ...]]:
        """Each Z report the printer got, as its bytes read back to text lines."""
        pieces = [parse_escpos(piece.raw) for piece in self.terminal.device.escpos.printed]
        # A training terminal prints its mark first: the heading is the line after it.
        return [p.text_lines for p in pieces if "Z REPORT" in p.text_lines[:2]]

    def screen_lines(self) -> tuple[str, ...]:
        screen = self.terminal.runtime.screen
        return screen.lines if screen else ()


@pytest.fixture
async def z_run(tmp_path: Path) -> AsyncIterator[ZRun]:
    async with ZRun(tmp_path) as run:
        yield run


def _value(lines: tuple[str, ...], label: str) -> str:
    found = [line for line in lines if line.startswith(label + "  ")]  # "label .... value"
    assert len(found) == 1, lines
    [line] = found
    return line[len(label) :].strip()


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_the_z_key_closes_the_shift_prints_its_z_and_the_next_payment_is_in_the_next(
    z_run: ZRun,
) -> None:
    journal = z_run.terminal.journal
    await z_run.do(*PAY_12_00)
    assert journal.recent(1)[0].state is PaymentState.PAID
    await z_run.do("key f4", "wait")
    [z] = z_run.z_slips()
    assert _value(z, "Shift") == "1"
    assert "Shift closed" in z
    assert any(line.startswith("Closed ") for line in z)
    paid_at = z.index("Paid" + " " * 26 + " 1")  # one payment, its amount on the next line
    assert z[paid_at + 1].strip() == "12.00 RUB"
    assert z[z.index("Net (paid+forced-refunds)") + 1].strip() == "12.00 RUB"
    assert z_run.terminal.runtime.state.shift == 2
    assert journal.current_shift() == 2
    assert journal.report(shift=1).closed_wall is not None
    await z_run.do(*PAY_12_00)
    newest = journal.recent(1)[0]
    assert (newest.seq, newest.shift, newest.state) == (2, 2, PaymentState.PAID)


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_a_z_during_a_payment_is_refused_in_words_and_the_shift_stays_open(
    z_run: ZRun,
) -> None:
    await z_run.do("key 5", "key 0", "key 0", "key enter", "key enter", "advance 1")
    assert z_run.screen() == "qr"
    await z_run.do("key f4", "wait")
    assert "Finish the payment first" in z_run.screen_lines()
    assert z_run.z_slips() == []
    assert z_run.terminal.journal.current_shift() == 1
    rejected = [e for e in z_run.events if e["event"] == "machine:rejected"]
    assert any("Shift 1 not closed: a payment is under way" in e["reason"] for e in rejected)
    await z_run.do("customer pay", "advance 3")
    assert z_run.terminal.journal.recent(1)[0].shift == 1, "the payment under way kept its shift"


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_a_close_the_journal_cannot_write_leaves_the_shift_open_and_says_so(
    z_run: ZRun,
) -> None:
    journal = z_run.terminal.journal
    await z_run.do(*PAY_12_00)
    conn = journal.database.live()
    # SQLite itself refuses the write, as a failing card would: the journal's own error path.
    for verb in ("INSERT", "UPDATE"):
        conn.execute(f"CREATE TEMP TRIGGER refuse_{verb.lower()} BEFORE {verb} ON shifts "
                     "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")  # fmt: skip
    await z_run.do("key f4", "wait")
    assert "Shift not closed: journal" in z_run.screen_lines()
    assert [e["code"] for e in z_run.events if e["event"] == "terminal:alert"] == ["z_failed"]
    assert z_run.z_slips() == []
    assert z_run.terminal.runtime.state.shift == 1
    assert journal.current_shift() == 1
    assert journal.report(shift=1).closed_wall is None
    # Once the journal takes writes again the same key closes the shift.
    conn.execute("DROP TRIGGER refuse_insert")
    conn.execute("DROP TRIGGER refuse_update")
    await z_run.do("key f4", "wait")
    assert len(z_run.z_slips()) == 1
    assert z_run.terminal.runtime.state.shift == 2
    assert journal.current_shift() == 2
