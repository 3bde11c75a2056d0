"""The X report sums only paid payments, lists forced ones apart, and fits the paper."""

from __future__ import annotations

import pytest

from terminal.journal.shifts import ShiftSummary
from terminal.views.model import SlipKind
from terminal.views.reports import build_x_report

SUMMARY = ShiftSummary(
    shift=3, opened_wall="2026-11-23T08:00:00+00:00", closed_wall=None, paid_count=2,
    paid_total={"RUB": 250_050}, forced_count=1, forced_total={"RUB": 10_000}, voided_count=1,
    payments=(),
)  # fmt: skip


@pytest.mark.parametrize("columns", [32, 48])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_x_report(columns: int, language: str) -> None:
    slip = build_x_report(
        SUMMARY, terminal_id="T0042", printed_wall="2026-11-23T12:00:00+00:00",
        language=language, columns=columns,  # type: ignore[arg-type]
    )  # fmt: skip
    texts = [line.text for line in slip.lines]
    assert slip.kind is SlipKind.X_REPORT
    assert all(len(line.text) <= (columns // 2 if line.large else columns) for line in slip.lines)
    assert any(text.endswith("2500.50 RUB") for text in texts)
    assert any(text.endswith("100.00 RUB") for text in texts)
    assert any(text.endswith(" 2") for text in texts), "the paid count"
    assert any("2026-11-23 08:00:00" in text for text in texts)


@pytest.mark.parametrize(("language", "label"), [("en", "Cancelling in background"),
                                                 ("ru", "Отменяются в фоне")])  # fmt: skip
def test_x_report_names_orders_still_being_cancelled_in_the_background(
    language: str, label: str
) -> None:
    def texts(cancelling: int) -> list[str]:
        slip = build_x_report(
            SUMMARY, terminal_id="T0042", printed_wall="2026-11-23T12:00:00+00:00",
            language=language, cancelling=cancelling,  # type: ignore[arg-type]
        )  # fmt: skip
        return [line.text for line in slip.lines]

    assert not any(label in text for text in texts(0)), "no line while nothing is open"
    line = next(text for text in texts(2) if label in text)
    assert line.endswith(" 2")
    assert len(line) <= 32
