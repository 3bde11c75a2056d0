"""The checks of the terminal's parts: display, printer, scanner, keypad, buttons, NFC reader.

Each part is checked once opened (the session opens them); a part that did not open is
one FAIL row made by :func:`failed_to_open` from what its factory raised.
"""

from __future__ import annotations

import logging
import re

from hw.base import BrokenScan, ButtonName, Buttons, Display, Keypad, NfcReader, Printer, Scanner
from hw.errors import HardwareError
from terminal.config.model import ButtonsConfig, NfcConfig
from terminal.doctor.prompts import Asker, Prompt
from terminal.doctor.results import CheckResult, Status
from terminal.errors import ConfigError
from terminal.views.model import Screen

__all__ = [
    "PRINTER_FIX",
    "TEST_QR",
    "TEST_SCREEN",
    "BackendMissing",
    "check_button_press",
    "check_buttons",
    "check_display",
    "check_keypad_key",
    "check_nfc_tap",
    "check_printer",
    "check_scanner_scan",
    "failed_to_open",
    "header_pin",
    "split_fix",
]

log = logging.getLogger(__name__)


#: What the display test draws: every region of the layout (title, amount, hint, QR).
TEST_QR = "PAYTERM DOCTOR"

TEST_SCREEN = Screen(
    name="doctor", title="TEST", amount="8888.88", lines=("payterm doctor",), qr=TEST_QR
)

#: BCM GPIO number → pin of the Raspberry Pi's 40-pin header.
_HEADER_PINS = {
    0: 27, 1: 28, 2: 3, 3: 5, 4: 7, 5: 29, 6: 31, 7: 26, 8: 24, 9: 21, 10: 19, 11: 23, 12: 32,
    13: 33, 14: 8, 15: 10, 16: 36, 17: 11, 18: 12, 19: 35, 20: 38, 21: 40, 22: 15, 23: 16,
    24: 18, 25: 22, 26: 37, 27: 13,
}  # fmt: skip

_GROUND_PINS = (6, 9, 14, 20, 25, 30, 34, 39)

#: Words a hardware error's advice starts with, after ": " or "; " ("…: check SDA→GPIO2").
_FIX_START = re.compile(
    r"(?:[:;]|\s[—-])\s+(?=(?:check|set|run|plug|connect|install|load|close|replace|add|enable"
    r"|use|turn|give|press|hold|move|free|remove|restart|power|make|put|unplug|wire|stop|see"
    r"|sudo|is it|on a raspberry pi|on a pi)\b)",
    re.IGNORECASE,
)


