"""The emulated device: every part over its library's fake, driven by hand."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from luma.core.device import dummy
from luma.core.error import DeviceDisplayModeError
from PIL import ImageChops

import hw
from hw.display.luma_display import LumaDisplay
from hw.display.render import render_screen
from hw.emulated import EmulatedDevice, open_emulated_device
from hw.errors import DisplayError, PaperOut, PrinterOffline
from terminal.views.model import Screen, Slip, SlipKind, SlipLine

SCREEN = Screen(name="amount", title="Сумма", amount="1 234,56 ₽", lines=("Enter — оплатить",))
SLIP = Slip(SlipKind.PAYMENT, "T-1", (SlipLine("Оплачено", align="center", bold=True),))


@pytest.fixture
async def device() -> AsyncIterator[EmulatedDevice]:
    async with open_emulated_device() as emulated:
        yield emulated


# --- keypad, scanner, NFC --------------------------------------------------------------------


async def test_keypad_yields_pressed_keys(device: EmulatedDevice) -> None:
    keys = device.keypad.keys()

    for key in ("1", "00", "enter"):
        device.keypad.press(key)

    assert [await anext(keys) for _ in range(3)] == ["1", "00", "enter"]


def test_keypad_refuses_unknown_keys() -> None:
    device = open_emulated_device()

    with pytest.raises(ValueError, match="no such key"):
        device.keypad.press("F1")


async def test_scanner_yields_codes(device: EmulatedDevice) -> None:
    codes = device.scanner.codes()

    device.scanner.scan("281234567890123456")

    assert await anext(codes) == "281234567890123456"
    with pytest.raises(ValueError, match="empty"):
        device.scanner.scan("")


async def test_nfc_yields_lowercase_uids(device: EmulatedDevice) -> None:
    taps = device.nfc.taps()

    device.nfc.tap("04:A2:3B:1C")

    assert await anext(taps) == "04a23b1c"
    with pytest.raises(ValueError, match="UID"):
        device.nfc.tap("not-hex")


async def test_closing_ends_the_iterators() -> None:
    device = open_emulated_device()
    keys, codes, taps = device.keypad.keys(), device.scanner.codes(), device.nfc.taps()

    await device.aclose()

    assert [k async for k in keys] == []
    assert [c async for c in codes] == []
    assert [t async for t in taps] == []


# --- buttons ---------------------------------------------------------------------------------


async def test_button_press_goes_through_gpiozero(device: EmulatedDevice) -> None:
    presses = device.buttons.presses()

    device.buttons.press("force")
    device.buttons.press("force")

    assert [await anext(presses) for _ in range(2)] == ["force", "force"]
    pin = device.buttons.factory.pin(22)  # [buttons] force_pin default
    # Floating, pulled up, then pressed (low) and released (high) twice.
    pin.assert_states([False, True, False, True, False, True])
    assert len(pin.states) == 6


async def test_unknown_button_is_a_value_error(device: EmulatedDevice) -> None:
    with pytest.raises(ValueError, match="no such button"):
        device.buttons.press("ok")  # type: ignore[arg-type]


# --- display ---------------------------------------------------------------------------------


async def test_display_shows_the_rendered_screen(device: EmulatedDevice) -> None:
    device.display.show(SCREEN)

    shown = device.display.last_image
    assert shown is not None
    assert ImageChops.difference(shown, render_screen(SCREEN, (128, 64))).getbbox() is None
    assert "█" in device.screen_text()


async def test_display_size_follows_the_option() -> None:
    async with open_emulated_device(display_size=(128, 128)) as device:
        device.display.show(SCREEN)
        assert device.display.size == (128, 128)
        assert device.display.last_image is not None
        assert device.display.last_image.size == (128, 128)


class CountingDummy(dummy):  # type: ignore[misc]
    """luma's dummy, counting the frames pushed to it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frames = 0

    def display(self, image: Any) -> None:
        self.frames += 1
        super().display(image)


async def test_display_pushes_only_changed_screens() -> None:
    luma = CountingDummy(width=128, height=64, mode="1")
    display = LumaDisplay(device=luma)

    for screen in (
        SCREEN,
        Screen(name="amount", title="Сумма", amount="1 234,56 ₽", lines=SCREEN.lines),
        Screen(name="amount", title="Сумма", amount="1,00 ₽"),
    ):
        display.show(screen)
        display.flush()  # each on the panel before the next: none replaced by a newer one

    assert luma.frames == 2
    assert display.last_image is not None
    assert ImageChops.difference(luma.image, display.last_image).getbbox() is None
    await display.aclose()


