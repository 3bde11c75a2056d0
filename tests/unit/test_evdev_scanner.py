"""The evdev scanner: key events decoded to codes, and the device read, lost and found again."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import string
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest

evdev = pytest.importorskip("evdev")
from evdev import InputEvent, ecodes  # noqa: E402

from hw.base import BrokenScan, Scanner  # noqa: E402
from hw.errors import ScannerError  # noqa: E402
from hw.input.evdev_devices import EVIOCSCLOCKID, Selector, open_input_device  # noqa: E402
from hw.input.evdev_scanner import EvdevScanner, open_evdev_scanner  # noqa: E402
from hw.input.event_pipe import EventPipe  # noqa: E402
from hw.input.keymaps import KEY, char_for, typed_events  # noqa: E402
from hw.input.scan_decoder import ScanDecoder, ScanRejected  # noqa: E402
from terminal.clock import FakeClock  # noqa: E402
from terminal.config.model import ScannerConfig  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")

LOGGER = "payterm.hw.input"


def events(raw: Iterable[object]) -> list[InputEvent]:
    """The same events as ``evdev.InputEvent`` objects, as the kernel reader yields them."""
    return [InputEvent(e.sec, e.usec, e.type, e.code, e.value) for e in raw]  # type: ignore[attr-defined]


def typed(text: str, **kwargs: object) -> list[InputEvent]:
    return events(typed_events(text, **kwargs))  # type: ignore[arg-type]


def key(name: str, value: int, t_s: float) -> InputEvent:
    """One EV_KEY event at ``t_s`` seconds."""
    sec, usec = divmod(round(t_s * 1_000_000), 1_000_000)
    return InputEvent(sec, usec, ecodes.EV_KEY, ecodes.ecodes[name], value)


def tap(name: str, t_s: float) -> list[InputEvent]:
    """Key ``name`` down at ``t_s`` and up 1 ms later."""
    return [key(name, 1, t_s), key(name, 0, t_s + 0.001)]


def decode(seq: Iterable[InputEvent], decoder: ScanDecoder | None = None) -> list[object]:
    """Every code, rejection or broken scan ``seq`` makes (a broken scan as ``BROKEN``)."""
    decoder = decoder or ScanDecoder()
    results = [r for r in (decoder.feed(e) for e in seq) if r is not None]
    return [BROKEN if isinstance(r, BrokenScan) else r for r in results]


BROKEN = "<broken scan>"


# --- the key tables --------------------------------------------------------------------


def test_key_codes_are_the_kernels() -> None:
    wrong = {name: code for name, code in KEY.items() if ecodes.ecodes[name] != code}
    assert wrong == {}


def test_clock_ioctl_number_is_eviocsclockid() -> None:
    # _IOW('E', 0xa0, int): direction write (1 << 30), size 4, type 'E', number 0xa0
    assert EVIOCSCLOCKID == (1 << 30) | (4 << 16) | (ord("E") << 8) | 0xA0


@pytest.mark.parametrize(
    ("layout", "name", "shift", "expected"),
    [
        ("us", "KEY_A", False, "a"),
        ("us", "KEY_A", True, "A"),
        ("us", "KEY_2", True, "@"),
        ("us", "KEY_SLASH", True, "?"),
        ("us", "KEY_KP7", False, "7"),
        ("ru", "KEY_Q", False, "й"),
        ("ru", "KEY_Q", True, "Й"),
        ("ru", "KEY_3", True, "№"),
        ("ru", "KEY_SLASH", False, "."),
        ("ru", "KEY_GRAVE", True, "Ё"),
    ],
)
def test_char_for(layout: str, name: str, shift: bool, expected: str) -> None:
    assert char_for(layout, KEY[name], shift=shift) == expected  # type: ignore[arg-type]


def test_caps_lock_flips_letters_only() -> None:
    assert char_for("us", KEY["KEY_A"], shift=False, caps=True) == "A"
    assert char_for("us", KEY["KEY_A"], shift=True, caps=True) == "a"
    assert char_for("us", KEY["KEY_1"], shift=False, caps=True) == "1"


def test_keys_that_type_nothing() -> None:
    assert char_for("us", KEY["KEY_F5"], shift=False) is None
    assert char_for("us", KEY["KEY_ESC"], shift=True) is None


# --- the decoder, fed evdev InputEvents --------------------------------------------------


def test_every_printable_ascii_character_round_trips() -> None:
    text = string.ascii_letters + string.digits + string.punctuation + " "
    assert decode(typed(text)) == [text]


def test_russian_layout_round_trips() -> None:
    text = "Съешь ещё этих мягких булок, да выпей же чаю №1"
    assert decode(typed(text, layout="ru"), ScanDecoder("ru")) == [text]


def test_shift_held_by_either_hand() -> None:
    seq = [key("KEY_RIGHTSHIFT", 1, 0.0), *tap("KEY_A", 0.002), key("KEY_RIGHTSHIFT", 0, 0.004)]
    seq += tap("KEY_A", 0.006) + tap("KEY_ENTER", 0.008)
    assert decode(seq) == ["Aa"]


def test_caps_lock_from_the_scanner() -> None:
    seq = tap("KEY_CAPSLOCK", 0.0) + tap("KEY_A", 0.002) + tap("KEY_1", 0.004)
    seq += tap("KEY_CAPSLOCK", 0.006) + tap("KEY_A", 0.008) + tap("KEY_ENTER", 0.01)
    assert decode(seq) == ["A1a"]


def test_repeated_keys_each_count() -> None:
    assert decode(typed("1111AAAA")) == ["1111AAAA"]


def test_autorepeat_between_scans_is_ignored_and_inside_one_breaks_it() -> None:
    # Shift held before the first character: nothing typed yet, nothing lost.
    seq = [key("KEY_LEFTSHIFT", 1, 0.0), key("KEY_LEFTSHIFT", 2, 0.25)]
    seq += [key("KEY_LEFTSHIFT", 2, 0.283), *tap("KEY_A", 0.3), key("KEY_LEFTSHIFT", 0, 0.302)]
    assert decode([*seq, *tap("KEY_ENTER", 0.304)]) == ["A"]
    # A key repeating mid-scan: its key-up is late, the scan is broken.
    seq = [key("KEY_7", 1, 0.0), key("KEY_7", 2, 0.01), key("KEY_7", 2, 0.02)]
    seq += [key("KEY_7", 0, 0.03), *tap("KEY_ENTER", 0.04)]
    assert decode(seq) == [BROKEN]


@pytest.mark.parametrize("terminator", ["KEY_ENTER", "KEY_KPENTER", "KEY_TAB"])
def test_terminators(terminator: str) -> None:
    assert decode(typed("281234567890123456", terminator=terminator)) == ["281234567890123456"]


def test_keypad_digits_in_a_scan() -> None:
    seq = [e for i, d in enumerate("4711") for e in tap(f"KEY_KP{d}", i * 0.004)]
    assert decode(seq + tap("KEY_KPENTER", 0.02)) == ["4711"]


def test_enter_alone_is_nothing() -> None:
    assert decode(tap("KEY_ENTER", 0.0)) == []


def test_unknown_key_rejects_the_scan(caplog: pytest.LogCaptureFixture) -> None:
    seq = tap("KEY_1", 0.0) + tap("KEY_F5", 0.002) + tap("KEY_2", 0.004) + tap("KEY_ENTER", 0.006)
    seq += typed("OK", start_s=1.0)
    with caplog.at_level(logging.WARNING, LOGGER):
        assert decode(seq) == [ScanRejected("non-printable key KEY_F5", 3), "OK"]
    assert "rejected: non-printable key KEY_F5" in caplog.text


def test_a_key_with_no_name_here_is_named_by_number() -> None:
    seq = [key("KEY_1", 1, 0.0), InputEvent(0, 2000, ecodes.EV_KEY, 190, 1)]
    assert decode([*seq, *tap("KEY_ENTER", 0.004)]) == [
        ScanRejected("non-printable key key 190", 2)
    ]


def test_control_chord_rejects_the_scan() -> None:
    seq = [key("KEY_LEFTCTRL", 1, 0.0), *tap("KEY_A", 0.002), key("KEY_LEFTCTRL", 0, 0.004)]
    seq += tap("KEY_B", 0.006) + tap("KEY_ENTER", 0.008)
    assert decode(seq) == [ScanRejected("non-printable key KEY_LEFTCTRL+KEY_A", 2)]


def test_over_long_scan_rejected_and_exact_length_accepted() -> None:
    decoder = ScanDecoder(max_length=10)
    seq = typed("0123456789") + typed("0123456789X", start_s=1.0)
    assert decode(seq, decoder) == [
        "0123456789",
        ScanRejected("too long (11 characters, max 10)", 11),
    ]


def test_typing_is_a_broken_scan_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    slow = typed("12", gap_s=0.3, terminator="KEY_ENTER")
    with caplog.at_level(logging.INFO, LOGGER):
        assert decode(slow) == [BROKEN]
    assert "broken scan of 2 keys discarded" in caplog.text


def test_scan_interleaved_with_typing() -> None:
    person = [e for i, c in enumerate("abc") for e in tap(f"KEY_{c.upper()}", i * 0.4)]
    scan = typed("WALLET-42", start_s=2.0)
    more = [e for i, c in enumerate("xy") for e in tap(f"KEY_{c.upper()}", 3.0 + i * 0.4)]
    enter = tap("KEY_ENTER", 4.0)
    assert decode(person + scan + more + enter + typed("again", start_s=5.0)) == [
        BROKEN,
        "WALLET-42",
        BROKEN,
        "again",
    ]


def test_burst_without_enter_is_never_a_code(caplog: pytest.LogCaptureFixture) -> None:
    seq = typed("no-suffix", terminator=None) + typed("next", start_s=1.0)
    seq += typed("after", start_s=2.0)
    with caplog.at_level(logging.WARNING, LOGGER):
        assert decode(seq) == [BROKEN, "after"]
    assert "burst of 9 keys without Enter or Tab" in caplog.text
    assert "set the scanner to send an Enter suffix" in caplog.text


def test_late_enter_after_a_burst_breaks_it() -> None:
    seq = typed("12345", terminator=None) + tap("KEY_ENTER", 0.5)
    assert decode(seq) == [BROKEN]


def test_clock_going_back_mid_scan_breaks_it() -> None:
    seq = typed("old", start_s=5.0, terminator=None) + typed("new", start_s=1.0)
    assert decode(seq + typed("next", start_s=2.0)) == [BROKEN, "next"]


def test_kernel_dropping_events_breaks_the_scan(caplog: pytest.LogCaptureFixture) -> None:
    seq = typed("1234", terminator=None)
    seq.append(InputEvent(0, 9000, ecodes.EV_SYN, ecodes.SYN_DROPPED, 0))
    with caplog.at_level(logging.WARNING, LOGGER):
        assert decode(seq + typed("56", start_s=0.01)) == [BROKEN]
    # "5" went down before the SYN_REPORT that ends the cut packet: not counted.
    assert "broken scan of 5 keys discarded, none of it charged: the kernel dropped" in caplog.text


def test_typed_events_refuses_what_the_layout_cannot_type() -> None:
    with pytest.raises(ValueError, match="cannot be typed"):
        typed_events("ж", layout="us")


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout"):
        ScanDecoder("de")  # type: ignore[arg-type]


# --- choosing the device ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "name", "usb_id"),
    [
        ("/dev/payterm/scanner", "path", "", (0, 0)),
        ("name:Honeywell Scanner", "name", "Honeywell Scanner", (0, 0)),
        ("usb:0c2e:0b61", "usb", "", (0x0C2E, 0x0B61)),
    ],
)
def test_selector_parse(text: str, kind: str, name: str, usb_id: tuple[int, int]) -> None:
    selector = Selector.parse(text)
    assert (selector.kind, selector.name, selector.usb_id, str(selector)) == (
        kind,
        name,
        usb_id,
        text,
    )


@pytest.mark.parametrize("text", ["usb:xyz", "usb:0c2e", "scanner", "name:"])
def test_selector_refuses_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="usb:<vid>:<pid>"):
        Selector.parse(text)


def test_selector_matches_by_name_or_usb_id() -> None:
    assert Selector.parse("name:Scanner").matches("Scanner", 1, 2)
    assert not Selector.parse("name:Scanner").matches("Scanner Consumer Control", 1, 2)
    assert Selector.parse("usb:0c2e:0b61").matches("anything", 0x0C2E, 0x0B61)
    assert not Selector.parse("usb:0c2e:0b61").matches("anything", 0x0C2E, 0x0B62)
    assert not Selector.parse("/dev/input/event0").matches("x", 0, 0)


def test_bad_device_setting_is_a_scanner_error() -> None:
    with pytest.raises(ScannerError, match="scanner.device"):
        EvdevScanner("scanner0")


def test_bad_layout_setting_is_a_scanner_error() -> None:
    with pytest.raises(ScannerError, match="scanner.layout"):
        EvdevScanner("/dev/payterm/scanner", layout="de")  # type: ignore[arg-type]


def test_open_by_name_among_no_devices(tmp_path: os.PathLike[str]) -> None:
    with pytest.raises(FileNotFoundError, match="no input device named 'Scanner'"):
        open_input_device(Selector.parse("name:Scanner"), input_dir=str(tmp_path))


def test_open_by_name_with_an_evdev_older_than_1_7(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian 12's python3-evdev (1.6) has no ``writable`` argument: plain listing is used."""
    import evdev

    asked: list[str] = []

    def list_devices_1_6(input_device_dir: str = "/dev/input") -> list[str]:
        asked.append(input_device_dir)
        return []

    monkeypatch.setattr(evdev, "list_devices", list_devices_1_6)
    with pytest.raises(FileNotFoundError, match="no input device named 'Scanner'"):
        open_input_device(Selector.parse("name:Scanner"), input_dir=str(tmp_path))
    assert asked == [str(tmp_path)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, r"no scanner there; is it plugged in\? Check the udev rule"),
        (lambda p: p.write_bytes(b""), "not an input event device"),
        (lambda p: (p.write_bytes(b""), p.chmod(0)), "permission denied"),
    ],
)
def test_connect_says_what_to_fix(
    tmp_path: os.PathLike[str], make: Callable[[object], object], message: str
) -> None:
    from pathlib import Path

    path = Path(tmp_path) / "scanner"
    make(path)
    if "permission" in message and os.access(path, os.R_OK):
        pytest.skip("running as root: every file is readable")
    scanner = EvdevScanner(str(path))
    with pytest.raises(ScannerError, match=message) as raised:
        scanner.connect()
    assert raised.value.device == str(path)


