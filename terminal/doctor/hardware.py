"""How the doctor opens each part: the emulated device's parts, or the Pi's backends.

No hardware library is imported until a part is opened.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from hw.base import Buttons, Display, Keypad, NfcReader, Printer, Scanner
from terminal.config.loader import DEMO_BADGE
from terminal.config.model import (
    ButtonsConfig,
    Config,
    DisplayConfig,
    KeypadConfig,
    NfcConfig,
    PrinterConfig,
    ScannerConfig,
)
from terminal.doctor.parts import TEST_QR, BackendMissing
from terminal.doctor.prompts import PROMPT_TIMEOUT_S, Prompt

if TYPE_CHECKING:
    from hw.emulated import EmulatedDevice

__all__ = [
    "EMULATED_BADGE",
    "DoctorHardware",
    "Opener",
    "backend_opener",
    "default_hardware",
    "emulated_hardware",
    "pi_hardware",
]

_C = TypeVar("_C")
_P = TypeVar("_P")
#: Opens a part from its config table: the part, or an awaitable of it.
Opener: TypeAlias = Callable[[_C], _P | Awaitable[_P]]
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
    """The emulated device ``config`` describes; prompts are answered by acting on its parts.

    The device is built from the same config as the Pi's parts (its pins, printer, display),
    so what the doctor reports is what the terminal will do.
    """
    if device is None:
        from hw.emulated import open_emulated_device

        device = open_emulated_device(config)
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
        device.scanner.scan(TEST_QR)
    elif prompt.part == "keypad":
        device.keypad.press("enter")
    elif prompt.part == "button" and prompt.button is not None:
        device.buttons.press(prompt.button)
    elif prompt.part == "nfc":
        device.nfc.tap(EMULATED_BADGE)
