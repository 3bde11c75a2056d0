"""The doctor's checks: each a small function returning a :class:`CheckResult`."""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import shlex
import shutil
import socket
import sqlite3
import ssl
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar
from urllib.parse import urlsplit

from hw.base import ButtonName, Buttons, Display, Keypad, NfcReader, Printer, Scanner
from hw.errors import HardwareError
from terminal.clock import TIMESYNC_FLAG
from terminal.config.loader import load_config
from terminal.config.model import ButtonsConfig, Config, NfcConfig, ProviderConfig
from terminal.errors import ConfigError, JournalError
from terminal.views.model import Screen

__all__ = [
    "BackendMissing",
    "CheckResult",
    "Prompt",
    "Asker",
    "Status",
    "SystemProbes",
    "DISK_FAIL_BYTES",
    "PRINTER_FIX",
    "PROMPT_TIMEOUT_S",
    "DISK_WARN_BYTES",
    "TEST_QR",
    "TEST_SCREEN",
    "check_config",
    "check_secrets_file",
    "check_clock",
    "check_disk",
    "check_journal",
    "check_provider",
    "check_display",
    "check_printer",
    "check_scanner_scan",
    "terminal_is_running",
    "held_parts",
    "HELD_BY_TERMINAL",
    "check_keypad_key",
    "check_buttons",
    "check_button_press",
    "check_nfc_tap",
    "failed_to_open",
    "header_pin",
    "split_fix",
]

log = logging.getLogger(__name__)

DISK_FAIL_BYTES = 50_000_000  # below this the journal may soon refuse new payments
DISK_WARN_BYTES = 200_000_000  # a few weeks of logs and journal growth on a busy terminal
NETWORK_TIMEOUT_S = 5.0  # a provider slower than this to answer a handshake fails payments too
COMMAND_TIMEOUT_S = 5.0  # timedatectl answers in milliseconds when systemd is healthy
PROMPT_TIMEOUT_S = 30.0  # long enough to pick up a badge or a phone, short enough to notice

#: What the display test draws: every region of the layout (title, amount, hint, QR).
TEST_QR = "PAYTERM DOCTOR"
TEST_SCREEN = Screen(
    name="doctor", title="TEST", amount="8888.88", lines=("payterm doctor",), qr=TEST_QR
)

_T = TypeVar("_T")

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


class Status(enum.StrEnum):
    """How a check went: FAIL makes the doctor exit non-zero; WARN and SKIP do not."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the report: what was checked, how it went, and the fix in words."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class Prompt:
    """An action the doctor asks of the technician: a scan, a key, a button press, a tap."""

    part: Literal["scanner", "keypad", "button", "nfc"]
    text: str
    button: ButtonName | None = None


@dataclass(frozen=True, slots=True)
class SystemProbes:
    """What the system checks look at; tests put their own files, tools and TLS trust here."""

    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context
    timesync_flag: Path = TIMESYNC_FLAG
    timedatectl: str | None = field(default_factory=lambda: shutil.which("timedatectl"))
    disk_usage: Callable[[Path], tuple[int, int, int]] = shutil.disk_usage
    network_timeout_s: float = NETWORK_TIMEOUT_S


class BackendMissing(Exception):
    """The backend module or factory of a part is not installed on this terminal."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"this terminal has no {part} backend installed ({reason})")
        self.part = part


