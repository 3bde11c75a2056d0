"""The emulated device follows the config it is built from, as the Pi's parts do.

Checked through the libraries' own fakes: gpiozero's MockFactory pins, the ESC/POS bytes
the python-escpos Dummy received, luma's driver over its noop interface.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hw.emulated import (
    EMULATED_PRINTER_PROFILE,
    EMULATED_PRINTER_PROFILE_80MM,
    EmulatedDevice,
    NoNfcReader,
    emulated_printer_profile,
    open_emulated_device,
)
from hw.errors import DisplayError, PrinterOffline
from terminal.config.loader import load_config
from terminal.config.model import (
    ButtonsConfig,
    Config,
    DisplayConfig,
    NfcConfig,
    PrinterConfig,
    ScannerConfig,
)
from terminal.views.model import Slip, SlipKind, SlipLine

EXAMPLE = Path(__file__).parents[2] / "config" / "payterm.example.toml"
QR_SLIP = Slip(SlipKind.QR, "T-1", (SlipLine("Scan to pay"),), qr="https://qr.nspk.ru/AS1000")
NATIVE_QR = b"\x1d(k"  # GS ( k: the printer's own QR command
RASTER = b"\x1dv0"  # GS v 0: a raster image


async def test_buttons_are_on_the_pins_of_the_config() -> None:
    config = load_config(EXAMPLE)
    async with open_emulated_device(config) as device:
        presses = device.buttons.presses()
        assert device.buttons.status()["pins"] == {"retry": 17, "cancel": 27, "force": 22}

        device.buttons.press("cancel")

        assert await anext(presses) == "cancel"
        # Floating, pulled up, to ground while pressed, released: the configured pin only.
        device.buttons.factory.pin(27).assert_states([False, True, False, True])
        assert len(device.buttons.factory.pin(27).states) == 4
        assert len(device.buttons.factory.pin(17).states) == 2


async def test_pull_down_buttons_are_pressed_high_and_hold_times_follow() -> None:
    buttons = ButtonsConfig(
        retry_pin=5, cancel_pin=6, force_pin=13, pull_up=False, debounce_s=0.2, force_hold_s=3.0
    )
    async with open_emulated_device(Config(buttons=buttons)) as device:
        presses = device.buttons.presses()
        assert device.buttons.hold_needed_s("retry") == 0.2
        assert device.buttons.hold_needed_s("force") == 3.0

        device.buttons.press("force")

        assert await anext(presses) == "force"
        # Floating (pulled down), high while pressed, low again.
        device.buttons.factory.pin(13).assert_states([False, True, False])
        assert len(device.buttons.factory.pin(13).states) == 3


async def test_led_and_buzzer_are_fitted_on_their_pins() -> None:
    config = Config(buttons=ButtonsConfig(led_pin=23, buzzer_pin=18))
    async with open_emulated_device(config) as device:
        assert device.signals is not None
        assert device.buttons.factory.pin(23).state  # lit: ready
        assert device.status()["signals"] is not None
    async with open_emulated_device(Config()) as device:
        assert device.signals is None


@pytest.mark.parametrize(
    ("native_qr", "present", "absent"), [(True, NATIVE_QR, RASTER), (False, RASTER, NATIVE_QR)]
)
async def test_native_qr_follows_the_config(native_qr: bool, present: bytes, absent: bytes) -> None:
    config = Config(printer=PrinterConfig(native_qr=native_qr))
    async with open_emulated_device(config) as device:
        await device.printer.print_slip(QR_SLIP)

        raw = device.printed[-1].raw
        assert present in raw
        assert absent not in raw


def _dots(device: EmulatedDevice) -> int:
    assert device.escpos is not None
    return int(device.escpos.profile.profile_data["media"]["width"]["pixels"])


async def test_paper_width_and_profile_follow_the_config() -> None:
    assert emulated_printer_profile(PrinterConfig()) == EMULATED_PRINTER_PROFILE
    async with open_emulated_device(Config()) as device:
        assert _dots(device) == 432  # 58 mm
    wide = Config(printer=PrinterConfig(columns=48))
    assert emulated_printer_profile(wide.printer) == EMULATED_PRINTER_PROFILE_80MM
    async with open_emulated_device(wide) as device:
        assert _dots(device) == 576  # 80 mm
        await device.printer.print_slip(Slip(SlipKind.PAYMENT, "T-1", (SlipLine("x" * 48),)))
        assert "x" * 48 in device.printed[-1].text  # one line: 80 mm paper holds 48 columns
    named = Config(printer=PrinterConfig(profile="TM-T20II", columns=48))
    async with open_emulated_device(named) as device:
        assert device.escpos is not None
        assert device.escpos.profile.profile_data["name"] == "TM-T20II"


async def test_no_printer_when_the_connection_is_none() -> None:
    async with open_emulated_device(Config(printer=PrinterConfig(connection="none"))) as device:
        assert device.escpos is None
        with pytest.raises(PrinterOffline, match="printer.connection"):
            await device.printer.print_slip(QR_SLIP)
        assert device.printed == []


async def test_display_follows_the_config_and_refuses_what_the_pi_refuses() -> None:
    tall = Config(display=DisplayConfig(driver="sh1106", width=128, height=128, rotate=2))
    async with open_emulated_device(tall) as device:
        assert device.display.size == (128, 128)
        status = device.display.status()
        assert status["driver"] == "sh1106"
        assert status["where"] == "emulated sh1106 on i2c-1 at 0x3C"
    with pytest.raises(DisplayError, match="ssd1306 does not drive a 128x128 panel"):
        open_emulated_device(Config(display=DisplayConfig(width=128, height=128)))


async def test_a_scan_longer_than_max_length_is_rejected_as_the_real_scanner_does() -> None:
    async with open_emulated_device(Config(scanner=ScannerConfig(max_length=8))) as device:
        problems = device.scanner.problems()
        codes = device.scanner.codes()

        device.scanner.scan("123456789")
        device.scanner.scan("12345678")

        assert await anext(problems) == "scan rejected: too long (9 characters, max 8)"
        assert await anext(codes) == "12345678"
        assert await anext(problems) == ""


async def test_no_nfc_reader_without_nfc_path() -> None:
    async with open_emulated_device(Config()) as device:
        assert isinstance(device.nfc, NoNfcReader)
        with pytest.raises(ValueError, match="nfc.path is empty"):
            device.nfc.tap("04a1b2c3")
    async with open_emulated_device(replace(Config(), nfc=NfcConfig(path="usb"))) as device:
        taps = device.nfc.taps()
        device.nfc.tap("04A1B2C3")
        assert await anext(taps) == "04a1b2c3"