class BackendMissing(Exception):
    """The backend module or factory of a part is not installed on this terminal."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"this terminal has no {part} backend installed ({reason})")
        self.part = part


def failed_to_open(name: str, exc: BaseException, default_fix: str) -> CheckResult:
    """The FAIL row of a part whose factory raised: its message, and the fix it carries."""
    if isinstance(exc, BackendMissing):
        fix = "install the hardware backends: pip install 'payterm[pi]' (see docs/doctor.md)"
        return CheckResult(name, Status.FAIL, str(exc), fix)
    if isinstance(exc, ImportError):
        detail = f"this terminal has no {name} backend installed (missing {exc.name or exc})"
        fix = "install the hardware backends: pip install 'payterm[pi]' (see docs/doctor.md)"
        return CheckResult(name, Status.FAIL, detail, fix)
    if not isinstance(exc, HardwareError | OSError | ConfigError):
        log.error("doctor:%s failed unexpectedly", name, exc_info=exc)
    message = str(exc) or repr(exc)
    detail, fix = split_fix(message)
    return CheckResult(
        name, Status.FAIL, detail, str(getattr(exc, "fix", "") or fix or default_fix)
    )


def check_display(display: Display) -> CheckResult:
    """Draw the test screen (title, amount, hint and a QR) on the display."""
    try:
        display.show(TEST_SCREEN)
        flush = getattr(display, "flush", None)  # a display that pushes off the loop: wait
        if flush is not None:
            flush(DISPLAY_FLUSH_S)
    except HardwareError as exc:
        detail, fix = split_fix(str(exc))
        return CheckResult("display", Status.FAIL, detail, fix or "check the display's wiring")
    width, height = display.size
    where = _status_of(display).get("device", type(display).__name__)
    return CheckResult("display", Status.PASS, f"drew the test screen on {where} {width}x{height}")


async def check_printer(printer: Printer) -> CheckResult:
    """Ask the printer whether it is online and has paper."""
    query = getattr(printer, "aquery_status", None)
    try:
        status = await query() if query is not None else printer.status()
    except HardwareError as exc:
        detail, fix = split_fix(str(exc))
        return CheckResult("printer", Status.FAIL, detail, fix or PRINTER_FIX)
    said, fix = split_fix(status.detail)
    if not status.online:
        return CheckResult("printer", Status.FAIL, f"offline: {said}", fix or PRINTER_FIX)
    if not status.paper:
        fix = fix or "load a paper roll (thermal side out) and close the cover"
        return CheckResult("printer", Status.FAIL, f"online, {said}", fix)
    if "low" in status.detail or "cannot" in status.detail:
        fix = "load a new roll soon" if "low" in status.detail else ""
        return CheckResult("printer", Status.WARN, f"online, {status.detail}", fix)
    return CheckResult("printer", Status.PASS, f"online, {status.detail}")


#: How long the self-check waits for the test screen to reach the panel (a frame: ≈ 0.1 s).
DISPLAY_FLUSH_S = 5.0

PRINTER_FIX = "check the printer's power, cable and the [printer] connection settings"


async def check_scanner_scan(scanner: Scanner, device: str, asker: Asker) -> CheckResult:
    """Ask for a test scan and show what arrived."""
    prompt = Prompt("scanner", "scan any barcode or QR code with the scanner")
    code = await asker.ask(prompt, scanner.codes())
    if code is None:
        detail = f"no scan within {asker.timeout_s:g} s"
        fix = (
            "set the scanner to USB keyboard (HID) mode; if it beeps but nothing arrives, "
            f"check scanner.device ({device}) names it (ls -l /dev/input/by-id)"
        )
        return CheckResult("scanner scan", Status.FAIL, detail, fix)
    if isinstance(code, BrokenScan):
        detail = f"the scan arrived broken ({code.reason})"
        fix = "scan again; if scans keep breaking, set the scanner to a steady USB keyboard speed"
        return CheckResult("scanner scan", Status.FAIL, detail, fix)
    shown = code if len(code) <= 24 else f"{code[:21]}..."
    return CheckResult("scanner scan", Status.PASS, f"read {shown!r} ({len(code)} characters)")


async def check_keypad_key(keypad: Keypad, device: str, asker: Asker) -> CheckResult:
    """Ask for a key on the keypad and show which one arrived."""
    key = await asker.ask(Prompt("keypad", "press any key on the keypad"), keypad.keys())
    if key is None:
        fix = f"check keypad.device ({device}) names the keypad (ls -l /dev/input/by-id)"
        detail = f"no key within {asker.timeout_s:g} s"
        return CheckResult("keypad key", Status.FAIL, detail, fix)
    return CheckResult("keypad key", Status.PASS, f"got {key!r}")


def check_buttons(buttons: Buttons, cfg: ButtonsConfig) -> CheckResult:
    """Opened buttons: a button that reads as held while nobody touches it is a WARN."""
    pins = _button_pins(buttons, cfg)
    listed = ", ".join(f"{name} GPIO{pin}" for name, pin in pins.items())
    held_map = _status_of(buttons).get("held")
    held = sorted(n for n, v in held_map.items() if v) if isinstance(held_map, dict) else []
    if held:
        detail = f"{', '.join(held)} reads as pressed while nobody touches it ({listed})"
        fix = "check for a short to ground, and buttons.pull_up (true: buttons connect to GND)"
        return CheckResult("buttons", Status.WARN, detail, fix)
    return CheckResult("buttons", Status.PASS, f"opened {listed}")


async def check_button_press(
    buttons: Buttons,
    name: ButtonName,
    cfg: ButtonsConfig,
    asker: Asker,
    *,
    done: frozenset[ButtonName] = frozenset(),
) -> CheckResult:
    """Ask for one button to be pressed; a timeout names its pin and how it is wired.

    Presses of the buttons in ``done`` (already checked) are ignored: a second press of the
    previous button is no sign of crossed wires.
    """
    pins = _button_pins(buttons, cfg)
    pin = pins[name]
    hold_s = _status_of(buttons).get("force_hold_s", cfg.force_hold_s)
    hold = f" and hold it {hold_s:g} s" if name == "force" and hold_s else ""
    prompt = Prompt("button", f"press {name.upper()}{hold} (GPIO{pin})", button=name)
    got = await asker.ask(prompt, buttons.presses(), accept=lambda b: b not in done)
    label = f"button {name}"
    if got == name:
        return CheckResult(label, Status.PASS, f"pressed on GPIO{pin}")
    if got is not None:
        other = pins.get(got, "?")
        detail = f"{got.upper()} (GPIO{other}) arrived when {name.upper()} (GPIO{pin}) was asked"
        fix = f"the wires of {name} and {got} are swapped, or set buttons.{name}_pin"
        return CheckResult(label, Status.FAIL, detail, fix)
    return CheckResult(label, Status.FAIL, f"no press within {asker.timeout_s:g} s", _wiring(pin))


async def check_nfc_tap(
    nfc: NfcReader, cfg: NfcConfig, badges: tuple[str, ...], asker: Asker
) -> CheckResult:
    """Ask for a badge tap; say whether it is a supervisor's badge (the UID is shown masked)."""
    uid = await asker.ask(Prompt("nfc", "tap a badge on the NFC reader"), nfc.taps())
    if uid is None:
        fix = f"hold the badge flat on the reader for a second; check nfc.path ({cfg.path})"
        return CheckResult("nfc tap", Status.FAIL, f"no badge within {asker.timeout_s:g} s", fix)
    masked = f"{uid[:4]}…{uid[-2:]}"
    if _is_supervisor_badge(uid, badges):
        return CheckResult("nfc tap", Status.PASS, f"badge {masked}: a supervisor badge")
    return CheckResult("nfc tap", Status.PASS, f"badge {masked}: not a supervisor badge")


