"""The parts opened for one doctor run: each opened, checked, and all closed together."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from inspect import isawaitable
from typing import Any, TypeVar

from hw.base import ButtonName, Printer
from terminal.config.model import Config, DisplayConfig
from terminal.doctor.hardware import DoctorHardware, Opener
from terminal.doctor.parts import (
    PRINTER_FIX,
    check_button_press,
    check_buttons,
    check_display,
    check_keypad_key,
    check_nfc_tap,
    check_printer,
    check_scanner_scan,
    failed_to_open,
)
from terminal.doctor.prompts import Asker
from terminal.doctor.report import commissioning_slip
from terminal.doctor.results import CheckResult, Status, awaitable_check, guard
from terminal.system.host_info import HostInfo
from terminal.system.image_info import ImageInfo
from terminal.views.slips import training_slip

__all__ = ["BUTTONS", "PartsSession"]

log = logging.getLogger(__name__)

_C = TypeVar("_C")
_P = TypeVar("_P")
BUTTONS: tuple[ButtonName, ...] = ("retry", "cancel", "force")


class PartsSession:
    """The parts opened for one run, closed together at the end. Loop-only."""

    def __init__(self, config: Config, parts: DoctorHardware, asker: Asker) -> None:
        self.config = config
        self.parts = parts
        self.asker = asker
        self.printer: Printer | None = None
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> PartsSession:
        if self.parts.aclose is not None:
            self._stack.push_async_callback(_close_quietly, self.parts.aclose)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def check_parts(self, *, interactive: bool) -> list[CheckResult]:
        """Open each part and check it; with ``interactive``, ask for an action on each."""
        results = await self._display()
        results += await self._printer()
        results += await self._scanner(interactive)
        results += await self._keypad(interactive)
        results += await self._buttons(interactive)
        results += await self._nfc(interactive)
        return results

    async def print_slip(
        self,
        results: list[CheckResult],
        *,
        host: HostInfo | None = None,
        image: ImageInfo | None = None,
    ) -> CheckResult:
        """Print the commissioning slip listing ``results`` on the printer, if it opened.

        ``host`` and ``image`` put the host name, addresses, Wi-Fi and versions at its top.
        """  # fmt: skip
        if self.printer is None:
            detail = "no printer ready to print it (see printer)"
            return CheckResult("commissioning slip", Status.SKIP, detail)
        slip = commissioning_slip(
            results,
            terminal_id=self.config.terminal.id,
            hardware=self.parts.name,
            wall=datetime.now(UTC),
            columns=self.config.printer.columns,
            host=host,
            image=image,
        )
        if self.config.terminal.training:  # like every slip of a training terminal
            slip = training_slip(slip, self.config.terminal.language)
        try:
            await self.printer.print_slip(slip)
        except Exception as exc:  # noqa: BLE001 - every failure is a row; unexpected ones are logged
            return failed_to_open("commissioning slip", exc, PRINTER_FIX)
        return CheckResult("commissioning slip", Status.PASS, f"printed {len(slip.lines)} lines")

    async def _display(self) -> list[CheckResult]:
        cfg = self.config.display
        display, failed = await self._open("display", self.parts.display, cfg, _display_fix(cfg))
        if display is None:
            return failed
        return [await guard("display", awaitable_check(check_display, display))]

    async def _printer(self) -> list[CheckResult]:
        cfg = self.config.printer
        if cfg.connection == "none":
            detail = 'none configured (printer.connection = "none")'
            return [CheckResult("printer", Status.SKIP, detail)]
        printer, failed = await self._open("printer", self.parts.printer, cfg, PRINTER_FIX)
        if printer is None:
            return failed
        result = await guard("printer", check_printer(printer))
        if result.status is not Status.FAIL:
            self.printer = printer
        return [result]

    async def _scanner(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.scanner
        return await self._input_part(
            "scanner", self.parts.scanner, cfg, cfg.device, check_scanner_scan,
            "scanner scan", interactive,
        )  # fmt: skip

    async def _keypad(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.keypad
        return await self._input_part(
            "keypad", self.parts.keypad, cfg, cfg.device, check_keypad_key,
            "keypad key", interactive,
        )  # fmt: skip

    async def _input_part(
        self, part: str, opener: Any, cfg: Any, device: str, check_fn: Any, check_name: str,
        interactive: bool,
    ) -> list[CheckResult]:  # fmt: skip
        """Open a scanner or keypad; with ``interactive``, ask for a scan or a key."""
        fix = f"plug the {part} in and check {part}.device ({device})"
        opened, failed = await self._open(part, opener, cfg, fix)
        if opened is None:
            return failed
        results = [CheckResult(part, Status.PASS, f"opened {_describe(opened)}")]
        if interactive:
            results.append(await guard(check_name, check_fn(opened, device, self.asker)))
        return results

    async def _buttons(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.buttons
        fix = "run the terminal on a Raspberry Pi with lgpio installed; check the [buttons] pins"
        buttons, failed = await self._open("buttons", self.parts.buttons, cfg, fix)
        if buttons is None:
            return failed
        results = [await guard("buttons", awaitable_check(check_buttons, buttons, cfg))]
        done: frozenset[ButtonName] = frozenset()
        for name in BUTTONS if interactive else ():
            check = check_button_press(buttons, name, cfg, self.asker, done=done)
            results.append(await guard(f"button {name}", check))
            done |= {name}
        return results

    async def _nfc(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.nfc
        if not cfg.path:
            return [CheckResult("nfc reader", Status.SKIP, "none configured (nfc.path is empty)")]
        fix = f"check the reader's cable and nfc.path ({cfg.path})"
        found: str | None = ""
        if self.parts.nfc_probe is not None:
            found, failed = await self._open("nfc reader", self.parts.nfc_probe, cfg, fix)
            if found is None:
                return failed
        nfc, failed = await self._open("nfc reader", self.parts.nfc, cfg, fix)
        if nfc is None:
            return failed
        detail = f"found {found} on {cfg.path}" if found else f"opened {_describe(nfc)}"
        results = [CheckResult("nfc reader", Status.PASS, detail)]
        if interactive:
            badges = self.config.secrets.supervisor_badges
            check = check_nfc_tap(nfc, cfg, badges, self.asker)
            results.append(await guard("nfc tap", check))
        return results

    async def _open(
        self, name: str, opener: Opener[_C, _P], cfg: _C, default_fix: str
    ) -> tuple[_P | None, list[CheckResult]]:
        """The opened (and connected) part, closed when the session ends; or its FAIL row."""
        try:
            part: Any = opener(cfg)
            if isawaitable(part):
                part = await part
            closer = getattr(part, "aclose", None)
            if callable(closer):
                self._stack.push_async_callback(_close_quietly, closer)
            connect = getattr(part, "connect", None)
            if callable(connect) and isawaitable(connected := connect()):
                await connected
        except Exception as exc:  # noqa: BLE001 - every failure is a row; unexpected ones are logged
            return None, [failed_to_open(name, exc, default_fix)]
        return part, []


async def _close_quietly(aclose: Callable[[], Awaitable[None]]) -> None:
    try:
        await aclose()
    except Exception:  # closing one part must not keep the others open
        log.exception("doctor:closing %r failed", aclose)


def _describe(part: object) -> str:
    return repr(part).strip("<>")


def _display_fix(cfg: DisplayConfig) -> str:
    if cfg.interface == "spi":
        return (
            f"check the SPI wiring (MOSI→GPIO10, SCLK→GPIO11, CE{cfg.spi_device}, "
            f"D/C→GPIO{cfg.gpio_dc}, RST→GPIO{cfg.gpio_rst}) and that SPI is enabled"
        )
    return (
        f"check SDA→GPIO2 (pin 3), SCL→GPIO3 (pin 5), 3.3 V and ground, that I2C is enabled, "
        f"and run i2cdetect -y {cfg.i2c_port} for the address (display.address)"
    )
