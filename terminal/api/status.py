"""``GET /v1/terminal``: what the terminal is doing and how its parts and providers are."""

from __future__ import annotations

from typing import Any

from terminal.api.events import EventHub
from terminal.api.payments import doing
from terminal.journal import Journal
from terminal.runtime.runtime import Runtime

__all__ = ["terminal_resource"]


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
                "reachable": hub.providers.get(name),
            }
            for name, caps in sorted(state.settings.providers.items())
        },
        "sync": {"records_waiting": journal.outbox_count()},
        "fault": status["fault"] or None,
    }
