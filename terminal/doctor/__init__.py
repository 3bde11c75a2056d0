"""``payterm doctor``: the technician's self-check of every configured part, with fixes in words.

:func:`run_doctor` runs every check and prints a table (or JSON); :func:`diagnose` returns
the results. Parts are opened through a :class:`DoctorHardware`: by default the emulated
device or the real ``hw`` factories, as ``terminal.hardware`` says; tests pass their own,
built over the libraries' fakes. No hardware library is imported until a part is opened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib
import logging
import sys
import tomllib
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from inspect import isawaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias, TypeVar

from hw.base import ButtonName, Buttons, Display, Keypad, NfcReader, Printer, Scanner
from terminal.config.loader import DEMO_BADGE, load_config, parse_config
from terminal.config.model import (
    ButtonsConfig,
    Config,
    DisplayConfig,
    KeypadConfig,
    NfcConfig,
    PrinterConfig,
    ScannerConfig,
)
from terminal.doctor import checks
from terminal.doctor.checks import (
    PROMPT_TIMEOUT_S,
    Asker,
    BackendMissing,
    CheckResult,
    Prompt,
    Status,
    SystemProbes,
)
from terminal.doctor.report import commissioning_slip, exit_code, format_json, format_table
from terminal.errors import ConfigError

if TYPE_CHECKING:
    from hw.emulated import EmulatedDevice

__all__ = [
    "CheckResult",
    "DoctorHardware",
    "Prompt",
    "Status",
    "SystemProbes",
    "backend_opener",
    "default_hardware",
    "diagnose",
    "emulated_hardware",
    "load_for_doctor",
    "pi_hardware",
    "run_doctor",
    "run_doctor_file",
]

log = logging.getLogger(__name__)

_C = TypeVar("_C")
_P = TypeVar("_P")
Opener: TypeAlias = Callable[[_C], _P | Awaitable[_P]]
BUTTONS: tuple[ButtonName, ...] = ("retry", "cancel", "force")
#: The test badge the emulated NFC reader is tapped with.
EMULATED_BADGE = DEMO_BADGE


@dataclass(frozen=True, slots=True)
class DoctorHardware:
    """How the doctor opens each part, and who acts when it asks for a scan, key, press or tap.

    Each opener takes the part's config table and returns the part (or an awaitable of it);
    what it raises becomes that part's FAIL row. A part with a ``connect()`` method (the evdev
    scanner and keypad, which otherwise wait for their device) is connected at once so a
    missing device is named now. ``nfc_probe`` opens the NFC reader, names it and closes it
    (the reader part itself opens nothing until it is read). ``act`` performs a prompted
    action instead of a person (None: a person at the terminal does). ``aclose`` runs after
    every check.
    """

    display: Opener[DisplayConfig, Display]
    printer: Opener[PrinterConfig, Printer]
    scanner: Opener[ScannerConfig, Scanner]
    keypad: Opener[KeypadConfig, Keypad]
    buttons: Opener[ButtonsConfig, Buttons]
    nfc: Opener[NfcConfig, NfcReader]
    name: str = "pi"
    nfc_probe: Callable[[NfcConfig], str | Awaitable[str]] | None = None
    act: Callable[[Prompt], object] | None = None
    prompt_timeout_s: float = PROMPT_TIMEOUT_S
    aclose: Callable[[], Awaitable[None]] | None = None


async def run_doctor(
    config: Config,
    *,
    out: TextIO,
    as_json: bool,
    interactive: bool,
    print_slip: bool,
    hardware: DoctorHardware | None = None,
    system: SystemProbes | None = None,
    prompts: TextIO | None = None,
) -> int:
    """Check everything ``config`` names, print the table (or JSON) on ``out``; 1 if any FAIL.

    Prompts for the interactive checks go to ``prompts`` (default: ``out`` for the table,
    stderr with JSON so the JSON stays clean).
    """
    results = await diagnose(
        config,
        interactive=interactive,
        print_slip=print_slip,
        hardware=hardware,
        system=system,
        prompts=prompts or (sys.stderr if as_json else out),
    )
    return _report(results, out=out, as_json=as_json)


async def run_doctor_file(
    path: Path,
    *,
    out: TextIO,
    as_json: bool,
    interactive: bool,
    print_slip: bool,
    hardware: DoctorHardware | None = None,
    system: SystemProbes | None = None,
    prompts: TextIO | None = None,
) -> int:
    """:func:`run_doctor` on the config file at ``path``; a config that fails to load is a row.

    When the file is sound but its secrets file is not (e.g. readable by every user), every
    other check still runs.
    """
    config, error = load_for_doctor(path)
    results = await diagnose(
        config,
        config_error=error,
        interactive=interactive,
        print_slip=print_slip,
        hardware=hardware,
        system=system,
        prompts=prompts or (sys.stderr if as_json else out),
    )
    return _report(results, out=out, as_json=as_json)


def load_for_doctor(path: Path) -> tuple[Config | None, ConfigError | None]:
    """The config at ``path`` and its load error; without secrets when only they failed."""
    try:
        return load_config(path), None
    except ConfigError as error:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
            config = parse_config(data, source=str(path))
        except (ConfigError, OSError, UnicodeError, tomllib.TOMLDecodeError):
            return None, error
        return _relative_to(config, path.absolute().parent), error


async def diagnose(
    config: Config | None,
    *,
    interactive: bool = False,
    print_slip: bool = False,
    hardware: DoctorHardware | None = None,
    system: SystemProbes | None = None,
    prompts: TextIO | None = None,
    config_error: ConfigError | None = None,
) -> list[CheckResult]:
    """Run every check in order and return the results; nothing here raises for a bad part."""
    results = [checks.check_config(config, config_error)]
    if config is None:
        return results
    probes = system or SystemProbes()
    results.append(await _guard("secrets file", _run_sync(checks.check_secrets_file, config)))
    results.append(await _guard("clock", checks.check_clock(probes)))
    results.append(await _guard("disk", _run_sync(checks.check_disk, config, probes)))
    journal = await _guard("journal", checks.check_journal(config))
    results.append(journal)
    for name, provider in config.providers.items():
        results += await _guard_many(
            f"provider {name}", checks.check_provider(name, provider, probes)
        )
    if config.terminal.hardware == "pi" and checks.terminal_is_running(journal):
        # The service holds the real parts (input grabbed, GPIO lines and USB claimed):
        # opening them would fail or disturb a payment. Say so rather than FAIL.
        return results + checks.held_parts()
    parts = hardware or default_hardware(config)
    asker = Asker(prompts or sys.stderr, act=parts.act, timeout_s=parts.prompt_timeout_s)
    async with _Session(config, parts, asker) as session:
        results += await session.check_parts(interactive=interactive)
        if print_slip:
            results.append(await session.print_slip(results))
    return results


def default_hardware(config: Config) -> DoctorHardware:
    """The parts ``terminal.hardware`` names: the emulated device, or the Pi's backends."""
    if config.terminal.hardware == "emulated":
        return emulated_hardware(config)
    return pi_hardware()


