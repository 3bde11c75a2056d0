"""Never charge a broken scan: every way a scan burst breaks, from the decoder to the screen.

The sequences are ``evdev.InputEvent`` streams as ``evtest`` shows them from a keyboard-mode
scanner: a burst cut by the kernel's ``SYN_DROPPED`` (its buffer of ≈ 64 events overflowed
while the loop was busy: everything unread is lost, the queue holds ``SYN_DROPPED`` and the
newest event), a key-up arriving ~300 ms late with the kernel's autorepeat events before
it, a key pressed twice without its key-up, and an unplug mid-scan.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

evdev = pytest.importorskip("evdev")
from evdev import InputEvent, ecodes  # noqa: E402

from hw.base import BrokenScan  # noqa: E402
from hw.emulated import open_emulated_device  # noqa: E402
from hw.input.evdev_scanner import EvdevScanner  # noqa: E402
from hw.input.event_pipe import EventPipe  # noqa: E402
from hw.input.keymaps import KEY, typed_events  # noqa: E402
from hw.input.scan_decoder import QUIET_S, ScanDecoder  # noqa: E402
from terminal.app import Terminal  # noqa: E402
from terminal.clock import FakeClock  # noqa: E402
from terminal.config.loader import demo_config  # noqa: E402
from terminal.config.model import Config, RouteConfig  # noqa: E402
from terminal.machine import (  # noqa: E402
    CodeScanned,
    Phase,
    ScanBroken,
    Settings,
    State,
    step,
)
from terminal.machine.routing import route_code  # noqa: E402
from terminal.machine.states import Now  # noqa: E402
from terminal.runtime.inputs import scan_event  # noqa: E402
from terminal.views.screens import screen_for  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")

ALIPAY = RouteConfig("alipay", "sandbox", ("25", "26", "27", "28", "29", "30"),
                     tuple(range(16, 25)))  # fmt: skip
#: A 24-digit Alipay code whose last 16 digits are an Alipay code too (prefix 28).
CODE = "28100000" + "2812345678901234"
TAIL = CODE[8:]
BROKEN = "<broken scan>"


def typed(text: str, start_s: float = 0.0, **kwargs: Any) -> list[InputEvent]:
    """The InputEvents a scanner sends for ``text`` + Enter, 2 ms apart from ``start_s``."""
    return [
        InputEvent(e.sec, e.usec, e.type, e.code, e.value)
        for e in typed_events(text, start_s=start_s, **kwargs)
    ]


def at(t_s: float, type_: int, code: int, value: int) -> InputEvent:
    sec, usec = divmod(round(t_s * 1_000_000), 1_000_000)
    return InputEvent(sec, usec, type_, code, value)


def t_of(event: InputEvent) -> float:
    return float(event.sec + event.usec / 1_000_000)


def overflowed(events: list[InputEvent], read: int, newest: int) -> list[InputEvent]:
    """``events`` as a reader sees them when the kernel's buffer overflowed after ``read``
    were read: the unread ones up to ``newest`` are lost, ``SYN_DROPPED`` takes their place
    with the newest event's time, then the newest event and the rest follow."""
    kept = events[newest]
    dropped = at(t_of(kept), ecodes.EV_SYN, ecodes.SYN_DROPPED, 0)
    return [*events[:read], dropped, *events[newest:]]


def decode(seq: Iterable[InputEvent], decoder: ScanDecoder | None = None) -> list[object]:
    decoder = decoder or ScanDecoder()
    results = [r for r in (decoder.feed(e) for e in seq) if r is not None]
    return [BROKEN if isinstance(r, BrokenScan) else r for r in results]


