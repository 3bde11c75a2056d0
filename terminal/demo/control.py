"""What the demo does around the terminal: the customer, the sandbox's behaviour, the network.

Each action either acts or raises :class:`CannotAct` saying in words why it cannot on this
setup (a sandbox running on its own, a provider the demo does not run), so the demo never
answers "ok" to something that changed nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

from terminal.app import Terminal
from terminal.errors import TerminalError
from terminal.providers.loopback_http import MODES
from terminal.runtime.reconciliation import RECONCILED_STATES

__all__ = [
    "CUSTOMER_ACTIONS",
    "SLOW_DELAY_S",
    "CannotAct",
    "act_as_customer",
    "restore_network",
    "set_network",
    "set_sandbox_behaviour",
    "why_stopped",
]

#: What the customer can do at the sandbox.
CUSTOMER_ACTIONS = ("pay", "decline", "abandon", "expire")
#: How long a ``slow`` sandbox holds each answer back.
SLOW_DELAY_S = 15.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_TIMEOUT_S = 5.0


class CannotAct(TerminalError):
    """The demo cannot do this on this setup; the message says why and what would work."""


async def act_as_customer(
    terminal: Terminal, action: str, order_id: str | None = None
) -> dict[str, Any]:
    """Have the customer ``action`` the pending payment (or ``order_id``) at the sandbox.

    :raises CannotAct: an unknown action, no sandbox, the sandbox cannot be reached, or it
        has no such payment waiting (its answer is told).
    """
    if action not in CUSTOMER_ACTIONS:
        raise CannotAct(f"the customer can {', '.join(CUSTOMER_ACTIONS)}, not {action!r}")
    try:
        result = await terminal.customer(action, order_id)
    except httpx.HTTPError as exc:
        raise CannotAct(f"cannot reach the sandbox to act as the customer: {exc}") from exc
    except ValueError as exc:  # the answer was not JSON: not a sandbox there
        raise CannotAct(f"the sandbox gave an answer that is not JSON: {exc}") from exc
    status = int(result.get("http_status", 200))
    if status >= 400:
        said = result.get("error") or f"HTTP {status}"
        which = f" {order_id}" if order_id else ""
        raise CannotAct(f"the customer cannot {action}{which}: the sandbox says {said!r}")
    return result


def sandbox_targets(terminal: Terminal) -> list[str]:
    """The base URLs of the sandboxes (or provider fakes) the demo can steer."""
    if terminal.sandboxes:
        return [server.url for server in terminal.sandboxes.values()]
    found = []
    for pcfg in terminal.config.providers.values():
        parts = urlsplit(pcfg.url)
        if parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK:
            found.append(f"{parts.scheme}://{parts.netloc}")
    return found


async def set_sandbox_behaviour(terminal: Terminal, mode: str, count: int | None) -> list[str]:
    """Make every sandbox misbehave in ``mode`` (``normal`` clears); returns their URLs.

    Embedded sandboxes are switched directly; one running on its own on this machine
    (``payterm sandbox``) over its ``/control/behaviour`` endpoint.

    :raises CannotAct: an unknown mode, a count below 1, or no sandbox to steer.
    """
    if mode not in MODES:
        raise CannotAct(f"no sandbox mode {mode!r}: one of {', '.join(MODES)}")
    if count is not None and count < 1:
        raise CannotAct(f"the count must be 1 or more, not {count}")
    delay_s = SLOW_DELAY_S if mode == "slow" else 0.0
    if terminal.sandboxes:
        for server in terminal.sandboxes.values():
            server.http.set_misbehaviour(mode, count=count, delay_s=delay_s)
        return sandbox_targets(terminal)
    targets = sandbox_targets(terminal)
    if not targets:
        urls = ", ".join(f"{name} at {p.url}" for name, p in terminal.config.providers.items())
        raise CannotAct(
            f"no sandbox to steer: the demo runs none here and none listens on this machine "
            f"({urls})"
        )
    body = {"mode": mode, "count": count, "delay_s": delay_s}
    for url in targets:
        await _post_behaviour(url, body)
    return targets


async def _post_behaviour(url: str, body: dict[str, Any]) -> None:
    try:
        async with httpx.AsyncClient(base_url=url, timeout=_TIMEOUT_S, trust_env=False) as client:
            response = await client.post("/control/behaviour", json=body)
    except httpx.HTTPError as exc:
        raise CannotAct(f"cannot reach the sandbox at {url}: {exc}") from exc
    if response.status_code != 200:
        raise CannotAct(
            f"{url} did not take the behaviour (HTTP {response.status_code}): "
            "is it a payterm sandbox?"
        )


def set_network(terminal: Terminal, up: bool) -> None:
    """Cut (False) or restore (True) the path from the terminal to its embedded sandboxes.

    :raises CannotAct: the demo runs no provider itself, so it has no path it can cut.
    """
    if not terminal.links:
        urls = ", ".join(f"{name} at {p.url}" for name, p in terminal.config.providers.items())
        raise CannotAct(
            "the demo can cut the network only to a provider it runs itself "
            f'(url = "embedded"); this terminal reaches {urls} directly'
        )
    terminal.set_network(up)


async def restore_network(terminal: Terminal) -> dict[str, int]:
    """Restore the network, then ask the providers about the payments awaiting reconciliation.

    Returns how many were waiting (forced, cancel-failed, voiding) and how many the
    providers answered; final answers go through the machine (slips, alerts).
    """
    set_network(terminal, True)
    waiting = sum(1 for p in terminal.journal.unresolved() if p.state in RECONCILED_STATES)
    answered = await terminal.runtime.reconcile_once() if waiting else 0
    return {"waiting": waiting, "answered": answered}


def why_stopped(runner: asyncio.Task[None]) -> str:
    """The reason the runtime's task ended, in words."""
    if runner.cancelled():
        return "the terminal was stopped"
    exc = runner.exception()
    if exc is None:
        return "the terminal stopped"
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"the terminal stopped: {exc or type(exc).__name__}"
