"""Tests for the sandbox ledger without HTTP: idempotency, customer actions, cancel, refunds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.providers.sandbox.ledger import QR_BASE, LedgerRefusal, SandboxLedger

CODE = "281234567890123456"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SandboxLedger]:
    book = SandboxLedger.open(tmp_path / "sandbox" / "ledger.sqlite")
    yield book
    book.close()


def test_invoice_is_pending_with_a_short_qr(ledger: SandboxLedger) -> None:
    record = ledger.create("T1-0001", 1250, "RUB", description="coffee")
    assert record.status == "pending"
    assert record.flow == "mpm"
    assert record.qr_payload == f"{QR_BASE}{record.payment_id}"
    assert len(record.qr_payload) <= 48
    assert record.to_json()["amount_minor"] == 1250


def test_create_is_idempotent_by_order_id(ledger: SandboxLedger) -> None:
    first = ledger.create("T1-0001", 1250, "RUB")
    again = ledger.create("T1-0001", 1250, "RUB")
    assert again == first
    assert len(ledger.payments()) == 1


@pytest.mark.parametrize(
    ("amount", "currency", "flow"),
    [(999, "RUB", "mpm"), (1250, "USD", "mpm"), (1250, "RUB", "cpm")],
)
def test_same_order_id_with_other_terms_is_a_conflict(
    ledger: SandboxLedger, amount: int, currency: str, flow: str
) -> None:
    ledger.create("T1-0001", 1250, "RUB")
    with pytest.raises(LedgerRefusal) as refusal:
        ledger.create("T1-0001", amount, currency, flow=flow, code=CODE)  # type: ignore[arg-type]
    assert (refusal.value.error, refusal.value.http_status) == ("conflict", 409)


def test_cpm_with_a_good_code_is_pending_and_the_code_is_masked(
    ledger: SandboxLedger, tmp_path: Path
) -> None:
    record = ledger.create("T1-0002", 500, "RUB", flow="cpm", code=CODE)
    assert record.status == "pending"
    assert record.qr_payload is None
    assert record.code_masked == "2812**********3456"
    with sqlite3.connect(ledger.path) as raw:
        cells = [str(cell) for row in raw.execute("SELECT * FROM payments") for cell in row]
    raw.close()
    assert not any(CODE in cell for cell in cells)


@pytest.mark.parametrize("code", ["12345", "1" * 33, "12345a", "", "１２３４５６"])
def test_cpm_with_a_bad_code_is_declined(ledger: SandboxLedger, code: str) -> None:
    record = ledger.create("T1-0003", 500, "RUB", flow="cpm", code=code)
    assert record.status == "declined"
    assert record.message == "invalid payment code"


def test_customer_pays_the_most_recent_pending_payment(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 100, "RUB")
    ledger.create("T1-0002", 200, "RUB")
    paid = ledger.customer("pay")
    assert paid is not None
    assert (paid.order_id, paid.status) == ("T1-0002", "paid")
    assert ledger.charges() == 1
    assert ledger.charges("T1-0002") == 1
    assert ledger.charges("T1-0001") == 0


def test_customer_acts_on_a_named_order(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 100, "RUB")
    ledger.create("T1-0002", 200, "RUB")
    declined = ledger.customer("decline", "T1-0001")
    assert declined is not None
    assert (declined.order_id, declined.status) == ("T1-0001", "declined")


def test_customer_pays_only_pending_payments(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 100, "RUB")
    assert ledger.customer("pay", "T1-0001") is not None
    assert ledger.customer("pay", "T1-0001") is None
    assert ledger.customer("pay") is None
    assert ledger.customer("pay", "T1-9999") is None
    assert ledger.charges() == 1


def test_expire_and_abandon(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 100, "RUB")
    ledger.create("T1-0002", 200, "RUB")
    abandoned = ledger.customer("abandon")
    assert abandoned is not None
    assert (abandoned.order_id, abandoned.status, abandoned.abandoned) == (
        "T1-0002",
        "pending",
        True,
    )
    expired = ledger.customer("expire")  # the abandoned one is skipped
    assert expired is not None
    assert (expired.order_id, expired.status) == ("T1-0001", "expired")
    assert ledger.customer("pay") is None


def test_cancel_rules(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 100, "RUB")
    ledger.create("T1-0002", 200, "RUB")
    ledger.create("T1-0003", 300, "RUB")
    ledger.customer("pay", "T1-0002")
    ledger.customer("decline", "T1-0003")
    assert ledger.cancel("T1-0001").status == "cancelled"
    assert ledger.cancel("T1-0001").status == "cancelled"
    assert ledger.cancel("T1-0003").status == "declined"
    with pytest.raises(LedgerRefusal) as paid:
        ledger.cancel("T1-0002")
    assert paid.value.to_json() == {"error": "already_paid", "status": "paid"}
    with pytest.raises(LedgerRefusal) as unknown:
        ledger.cancel("T1-9999")
    assert unknown.value.http_status == 404


def test_refund_is_idempotent_by_refund_id(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 1000, "RUB")
    ledger.customer("pay")
    first = ledger.refund("T1-0001", "R1", 400)
    again = ledger.refund("T1-0001", "R1", 400)
    assert first == again
    assert len(ledger.refunds()) == 1
    record = ledger.get("T1-0001")
    assert record is not None
    assert (record.status, record.refunded_minor) == ("paid", 400)


def test_full_refund_marks_the_payment_refunded(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 1000, "RUB")
    ledger.customer("pay")
    ledger.refund("T1-0001", "R1", 400)
    ledger.refund("T1-0001", "R2", 600)
    record = ledger.get("T1-0001")
    assert record is not None
    assert (record.status, record.refunded_minor) == ("refunded", 1000)


def test_refund_refusals(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 1000, "RUB")
    with pytest.raises(LedgerRefusal, match="not_paid"):
        ledger.refund("T1-0001", "R1", 100)
    ledger.customer("pay")
    with pytest.raises(LedgerRefusal, match="exceeds"):
        ledger.refund("T1-0001", "R1", 1001)
    ledger.refund("T1-0001", "R1", 100)
    with pytest.raises(LedgerRefusal, match="conflict"):
        ledger.refund("T1-0001", "R1", 200)
    with pytest.raises(LedgerRefusal, match="not_found"):
        ledger.refund("T1-9999", "R9", 100)
    assert len(ledger.refunds()) == 1


def test_a_failed_write_leaves_nothing_behind(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 1000, "RUB")
    ledger.customer("pay")
    with pytest.raises(LedgerRefusal):
        ledger.refund("T1-0001", "R1", 5000)
    assert ledger.refunds() == []
    record = ledger.get("T1-0001")
    assert record is not None
    assert record.refunded_minor == 0


def test_ledger_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    book = SandboxLedger.open(path)
    book.create("T1-0001", 1000, "RUB")
    book.customer("pay")
    book.refund("T1-0001", "R1", 300)
    before = book.snapshot()
    book.close()
    reopened = SandboxLedger.open(path)
    try:
        assert reopened.snapshot() == before
        assert reopened.charges() == 1
    finally:
        reopened.close()


def test_ledger_is_wal_and_fully_synchronous(ledger: SandboxLedger) -> None:
    db = ledger._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_snapshot_shape(ledger: SandboxLedger) -> None:
    ledger.create("T1-0001", 1000, "RUB")
    ledger.customer("pay")
    ledger.refund("T1-0001", "R1", 1000)
    snapshot = ledger.snapshot()
    assert snapshot["charges"] == 1
    assert snapshot["refunds"] == [
        {"refund_id": "R1", "order_id": "T1-0001", "status": "refunded", "amount_minor": 1000}
    ]
    payments = snapshot["payments"]
    assert isinstance(payments, list)
    assert payments[0]["status"] == "refunded"
