"""The small interfaces the terminal drives hardware through.

Every backend is an async context manager with an idempotent ``aclose()``. Methods are
loop-only (call them from the asyncio loop's thread) unless a docstring says otherwise;
backends that have threads of their own (gpiozero, nfcpy) hand their events to the loop
themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, Self

from terminal.views.model import Screen, Slip

__all__ = [
    "ButtonName",
    "KeyName",
    "PrinterStatus",
    "BrokenScan",
    "Display",
    "Printer",
    "Scanner",
    "Keypad",
    "Buttons",
    "NfcReader",
    "KEY_NAMES",
    "ClosesAsync",
    "Signals",
    "OPERATOR_KEYS",
]

ButtonName = Literal["retry", "cancel", "force"]

#: Keypad keys: digits, "00", "enter", "backspace", "clear" and the operator keys "f1".."f4".
KeyName = str
KEY_NAMES = frozenset(
    [str(d) for d in range(10)] + ["00", "enter", "backspace", "clear", "f1", "f2", "f3", "f4"]
)


class ClosesAsync:
    """Mixin: ``async with part:`` closes the part with its ``aclose()`` on the way out."""

    async def aclose(self) -> None:
        """Release the part; idempotent."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


#: The keypad's operator keys, in the order the f-key names give them.
OPERATOR_KEYS = {"f1": "slash", "f2": "asterisk", "f3": "minus", "f4": "plus"}


class Signals(Protocol):
    """The status LED and buzzer: optional; every method returns at once."""

    def ok(self) -> None: ...

    def fail(self) -> None: ...

    def waiting(self, on: bool) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer last reported; ``online`` False when it cannot be reached."""

    online: bool
    paper: bool
    detail: str = ""


class Display(Protocol):
    """The customer display.

    Required: ``show()`` draws a :class:`Screen` (raises ``DisplayError``) without holding
    the loop up: a backend that pushes frames off the loop raises a failed push from the
    next ``show()``. ``size`` is (width, height) in pixels.
    """

    @property
    def size(self) -> tuple[int, int]: ...

    def show(self, screen: Screen) -> None: ...

    async def aclose(self) -> None: ...


class Printer(Protocol):
    """The slip printer.

    Required: ``print_slip()`` prints every copy of a :class:`Slip` or raises
    ``PrinterOffline`` / ``PaperOut``; ``status()`` tells what the printer last said
    without blocking.
    """

    async def print_slip(self, slip: Slip) -> None: ...

    def status(self) -> PrinterStatus: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BrokenScan:
    """A scan that arrived broken (keys lost or late, the scanner unplugged mid-scan).

    None of it is a code and nothing of it may be charged; the cashier is asked to scan
    again. ``reason`` (for the log) says what broke it, ``length`` how many keys it had.
    """

    reason: str
    length: int = 0


class Scanner(Protocol):
    """The wallet-code scanner: yields each complete scan as text, and each broken one.

    A scanner that can tell a scan arrived broken yields a :class:`BrokenScan` for it,
    in order with the codes; one that cannot yields codes only.
    """

    def codes(self) -> AsyncIterator[str | BrokenScan]: ...

    async def aclose(self) -> None: ...


class Keypad(Protocol):
    """The cashier's keypad: yields key names from :data:`KEY_NAMES`."""

    def keys(self) -> AsyncIterator[KeyName]: ...

    async def aclose(self) -> None: ...


class Buttons(Protocol):
    """The Retry, Cancel and Force buttons: yields the name of each press."""

    def presses(self) -> AsyncIterator[ButtonName]: ...

    async def aclose(self) -> None: ...


class NfcReader(Protocol):
    """The NFC reader: yields the UID (lowercase hex) of each badge tapped."""

    def taps(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...
