"""The Scanner and Keypad contracts, kept by the emulated parts and the evdev backends.

Each backend comes with a driver that scans or presses the way its hardware would: the
emulated parts by hand, the evdev backends through a pipe of the kernel's ``input_event``
structs. With ``PAYTERM_HW_TEST=1`` the evdev backends also run over a kernel ``UInput``
device (where ``/dev/uinput`` can be written), and the configured real scanner and keypad
(``PAYTERM_HW_SCANNER``, ``PAYTERM_HW_KEYPAD``; the udev symlinks by default) are opened,
grabbed and released.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hw.base import KEY_NAMES, OPERATOR_KEYS, Keypad, Scanner
from hw.emulated import EmulatedKeypad, EmulatedScanner
from hw.input.keymaps import KEY, RawEvent, typed_events
from terminal.clock import FakeClock
from terminal.config.model import KeypadConfig, ScannerConfig

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")

# Read at import: the autouse ``clean_environ`` fixture clears PAYTERM_* before each test.
HW_TEST = os.environ.get("PAYTERM_HW_TEST") == "1"
REAL_SCANNER = os.environ.get("PAYTERM_HW_SCANNER", "/dev/payterm/scanner")
REAL_KEYPAD = os.environ.get("PAYTERM_HW_KEYPAD", "/dev/payterm/keypad")
UINPUT = "/dev/uinput"
LOCK_FILE = Path("/tmp/payterm-hw-test.lock")  # noqa: S108 - one rig, one test run at a time

real_hw = pytest.mark.skipif(
    not HW_TEST, reason="real devices are tested only with PAYTERM_HW_TEST=1"
)
needs_uinput = pytest.mark.skipif(
    not (HW_TEST and os.access(UINPUT, os.W_OK)),
    reason=f"kernel devices need PAYTERM_HW_TEST=1 and a writable {UINPUT}",
)

#: How each keypad key name is pressed on a USB keypad (NumLock on).
KEYPAD_KEYS = {
    **{str(d): f"KEY_KP{d}" for d in range(10)},
    "enter": "KEY_KPENTER",
    "backspace": "KEY_BACKSPACE",
    "clear": "KEY_KPDOT",
    **{f: f"KEY_KP{key.upper()}" for f, key in OPERATOR_KEYS.items()},
}

SCANS = [
    "281234567890123456",  # a wallet's payment code
    "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2?type=02&bank=100000000111"
    "&sum=10000&cur=RUB&crc=C08B",
    "https://qr.alipay.com/bax08431nmw1nrkqvbkz0023",
    "weixin://wxpay/bizpayurl?pr=AbCdEfG",
    "Aa Zz~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
]


@dataclass
class ScannerRig:
    """A scanner and a way to scan a code with it."""

    scanner: Scanner
    scan: Callable[[str], None]
    cleanups: list[Callable[[], Any]] = field(default_factory=list)


@dataclass
class KeypadRig:
    """A keypad, a way to press a key by name, and the names it can yield."""

    keypad: Keypad
    press: Callable[[str], None]
    names: frozenset[str]
    cleanups: list[Callable[[], Any]] = field(default_factory=list)


class _Typist:
    """Sends typed events down a pipe, each scan a second after the one before."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send
        self._t_s = 0.0

    def scan(self, text: str) -> None:
        self._send(typed_events(text, start_s=self._t_s))
        self._t_s += 1.0

    def press(self, name: str) -> None:
        code = KEY[KEYPAD_KEYS[name]]
        self._send([RawEvent(0, 0, 1, code, 1), RawEvent(0, 0, 1, code, 0)])


def _emulated_scanner() -> ScannerRig:
    scanner = EmulatedScanner()
    return ScannerRig(scanner, scanner.scan)


def _pipe_scanner() -> ScannerRig:
    pytest.importorskip("evdev")
    from hw.input.evdev_scanner import open_evdev_scanner
    from hw.input.event_pipe import EventPipe

    pipe = EventPipe(name="contract scanner")
    scanner = open_evdev_scanner(ScannerConfig(), device=pipe.device, clock=FakeClock())
    return ScannerRig(scanner, _Typist(pipe.send).scan, [pipe.close])


def _uinput_scanner() -> ScannerRig:
    from hw.input.evdev_scanner import open_evdev_scanner

    ui, name = _uinput("scanner")
    scanner = open_evdev_scanner(ScannerConfig(device=f"name:{name}"))
    return ScannerRig(scanner, _Typist(_writer(ui)).scan, [ui.close])


def _emulated_keypad() -> KeypadRig:
    keypad = EmulatedKeypad()
    return KeypadRig(keypad, keypad.press, KEY_NAMES)


def _pipe_keypad() -> KeypadRig:
    pytest.importorskip("evdev")
    from hw.input.evdev_keypad import open_evdev_keypad
    from hw.input.event_pipe import EventPipe

    pipe = EventPipe(name="contract keypad")
    keypad = open_evdev_keypad(KeypadConfig(), device=pipe.device, clock=FakeClock())
    return KeypadRig(keypad, _Typist(pipe.send).press, frozenset(KEYPAD_KEYS), [pipe.close])