def key(name: str, value: int, t_s: float) -> list[InputEvent]:
    """One key event at ``t_s`` and its SYN_REPORT."""
    return [
        at(t_s, ecodes.EV_KEY, ecodes.ecodes[name], value),
        at(t_s, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
    ]


# --- the decoder ---------------------------------------------------------------------------


def test_the_tail_of_a_cut_alipay_code_would_route_as_one() -> None:
    """Why this matters: the last 16 digits alone pass Alipay's prefix and length rules."""
    assert route_code(TAIL, (ALIPAY,)) == ALIPAY
    assert route_code(CODE, (ALIPAY,)) == ALIPAY


def test_syn_dropped_mid_scan_discards_the_whole_scan() -> None:
    scan = typed(CODE)
    # 8 digits read (4 events each with their SYN_REPORTs), the next 3 digits lost.
    seq = overflowed(scan, read=32, newest=44)
    assert decode(seq) == [BROKEN]
    assert decode(seq + typed(CODE, start_s=2.0)) == [BROKEN, CODE]


def test_syn_dropped_before_anything_was_read_discards_the_scan() -> None:
    """The loop read none of the scan: the first keys are lost, the rest must not count."""
    scan = typed(CODE)
    assert decode(overflowed(scan, read=0, newest=32)) == [BROKEN]


def test_syn_dropped_that_swallowed_the_enter_ends_with_the_next_scan() -> None:
    scan = typed(CODE)
    # Lost up to the last SYN_REPORT: Enter's down and up are gone.
    cut = overflowed(scan, read=32, newest=len(scan) - 1)
    assert not [e for e in cut if e.code == KEY["KEY_ENTER"]]
    later = typed("2899999999999999", start_s=3.0)
    assert decode(cut + later) == [BROKEN, "2899999999999999"]


def test_a_new_scan_soon_after_a_broken_one_counts_whole() -> None:
    seq = overflowed(typed(CODE), read=32, newest=44)
    soon = t_of(seq[-1]) + 0.2
    assert decode(seq + typed(TAIL, start_s=soon)) == [BROKEN, TAIL]


def test_events_up_to_the_next_syn_report_are_ignored_then_keys_are_read_again() -> None:
    """Shift's key-up was lost in the drop: the kernel's state says it is up again."""
    decoder = ScanDecoder()
    seq = [*key("KEY_LEFTSHIFT", 1, 0.0), *typed("AB", start_s=0.002, terminator=None)[:4]]
    seq.append(at(0.01, ecodes.EV_SYN, ecodes.SYN_DROPPED, 0))
    seq.append(at(0.01, ecodes.EV_KEY, KEY["KEY_C"], 1))  # part of the cut packet
    assert decode(seq, decoder) == []
    assert not decoder.wants_keys
    assert decoder.feed(at(0.01, ecodes.EV_SYN, ecodes.SYN_REPORT, 0)) is None
    assert decoder.wants_keys
    decoder.resync([])  # EVIOCGKEY: nothing held now
    assert not decoder.wants_keys
    assert decode(key("KEY_ENTER", 1, 0.012) + key("KEY_ENTER", 0, 0.013), decoder) == [BROKEN]
    assert decode(typed("abc", start_s=2.0), decoder) == ["abc"]  # not "ABC"


def test_resync_takes_a_shift_the_kernel_still_holds() -> None:
    decoder = ScanDecoder()
    decode([at(0.0, ecodes.EV_SYN, ecodes.SYN_DROPPED, 0)], decoder)
    decoder.feed(at(0.0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0))
    decoder.resync([KEY["KEY_LEFTSHIFT"], KEY["KEY_A"]])
    decode(key("KEY_ENTER", 1, 0.001), decoder)
    seq = [*key("KEY_A", 1, 2.0), *key("KEY_A", 0, 2.001), *key("KEY_LEFTSHIFT", 0, 2.002)]
    assert decode([*seq, *key("KEY_B", 1, 2.003), *key("KEY_ENTER", 1, 2.004)], decoder) == ["Ab"]


def test_a_late_key_up_with_autorepeat_breaks_the_scan() -> None:
    """What evtest shows when a key-up comes ~300 ms late: repeats at 250 ms, 283 ms."""
    head = typed("28100000", terminator=None)
    t = t_of(head[-1]) + 0.002
    held = [*key("KEY_2", 1, t), *key("KEY_2", 2, t + 0.25), *key("KEY_2", 2, t + 0.283)]
    held += key("KEY_2", 0, t + 0.3)
    rest = typed(TAIL[1:], start_s=t + 0.302)
    assert decode(head + held + rest) == [BROKEN]


def test_a_late_key_up_without_repeats_breaks_the_scan() -> None:
    head = typed("28100000", terminator=None)
    t = t_of(head[-1]) + 0.002
    late = [*key("KEY_2", 1, t), *key("KEY_2", 0, t + 0.3)]
    assert decode(head + late + typed(TAIL[1:], start_s=t + 0.302)) == [BROKEN]


def test_a_key_held_longer_than_the_quiet_time_still_breaks_the_scan() -> None:
    """The key-up of a key held across a long pause belongs to the broken scan."""
    head = typed("28100000", terminator=None)
    t = t_of(head[-1]) + 0.002
    late = [*key("KEY_2", 1, t), *key("KEY_2", 0, t + QUIET_S + 0.5)]
    assert decode(head + late + typed(TAIL[1:], start_s=t + QUIET_S + 0.502)) == [BROKEN]


def test_a_long_pause_with_nothing_held_still_breaks_the_scan() -> None:
    head = typed("28100000", terminator=None)
    rest = typed(TAIL, start_s=t_of(head[-1]) + 1.5)
    assert decode(head + rest) == [BROKEN]


def test_a_key_pressed_again_without_its_key_up_breaks_the_scan() -> None:
    head = typed("2810", terminator=None)
    t = t_of(head[-1]) + 0.002
    twice = [*key("KEY_5", 1, t), *key("KEY_5", 1, t + 0.002), *key("KEY_5", 0, t + 0.004)]
    rest = typed(TAIL, start_s=t + 0.006)
    assert decode(head + twice + rest) == [BROKEN]


def test_one_broken_scan_is_reported_once() -> None:
    seq = overflowed(typed(CODE), read=32, newest=44)
    seq += key("KEY_7", 2, t_of(seq[-1]) + 0.3)  # more trouble inside the same scan
    assert decode(seq) == [BROKEN]


def test_an_unplug_mid_scan_is_a_broken_scan_and_between_scans_is_nothing() -> None:
    decoder = ScanDecoder()
    assert decode(typed("2810", terminator=None), decoder) == []
    assert decoder.interrupt("the scanner disconnected") == BrokenScan(
        "the scanner disconnected", 4
    )
    assert decoder.interrupt("the scanner disconnected") is None
    assert decode(typed(CODE, start_s=5.0), decoder) == [CODE]


# --- through the pipe: the scanner part re-reads the held keys ----------------------------


async def test_the_scanner_yields_one_broken_scan_and_reads_the_held_keys_again() -> None:
    pipe = EventPipe(name="Test Scanner")
    scanner = EvdevScanner("/dev/payterm/scanner", input_device=pipe.device)
    try:
        codes = scanner.codes()
        head = [*key("KEY_LEFTSHIFT", 1, 0.0), *typed("A", start_s=0.002, terminator=None)]
        pipe.send([*head, at(0.01, ecodes.EV_SYN, ecodes.SYN_DROPPED, 0)])
        pipe.send(key("KEY_B", 0, 0.01))  # the rest of the cut packet
        pipe.send(key("KEY_ENTER", 1, 0.012) + key("KEY_ENTER", 0, 0.013))
        broken = await asyncio.wait_for(anext(codes), 5)
        assert isinstance(broken, BrokenScan)
        assert "the kernel dropped events" in broken.reason
        # pipe.held is empty: EVIOCGKEY said Shift is up, so the next scan is lower case.
        pipe.send(typed("abc", start_s=2.0))
        assert await asyncio.wait_for(anext(codes), 5) == "abc"
        assert scanner.status()["broken"] == 1
        assert scanner.status()["problem"] == ""
    finally:
        await scanner.aclose()
        pipe.close()


# --- the machine: "Scan again", nothing charged ---------------------------------------------


def _ready(amount_minor: int = 1500) -> State:
    settings = Settings(terminal_id="T1", routes=(ALIPAY,))
    return State(settings, phase=Phase.READY, entry=str(amount_minor))


def test_a_broken_scan_asks_for_the_scan_again_and_charges_nothing() -> None:
    now = Now(10.0, "2026-03-02T09:00:10Z", True)
    result = step(_ready(), ScanBroken("the kernel dropped events"), now)
    assert (result.state.phase, result.state.message, result.effects) == (
        Phase.READY, "scan_again", (),
    )  # fmt: skip
    assert result.state.next_seq == _ready().next_seq
    screen_en = screen_for(result.state, "en")
    assert screen_en.lines[0] == "Scan again"
    assert screen_for(result.state, "ru").lines[0] == "Сканируйте ещё раз"
    # The scan after it pays.
    again = step(result.state, CodeScanned(CODE), now)
    assert again.state.phase is Phase.PAYING


@pytest.mark.parametrize(
    ("phase", "entry", "notice"),
    [(Phase.IDLE, "", "amount_first"), (Phase.AMOUNT, "150", "scan_again"),
     (Phase.REFUND_SCAN, "", "scan_again")],
)  # fmt: skip
def test_a_broken_scan_is_told_wherever_a_scan_is_taken(
    phase: Phase, entry: str, notice: str
) -> None:
    state = dataclasses.replace(_ready(), phase=phase, entry=entry)
    result = step(state, ScanBroken(), Now(1.0, "2026-03-02T09:00:01Z", True))
    assert (result.state.phase, result.state.message, result.effects) == (phase, notice, ())


def test_a_broken_scan_while_a_payment_is_under_way_is_rejected() -> None:
    state = dataclasses.replace(_ready(), phase=Phase.WAITING)
    result = step(state, ScanBroken(), Now(1.0, "2026-03-02T09:00:01Z", True))
    assert result.rejected
    assert result.state.message == ""


def test_the_runtime_turns_what_the_scanner_yields_into_events() -> None:
    assert scan_event(CODE) == CodeScanned(CODE)
    assert scan_event(BrokenScan("the scanner disconnected", 3)) == ScanBroken(
        "the scanner disconnected"
    )


# --- the whole terminal: an evdev scanner on a pipe, the real runtime and screen -------------


async def test_the_terminal_says_scan_again_and_journals_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated = open_emulated_device()
    pipe = EventPipe(name="Test Scanner")
    emulated.scanner = EvdevScanner("/dev/payterm/scanner", input_device=pipe.device)

    async def the_device(config: Config) -> Any:
        return emulated

    monkeypatch.setattr("hw.select.open_device", the_device)
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        runner = asyncio.create_task(terminal.runtime.run())
        try:
            runtime = terminal.runtime
            for digit in ("1", "0", "0", "enter"):
                emulated.keypad.press(digit)
            await runtime.wait_idle()
            assert runtime.state.phase is Phase.READY
            seq_before = runtime.state.next_seq

            pipe.send(overflowed(typed("286648397128431234"), read=24, newest=36))
            await _until(lambda: runtime.state.message == "scan_again")
            await runtime.wait_idle()
            assert runtime.state.phase is Phase.READY
            assert runtime.state.next_seq == seq_before  # nothing journaled, nothing sent
            assert terminal.journal.next_seq() == seq_before
            assert runtime.screen is not None
            assert "Scan again" in runtime.screen.lines

            pipe.send(typed("286648397128431234", start_s=5.0))
            await _until(lambda: runtime.state.phase is not Phase.READY)
            assert runtime.state.payment is not None
            assert runtime.state.next_seq == seq_before + 1
        finally:
            runner.cancel()
            with pytest.raises((asyncio.CancelledError, BaseExceptionGroup)):
                await runner
            pipe.close()


async def _until(condition: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)