def emulated_hardware(
    config: Config,
    *,
    device: EmulatedDevice | None = None,
    prompt_timeout_s: float = PROMPT_TIMEOUT_S,
) -> DoctorHardware:
    """The emulated device's parts; prompts are answered by acting on them (a scan, a press)."""
    if device is None:
        from hw.emulated import open_emulated_device

        size = (config.display.width, config.display.height)
        device = open_emulated_device(display_size=size, columns=config.printer.columns)
    dev = device
    return DoctorHardware(
        display=lambda _cfg: dev.display,
        printer=lambda _cfg: dev.printer,
        scanner=lambda _cfg: dev.scanner,
        keypad=lambda _cfg: dev.keypad,
        buttons=lambda _cfg: dev.buttons,
        nfc=lambda _cfg: dev.nfc,
        name="emulated",
        act=functools.partial(_act_on_emulated, dev),
        prompt_timeout_s=prompt_timeout_s,
        aclose=dev.aclose,
    )


def pi_hardware() -> DoctorHardware:
    """The real backends' factories, each imported only when its part is opened."""
    return DoctorHardware(
        display=backend_opener("display", "hw.display.luma_display", "open_luma_display"),
        printer=backend_opener("printer", "hw.printer.escpos_printer", "open_escpos_printer"),
        scanner=backend_opener("scanner", "hw.input.evdev_scanner", "open_evdev_scanner"),
        keypad=backend_opener("keypad", "hw.input.evdev_keypad", "open_evdev_keypad"),
        buttons=backend_opener("buttons", "hw.buttons.gpiozero_buttons", "open_gpiozero_buttons"),
        nfc=backend_opener("nfc reader", "hw.nfc.nfcpy_reader", "open_nfcpy_reader"),
        name="pi",
        nfc_probe=_describe_nfc_reader,
    )


def backend_opener(part: str, module: str, name: str) -> Callable[[Any], Any]:
    """An opener that imports ``module`` and calls its ``name`` factory with the part's config.

    A module or factory that is not there raises :class:`BackendMissing` ("this terminal
    has no <part> backend installed").
    """

    def open_part(cfg: Any) -> Any:
        try:
            factory = getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            raise BackendMissing(part, f"no module {exc.name}") from exc
        except (ImportError, AttributeError) as exc:
            raise BackendMissing(part, f"{module}.{name}: {exc}") from exc
        return factory(cfg)

    return open_part


