"""The parts' input as events: codes, keys (operator keys apart), presses, taps and problems."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from hw.base import OPERATOR_KEYS, BrokenScan, Keypad
from terminal.machine import CodeScanned, Event, KeyPressed, ScanBroken

__all__ = ["PartProblems", "pump", "pump_keypad", "pump_problems", "scan_event"]


async def pump(
    source: AsyncIterator[Any], make: Callable[[Any], Event], feed: Callable[[Event], None]
) -> None:
    """Feed ``make(item)`` for every item ``source`` yields."""
    async for item in source:
        feed(make(item))


def scan_event(scan: str | BrokenScan) -> Event:
    """What the scanner yielded, as the machine's event: a code, or a broken scan."""
    if isinstance(scan, BrokenScan):
        return ScanBroken(scan.reason)
    return CodeScanned(scan)


async def pump_problems(part: str, device: object, report: Callable[[str, str], None]) -> None:
    """Report every problem the part announces ("" once fixed); nothing for a part without."""
    problems = getattr(device, "problems", None)
    if problems is None:
        return
    async for problem in problems():
        report(part, problem)


async def pump_keypad(
    keypad: Keypad,
    operator_keys: Mapping[str, str],
    *,
    feed: Callable[[Event], None],
    operate: Callable[[str], None],
) -> None:
    """Feed each key as KeyPressed, except an operator key, whose function is carried out."""
    async for key in keypad.keys():
        function = operator_keys.get(OPERATOR_KEYS.get(key, ""))
        if function is None:
            feed(KeyPressed(key))
        else:
            operate(function)


class PartProblems:
    """Each part's current problem, in the order reported; the screen has one line for them."""

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}  # part -> its problem, in the order reported

    def update(self, part: str, problem: str) -> str:
        """Note ``part``'s ``problem`` ("" once fixed); return the problem the screen shows."""
        self._problems.pop(part, None)
        if problem:
            self._problems[part] = problem
        # A fixed part shows another's that remains.
        return problem or next(reversed(self._problems.values()), "")

    def as_dict(self) -> dict[str, str]:
        """Each part with a problem, mapped to it."""
        return dict(self._problems)
