"""The web console: the terminal's display, keys, slips and events in a browser.

Served by the API's server at ``/console/`` (docs/console.md). ``feed`` follows the
runtime (frames, slips, events), ``access`` says who may look and press, ``actions``
carries presses out, ``routes`` serves the page shipped in ``static/``.
"""

from __future__ import annotations

from typing import Any

from terminal.api.console.access import ConsoleAccess
from terminal.api.console.feed import ConsoleFeed
from terminal.api.console.routes import Console, console_routes

__all__ = ["Console", "console_routes", "make_console"]


def make_console(terminal: Any, api: Any) -> Console | None:
    """The console for ``terminal`` when its config serves one (the emulated device always)."""
    config = terminal.config
    emulated = config.terminal.hardware != "pi"
    if not emulated and not config.api.console:
        return None
    access = ConsoleAccess(
        open=emulated,
        live=emulated or config.api.console_remote_keys,
        password=config.secrets.console_password,
        pairings=api.pairings,
        secure=config.api.tls,
    )
    return Console(terminal, api, ConsoleFeed(api.runtime, terminal.device), access)
