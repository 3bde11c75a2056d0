"""What X, Z and period reports say: pure data built from the journal's report figures.

Every report has the same sections, per provider, wallet and currency: paid, forced, refunded
and voided (each a count and a sum), the net (paid + forced - refunded), then the
payments listed by number that are not settled (forced not yet reconciled, refunds
forced not yet reconciled, cancel failed or needing an administrator, in doubt), and
the records not yet synced. The footer says exactly what is summed.
"""

from __future__ import annotations

from terminal.journal.reports import Figure, ReportData, ReportLine
from terminal.money import Money
from terminal.views.model import Slip, SlipKind, SlipLine
from terminal.views.slips import fit, pair_line
from terminal.views.text import Language, t
from terminal.views.wallets import wallet_word

__all__ = ["build_report", "build_x_report"]


def build_x_report(
    data: ReportData, *, terminal_id: str, printed_wall: str, language: Language,
    columns: int = 32, cancelling: int = 0, unsynced: int | None = None,
) -> Slip:  # fmt: skip
    """The X report: the open shift so far, with the Z report's sections; the shift stays open.

    ``cancelling`` counts the orders (of any shift) whose cancel failed and that are still
    being closed with their provider in the background; the line appears only then.
    ``unsynced`` is how many records no sync target has acknowledged yet (None: no sync).
    """
    return build_report(
        data, SlipKind.X_REPORT, terminal_id=terminal_id, printed_wall=printed_wall,
        language=language, columns=columns, cancelling=cancelling, unsynced=unsynced,
    )  # fmt: skip


def build_report(
    data: ReportData, kind: SlipKind, *, terminal_id: str, printed_wall: str,
    language: Language, columns: int = 32, cancelling: int = 0, unsynced: int | None = None,
    copy: bool = False,
) -> Slip:  # fmt: skip
    """An X, Z or period report of ``data``; ``copy`` marks a closed shift's Z printed again.

    ``data.lines`` (a detailed report) adds one line per payment and refund.
    """
    lang = language
    title = {
        SlipKind.X_REPORT: "report_x",
        SlipKind.Z_REPORT: "report_z_copy" if copy else "report_z",
    }.get(kind, "report_period")
    lines: list[SlipLine] = [
        SlipLine(t(title, lang), align="center", bold=True, large=True),
        SlipLine("-" * columns),
        *pair_line(t("slip_terminal", lang), terminal_id, columns),
        *_selection(data, lang, columns),
        *pair_line(t("report_printed", lang), _time(printed_wall), columns),
        SlipLine("-" * columns),
    ]
    if not data.totals:
        lines.append(SlipLine(t("report_none", lang), align="center"))
    for totals in data.totals:
        currency = totals.currency
        heading = totals.provider.upper()
        if totals.wallet:
            heading = f"{heading} {wallet_word(totals.wallet, lang)}"
        lines += [SlipLine(heading, bold=True)]
        lines += _figure(t("report_paid", lang), totals.paid, currency, columns)
        lines += _figure(t("report_forced", lang), totals.forced, currency, columns)
        lines += _figure(t("report_refunded", lang), totals.refunded, currency, columns)
        lines += _figure(t("report_voided", lang), totals.voided, currency, columns)
        net = str(Money(totals.net_minor, currency))
        lines += pair_line(t("report_net", lang), net, columns)
        lines.append(SlipLine("-" * columns))
    lines += _numbers(t("report_not_reconciled", lang), data.forced_open, columns)
    lines += _numbers(t("report_refunds_open", lang), data.refunds_open, columns)
    lines += _numbers(t("report_needs_admin", lang), data.needs_admin, columns)
    lines += _numbers(t("report_in_doubt", lang), data.in_doubt, columns)
    if cancelling:
        lines += pair_line(t("report_cancelling", lang), str(cancelling), columns)
    if unsynced is not None:
        lines += pair_line(t("report_unsynced", lang), str(unsynced), columns)
    if data.lines:
        lines += [SlipLine("-" * columns), SlipLine(t("report_detail", lang), bold=True)]
        lines += [_detail(line, columns) for line in data.lines]
    lines += [SlipLine("-" * columns), SlipLine(t("report_what_summed", lang), align="center")]
    if kind is SlipKind.X_REPORT:
        lines.append(SlipLine(t("report_open_shift", lang), align="center", bold=True))
    elif kind is SlipKind.Z_REPORT:
        lines.append(SlipLine(t("report_shift_closed", lang), align="center", bold=True))
    fitted = tuple(piece for line in lines for piece in fit(line, columns))
    name = f"shift-{data.shift}" if data.shift is not None else f"{data.since}..{data.until}"
    return Slip(kind, name, fitted)


def _selection(data: ReportData, lang: Language, columns: int) -> list[SlipLine]:
    """Which shift (and when it opened and closed) or which time range the report covers."""
    if data.shift is None:
        return [
            *pair_line(t("report_from", lang), _time(data.since), columns),
            *pair_line(t("report_to", lang), _time(data.until), columns),
        ]
    lines = [
        *pair_line(t("slip_shift", lang), str(data.shift), columns),
        *pair_line(t("report_opened", lang), _time(data.opened_wall), columns),
    ]
    if data.closed_wall:
        lines += pair_line(t("report_closed", lang), _time(data.closed_wall), columns)
    return lines


def _figure(label: str, figure: Figure, currency: str, columns: int) -> list[SlipLine]:
    """ "Label  count" and the sum under it."""
    return [
        *pair_line(label, str(figure.count), columns),
        *pair_line("", str(Money(figure.minor, currency)), columns),
    ]


def _numbers(label: str, numbers: tuple[int, ...], columns: int) -> list[SlipLine]:
    """A list of through-numbers under its label; nothing when the list is empty."""
    if not numbers:
        return []
    return [SlipLine(label), SlipLine(" ".join(f"{n:06d}" for n in numbers))]


def _detail(line: ReportLine, columns: int) -> SlipLine:
    """One transaction: number, time, what, amount (refunds with a minus)."""
    sign = "-" if line.kind.startswith("refund") else ""
    amount = f"{sign}{Money(line.minor, line.currency)}"
    text = f"{line.seq:06d} {line.wall[11:16]} {line.kind[:10]}"
    return SlipLine(f"{text} {amount.rjust(max(1, columns - len(text) - 1))}")


def _time(wall: str) -> str:
    return wall[:19].replace("T", " ") if wall else "-"