class Asker:
    """Asks the technician for one action and waits for what it produces. Loop-only.

    ``act`` is who performs the action instead of a person (the emulated device, a test); it
    may return an awaitable, which runs while the doctor waits.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        act: Callable[[Prompt], object] | None = None,
        timeout_s: float = PROMPT_TIMEOUT_S,
    ) -> None:
        self.out = out
        self.act = act
        self.timeout_s = timeout_s

    async def ask(
        self,
        prompt: Prompt,
        items: AsyncIterator[_T],
        *,
        accept: Callable[[_T], bool] | None = None,
    ) -> _T | None:
        """Show ``prompt``; return the first item ``accept`` takes (any), or None on timeout."""
        self.out.write(f">>> {prompt.text} (within {self.timeout_s:g} s)\n")
        self.out.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s  # the loop's clock is monotonic
        waiter = asyncio.ensure_future(_first(items, accept))
        try:
            acted = self.act(prompt) if self.act is not None else None
            if isawaitable(acted):
                await asyncio.wait_for(acted, self.timeout_s)
            return await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
        except TimeoutError:
            return None
        finally:
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
            close = getattr(items, "aclose", None)
            if close is not None:
                await close()


# --- configuration -------------------------------------------------------------------------


def check_config(config: Config | None, error: ConfigError | None = None) -> CheckResult:
    """The configuration file (and its secrets file) loads without a ConfigError."""
    source = config.source if config is not None else (error.path if error else "")
    if error is None and config is not None and Path(config.source).is_file():
        try:
            load_config(Path(config.source))  # read again: the file may have changed since
        except ConfigError as exc:
            error = exc
    if error is not None or config is None:
        fix = f"correct the setting named, then run: payterm check-config {shlex.quote(source)}"
        return CheckResult("config", Status.FAIL, str(error), fix)
    detail = f"{source}: {len(config.providers)} provider(s), hardware {config.terminal.hardware}"
    return CheckResult("config", Status.PASS, detail)


def check_secrets_file(config: Config) -> CheckResult:
    """The secrets file exists and no user other than its owner and group may read or write it."""
    path = config.terminal.secrets_file
    if path is None:
        return CheckResult("secrets file", Status.SKIP, "none configured (terminal.secrets_file)")
    quoted = shlex.quote(str(path))
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        fix = f"create it from config/secrets.example.toml, then run: chmod 600 {quoted}"
        return CheckResult("secrets file", Status.FAIL, f"{path} does not exist", fix)
    except OSError as exc:
        fix = "run the doctor as the terminal's user (or root) to check it"
        return CheckResult("secrets file", Status.FAIL, f"{path}: {exc.strerror or exc}", fix)
    if mode & 0o006:
        may = " and ".join(w for w, bit in (("read", 0o004), ("write", 0o002)) if mode & bit)
        detail = f"{path} has mode {mode:04o}: every user on the terminal may {may} it"
        return CheckResult("secrets file", Status.FAIL, detail, f"run: chmod 600 {quoted}")
    return CheckResult("secrets file", Status.PASS, f"{path}: mode {mode:04o}")


# --- the system ---------------------------------------------------------------------------


async def check_clock(probes: SystemProbes) -> CheckResult:
    """The wall clock is NTP-synchronised (a Pi has no clock of its own); else WARN."""
    if probes.timesync_flag.exists():
        return CheckResult("clock", Status.PASS, "synchronised (systemd-timesyncd)")
    fix = (
        "check the network and the NTP server (timedatectl timesync-status); until then "
        "records carry an unsynchronised mark"
    )
    if probes.timedatectl is None:
        detail = f"cannot tell: no {probes.timesync_flag} and no timedatectl"
        return CheckResult("clock", Status.WARN, detail, fix)
    answer = await _command_output(
        [probes.timedatectl, "show", "-p", "NTPSynchronized", "--value"], COMMAND_TIMEOUT_S
    )
    if answer == "yes":
        return CheckResult("clock", Status.PASS, "synchronised (timedatectl)")
    if answer == "no":
        return CheckResult("clock", Status.WARN, "not synchronised yet", fix)
    return CheckResult("clock", Status.WARN, f"cannot tell (timedatectl: {answer})", fix)


def check_disk(config: Config, probes: SystemProbes) -> CheckResult:
    """Free space where the journal lives: FAIL below 50 MB, WARN below 200 MB."""
    data_dir = config.terminal.data_dir
    where = _existing_ancestor(data_dir)
    note = "" if where == data_dir else f" (on {where}: {data_dir} is not made yet)"
    try:
        total, _used, free = probes.disk_usage(where)
    except OSError as exc:
        fix = "check that the data folder's storage is mounted"
        return CheckResult("disk", Status.FAIL, f"{where}: {exc.strerror or exc}", fix)
    detail = f"{_size(free)} free of {_size(total)} for {data_dir}{note}"
    fix = (
        "free space (e.g. journalctl --vacuum-size=50M) or use a larger card; "
        "with a full disk the journal refuses new payments"
    )
    if free < DISK_FAIL_BYTES:
        return CheckResult("disk", Status.FAIL, detail, fix)
    if free < DISK_WARN_BYTES:
        return CheckResult("disk", Status.WARN, detail, fix)
    return CheckResult("disk", Status.PASS, detail)


async def check_journal(config: Config) -> CheckResult:
    """SQLite's integrity check on the journal; SKIP when the running terminal holds it."""
    from terminal.app import JOURNAL_FILE  # the app module is heavy; only this check needs it

    path = config.terminal.data_dir / JOURNAL_FILE
    if not path.exists():
        return CheckResult("journal", Status.SKIP, f"{path}: none yet (made at the first start)")
    try:
        verdict, status = await asyncio.to_thread(_inspect_journal, path, config.terminal.id)
    except JournalError as exc:
        if _held_by_another(exc):
            detail = f"{path}: {HELD_BY_TERMINAL}, not checked"
            return CheckResult("journal", Status.SKIP, detail, STOP_TERMINAL_FIX)
        return CheckResult("journal", Status.FAIL, str(exc), _JOURNAL_FIX)
    if verdict != "ok":
        return CheckResult("journal", Status.FAIL, f"{path}: {verdict}", _JOURNAL_FIX)
    detail = (
        f"{path}: integrity ok, shift {status.get('current_shift')}, "
        f"{status.get('unresolved')} unresolved, {status.get('outbox_pending')} to sync"
    )
    return CheckResult("journal", Status.PASS, detail)


#: What the journal check says when the terminal is running (it holds the journal).
HELD_BY_TERMINAL = "in use by the running terminal"
STOP_TERMINAL_FIX = "to check it, stop the terminal first (systemctl stop payterm)"


