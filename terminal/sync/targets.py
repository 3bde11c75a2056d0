"""What a sync target is to the sender: send a batch, or say why not (retry later, or parked)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from terminal.sync.record import Record

__all__ = ["Target", "TryLater", "Refused"]


class TryLater(Exception):  # noqa: N818 - an outcome, told as an exception
    """The receiver could not take the batch now (unreachable, 408/429/5xx, timeout)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class Refused(Exception):  # noqa: N818 - an outcome, told as an exception
    """The receiver refused the batch for good (another 4xx, bad credentials): park it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Target(Protocol):
    """One receiver of records; ``send`` returns only once the receiver acknowledged."""

    name: str
    kind: str

    async def send(self, records: Sequence[Record]) -> None:
        """Deliver ``records`` in order; raise TryLater or Refused when they were not taken."""
        ...

    async def alert(self, code: str, message: str) -> None:
        """Pass a terminal alert on, when this kind of target has a place for it."""
        ...

    async def status(self, facts: dict[str, object]) -> None:
        """Pass the terminal's status on, when this kind of target has a place for it."""
        ...

    async def aclose(self) -> None:
        """Close the connection (MQTT: cleanly, so the broker keeps the session)."""
        ...
