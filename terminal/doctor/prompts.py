"""Asking the technician for an action (a scan, a key, a press, a tap) and waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, Literal, TextIO, TypeVar

from hw.base import ButtonName

__all__ = ["PROMPT_TIMEOUT_S", "Asker", "Prompt"]

PROMPT_TIMEOUT_S = 30.0  # long enough to pick up a badge or a phone, short enough to notice

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Prompt:
    """An action the doctor asks of the technician: a scan, a key, a button press, a tap."""

    part: Literal["scanner", "keypad", "button", "nfc"]
    text: str
    button: ButtonName | None = None


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


async def _first(items: AsyncIterator[_T], accept: Callable[[Any], bool] | None) -> _T | None:
    async for item in items:
        if accept is None or accept(item):
            return item
    return None
