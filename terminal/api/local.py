"""``payterm pair`` and ``payterm pairings``: the operator's commands, on the running terminal.

They talk to the running terminal over its Unix socket in the data directory (readable by
the service's user only). ``pairings list`` and ``revoke`` also work on a stopped
terminal, on its journal directly; ``pair`` needs the terminal running, as the code is
shown on its display.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from terminal.api.server import SOCKET_FILE
from terminal.app import JOURNAL_FILE
from terminal.config.model import Config
from terminal.errors import ConfigError, TerminalError
from terminal.journal import Journal
from terminal.journal.api_store import ApiStore

__all__ = ["pair_command", "pairings_command"]


def _client(config: Config) -> httpx.AsyncClient:
    path = config.terminal.data_dir / SOCKET_FILE
    transport = httpx.AsyncHTTPTransport(uds=str(path))
    return httpx.AsyncClient(transport=transport, base_url="http://payterm", timeout=10.0)


async def _call(config: Config, method: str, url: str) -> httpx.Response | None:
    """The running terminal's answer, or None when it is not running with the API on."""
    if not (config.terminal.data_dir / SOCKET_FILE).exists():
        return None
    try:
        async with _client(config) as client:
            return await client.request(method, url)
    except (httpx.ConnectError, httpx.RemoteProtocolError, FileNotFoundError):
        return None


def _problem(response: httpx.Response) -> TerminalError:
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text
    return TerminalError(message)


def pair_command(config: Config) -> str:
    """Show a pairing code on the running terminal; the text to print."""
    if not config.api.enabled:
        raise ConfigError("the API is off; set enabled = true", key="api.enabled")
    response = asyncio.run(_call(config, "POST", "/local/pairing"))
    if response is None:
        raise TerminalError(
            "the terminal is not running (start it: systemctl start payterm), so no code "
            "can be shown on its display"
        )
    if response.status_code != 201:
        raise _problem(response)
    body: dict[str, Any] = response.json()
    return (
        "A pairing code is on the terminal's display for 5 minutes.\n"
        "On the POS, send it with POST /v1/pairings {code, name}; pin this certificate:\n"
        f"SHA-256 {body['fingerprint']}"
    )


def pairings_command(config: Config, action: str, name: str | None) -> str:
    """List the paired POS, or revoke ``name``; the text to print."""
    url = "/local/pairings" if action == "list" else f"/local/pairings/{name}"
    response = asyncio.run(_call(config, "GET" if action == "list" else "DELETE", url))
    if response is None:
        return _offline(config, action, name)
    if response.status_code >= 400:
        raise _problem(response)
    if action == "revoke":
        return f"{name}: revoked; its API key is refused from now on"
    rows = [(p["name"], p["created_at"]) for p in response.json()["pairings"]]
    return _table(rows)


def _offline(config: Config, action: str, name: str | None) -> str:
    """The same on a stopped terminal's journal (it holds it exclusively while running)."""
    path: Path = config.terminal.data_dir / JOURNAL_FILE
    if not path.is_file():
        raise TerminalError(f"{path}: no journal here (has the terminal run with this config?)")
    with Journal.open(path, terminal_id=config.terminal.id) as journal:
        store = ApiStore(journal.database)
        if action == "list":
            return _table([(p.name, p.created_wall) for p in store.pairings()])
        assert name is not None
        if not store.revoke(name):
            raise TerminalError(f"no POS named {name!r} is paired")
        return f"{name}: revoked; its API key is refused from now on"


def _table(rows: list[tuple[str, str]]) -> str:
    if not rows:
        return "no POS is paired"
    width = max(len(name) for name, _ in rows)
    return "\n".join(
        f"{name:<{width}}  paired {created[:19].replace('T', ' ')}" for name, created in rows
    )