# --- the scanner over a pipe of input_event structs -------------------------------------


class Rig:
    """A scanner reading an :class:`EventPipe`; ``plug()`` makes the next device appear."""

    def __init__(self, *, grab: bool = True, max_length: int = 128) -> None:
        self.clock = FakeClock()
        self.pipe = EventPipe(name="Test Scanner")
        self.spares: list[EventPipe] = []
        self.t_s = 0.0
        self.scanner = open_evdev_scanner(
            ScannerConfig(device="/dev/payterm/scanner", grab=grab, max_length=max_length),
            device=self.pipe.device,
            open_device=self._open,
            clock=self.clock,
        )

    def _open(self) -> Any:
        if not self.spares:
            raise FileNotFoundError(errno.ENOENT, "No such file", "/dev/payterm/scanner")
        self.pipe = self.spares.pop(0)
        return self.pipe.device

    def scan(self, text: str, **kwargs: object) -> None:
        self.pipe.send(typed(text, start_s=self.t_s, **kwargs))
        self.t_s += 1.0

    def plug(self) -> EventPipe:
        pipe = EventPipe(name="Test Scanner")
        self.spares.append(pipe)
        return pipe

    async def poll(self) -> None:
        """Let the scanner's replug poll run once: wait for its sleep, move time on, and
        wait until it either connected or went back to sleep."""
        while self.clock.next_deadline() is None:
            await asyncio.sleep(0)
        self.clock.advance(1.0)
        while self.clock.next_deadline() is None and not self.scanner.is_connected:
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        await self.scanner.aclose()
        self.pipe.close()
        for pipe in self.spares:
            pipe.close()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    made = Rig()
    yield made
    await made.aclose()


