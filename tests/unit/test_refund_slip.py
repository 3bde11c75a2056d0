"""The REFUND slip: the refund's own time, amount, key and shift, what is left, the payment as
reference; printed through python-escpos's Dummy and read back from the ESC/POS bytes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from escpos.printer import Dummy

from hw.emulated import EMULATED_PRINTER_PROFILE
from hw.printer.escpos_printer import EscposPrinter
from hw.printer.escpos_slip import printable_text
from hw.printer.escpos_text import parse_escpos
from terminal.money import Money
from terminal.payment import Payment, PaymentState, Refund
from terminal.views.model import SlipKind
from terminal.views.slips import build_slip
from terminal.views.text import Language

PAID_AT = "2026-03-02T09:15:04+00:00"
REFUNDED_AT = "2026-03-05T17:40:31+00:00"
PAYMENT = Payment(
    "T0042-0000-000017",
    17,
    3,
    "mpm",
    "sandbox",
    Money(150_000, "RUB"),
    PaymentState.PARTIALLY_REFUNDED,
    provider_ref="SB-4711",
    created_wall=PAID_AT,
)
PARTIAL = Refund(
    key="T0042-0000-000017-r2",
    n=2,
    amount=Money(40_000, "RUB"),
    shift=5,
    state="refunded",
    provider_ref="SB-4711",
    wall="2026-03-05T17:40:29+00:00",
    done_wall=REFUNDED_AT,
)
FIRST = replace(PARTIAL, key="T0042-0000-000017-void", n=1, amount=Money(10_000, "RUB"), shift=4)


async def _printed(payment: Payment, language: Language = "en") -> tuple[str, ...]:
    """The REFUND slip of ``payment`` as the printer's bytes read back."""
    slip = build_slip(SlipKind.REFUND, payment, terminal_id="T0042", language=language)
    dummy: Any = Dummy(profile=EMULATED_PRINTER_PROFILE)
    await EscposPrinter(printer=dummy, check_status=False).print_slip(slip)
    parsed = parse_escpos(dummy.output)
    assert parsed.barcodes == ("SB-4711",)  # the payment's provider order, to look it up again
    assert parsed.unknown == ()
    return parsed.text_lines


def _value(lines: tuple[str, ...], label: str) -> list[str]:
    """The values printed after ``label`` (a "label .... value" line)."""
    return [line[len(label) :].strip() for line in lines if line.startswith(label + " ")]


async def test_partial_refund_slip_shows_the_refunds_time_amount_key_and_what_is_left() -> None:
    payment = PAYMENT.with_refund(FIRST).with_refund(PARTIAL)
    lines = await _printed(payment)
    assert lines[0] == "REFUND"
    reference = lines.index("Refund of payment")
    own, original = lines[:reference], lines[reference:]
    assert _value(own, "Refund") == ["T0042-0000-000017-r2"]
    assert _value(own, "Shift") == ["5"]  # the refund's shift, not the payment's
    assert _value(own, "Time") == ["2026-03-05 17:40:31"]  # when the provider confirmed it
    assert "400.00 RUB" in own  # the refund's amount, large
    assert "1500.00 RUB" not in own
    assert "REFUNDED" in own
    assert _value(own, "Left to refund") == ["1000.00 RUB"]  # 1500 - 100 - 400
    assert "(clock not synced)" not in lines
    # The original payment stays as the reference: its number, order, provider order, time.
    assert _value(original, "No.") == ["000017"]
    assert _value(original, "Provider order") == ["SB-4711"]
    assert _value(original, "Time") == ["2026-03-02 09:15:04"]
    assert _value(original, "Amount") == ["1500.00 RUB"]
    assert not any("Provider refund" in line for line in lines)  # same number as the payment


async def test_refund_made_while_the_clock_was_not_synced_says_so_by_its_time() -> None:
    unsynced = replace(PARTIAL, wall_synced=False)
    lines = await _printed(PAYMENT.with_refund(FIRST).with_refund(unsynced))
    time_at = lines.index("Time" + " " * (32 - 4 - 20) + " 2026-03-05 17:40:31")
    assert lines[time_at + 1].strip() == "(clock not synced)"
    assert lines.count("(clock not synced)") == 1  # the payment's own time was synchronised


async def test_whole_refund_leaves_nothing_to_print_as_left() -> None:
    whole = replace(PARTIAL, key="T0042-0000-000017-void", n=1, amount=Money(150_000, "RUB"))
    payment = replace(PAYMENT, state=PaymentState.REFUNDED).with_refund(whole)
    lines = await _printed(payment)
    assert "1500.00 RUB" in lines[: lines.index("Refund of payment")]
    assert _value(lines, "Left to refund") == []


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_forced_refund_slip_says_it_is_not_confirmed(language: Language) -> None:
    forced = replace(PARTIAL, state="forced", forced=True, provider_ref=None)
    lines = await _printed(PAYMENT.with_refund(forced), language)
    words = {"en": ("Refund forced", "Not confirmed by provider"),
             "ru": ("Возврат проведён вручную", "Не подтверждено платёжной системой")}  # fmt: skip
    text = " ".join(lines)  # a long line wraps to the paper's 32 columns
    assert all(printable_text(word) in text for word in words[language])
    assert "REFUNDED" not in lines


async def test_provider_numbering_the_refund_apart_prints_its_number() -> None:
    own_number = replace(PARTIAL, provider_ref="RF-99")
    lines = await _printed(PAYMENT.with_refund(own_number))
    assert _value(lines, "Provider refund") == ["RF-99"]


def test_slip_from_an_old_journal_without_refund_records_still_prints() -> None:
    """A refund done before refunds were records has no refund of its own to show."""
    slip = build_slip(SlipKind.REFUND, replace(PAYMENT, state=PaymentState.VOIDED),
                      terminal_id="T0042", language="en")  # fmt: skip
    texts = [line.text for line in slip.lines]
    assert texts[0] == "REFUND"
    assert "Money returned to the wallet" in texts
