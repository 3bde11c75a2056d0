"""A barcode scanner's key events to codes: scan bursts, and the bursts that arrived broken.

Pure: no evdev import and no I/O. A scan is a burst of keys, each within
``inter_key_timeout_s`` of the one before by the events' own (kernel) timestamps, ended by
Enter, keypad Enter or Tab. A burst that was interrupted is never a code, not even in part:

- the kernel reported ``SYN_DROPPED`` (its buffer of ≈ 64 events overflowed while the loop
  was busy, so keys were lost): events up to the next ``SYN_REPORT`` are ignored and the
  reader re-reads the held keys (:attr:`ScanDecoder.wants_keys`, :meth:`ScanDecoder.resync`),
  as the evdev documentation asks;
- a gap longer than ``inter_key_timeout_s`` in the middle of a burst (a key-up ~300 ms
  late, a stalled bus, a clock step);
- an autorepeat event (value 2) in the middle of a burst: a key was held long enough for
  the kernel to repeat it, so its key-up is late or lost;
- a key pressed again while the decoder still has it down: its key-up was lost;
- the scanner unplugged mid-burst (:meth:`ScanDecoder.interrupt`).

Everything of a broken burst is discarded up to and including its terminator, and the
decoder then says so once with a :class:`hw.base.BrokenScan`, so the screen can ask for the
scan again. A broken burst whose terminator was itself lost ends when the scanner has been
quiet for ``quiet_s`` (the next scan, which then counts whole). Keys typed slower than a
scanner types are a broken burst too: they never become a code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hw.base import BrokenScan
from hw.input.keymaps import (
    CONTROL_KEYS,
    EV_KEY,
    EV_SYN,
    KEY,
    KEY_DOWN,
    KEY_REPEAT,
    KEY_UP,
    LAYOUTS,
    LOCK_KEYS,
    SHIFT_KEYS,
    SYN_DROPPED,
    SYN_REPORT,
    TERMINATORS,
    KeyEventLike,
    Layout,
    char_for,
    key_label,
)

__all__ = ["QUIET_S", "ScanDecoder", "ScanRejected"]

log = logging.getLogger("payterm.hw.input")

#: How long a scanner is silent before a broken burst whose terminator was lost is over.
#: Longer than any hiccup inside one burst (a late key-up is ~300 ms: the kernel's 250 ms
#: autorepeat delay), shorter than a customer takes to show the code again.
QUIET_S = 0.5
_CAPSLOCK = KEY["KEY_CAPSLOCK"]


@dataclass(frozen=True, slots=True)
class ScanRejected:
    """A complete scan that is not a usable code; ``reason`` says why, for log and screen."""

    reason: str
    length: int


class ScanDecoder:
    """Turns one scanner's key events into codes (str), rejections and broken scans.

    Timing uses the events' timestamps, taken by the kernel when the USB report arrived,
    so a busy event loop can neither split a scan nor merge a person's typing into one.
    """

    def __init__(
        self,
        layout: Layout = "us",
        *,
        inter_key_timeout_s: float = 0.05,
        max_length: int = 128,
        key_name: Callable[[int], str] = key_label,
        quiet_s: float = QUIET_S,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {layout!r}; layouts: {sorted(LAYOUTS)}")
        self.layout: Layout = layout
        self._timeout_s = inter_key_timeout_s
        self._max_length = max_length
        self._key_name = key_name
        self._quiet_s = max(quiet_s, inter_key_timeout_s)
        self._chars: list[str] = []
        self._length = 0  # keys of the burst so far, counted past max_length too
        self._bad_key = ""  # the first key of the burst that types nothing printable
        self._broken = ""  # why the burst in progress is broken; "" while it is not
        self._broken_length = 0  # keys of the broken burst, for the log
        self._last_s: float | None = None
        self._shift: set[int] = set()
        self._controls: set[int] = set()
        self._held: set[int] = set()  # other keys down, as far as the events tell
        self._caps = False
        self._syncing = False  # after SYN_DROPPED, until the next SYN_REPORT
        self.wants_keys = False
        """True once the reader should call :meth:`resync` with the keys held now."""

    @property
    def pending(self) -> int:
        """Keys of the burst in progress, broken or not (0 between scans)."""
        return self._length + self._broken_length

    @property
    def broken(self) -> str:
        """Why the burst in progress is broken ("" while none is, or it is not)."""
        return self._broken

    def feed(self, event: KeyEventLike) -> str | ScanRejected | BrokenScan | None:
        """Take one event; return a finished code, a rejected or broken scan, or None."""
        if event.type == EV_SYN:
            self._syn(event)
            return None
        if event.type != EV_KEY or self._syncing:
            return None
        code, value = event.code, event.value
        ended = self._after_gap(event.sec + event.usec / 1_000_000, code, value)
        if self._broken:
            return self._discard(code, value) or ended
        return self._key(code, value) or ended

    def resync(self, held: Iterable[int]) -> None:
        """Take the keys the device holds down now (``EVIOCGKEY``) after events were lost."""
        keys = set(held)
        self.wants_keys = False
        self._shift = keys & SHIFT_KEYS
        self._controls = keys & CONTROL_KEYS
        self._held = keys - SHIFT_KEYS - CONTROL_KEYS - {_CAPSLOCK}

    def interrupt(self, why: str) -> BrokenScan | None:
        """The device went away: the burst in progress, if any, is broken; start afresh."""
        broken = self._end_broken(why) if self.pending or self._broken else None
        self._clear()
        self._broken = ""
        self._broken_length = 0
        self._shift.clear()
        self._controls.clear()
        self._held.clear()
        self._last_s = None
        self._syncing = self.wants_keys = False
        return broken

    # --- private -------------------------------------------------------------------------

    def _syn(self, event: KeyEventLike) -> None:
        if event.code == SYN_DROPPED:
            # The lost events may have been any part of a scan, its first keys included:
            # whatever comes until the next terminator belongs to a broken burst.
            self._break("the kernel dropped events (the loop did not read in time)")
            self._syncing = True
            self._last_s = event.sec + event.usec / 1_000_000
        elif event.code == SYN_REPORT and self._syncing:
            self._syncing = False
            self.wants_keys = True

    def _after_gap(self, now_s: float, code: int, value: int) -> BrokenScan | None:
        """Judge the time since the previous key event; a broken burst may end here."""
        last, self._last_s = self._last_s, now_s
        if last is None or not (self._length or self._broken):
            return None
        gap = now_s - last
        down = self._held | self._shift | self._controls
        continuing = value != KEY_DOWN and code in down  # the late key-up or repeat of a key
        if self._broken:
            if gap > self._quiet_s and not continuing:
                # Its terminator was lost: the broken burst is over, this key starts a scan.
                ended = self._end_broken(self._broken)
                self._held.clear()
                return ended
            return None
        if gap < 0:
            self._break("the event timestamps went back (a clock step)")
        elif gap > self._quiet_s and not continuing:
            self._break(
                f"a burst of {self._length} keys without Enter or Tab, then more keys "
                f"{gap * 1000:.0f} ms later; if every scan does this, set the scanner to "
                "send an Enter suffix"
            )
        elif gap > self._timeout_s:
            self._break(f"a gap of {gap * 1000:.0f} ms after {self._length} keys")
        return None

    def _key(self, code: int, value: int) -> str | ScanRejected | BrokenScan | None:
        if value == KEY_REPEAT:
            if self._length:
                self._break(f"{self._key_name(code)} held down (autorepeat)")
                return self._discard(code, value)
            return None
        if value == KEY_DOWN and self._length and code in self._held:
            self._break(f"{self._key_name(code)} pressed again without a key-up")
            return self._discard(code, value)
        if self._track(code, value) or value != KEY_DOWN or code in LOCK_KEYS:
            return None
        if code in TERMINATORS:
            return self._finish()
        self._add(code)
        return None

    def _discard(self, code: int, value: int) -> BrokenScan | None:
        """A key of a broken burst: only its terminator matters, which ends it."""
        self._track(code, value)
        if value == KEY_DOWN and code in TERMINATORS:
            ended = self._end_broken(self._broken)
            self._held.clear()
            return ended
        if value == KEY_DOWN and code not in LOCK_KEYS:
            self._broken_length += 1
        return None

    def _break(self, why: str) -> None:
        if not self._broken:
            self._broken = why
            self._broken_length = self._length
        self._clear()

    def _end_broken(self, why: str) -> BrokenScan:
        length = self._broken_length + self._length
        log.warning("scanner:broken scan of %d keys discarded, none of it charged: %s", length, why)
        self._broken = ""
        self._broken_length = 0
        self._clear()
        return BrokenScan(why, length)

    def _track(self, code: int, value: int) -> bool:
        """Update the keys held, Shift, Ctrl/Alt/Meta and CapsLock; True for a modifier."""
        if code in SHIFT_KEYS or code in CONTROL_KEYS:
            held = self._shift if code in SHIFT_KEYS else self._controls
            if value == KEY_DOWN:
                held.add(code)
            elif value == KEY_UP:
                held.discard(code)
            return True
        if code == _CAPSLOCK:
            self._caps ^= value == KEY_DOWN
            return True
        if value == KEY_DOWN:
            self._held.add(code)
        elif value == KEY_UP:
            self._held.discard(code)
        return False

    def _add(self, code: int) -> None:
        self._length += 1
        shift = bool(self._shift)
        char = None if self._controls else char_for(self.layout, code, shift=shift, caps=self._caps)
        if char is None or not char.isprintable():
            if not self._bad_key:
                held = "+".join(sorted(self._key_name(c) for c in self._controls))
                self._bad_key = f"{held}+{self._key_name(code)}" if held else self._key_name(code)
        elif len(self._chars) < self._max_length:
            self._chars.append(char)

    def _finish(self) -> str | ScanRejected | None:
        length, bad_key, text = self._length, self._bad_key, "".join(self._chars)
        self._clear()
        self._held.clear()
        if not length:
            return None  # Enter on its own: nothing was scanned
        if bad_key:
            return self._rejected(f"non-printable key {bad_key}", length)
        if length > self._max_length:
            return self._rejected(f"too long ({length} characters, max {self._max_length})", length)
        return text

    def _rejected(self, reason: str, length: int) -> ScanRejected:
        log.warning("scanner:scan of %d keys rejected: %s", length, reason)
        return ScanRejected(reason, length)

    def _clear(self) -> None:
        self._chars.clear()
        self._length = 0
        self._bad_key = ""