def _uinput_keypad() -> KeypadRig:
    from hw.input.evdev_keypad import open_evdev_keypad

    ui, name = _uinput("keypad")
    keypad = open_evdev_keypad(KeypadConfig(device=f"name:{name}"))
    return KeypadRig(keypad, _Typist(_writer(ui)).press, frozenset(KEYPAD_KEYS), [ui.close])


def _uinput(part: str) -> tuple[Any, str]:
    from evdev import UInput, ecodes

    name = f"payterm contract {part} {os.getpid()}"
    return UInput({ecodes.EV_KEY: sorted(KEY.values())}, name=name), name


def _writer(ui: Any) -> Callable[[list[RawEvent]], None]:
    def send(events: list[RawEvent]) -> None:
        for event in events:
            ui.write(event.type, event.code, event.value)
        ui.syn()

    return send


SCANNERS = [
    pytest.param(_emulated_scanner, id="emulated"),
    pytest.param(_pipe_scanner, id="evdev-pipe"),
    pytest.param(_uinput_scanner, id="evdev-uinput", marks=needs_uinput),
]
KEYPADS = [
    pytest.param(_emulated_keypad, id="emulated"),
    pytest.param(_pipe_keypad, id="evdev-pipe"),
    pytest.param(_uinput_keypad, id="evdev-uinput", marks=needs_uinput),
]


@pytest.fixture(params=SCANNERS)
async def scanner_rig(request: pytest.FixtureRequest) -> AsyncIterator[ScannerRig]:
    rig: ScannerRig = request.param()
    yield rig
    await rig.scanner.aclose()
    for cleanup in rig.cleanups:
        cleanup()


@pytest.fixture(params=KEYPADS)
async def keypad_rig(request: pytest.FixtureRequest) -> AsyncIterator[KeypadRig]:
    rig: KeypadRig = request.param()
    yield rig
    await rig.keypad.aclose()
    for cleanup in rig.cleanups:
        cleanup()


# --- Scanner -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", SCANS)
async def test_a_scan_is_yielded_as_its_text(scanner_rig: ScannerRig, text: str) -> None:
    codes = scanner_rig.scanner.codes()
    scanner_rig.scan(text)
    assert await anext(codes) == text


async def test_scans_come_in_order(scanner_rig: ScannerRig) -> None:
    codes = scanner_rig.scanner.codes()
    for text in ("one", "two", "three"):
        scanner_rig.scan(text)
    assert [await anext(codes) for _ in range(3)] == ["one", "two", "three"]


async def test_aclose_ends_a_waiting_codes(scanner_rig: ScannerRig) -> None:
    pending = asyncio.ensure_future(anext(scanner_rig.scanner.codes(), None))
    await asyncio.sleep(0)
    await scanner_rig.scanner.aclose()
    assert await pending is None


async def test_scanner_aclose_is_idempotent_and_repr_says_closed(scanner_rig: ScannerRig) -> None:
    await scanner_rig.scanner.aclose()
    await scanner_rig.scanner.aclose()
    assert "closed" in repr(scanner_rig.scanner)


# --- Keypad ------------------------------------------------------------------------------


async def test_each_key_is_yielded_by_its_name(keypad_rig: KeypadRig) -> None:
    keys = keypad_rig.keypad.keys()
    order = sorted(keypad_rig.names)
    for name in order:
        keypad_rig.press(name)
    assert [await anext(keys) for _ in order] == order


def test_keypad_yields_every_name_but_double_zero(keypad_rig: KeypadRig) -> None:
    assert keypad_rig.names <= KEY_NAMES
    assert KEY_NAMES - keypad_rig.names <= {"00"}  # a USB keypad's 00 key sends 0 twice


async def test_aclose_ends_a_waiting_keys(keypad_rig: KeypadRig) -> None:
    pending = asyncio.ensure_future(anext(keypad_rig.keypad.keys(), None))
    await asyncio.sleep(0)
    await keypad_rig.keypad.aclose()
    assert await pending is None


async def test_keypad_aclose_is_idempotent_and_repr_says_closed(keypad_rig: KeypadRig) -> None:
    await keypad_rig.keypad.aclose()
    await keypad_rig.keypad.aclose()
    assert "closed" in repr(keypad_rig.keypad)


# --- the real devices --------------------------------------------------------------------


@pytest.fixture
def hw_lock() -> Iterator[None]:
    """One test run at a time on the rig's devices."""
    with LOCK_FILE.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@real_hw
@pytest.mark.usefixtures("hw_lock")
@pytest.mark.parametrize(("part", "device"), [("scanner", REAL_SCANNER), ("keypad", REAL_KEYPAD)])
async def test_real_device_is_found_grabbed_and_released(part: str, device: str) -> None:
    pytest.importorskip("evdev")
    from hw.input.evdev_keypad import open_evdev_keypad
    from hw.input.evdev_scanner import open_evdev_scanner

    def open_part() -> Any:
        if part == "scanner":
            return open_evdev_scanner(ScannerConfig(device=device))
        return open_evdev_keypad(KeypadConfig(device=device))

    first = open_part()
    first.connect()  # raises with the fix in words when it is not there
    assert first.status()["connected"] is True
    await first.aclose()
    second = open_part()  # the grab was released: it can be taken again
    second.connect()
    await second.aclose()
