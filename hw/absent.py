"""Stand-ins for parts a terminal lacks or could not open, so the rest of it still works.

A display or buttons that fail to open at start are replaced by a stand-in that reports
the problem (``problems()`` yields it once, as a real part reports a fault) so the screen,
``systemctl status`` and the log show it, while scanner, printer and providers go on. The
fix in words stays in ``status()["detail"]`` and in the log line written when it was
replaced. A restart of the service tries the real part again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hw.base import ButtonName, ClosesAsync
from hw.errors import HardwareError
from terminal.views.model import Screen

__all__ = ["NoNfc", "AbsentDisplay", "AbsentButtons", "DISPLAY_PROBLEM", "BUTTONS_PROBLEM"]

#: What a missing display or buttons report (short: it goes on a screen line and STATUS).
DISPLAY_PROBLEM = "display not working"
BUTTONS_PROBLEM = "buttons not working"


class _UntilClosed(ClosesAsync):
    """A part whose iterators yield nothing (or a fixed problem) until ``aclose()``."""

    def __init__(self) -> None:
        self._closing = asyncio.Event()

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closing.is_set()

    async def _nothing_until_closed(self) -> AsyncIterator[str]:
        await self._closing.wait()
        return
        yield  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        """End every iterator; idempotent."""
        self._closing.set()


class NoNfc(_UntilClosed):
    """The NFC reader of a terminal that has none: no badge is ever tapped."""

    def taps(self) -> AsyncIterator[str]:
        """Never yields; ends when closed."""
        return self._nothing_until_closed()

    def __repr__(self) -> str:
        return "<NoNfc>"


class _Broken(_UntilClosed):
    """A part that could not be opened: reports ``problem`` once, keeps ``error`` for status."""

    def __init__(self, error: HardwareError, problem: str) -> None:
        super().__init__()
        self.error = error
        self.problem = problem

    async def _problem_then_nothing(self) -> AsyncIterator[str]:
        yield self.problem
        await self._closing.wait()

    def problems(self) -> AsyncIterator[str]:
        """Yield the problem once, then nothing until closed (it is never fixed while running)."""
        return self._problem_then_nothing()

    def status(self) -> dict[str, object]:
        """What the self-check shows: not connected, the problem and its fix."""
        return {
            "connected": False,
            "problem": self.problem,
            "detail": str(self.error),
            "closed": self.is_closed,
        }


class AbsentDisplay(_Broken):
    """Stands in for a display that could not be opened: draws nothing, reports the problem."""

    def __init__(
        self, error: HardwareError, size: tuple[int, int], problem: str = DISPLAY_PROBLEM
    ) -> None:
        super().__init__(error, problem)
        self._size = size
        self.last_screen: Screen | None = None

    @property
    def size(self) -> tuple[int, int]:
        """The configured panel's size, as the real display would have had."""
        return self._size

    def show(self, screen: Screen) -> None:
        """Remember the screen (for status and tests); nothing is drawn."""
        self.last_screen = screen

    def __repr__(self) -> str:
        return f"<AbsentDisplay {self.error}>"


class AbsentButtons(_Broken):
    """Stands in for Retry/Cancel/Force buttons that could not be opened: never pressed.

    The keypad's operator key for cancel still works; Retry and Force need the buttons.
    """

    def __init__(self, error: HardwareError, problem: str = BUTTONS_PROBLEM) -> None:
        super().__init__(error, problem)

    async def _no_presses(self) -> AsyncIterator[ButtonName]:
        await self._closing.wait()
        return
        yield  # pragma: no cover - makes this an async generator

    def presses(self) -> AsyncIterator[ButtonName]:
        """Never yields; ends when closed."""
        return self._no_presses()

    def __repr__(self) -> str:
        return f"<AbsentButtons {self.error}>"
