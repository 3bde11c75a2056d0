"""What a shift report says: pure data built from the journal's shift summary."""

from __future__ import annotations

from terminal.journal.shifts import ShiftSummary
from terminal.money import Money
from terminal.views.model import Slip, SlipKind, SlipLine
from terminal.views.slips import fit, pair_line
from terminal.views.text import Language, t

__all__ = ["build_x_report"]


def build_x_report(
    summary: ShiftSummary, *, terminal_id: str, printed_wall: str, language: Language,
    columns: int = 32, cancelling: int = 0, unsynced: int | None = None,
) -> Slip:  # fmt: skip
    """The X report: the shift so far (only paid payments summed, forced ones apart).

    ``cancelling`` counts the orders (of any shift) whose cancel failed and that are still
    being closed with their provider in the background; the line appears only then.
    ``unsynced`` is how many records no sync target has acknowledged yet (None: no sync).
    """
    lang = language
    lines: list[SlipLine] = [
        SlipLine(t("report_x", lang), align="center", bold=True, large=True),
        SlipLine("-" * columns),
        *pair_line(t("slip_terminal", lang), terminal_id, columns),
        *pair_line(t("slip_shift", lang), str(summary.shift), columns),
        *pair_line(t("report_opened", lang), _time(summary.opened_wall), columns),
        *pair_line(t("report_printed", lang), _time(printed_wall), columns),
        SlipLine("-" * columns),
        *pair_line(t("report_paid", lang), str(summary.paid_count), columns),
        *_totals(summary.paid_total, columns),
        *pair_line(t("report_forced", lang), str(summary.forced_count), columns),
        *_totals(summary.forced_total, columns),
        *pair_line(t("report_voided", lang), str(summary.voided_count), columns),
        *(pair_line(t("report_cancelling", lang), str(cancelling), columns) if cancelling else ()),
        *_unsynced_line(unsynced, lang, columns),
        SlipLine("-" * columns),
        SlipLine(t("report_only_paid", lang), align="center"),
        SlipLine(t("report_open_shift", lang), align="center", bold=True),
    ]
    fitted = tuple(piece for line in lines for piece in fit(line, columns))
    return Slip(SlipKind.X_REPORT, f"shift-{summary.shift}", fitted)


def _unsynced_line(unsynced: int | None, lang: Language, columns: int) -> list[SlipLine]:
    """How many records no sync target has yet; nothing when sync is not configured."""
    return [] if unsynced is None else pair_line(t("report_unsynced", lang), str(unsynced), columns)


def _totals(totals: dict[str, int], columns: int) -> list[SlipLine]:
    return [
        line
        for currency, minor in sorted(totals.items())
        for line in pair_line("", str(Money(minor, currency)), columns)
    ]


def _time(wall: str) -> str:
    return wall[:19].replace("T", " ") if wall else "-"
