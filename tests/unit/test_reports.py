"""X, Z and period reports: built from a real journal, every section apart, fitted to paper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.journal.journal import Journal
from terminal.journal.reports import ReportData
from terminal.money import Money
from terminal.payment import Payment, PaymentState, Refund, refund_key
from terminal.views.model import SlipKind
from terminal.views.reports import build_report, build_x_report

WALL = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
S = PaymentState


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "journal.sqlite3", terminal_id="T0042") as j:
        yield j


def _pay(journal: Journal, amount: int, state: PaymentState, **kw: object) -> Payment:
    seq = journal.next_seq()
    payment = Payment(
        order_id=f"T0042-{journal.epoch}-{seq:06d}", seq=seq, shift=journal.current_shift(),
        flow="cpm", provider=str(kw.pop("provider", "sandbox")), amount=Money(amount, "RUB"),
        created_wall=WALL.isoformat(), wallet=str(kw.pop("wallet", "")),
    )  # fmt: skip
    journal.record(payment, note="new", mono=1.0, wall=WALL, wall_synced=True)
    done = payment.with_state(state, **kw)
    journal.record(done, note="final", mono=2.0, wall=WALL, wall_synced=True)
    return done


def _refund(journal: Journal, payment: Payment, minor: int, state: str = "refunded") -> Payment:
    n = len(payment.refunds) + 1
    refund = Refund(
        key=refund_key(payment.order_id, n), n=n, amount=Money(minor, "RUB"),
        shift=journal.current_shift(), state=state, forced=state == "forced",  # type: ignore[arg-type]
        wall=WALL.isoformat(),
    )  # fmt: skip
    refunded = payment.with_refund(refund)
    refunded = refunded.with_state(refunded.state_after_refunds())
    journal.record(refunded, note="refund", mono=3.0, wall=WALL, wall_synced=True)
    return refunded


def _shift(journal: Journal) -> ReportData:
    paid = _pay(journal, 250_050, S.PAID)
    _pay(journal, 10_000, S.FORCED, forced=True)
    _pay(journal, 3_000, S.VOIDED)
    refunded = _refund(journal, _pay(journal, 5_000, S.PAID), 5_000)
    assert refunded.state is S.REFUNDED
    part = _refund(journal, paid, 50)
    assert part.state is S.PARTIALLY_REFUNDED
    _pay(journal, 700, S.CANCEL_FAILED)
    _pay(journal, 900, S.PENDING)
    return journal.report(detail=True)


def test_the_figures_keep_paid_forced_refunded_and_voided_apart(journal: Journal) -> None:
    data = _shift(journal)
    (totals,) = data.totals
    assert (totals.paid.count, totals.paid.minor) == (2, 255_050)
    assert (totals.forced.count, totals.forced.minor) == (1, 10_000)
    assert (totals.refunded.count, totals.refunded.minor) == (2, 5_050)
    assert (totals.voided.count, totals.voided.minor) == (1, 3_000)
    assert totals.net_minor == 255_050 + 10_000 - 5_050
    assert data.forced_open == (2,)
    assert data.needs_admin == (5,)
    assert data.in_doubt == (6,)
    assert data.unsynced >= 5


@pytest.mark.parametrize("columns", [32, 48])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_x_report_prints_every_section_and_fits(
    journal: Journal, columns: int, language: str
) -> None:
    slip = build_x_report(
        _shift(journal), terminal_id="T0042", printed_wall="2026-11-23T12:00:00+00:00",
        language=language, columns=columns, unsynced=4,  # type: ignore[arg-type]
    )  # fmt: skip
    texts = [line.text for line in slip.lines]
    assert slip.kind is SlipKind.X_REPORT
    assert all(len(line.text) <= (columns // 2 if line.large else columns) for line in slip.lines)
    for amount in ("2550.50 RUB", "100.00 RUB", "50.50 RUB", "30.00 RUB", "2600.00 RUB"):
        assert any(text.endswith(amount) for text in texts), amount
    assert "000002" in texts
    assert "000005" in texts
    assert "000006" in texts
    if language == "en":
        assert not any("Only paid payments are summed" in text for text in texts)
        assert any(text.startswith("Refunded") for text in texts)
        assert any(text.startswith("Voided") for text in texts)


def test_z_report_of_a_closed_shift_and_its_copy(journal: Journal) -> None:
    _pay(journal, 1_000, S.PAID)
    z = journal.close_shift_report(wall=WALL.replace(hour=20))
    assert z.closed_wall is not None
    assert z.shift == 1
    assert journal.current_shift() == 2
    nxt = _pay(journal, 400, S.PAID)
    assert nxt.shift == 2
    again = journal.report(shift=1)
    assert again.totals == z.totals
    slip = build_report(again, SlipKind.Z_REPORT, terminal_id="T0042", printed_wall="",
                        language="en", copy=True)  # fmt: skip
    assert slip.lines[0].text == "Z REPORT (COPY)"
    assert any(line.text.startswith("Closed") for line in slip.lines)


def test_a_refund_counts_in_the_shift_it_was_made_in(journal: Journal) -> None:
    paid = _pay(journal, 2_000, S.PAID)
    journal.close_shift_report(wall=WALL)
    _refund(journal, replace(paid, shift=1), 500)
    assert journal.report(shift=1).totals[0].refunded.count == 0
    assert journal.report(shift=2).totals[0].refunded.minor == 500


def test_a_report_by_time_range_with_detail(journal: Journal) -> None:
    _shift(journal)
    data = journal.report(since="2026-11-23T00:00:00", until="2026-11-24T00:00:00", detail=True)
    assert data.totals[0].paid.count == 2
    kinds = [line.kind for line in data.lines]
    assert kinds.count("refund") == 2
    assert "forced" in kinds
    assert "voided" in kinds
    slip = build_report(data, SlipKind.PERIOD_REPORT, terminal_id="T0042", printed_wall="",
                        language="en")  # fmt: skip
    assert any(line.text.startswith("000004") and line.text.endswith("-50.00 RUB")
               for line in slip.lines)  # fmt: skip
    empty = journal.report(since="2020-01-01T00:00:00", until="2020-01-02T00:00:00")
    assert empty.totals == ()


def test_each_wallet_of_a_provider_has_its_own_section(journal: Journal) -> None:
    _pay(journal, 1_000, S.PAID, wallet="alipay")
    _pay(journal, 2_000, S.PAID, wallet="alipay")
    wechat = _pay(journal, 500, S.PAID, wallet="wechat")
    _refund(journal, wechat, 500)
    _pay(journal, 300, S.PAID)  # an older record, or a driver that names no wallet

    data = journal.report(shift=journal.current_shift())
    by_wallet = {t.wallet: (t.paid.count, t.paid.minor, t.refunded.minor) for t in data.totals}
    assert by_wallet == {"alipay": (2, 3_000, 0), "wechat": (1, 500, 500), "": (1, 300, 0)}
    slip = build_report(data, SlipKind.X_REPORT, terminal_id="T0042",
                        printed_wall=WALL.isoformat(), language="en")  # fmt: skip
    headings = [line.text for line in slip.lines if line.bold and line.text.startswith("SANDBOX")]
    assert headings == ["SANDBOX", "SANDBOX Alipay", "SANDBOX WeChat"]
