"""`payterm journal`: the last payments, read from a copy so the live journal is never touched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.app import JOURNAL_FILE
from terminal.cli import main
from terminal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment, PaymentState

TERMINAL_ID = "T0042"


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "payterm.toml"
    config.write_text(
        f'[terminal]\nid = "{TERMINAL_ID}"\nhardware = "emulated"\ndata_dir = "{tmp_path}"\n'
    )
    return config


def _record(journal: Journal, seq: int, state: PaymentState, **changes: object) -> Payment:
    payment = Payment(
        order_id=f"{TERMINAL_ID}-{journal.epoch}-{seq:06d}", seq=seq, shift=1, flow="cpm",
        provider="sandbox", amount=Money(100 * seq, "RUB"),
        created_wall="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    payment = payment.with_state(state, **changes)
    journal.record(payment, note="test", mono=0.0, wall=datetime.now(UTC), wall_synced=True)
    return payment


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    journal = Journal.open(tmp_path / JOURNAL_FILE, terminal_id=TERMINAL_ID)
    _record(journal, 1, PaymentState.PAID, provider_ref="SBX-1")
    _record(journal, 2, PaymentState.FORCED, forced=True, needs_admin=True)
    _record(journal, 3, PaymentState.PAID, provider_ref="SBX-3")
    return journal


def test_json_lists_the_last_payments_oldest_first(
    tmp_path: Path, journal: Journal, capsys
) -> None:
    journal.close()
    assert main(["journal", "--config", str(_config(tmp_path)), "--last", "2", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["seq"], p["state"]) for p in listed] == [(2, "forced"), (3, "paid")]
    assert listed[0]["flags"] == ["forced", "needs_admin"]
    assert listed[1] | {"order_id": ""} == {
        "order_id": "", "seq": 3, "state": "paid", "amount_minor": 300, "currency": "RUB",
        "amount": "3.00 RUB", "provider": "sandbox", "provider_order": "SBX-3", "flow": "cpm",
        "created": "2026-01-01T00:00:00+00:00", "flags": [],
    }  # fmt: skip
    assert listed[1]["order_id"].endswith("-000003")


def test_the_table_has_a_row_per_payment(tmp_path: Path, journal: Journal, capsys) -> None:
    journal.close()
    assert main(["journal", "--config", str(_config(tmp_path))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "seq", "order", "id", "state", "amount", "provider", "provider", "order", "flags"
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == ["000001", "000002", "000003"]
    assert lines[1].split()[2:] == ["paid", "1.00", "RUB", "sandbox", "SBX-1", "-"]
    assert lines[2].split()[-1] == "forced,needs_admin"


def test_reads_a_journal_the_service_holds_and_leaves_it_untouched(
    tmp_path: Path, journal: Journal, capsys
) -> None:
    config = _config(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert main(["journal", "--config", str(config), "--last", "1", "--json"]) == 0
    assert [p["seq"] for p in json.loads(capsys.readouterr().out)] == [3]
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    _record(journal, 4, PaymentState.DECLINED)  # the holder still writes
    assert main(["journal", "--config", str(config), "--last", "1", "--json"]) == 0
    assert [p["state"] for p in json.loads(capsys.readouterr().out)] == ["declined"]
    journal.close()


def test_an_empty_journal(tmp_path: Path, capsys) -> None:
    Journal.open(tmp_path / JOURNAL_FILE, terminal_id=TERMINAL_ID).close()
    assert main(["journal", "--config", str(_config(tmp_path))]) == 0
    assert capsys.readouterr().out.strip() == "no payments in the journal"


def test_no_journal_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["journal", "--config", str(_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / JOURNAL_FILE) in err
    assert "no journal" in err
    assert not (tmp_path / JOURNAL_FILE).exists(), "nothing is created"


def test_last_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["journal", "--config", str(_config(tmp_path)), "--last", "0"])
