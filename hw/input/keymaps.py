"""Key events to text and key names: keyboard layouts, shift state, scan bursts, the keypad.

Pure: no evdev import and no I/O. Events are anything with evdev ``InputEvent``'s fields
(``sec``, ``usec``, ``type``, ``code``, ``value``); key codes are Linux's
(``linux/input-event-codes.h``, a stable kernel ABI, checked against ``evdev.ecodes`` by
the tests).

The scanner's decoder, which uses these tables, is :mod:`hw.input.scan_decoder`;
:class:`KeypadDecoder` turns a numeric keypad's keys into :data:`hw.base.KEY_NAMES`
whatever its NumLock state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from hw.base import KeyName

__all__ = [
    "EV_KEY",
    "EV_SYN",
    "SYN_REPORT",
    "SYN_DROPPED",
    "KEY_UP",
    "KEY_DOWN",
    "KEY_REPEAT",
    "KEY",
    "LAYOUTS",
    "KEYPAD_NAMES",
    "OPERATOR_KEY_CODES",
    "TERMINATORS",
    "Layout",
    "SHIFT_KEYS",
    "CONTROL_KEYS",
    "LOCK_KEYS",
    "KeyEventLike",
    "RawEvent",
    "typed_events",
    "KeypadDecoder",
    "char_for",
    "key_label",
]

log = logging.getLogger("payterm.hw.input")

Layout = Literal["us", "ru"]

EV_SYN = 0
EV_KEY = 1
SYN_REPORT = 0
SYN_DROPPED = 3  # the kernel's buffer for this reader overflowed: events were lost
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

#: Linux key codes by name, for the keys a scanner or keypad sends.
KEY: Mapping[str, int] = {
    "KEY_ESC": 1,
    **{f"KEY_{d}": 1 + d for d in range(1, 10)},
    "KEY_0": 11, "KEY_MINUS": 12, "KEY_EQUAL": 13, "KEY_BACKSPACE": 14, "KEY_TAB": 15,
    "KEY_Q": 16, "KEY_W": 17, "KEY_E": 18, "KEY_R": 19, "KEY_T": 20, "KEY_Y": 21,
    "KEY_U": 22, "KEY_I": 23, "KEY_O": 24, "KEY_P": 25, "KEY_LEFTBRACE": 26,
    "KEY_RIGHTBRACE": 27, "KEY_ENTER": 28, "KEY_LEFTCTRL": 29, "KEY_A": 30, "KEY_S": 31,
    "KEY_D": 32, "KEY_F": 33, "KEY_G": 34, "KEY_H": 35, "KEY_J": 36, "KEY_K": 37,
    "KEY_L": 38, "KEY_SEMICOLON": 39, "KEY_APOSTROPHE": 40, "KEY_GRAVE": 41,
    "KEY_LEFTSHIFT": 42, "KEY_BACKSLASH": 43, "KEY_Z": 44, "KEY_X": 45, "KEY_C": 46,
    "KEY_V": 47, "KEY_B": 48, "KEY_N": 49, "KEY_M": 50, "KEY_COMMA": 51, "KEY_DOT": 52,
    "KEY_SLASH": 53, "KEY_RIGHTSHIFT": 54, "KEY_KPASTERISK": 55, "KEY_LEFTALT": 56,
    "KEY_SPACE": 57, "KEY_CAPSLOCK": 58, "KEY_F1": 59, "KEY_F2": 60, "KEY_F3": 61,
    "KEY_F4": 62, "KEY_F5": 63, "KEY_NUMLOCK": 69, "KEY_SCROLLLOCK": 70, "KEY_KP7": 71,
    "KEY_KP8": 72, "KEY_KP9": 73, "KEY_KPMINUS": 74, "KEY_KP4": 75, "KEY_KP5": 76,
    "KEY_KP6": 77, "KEY_KPPLUS": 78, "KEY_KP1": 79, "KEY_KP2": 80, "KEY_KP3": 81,
    "KEY_KP0": 82, "KEY_KPDOT": 83, "KEY_KPENTER": 96, "KEY_RIGHTCTRL": 97,
    "KEY_KPSLASH": 98, "KEY_RIGHTALT": 100, "KEY_HOME": 102, "KEY_UP": 103,
    "KEY_PAGEUP": 104, "KEY_LEFT": 105, "KEY_RIGHT": 106, "KEY_END": 107, "KEY_DOWN": 108,
    "KEY_PAGEDOWN": 109, "KEY_INSERT": 110, "KEY_DELETE": 111, "KEY_KPCOMMA": 121,
    "KEY_LEFTMETA": 125, "KEY_RIGHTMETA": 126,
}  # fmt: skip

_NAMES_BY_CODE = {code: name for name, code in KEY.items()}

#: Keys that end a scan: Enter, keypad Enter and Tab (a scanner's usual suffixes).
TERMINATORS = frozenset({KEY["KEY_ENTER"], KEY["KEY_KPENTER"], KEY["KEY_TAB"]})
SHIFT_KEYS = frozenset({KEY["KEY_LEFTSHIFT"], KEY["KEY_RIGHTSHIFT"]})
#: Held with a character key, these make a control or Alt code: nothing printable.
CONTROL_KEYS = frozenset(
    KEY[n]
    for n in ("KEY_LEFTCTRL", "KEY_RIGHTCTRL", "KEY_LEFTALT", "KEY_RIGHTALT")
    + ("KEY_LEFTMETA", "KEY_RIGHTMETA")
)
#: Lock keys a scanner may send that type nothing (CapsLock is tracked apart).
LOCK_KEYS = frozenset({KEY["KEY_NUMLOCK"], KEY["KEY_SCROLLLOCK"]})


def _row(names: str, plain: str, shifted: str) -> dict[int, tuple[str, str]]:
    """Key codes of the space-separated ``names`` with their plain and shifted characters."""
    codes = [KEY[f"KEY_{name}"] for name in names.split()]
    assert len(codes) == len(plain) == len(shifted), names
    return {code: (p, s) for code, p, s in zip(codes, plain, shifted, strict=True)}


_DIGITS = "1 2 3 4 5 6 7 8 9 0"
_LETTERS = "Q W E R T Y U I O P A S D F G H J K L Z X C V B N M"
_PUNCTUATION = "MINUS EQUAL LEFTBRACE RIGHTBRACE SEMICOLON APOSTROPHE GRAVE BACKSLASH"
_PUNCTUATION2 = "COMMA DOT SLASH SPACE"
# A scanner in "keypad emulation" sends digits on the keypad; they are digits whatever NumLock.
_KEYPAD = _row("KP1 KP2 KP3 KP4 KP5 KP6 KP7 KP8 KP9 KP0", "1234567890", "1234567890") | _row(
    "KPDOT KPSLASH KPASTERISK KPMINUS KPPLUS", "./*-+", "./*-+"
)

#: Each layout: key code -> (character, character with Shift).
LAYOUTS: Mapping[Layout, Mapping[int, tuple[str, str]]] = {
    "us": _row(_DIGITS, "1234567890", "!@#$%^&*()")
    | _row(_LETTERS, "qwertyuiopasdfghjklzxcvbnm", "QWERTYUIOPASDFGHJKLZXCVBNM")
    | _row(_PUNCTUATION, "-=[];'`\\", '_+{}:"~|')
    | _row(_PUNCTUATION2, ",./ ", "<>? ")
    | _KEYPAD,
    "ru": _row(_DIGITS, "1234567890", '!"№;%:?*()')
    | _row(_LETTERS, "йцукенгшщзфывапролдячсмить", "ЙЦУКЕНГШЩЗФЫВАПРОЛДЯЧСМИТЬ")
    | _row(_PUNCTUATION, "-=хъжэё\\", "_+ХЪЖЭЁ/")
    | _row(_PUNCTUATION2, "бю. ", "БЮ, ")
    | _KEYPAD,
}

#: Keypad key code -> key name. Both codes of a key are listed: a keypad with NumLock off
#: (its own or the host's) sends End for 1, Down for 2 and so on.
KEYPAD_NAMES: Mapping[int, KeyName] = {
    **{KEY[f"KEY_KP{d}"]: str(d) for d in range(10)},
    **{KEY[f"KEY_{d}"]: str(d) for d in range(10)},
    **{
        KEY[f"KEY_{nav}"]: str(d)
        for d, nav in enumerate("INSERT END DOWN PAGEDOWN LEFT - RIGHT HOME UP PAGEUP".split())
        if nav != "-"  # KP5 has no second meaning; with NumLock off it sends KP5 or nothing
    },
    KEY["KEY_KPENTER"]: "enter",
    KEY["KEY_ENTER"]: "enter",
    KEY["KEY_BACKSPACE"]: "backspace",
    # With amounts typed in minor units there is no decimal point: the "." / Del key clears.
    KEY["KEY_KPDOT"]: "clear",
    KEY["KEY_DELETE"]: "clear",
    KEY["KEY_KPCOMMA"]: "clear",
    KEY["KEY_ESC"]: "clear",
}

#: The operator keys: key code -> f-key name, in :data:`hw.base.OPERATOR_KEYS` order.
OPERATOR_KEY_CODES: Mapping[int, KeyName] = {
    KEY["KEY_KPSLASH"]: "f1",
    KEY["KEY_KPASTERISK"]: "f2",
    KEY["KEY_KPMINUS"]: "f3",
    KEY["KEY_KPPLUS"]: "f4",
}


class KeyEventLike(Protocol):
    """The fields of an ``evdev.InputEvent`` the decoders read."""

    @property
    def sec(self) -> int: ...

    @property
    def usec(self) -> int: ...

    @property
    def type(self) -> int: ...

    @property
    def code(self) -> int: ...

    @property
    def value(self) -> int: ...


def key_label(code: int) -> str:
    """The Linux name of key ``code`` ("KEY_F5"), or "key 190" for a key without one here."""
    return _NAMES_BY_CODE.get(code, f"key {code}")


def char_for(layout: Layout, code: int, *, shift: bool, caps: bool = False) -> str | None:
    """The character key ``code`` types in ``layout``, or None when it types none.

    Shift picks the upper row; CapsLock flips letters only (Shift with CapsLock gives
    lower case), as a PC keyboard does.
    """
    pair = LAYOUTS[layout].get(code)
    if pair is None:
        return None
    plain, shifted = pair
    if plain.isalpha():
        return shifted if shift != caps else plain
    return shifted if shift else plain


class KeypadDecoder:
    """Turns a numeric keypad's key events into key names; NumLock makes no difference.

    A key press yields its name; holding Backspace repeats it (the kernel's autorepeat),
    holding any other key does not. A "00" key sends two "0" presses on USB keypads (HID has
    no usage the kernel maps for it), so it yields "0" twice. Other keys are ignored.
    """

    def feed(self, event: KeyEventLike) -> KeyName | None:
        """Take one event; return the key name it presses, or None."""
        if event.type != EV_KEY or event.value == KEY_UP:
            return None
        name = KEYPAD_NAMES.get(event.code) or OPERATOR_KEY_CODES.get(event.code)
        if name is None:
            if event.value == KEY_DOWN:
                log.debug("keypad:%s ignored", key_label(event.code))
            return None
        if event.value == KEY_REPEAT and name != "backspace":
            return None
        return name


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One input event with ``evdev.InputEvent``'s fields (for feeding decoders and pipes)."""

    sec: int
    usec: int
    type: int
    code: int
    value: int


def typed_events(
    text: str,
    *,
    layout: Layout = "us",
    start_s: float = 0.0,
    gap_s: float = 0.002,
    terminator: str | None = "KEY_ENTER",
) -> list[RawEvent]:
    """The events a keyboard-mode scanner sends to type ``text``, then ``terminator``.

    Each key goes down then up, with Shift around shifted characters and a ``SYN_REPORT``
    after each change; the events are ``gap_s`` apart from ``start_s``. ValueError for a
    character ``layout`` cannot type.
    """
    strokes = [_stroke(layout, char) for char in text]
    if terminator is not None:
        strokes.append((KEY[terminator], False))
    shift = KEY["KEY_LEFTSHIFT"]
    events: list[RawEvent] = []
    t_us = round(start_s * 1_000_000)
    for code, shifted in strokes:
        changes = [(code, KEY_DOWN), (code, KEY_UP)]
        if shifted:
            changes = [(shift, KEY_DOWN), *changes, (shift, KEY_UP)]
        for key, value in changes:
            sec, usec = divmod(t_us, 1_000_000)
            events.append(RawEvent(sec, usec, EV_KEY, key, value))
            events.append(RawEvent(sec, usec, EV_SYN, SYN_REPORT, 0))
            t_us += round(gap_s * 1_000_000)
    return events


def _stroke(layout: Layout, char: str) -> tuple[int, bool]:
    """The key that types ``char`` in ``layout`` and whether it needs Shift."""
    for code, (plain, shifted) in LAYOUTS[layout].items():
        if char in (plain, shifted):
            return code, char != plain
    raise ValueError(f"{char!r} cannot be typed in the {layout!r} layout")