def header_pin(bcm: int) -> str:
    """Where BCM GPIO ``bcm`` is on the 40-pin header, and the nearest ground pin."""
    pin = _HEADER_PINS.get(bcm)
    if pin is None:
        return f"GPIO{bcm} is not on the 40-pin header"
    ground = min(_GROUND_PINS, key=lambda g: abs(g - pin))
    return f"GPIO{bcm} is header pin {pin} (ground: pin {ground})"


def split_fix(message: str) -> tuple[str, str]:
    """Split an error message into what is wrong and the advice it ends with, if any."""
    found = _FIX_START.search(message)
    if found is None:
        return message, ""
    return message[: found.start()].rstrip(), message[found.end() :].strip()


def _wiring(pin: int) -> str:
    return (
        f"check the wiring: {header_pin(pin)}; the button connects the pin to ground when "
        "buttons.pull_up = true (the default); or set the right buttons.*_pin"
    )


def _button_pins(buttons: Buttons, cfg: ButtonsConfig) -> dict[ButtonName, int]:
    """The pins the opened buttons report, else the configured ones."""
    pins = _status_of(buttons).get("pins")
    if isinstance(pins, dict) and pins:
        return {name: int(pin) for name, pin in pins.items()}
    return {"retry": cfg.retry_pin, "cancel": cfg.cancel_pin, "force": cfg.force_pin}


def _status_of(part: object) -> dict[str, object]:
    status = getattr(part, "status", None)
    if not callable(status):
        return {}
    try:
        value = status()
    except (HardwareError, OSError):
        return {}
    return value if isinstance(value, dict) else {}


def _is_supervisor_badge(uid: str, badges: tuple[str, ...]) -> bool:
    """Whether ``uid`` is listed in ``badges`` (plain UIDs, or their digests on a reader)."""
    try:
        from hw.nfc.badges import badge_matches
    except ImportError:
        return uid.lower() in badges
    try:
        return badge_matches(uid, badges)
    except ValueError:  # not a UID at all: certainly no supervisor's
        return False
