"""Who is told what the terminal does: every state change, screen, slip, call and alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Emit", "Observer", "Observers"]

#: Receives ("namespace:name", details) for everything the terminal does (headless demo, API).
Observer = Callable[[str, dict[str, Any]], None]


class Emit(Protocol):
    """Tells the observers that something happened: ``emit("journal:record", order_id=...)``."""

    def __call__(self, _event: str, /, **details: Any) -> None:
        """Tell every observer about ``_event``."""


class Observers:
    """The observers subscribed to a runtime, each called in turn for every happening."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def subscribe(self, observer: Observer) -> None:
        """Call ``observer`` for every happening from now on."""
        self._observers.append(observer)

    def emit(self, _event: str, /, **details: Any) -> None:
        """Tell every observer that ``_event`` happened, with ``details``."""
        for observer in self._observers:
            observer(_event, details)
