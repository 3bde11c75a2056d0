"""Knowing when the path to the providers is back, so unsettled payments are settled at once.

Three signs, each cheap: a proper answer from a provider after a call to it failed for
want of one (the surest sign, and free: the calls are made anyway; counted per provider,
so one provider that stays down does not make another's every answer a "link back"); a
usable default route appearing (``/proc/net/route`` names one whose interface has
carrier), read every ``ROUTE_CHECK_S`` seconds on a real terminal, which is how a
re-plugged cable or a returning Wi-Fi is seen while no call is being made; and whoever
restores a link on purpose (the demo's network link) saying so. Each becomes one
``LinkRestored`` event for the machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from terminal.clock import Clock
from terminal.machine import Event, LinkRestored
from terminal.runtime.observers import Emit

__all__ = ["ROUTE_CHECK_S", "LinkWatch", "default_route_up"]

log = logging.getLogger("payterm.runtime")

#: How often the routing table is read for a default route coming back.
ROUTE_CHECK_S = 5.0

_PROC_ROUTE = Path("/proc/net/route")
_SYS_NET = Path("/sys/class/net")


def default_route_up(proc_route: Path = _PROC_ROUTE, sys_net: Path = _SYS_NET) -> bool | None:
    """True when a default route leaves through an interface with carrier; None: can't tell."""
    try:
        rows = proc_route.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        if len(fields) < 4 or fields[1] != "00000000":
            continue  # not the default route
        if not int(fields[3], 16) & 0x1:  # RTF_UP
            continue
        try:
            carrier = (sys_net / fields[0] / "carrier").read_text(encoding="ascii").strip()
        except OSError:
            carrier = "1"  # no carrier file (e.g. a tunnel): the route is taken at its word
        if carrier == "1":
            return True
    return False


class LinkWatch:
    """Turns the signs that the providers are reachable again into ``LinkRestored``. Loop-only."""

    def __init__(
        self,
        clock: Clock,
        *,
        feed: Callable[[Event], None],
        emit: Emit,
        route_probe: Callable[[], bool | None] = default_route_up,
    ) -> None:
        self._clock = clock
        self._feed = feed
        self._emit = emit
        self._probe = route_probe
        self._lost: set[str] = set()  # providers whose last call found no proper answer
        self.restored = 0  # LinkRestored events fed, for the status

    def failed(self, provider: str) -> None:
        """A call to ``provider`` got no proper answer: the link may be down."""
        self._lost.add(provider)

    def answered(self, provider: str) -> None:
        """``provider`` gave a proper answer; after a failure, that means the link is back."""
        if provider in self._lost:
            self._lost.discard(provider)
            self.restore(f"{provider} answered")

    def restore(self, source: str) -> None:
        """Say the link is back (``source`` says how that is known)."""
        log.info("link to the providers is back (%s)", source)
        self.restored += 1
        self._emit("link:restored", source=source)
        self._feed(LinkRestored(source))

    async def watch_routes(self) -> None:
        """Read the routing table every ``ROUTE_CHECK_S``; a default route back restores."""
        was_up = self._probe()
        while True:
            await self._clock.sleep(ROUTE_CHECK_S)
            up = self._probe()
            if up and was_up is False:
                self.restore("default route up")
            was_up = up
