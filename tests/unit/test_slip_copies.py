"""``printer.copies``: a payment's slip printed that many times, COPY on the later ones."""

from __future__ import annotations

from dataclasses import replace

import pytest
from machine_script import SETTINGS

from hw.emulated import EmulatedDevice, open_emulated_device
from terminal.machine import PrintSlip, State
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.runtime.printing import SlipPrinting
from terminal.views.model import SlipKind

PAID = Payment(
    order_id="T0042-0007-000001", seq=1, shift=1, flow="mpm", provider="wm_sbp",
    amount=Money(150000, "RUB"), state=PaymentState.PAID, provider_ref="WM-1", wallet="sbp",
    created_wall="2026-03-02T09:00:00+00:00",
)  # fmt: skip


def _printing(device: EmulatedDevice, copies: int, *, training: bool = False) -> SlipPrinting:
    state = State(replace(SETTINGS, training=training))
    return SlipPrinting(
        device.printer, state_of=lambda: state, language="en", columns=32, copies=copies,
        feed=lambda event: None, emit=lambda *args, **kwargs: None,
    )  # fmt: skip


def _texts(device: EmulatedDevice) -> list[list[str]]:
    return [[line.text.strip() for line in piece.parsed.lines] for piece in device.printed]


@pytest.mark.parametrize("training", [False, True])
async def test_a_payment_slip_prints_copies_and_the_later_ones_say_copy(training: bool) -> None:
    async with open_emulated_device() as device:
        printing = _printing(device, 3, training=training)
        await printing.print_effect(PrintSlip(SlipKind.PAYMENT, PAID))
        pieces = _texts(device)
    assert len(pieces) == 3
    assert "COPY" not in pieces[0]
    assert all(piece.count("COPY") == 1 for piece in pieces[1:])
    assert all("Payment type" in " ".join(piece) and "SBP" in " ".join(piece) for piece in pieces)
    marked = ["TRAINING - NOT A PAYMENT" in " ".join(piece) for piece in pieces]
    assert marked == [training] * 3
    assert printing.last_slip is not None
    assert "COPY" not in [line.text for line in printing.last_slip.lines]  # a reprint: no COPY


async def test_other_slips_print_once() -> None:
    async with open_emulated_device() as device:
        printing = _printing(device, 2)
        failed = PAID.with_state(PaymentState.DECLINED)
        await printing.print_effect(PrintSlip(SlipKind.FAILURE, failed))
        await printing.print_effect(PrintSlip(SlipKind.NOT_CONFIRMED, failed))
        assert len(device.printed) == 2


async def test_no_copy_follows_a_slip_that_did_not_print() -> None:
    async with open_emulated_device() as device:
        assert device.escpos is not None
        device.escpos.paper = False
        printing = _printing(device, 2)
        await printing.print_effect(PrintSlip(SlipKind.PAYMENT, PAID))
        assert device.printed == []