async def test_colour_devices_get_converted_frames() -> None:
    luma = dummy(width=128, height=64, mode="RGB")

    display = LumaDisplay(device=luma)
    display.show(SCREEN)
    display.flush()

    assert luma.image.mode == "RGB"
    assert luma.image.getbbox() is not None


async def test_luma_errors_become_display_errors() -> None:
    class Broken(dummy):  # type: ignore[misc]
        def display(self, image: Any) -> None:
            raise DeviceDisplayModeError("bus gone")

    display = LumaDisplay(device=Broken(width=128, height=64, mode="1"))

    display.show(SCREEN)  # returns at once: the push fails on the display's worker
    with pytest.raises(DisplayError, match="bus gone"):
        display.flush()
    assert display.last_image is None
    display.show(SCREEN)  # not on the panel: asked again, it is tried again
    assert display.last_image is None  # (waits for that push, which fails again)
    with pytest.raises(DisplayError, match="bus gone"):
        display.show(Screen(name="idle", title="READY"))  # the earlier failure, reported here


async def test_display_aclose_is_idempotent_and_blanks() -> None:
    luma = dummy(width=128, height=64, mode="1")
    display = LumaDisplay(device=luma)
    display.show(SCREEN)

    await display.aclose()
    await display.aclose()

    assert luma.image.getbbox() is None
    assert "closed" in repr(display)
    with pytest.raises(DisplayError):
        display.show(SCREEN)


# --- printer ---------------------------------------------------------------------------------


async def test_printer_records_each_piece_of_paper(device: EmulatedDevice) -> None:
    await device.printer.print_slip(
        Slip(
            SlipKind.PAYMENT, "T-1", SLIP.lines, qr="weixin://wxpay/bizpayurl?pr=abcdefg", copies=2
        )
    )

    assert len(device.printed) == 2
    for piece in device.printed:
        assert piece.parsed.text_lines == ("Оплачено",)
        assert piece.parsed.qr_payloads == ("weixin://wxpay/bizpayurl?pr=abcdefg",)
        assert piece.parsed.cuts == 1
        assert "Оплачено" in piece.text
        assert piece.lines[0].strip() == "Оплачено"
    assert device.escpos.output == b"", "paper that left the printer is not kept in memory"


async def test_printer_remembers_a_bounded_number_of_pieces(device: EmulatedDevice) -> None:
    from hw.emulated import PRINTED_KEPT

    for _ in range(PRINTED_KEPT + 5):
        await device.printer.print_slip(SLIP)
    assert len(device.printed) == PRINTED_KEPT


async def test_paper_switch(device: EmulatedDevice) -> None:
    device.escpos.paper = False

    with pytest.raises(PaperOut):
        await device.printer.print_slip(SLIP)

    device.escpos.paper = True
    await device.printer.print_slip(SLIP)
    assert len(device.printed) == 1


async def test_online_switch(device: EmulatedDevice) -> None:
    device.escpos.online = False

    with pytest.raises(PrinterOffline):
        await device.printer.print_slip(SLIP)

    assert device.status()["printer"] == {"online": False, "paper": True, "detail": "offline"}


# --- the whole device ------------------------------------------------------------------------


async def test_aclose_closes_every_part_once() -> None:
    device = open_emulated_device()

    await device.aclose()
    await device.aclose()

    assert device.is_closed
    assert device.display.is_closed
    assert device.printer.is_closed
    assert device.buttons.is_closed


async def test_a_failing_part_does_not_keep_the_others_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = open_emulated_device()

    async def broken() -> None:
        raise RuntimeError("stuck")

    monkeypatch.setattr(device.buttons, "aclose", broken)

    await device.aclose()

    assert device.printer.is_closed
    assert device.display.is_closed


def test_exports_exist() -> None:
    assert all(hasattr(hw, name) for name in hw.__all__)


def test_import_hw_loads_no_hardware_library() -> None:
    code = (
        "import sys, hw, hw.emulated, hw.printer.escpos_printer, hw.display.luma_display\n"
        "import hw.buttons.gpiozero_buttons\n"
        "print(sorted(m for m in ('escpos', 'luma', 'gpiozero') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - fixed command line
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