class _Session:
    """The parts opened for one run, closed together at the end. Loop-only."""

    def __init__(self, config: Config, parts: DoctorHardware, asker: Asker) -> None:
        self.config = config
        self.parts = parts
        self.asker = asker
        self.printer: Printer | None = None
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> _Session:
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

    async def print_slip(self, results: list[CheckResult]) -> CheckResult:
        """Print the commissioning slip listing ``results`` on the printer, if it opened."""
        if self.printer is None:
            detail = "no printer ready to print it (see printer)"
            return CheckResult("commissioning slip", Status.SKIP, detail)
        slip = commissioning_slip(
            results,
            terminal_id=self.config.terminal.id,
            hardware=self.parts.name,
            wall=datetime.now(UTC),
            columns=self.config.printer.columns,
        )
        try:
            await self.printer.print_slip(slip)
        except Exception as exc:  # noqa: BLE001 - every failure is a row; unexpected ones are logged
            return checks.failed_to_open("commissioning slip", exc, checks.PRINTER_FIX)
        return CheckResult("commissioning slip", Status.PASS, f"printed {len(slip.lines)} lines")

    async def _display(self) -> list[CheckResult]:
        cfg = self.config.display
        display, failed = await self._open("display", self.parts.display, cfg, _display_fix(cfg))
        if display is None:
            return failed
        return [await _guard("display", _run_sync(checks.check_display, display))]

    async def _printer(self) -> list[CheckResult]:
        cfg = self.config.printer
        if cfg.connection == "none":
            detail = 'none configured (printer.connection = "none")'
            return [CheckResult("printer", Status.SKIP, detail)]
        printer, failed = await self._open("printer", self.parts.printer, cfg, checks.PRINTER_FIX)
        if printer is None:
            return failed
        result = await _guard("printer", checks.check_printer(printer))
        if result.status is not Status.FAIL:
            self.printer = printer
        return [result]

    async def _scanner(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.scanner
        return await self._input_part(
            "scanner", self.parts.scanner, cfg, cfg.device, checks.check_scanner_scan,
            "scanner scan", interactive,
        )  # fmt: skip

    async def _keypad(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.keypad
        return await self._input_part(
            "keypad", self.parts.keypad, cfg, cfg.device, checks.check_keypad_key,
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
            results.append(await _guard(check_name, check_fn(opened, device, self.asker)))
        return results

    async def _buttons(self, interactive: bool) -> list[CheckResult]:
        cfg = self.config.buttons
        fix = "run the terminal on a Raspberry Pi with lgpio installed; check the [buttons] pins"
        buttons, failed = await self._open("buttons", self.parts.buttons, cfg, fix)
        if buttons is None:
            return failed
        results = [await _guard("buttons", _run_sync(checks.check_buttons, buttons, cfg))]
        done: frozenset[ButtonName] = frozenset()
        for name in BUTTONS if interactive else ():
            check = checks.check_button_press(buttons, name, cfg, self.asker, done=done)
            results.append(await _guard(f"button {name}", check))
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
            check = checks.check_nfc_tap(nfc, cfg, badges, self.asker)
            results.append(await _guard("nfc tap", check))
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
            return None, [checks.failed_to_open(name, exc, default_fix)]
        return part, []


def _report(results: list[CheckResult], *, out: TextIO, as_json: bool) -> int:
    out.write(format_json(results) if as_json else format_table(results))
    out.flush()
    return exit_code(results)


async def _describe_nfc_reader(cfg: NfcConfig) -> str:
    """Open the configured NFC reader, name it and close it (nfcpy probes USB or UART)."""
    try:
        from hw.nfc.frontend import describe_reader
    except ImportError as exc:
        raise BackendMissing("nfc reader", f"no module {exc.name}") from exc
    return await asyncio.to_thread(describe_reader, cfg.path)


def _act_on_emulated(device: EmulatedDevice, prompt: Prompt) -> None:
    """Do on the emulated device what the doctor asked a person to do."""
    if prompt.part == "scanner":
        device.scanner.scan(checks.TEST_QR)
    elif prompt.part == "keypad":
        device.keypad.press("enter")
    elif prompt.part == "button" and prompt.button is not None:
        device.buttons.press(prompt.button)
    elif prompt.part == "nfc":
        device.nfc.tap(EMULATED_BADGE)


async def _guard(name: str, check: Awaitable[CheckResult]) -> CheckResult:
    """Run one check; an exception it did not expect is a FAIL row, not the end of the run."""
    try:
        return await check
    except Exception as exc:
        log.exception("doctor:%s check failed unexpectedly", name)
        return CheckResult(name, Status.FAIL, f"the check itself failed: {exc!r}", _REPORT_FIX)


async def _guard_many(name: str, check: Awaitable[list[CheckResult]]) -> list[CheckResult]:
    try:
        return await check
    except Exception as exc:
        log.exception("doctor:%s check failed unexpectedly", name)
        return [CheckResult(name, Status.FAIL, f"the check itself failed: {exc!r}", _REPORT_FIX)]


_REPORT_FIX = "run payterm -v doctor and send the log with the report"


async def _run_sync(func: Callable[..., CheckResult], *args: Any) -> CheckResult:
    return func(*args)


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


def _relative_to(config: Config, folder: Path) -> Config:
    """Paths in the file are relative to its folder, as :func:`load_config` makes them."""
    terminal = config.terminal
    secrets = terminal.secrets_file
    terminal = dataclasses.replace(
        terminal,
        data_dir=folder / terminal.data_dir,
        secrets_file=None if secrets is None else folder / secrets,
    )
    return dataclasses.replace(config, terminal=terminal)