async def test_scanner_is_a_scanner(rig: Rig) -> None:
    scanner: Scanner = rig.scanner
    assert scanner is rig.scanner


async def test_codes_come_through_the_pipe(rig: Rig) -> None:
    codes = rig.scanner.codes()
    rig.scan("https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2?type=01&sum=100")
    rig.scan("281234567890123456")
    assert (
        await anext(codes) == "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2?type=01&sum=100"
    )
    assert await anext(codes) == "281234567890123456"
    assert rig.scanner.status()["scanned"] == 2


async def test_device_is_grabbed_and_released(rig: Rig) -> None:
    device = rig.pipe.device
    assert device.is_grabbed
    assert rig.scanner.status()["connected"] is True
    assert "open at /dev/input/pipe" in repr(rig.scanner)
    await rig.scanner.aclose()
    assert not device.is_grabbed
    assert device.fd == -1
    assert repr(rig.scanner).endswith("closed>")


async def test_no_grab_when_told_not_to() -> None:
    rig = Rig(grab=False)
    try:
        assert not rig.pipe.device.is_grabbed
    finally:
        await rig.aclose()


async def test_device_vanishes_mid_scan_and_comes_back(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    codes, problems = rig.scanner.codes(), rig.scanner.problems()
    rig.scan("first")
    assert await anext(codes) == "first"
    rig.scan("half a sc", terminator=None)
    rig.pipe.unplug()
    broken = await anext(codes)  # at once, not after the replug
    assert broken == BrokenScan("the scanner disconnected", 9)
    next_code = asyncio.ensure_future(anext(codes))
    assert await anext(problems) == "scanner disconnected"
    assert rig.scanner.status()["connected"] is False
    assert "disconnected" in repr(rig.scanner)
    await rig.poll()  # still unplugged
    plugged = rig.plug()
    await rig.poll()
    assert await anext(problems) == ""
    assert plugged.device.is_grabbed
    rig.scan("after replug")
    assert await next_code == "after replug"
    assert rig.scanner.status()["reconnects"] == 1
    assert "broken scan of 9 keys discarded, none of it charged: the scanner disconnected" in (
        caplog.text
    )
    assert rig.scanner.status()["broken"] == 1


async def test_absent_at_start_then_plugged_in() -> None:
    clock = FakeClock()
    pipes: list[EventPipe] = []

    def open_device() -> Any:
        if not pipes:
            raise FileNotFoundError(errno.ENOENT, "No such file", "/dev/payterm/scanner")
        return pipes[0].device

    scanner = open_evdev_scanner(ScannerConfig(), open_device=open_device, clock=clock)
    try:
        status = scanner.status()
        assert status["problem"] == "scanner disconnected"
        assert "Check the udev rule" in str(status["detail"])
        codes = scanner.codes()
        pending = asyncio.ensure_future(anext(codes))
        while clock.next_deadline() is None:
            await asyncio.sleep(0)
        pipes.append(EventPipe())
        pipes[0].send(typed("late"))
        clock.advance(1.0)
        assert await pending == "late"
        assert scanner.status()["problem"] == ""
    finally:
        await scanner.aclose()
        for pipe in pipes:
            pipe.close()


async def test_unreadable_device_is_reported_with_the_fix() -> None:
    def open_device() -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", "/dev/input/event3")

    scanner = EvdevScanner("name:Scanner", open_device=open_device, clock=FakeClock())
    assert not scanner.try_connect()
    assert scanner.status()["problem"] == "scanner not readable"
    assert "'input' group" in str(scanner.status()["detail"])
    with pytest.raises(ScannerError, match="permission denied on /dev/input/event3"):
        scanner.connect()
    await scanner.aclose()


async def test_device_grabbed_elsewhere_is_reported() -> None:
    pipe = EventPipe()

    def refuse() -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    pipe.device.grab = refuse
    scanner = EvdevScanner("/dev/payterm/scanner", input_device=pipe.device, clock=FakeClock())
    assert not scanner.try_connect()
    assert scanner.status()["problem"] == "scanner busy"
    assert "scanner.grab = false" in str(scanner.status()["detail"])
    assert pipe.device.fd == -1  # the device it could not grab is not kept open
    await scanner.aclose()
    pipe.close()


async def test_first_failure_warns_and_repeats_are_quiet(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()

    def absent() -> Any:
        raise FileNotFoundError(errno.ENOENT, "No such file", "/dev/payterm/scanner")

    scanner = EvdevScanner("/dev/payterm/scanner", open_device=absent, clock=clock)
    codes = scanner.codes()
    pending = asyncio.ensure_future(anext(codes, None))
    with caplog.at_level(logging.DEBUG, LOGGER):
        for _ in range(3):
            while clock.next_deadline() is None:
                await asyncio.sleep(0)
            clock.advance(1.0)
        await scanner.aclose()
        assert await pending is None
    levels = [r.levelname for r in caplog.records if "not available" in r.getMessage()]
    assert levels[0] == "WARNING"
    assert set(levels[1:]) == {"DEBUG"}
    assert len(levels) >= 3


async def test_rejected_scans_are_problems_until_a_good_scan() -> None:
    rig = Rig(max_length=8)
    try:
        codes, problems = rig.scanner.codes(), rig.scanner.problems()
        rig.scan("123456789")
        rig.pipe.send(tap("KEY_F5", rig.t_s) + tap("KEY_ENTER", rig.t_s + 0.004))
        rig.t_s += 1.0
        rig.scan("good")
        assert await anext(codes) == "good"
        assert await anext(problems) == "scan rejected: too long (9 characters, max 8)"
        assert await anext(problems) == "scan rejected: non-printable key KEY_F5"
        assert await anext(problems) == ""
        assert rig.scanner.status()["rejected"] == 2
    finally:
        await rig.aclose()


async def test_aclose_ends_codes_and_problems_while_waiting(rig: Rig) -> None:
    pending = asyncio.ensure_future(anext(rig.scanner.codes(), None))
    problems = asyncio.ensure_future(anext(rig.scanner.problems(), None))
    await asyncio.sleep(0)
    await rig.scanner.aclose()
    await rig.scanner.aclose()
    assert await pending is None
    assert await problems is None
    assert await anext(rig.scanner.codes(), None) is None


async def test_aclose_ends_codes_while_disconnected() -> None:
    def absent() -> Any:
        raise FileNotFoundError(errno.ENOENT, "No such file", "/dev/payterm/scanner")

    scanner = EvdevScanner("/dev/payterm/scanner", open_device=absent, clock=FakeClock())
    pending = asyncio.ensure_future(anext(scanner.codes(), None))
    await asyncio.sleep(0)
    await scanner.aclose()
    assert await pending is None


async def test_cancelled_reader_leaves_no_callback_behind(rig: Rig) -> None:
    reader = asyncio.ensure_future(anext(rig.scanner.codes()))
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    rig.scan("arrives after the reader left")
    for _ in range(5):
        await asyncio.sleep(0)
    # no_asyncio_errors fails the test if evdev's reader woke up on a cancelled future


async def test_one_reader_at_a_time(rig: Rig) -> None:
    first = asyncio.ensure_future(anext(rig.scanner.codes()))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already being read"):
        await anext(rig.scanner.codes())
    rig.scan("x")
    assert await first == "x"


async def test_async_with_closes(rig: Rig) -> None:
    async with rig.scanner as scanner:
        assert not scanner.is_closed
    assert scanner.is_closed
    assert scanner.status()["closed"] is True


# --- a real kernel device, where /dev/uinput can be written -----------------------------

UINPUT = "/dev/uinput"


@pytest.mark.skipif(
    not os.access(UINPUT, os.W_OK), reason=f"{UINPUT} is absent or not writable here"
)
async def test_uinput_scanner_by_name() -> None:
    from evdev import UInput

    name = f"payterm test scanner {os.getpid()}"
    with UInput({ecodes.EV_KEY: sorted(KEY.values())}, name=name) as ui:
        scanner = open_evdev_scanner(ScannerConfig(device=f"name:{name}"))
        try:
            assert scanner.status()["connected"] is True
            codes = scanner.codes()
            for event in typed_events("UInput-Scan_1"):
                ui.write(event.type, event.code, event.value)
            assert await anext(codes) == "UInput-Scan_1"
        finally:
            await scanner.aclose()
