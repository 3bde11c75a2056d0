"""``GET /v1/terminal``: what the terminal is doing and how its parts and providers are.

POS machines poll it (many, several times a second), so the document is built once per
change and served, already encoded, from :class:`TerminalStatus` until the terminal reports
anything (a state, a screen, a slip, a provider call, a part) or it is a second old (the
printer's own status and the records waiting to sync change without an event).
"""

from __future__ import annotations

import json
import time
from typing import Any

from terminal.api.events import EventHub
from terminal.api.payments import doing
from terminal.journal import Journal
from terminal.runtime.runtime import Runtime

__all__ = ["MAX_AGE_S", "TerminalStatus", "terminal_resource"]

#: The longest a served status document may be older than the terminal's own state.
MAX_AGE_S = 1.0


def terminal_resource(
    runtime: Runtime, journal: Journal, hub: EventHub, version: str
) -> dict[str, Any]:
    """Phase, screen text, printer and paper, scanner, providers, records waiting to sync."""
    status = runtime.status()
    state = runtime.state
    screen = runtime.screen
    parts: dict[str, str] = status["part_problems"]
    printer: dict[str, Any] = status["printer"]
    in_hand = state.payment.order_id if state.payment is not None else None
    if state.api_order is not None:
        in_hand = state.api_order.order_id
    busy = state.phase.value not in ("idle", "done")
    return {
        "terminal_id": state.settings.terminal_id,
        "training": state.settings.training,
        "version": version,
        "phase": state.phase.value,
        "busy": busy,
        "doing": doing(state.phase),
        "payment_in_hand": in_hand,
        "screen": None
        if screen is None
        else {
            "name": screen.name,
            "title": screen.title,
            "amount": screen.amount,
            "lines": list(screen.lines),
        },
        "printer": {
            "online": printer["online"],
            "paper": printer["paper"],
            "problem": status["printer_problem"] or None,
        },
        "scanner": {"problem": parts.get("scanner") or None},
        "parts": parts,
        "providers": {
            name: {
                "qr": caps.supports_mpm,
                "code": caps.supports_cpm,
                "refund": caps.supports_refund,
                "partial_refund": caps.partial_refund,
                "reachable": hub.providers.get(name),
            }
            for name, caps in sorted(state.settings.providers.items())
        },
        "sync": {"records_waiting": journal.outbox_count()},
        "fault": status["fault"] or None,
    }


class TerminalStatus:
    """The terminal resource as encoded JSON, rebuilt only when something changed."""

    def __init__(self, runtime: Runtime, journal: Journal, hub: EventHub, version: str) -> None:
        self._runtime = runtime
        self._journal = journal
        self._hub = hub
        self._version = version
        self._body = b""
        self._built = -MAX_AGE_S
        self._dirty = True
        runtime.subscribe(self._changed)

    def _changed(self, name: str, details: dict[str, Any]) -> None:
        self._dirty = True

    def body(self) -> bytes:
        """The document as UTF-8 JSON, at most :data:`MAX_AGE_S` old and never stale."""
        now = time.monotonic()
        if self._dirty or now - self._built >= MAX_AGE_S:
            self._dirty = False  # first: a change reported while building dirties it again
            document = terminal_resource(self._runtime, self._journal, self._hub, self._version)
            self._body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
            self._built = now
        return self._body
