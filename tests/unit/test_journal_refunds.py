"""Refunds in the journal: written with their payment, one outbox item each, old rows migrated."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.journal import schema
from terminal.journal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment, PaymentState, Refund

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _record(j: Journal, payment: Payment, note: str) -> None:
    j.record(payment, note=note, mono=1.0, wall=WALL, wall_synced=True)


def _paid(j: Journal, seq: int) -> Payment:
    p = Payment(f"T1-{j.epoch}-{seq:06d}", seq, 1, "cpm", "sandbox", Money(1000, "RUB"),
                created_wall=WALL.isoformat())  # fmt: skip
    _record(j, p, "new")
    paid = p.with_state(PaymentState.PAID)
    _record(j, paid, "paid")
    return paid


def test_a_refund_is_read_back_with_its_payment_and_queued_once(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", terminal_id="T1") as j:
        paid = _paid(j, 1)
        asked = Refund(f"{paid.order_id}-void", 1, Money(400, "RUB"), 1, wall=WALL.isoformat())
        out = paid.with_refund(asked).with_state(PaymentState.REFUNDING)
        before = j.outbox_count()
        _record(j, out, "refund requested")
        assert j.outbox_count() == before, "a refund still out is not a finished record"
        assert j.get(paid.order_id).is_unresolved  # type: ignore[union-attr]
        done = out.with_refund(Refund(asked.key, 1, asked.amount, 1, "refunded"))
        done = done.with_state(done.state_after_refunds())
        _record(j, done, "refund done")
        back = j.get(paid.order_id)
        assert back is not None
        assert back.state is PaymentState.PARTIALLY_REFUNDED
        assert back.refunds == done.refunds
        assert back.refundable_minor == 600
        items = j.outbox_pending()
        assert json.loads(items[-1].payload)["refund"]["amount_minor"] == 400
        _record(j, done, "again")
        assert len(j.outbox_pending()) == len(items), "nothing changed: nothing written"


def test_an_old_journal_reads_refunds_by_the_slip_as_refunds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    full = schema.MIGRATIONS
    monkeypatch.setattr(schema, "MIGRATIONS", full[:-1])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(full) - 1)
    with Journal.open(path, terminal_id="T1") as j:
        refunded = _paid(j, 1)
        _record(j, refunded.with_state(PaymentState.VOIDING), "refund requested")
        _record(j, refunded.with_state(PaymentState.VOIDED), "refunded")
        voided = _paid(j, 2)
        _record(j, voided.with_state(PaymentState.VOIDING), "void requested")
        _record(j, voided.with_state(PaymentState.VOIDED), "voided")
        out = _paid(j, 3)
        _record(j, out.with_state(PaymentState.VOIDING), "refund requested")
    monkeypatch.setattr(schema, "MIGRATIONS", full)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(full))
    with Journal.open(path, terminal_id="T1") as j:
        one, two, three = (j.get(p.order_id) for p in (refunded, voided, out))
        assert one is not None and two is not None and three is not None  # noqa: PT018
        assert one.state is PaymentState.REFUNDED
        assert [(r.key, r.state, r.amount.amount_minor) for r in one.refunds] == [
            (f"{refunded.order_id}-void", "refunded", 1000)
        ]
        assert two.state is PaymentState.VOIDED
        assert two.refunds == ()
        assert three.state is PaymentState.REFUNDING
        assert three.refunds[0].state == "requested"
        totals = j.report(shift=1).totals[0]
        assert (totals.refunded.count, totals.voided.count) == (1, 1)