def terminal_is_running(journal: CheckResult) -> bool:
    """True when the journal check found the journal held by the running terminal."""
    return journal.status is Status.SKIP and HELD_BY_TERMINAL in journal.detail


def held_parts() -> list[CheckResult]:
    """The parts a running terminal holds (grabbed, claimed), as SKIP rows: not opened."""
    parts = ("display", "printer", "scanner", "keypad", "buttons", "nfc reader")
    detail = f"{HELD_BY_TERMINAL}, not opened"
    return [CheckResult(part, Status.SKIP, detail, STOP_TERMINAL_FIX) for part in parts]


_JOURNAL_FIX = (
    "stop the terminal and copy the journal aside (never delete it: it holds payments); "
    "restore the latest backup and report the damaged copy"
)


# --- providers ----------------------------------------------------------------------------


async def check_provider(name: str, cfg: ProviderConfig, probes: SystemProbes) -> list[CheckResult]:
    """DNS resolution and a TLS handshake (plain TCP for http://) with the provider's host."""
    label = f"provider {name}"
    if cfg.url == "embedded":
        return [CheckResult(label, Status.SKIP, "embedded sandbox: runs inside the terminal")]
    parts = urlsplit(cfg.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    dns = await _check_dns(f"{label} dns", host, port, probes.network_timeout_s)
    if dns.status is not Status.PASS:
        return [dns]
    if parts.scheme != "https":
        return [dns, await _check_tcp(f"{label} tcp", host, port, probes.network_timeout_s)]
    return [dns, await _check_tls(f"{label} tls", host, port, probes)]


async def _check_dns(label: str, host: str, port: int, timeout_s: float) -> CheckResult:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s
        )
    except (OSError, TimeoutError) as exc:
        detail = f"cannot resolve {host}: {_reason(exc)}"
        fix = "check the network link and the DNS server (resolvectl status), or the url's host"
        return CheckResult(label, Status.FAIL, detail, fix)
    addresses = sorted({str(info[4][0]) for info in infos})
    return CheckResult(label, Status.PASS, f"{host} → {', '.join(addresses)}")


async def _check_tcp(label: str, host: str, port: int, timeout_s: float) -> CheckResult:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        return CheckResult(label, Status.FAIL, f"{host}:{port}: {_reason(exc)}", _reach_fix(port))
    await _close_writer(writer)
    return CheckResult(label, Status.PASS, f"{host}:{port} reachable (plain http, no TLS)")


async def _check_tls(label: str, host: str, port: int, probes: SystemProbes) -> CheckResult:
    context = probes.tls_context()
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host),
            probes.network_timeout_s,
        )
    except ssl.SSLCertVerificationError as exc:
        detail = f"{host}:{port}: certificate not accepted: {exc.verify_message or exc}"
        fix = (
            "if the clock is wrong (see clock) correct it first; otherwise something on the "
            "network intercepts TLS, or the CA certificates are old (apt install ca-certificates)"
        )
        return CheckResult(label, Status.FAIL, detail, fix)
    except (OSError, TimeoutError) as exc:
        return CheckResult(label, Status.FAIL, f"{host}:{port}: {_reason(exc)}", _reach_fix(port))
    tls = writer.get_extra_info("ssl_object")
    version = tls.version() if tls is not None else "TLS"
    cert = writer.get_extra_info("peercert") or {}
    await _close_writer(writer)
    until = f", certificate valid until {cert['notAfter']}" if "notAfter" in cert else ""
    return CheckResult(label, Status.PASS, f"{host}:{port} {version}{until}")


def _reach_fix(port: int) -> str:
    return f"check the network link and that the firewall lets the terminal out to port {port}"


# --- hardware -----------------------------------------------------------------------------


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


# --- helpers ------------------------------------------------------------------------------


async def _first(items: AsyncIterator[_T], accept: Callable[[Any], bool] | None) -> _T | None:
    async for item in items:
        if accept is None or accept(item):
            return item
    return None


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


def _inspect_journal(path: Path, terminal_id: str) -> tuple[str, dict[str, object]]:
    """Runs in a worker thread: open, check and close the journal, recording nothing."""
    from terminal.journal import Journal

    with Journal.open(path, terminal_id=terminal_id) as journal:
        return journal.integrity_check(), journal.status()


def _held_by_another(exc: JournalError) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(cause, sqlite3.Error) and isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "in use by another" in str(exc)


async def _command_output(argv: list[str], timeout_s: float) -> str:
    """The command's stripped stdout, or what went wrong in words."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"no answer in {timeout_s:g} s"
    if proc.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        return said[0] if said else f"exit status {proc.returncode}"
    return out.decode(errors="replace").strip()


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):  # the handshake succeeded; a rude close does not matter
        pass


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror | ssl.SSLError):
        return str(exc.strerror or exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _size(count: int) -> str:
    if count >= 10_000_000_000:
        return f"{count // 1_000_000_000} GB"
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f} GB"
    return f"{count // 1_000_000} MB"
