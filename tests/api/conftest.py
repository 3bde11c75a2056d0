"""A whole terminal (emulated device, embedded sandbox) with the API on, on loopback with TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.app import Terminal
from terminal.clock import SystemClock
from terminal.config.loader import demo_config
from terminal.config.model import ApiConfig, Config


def api_config(data_dir: Path, **changes: Any) -> Config:
    """The demo's configuration with the API on 127.0.0.1, any free port, TLS on."""
    config = demo_config(data_dir)
    api = ApiConfig(enabled=True, host="127.0.0.1", port=0, tls=True)
    return replace(config, api=replace(api, **changes))


def pinned_context(cert_path: Path) -> ssl.SSLContext:
    """A client TLS context that trusts only the terminal's own certificate."""
    return ssl.create_default_context(cafile=str(cert_path))


@dataclass
class Running:
    """A running terminal and what a test needs to talk to it."""

    terminal: Terminal
    url: str
    tls: ssl.SSLContext | bool

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client for the API (with ``key`` as the bearer token)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(
            base_url=self.url,
            verify=self.tls,
            headers=headers,
            timeout=10.0,
            trust_env=False,
            **kwargs,
        )

    async def pair(self, name: str = "pos-1") -> str:
        """Pair a POS the way a person does: pair function, code read off the screen, POST."""
        await self.terminal.api.api.pairings.open()
        await self.terminal.runtime.wait_idle()
        screen = self.terminal.runtime.screen
        assert screen is not None
        assert screen.name == "pairing"
        code = screen.amount.replace(" ", "")
        async with self.client() as client:
            answer = await client.post("/v1/pairings", json={"code": code, "name": name})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["api_key"])


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    """A terminal with the API on, running, its embedded sandbox answering."""
    async with start(api_config(tmp_path)) as value:
        yield value


class start:
    """``async with start(config) as running``: the terminal up, its API listening."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._terminal = Terminal(config, SystemClock(assume_synced=True))
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        terminal = await self._terminal.__aenter__()
        self._task = asyncio.create_task(terminal.runtime.run())
        await terminal.runtime.wait_idle()
        api = terminal.api
        tls: ssl.SSLContext | bool = False
        if api.certificate is not None:
            tls = pinned_context(api.certificate.cert_path)
        return Running(terminal, api.url, tls)

    async def __aexit__(self, *exc: object) -> None:
        await self._terminal.runtime.stop(timeout_s=2)
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._terminal.__aexit__(None, None, None)
