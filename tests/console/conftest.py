"""A demo terminal with the web console on loopback, and a headless Chromium to look at it.

The browser is Debian's Chromium (/usr/bin/chromium) driven by Playwright's Python
package: no browser is downloaded. Without either the tests are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from terminal.app import Terminal
from terminal.clock import Clock, SystemClock
from terminal.config.loader import demo_config
from terminal.config.model import ApiConfig, Config

CHROMIUM = Path(os.environ.get("PAYTERM_CHROMIUM", "/usr/bin/chromium"))
#: Chromium's flags: root needs --no-sandbox; the machine may have no network at all.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright)"
    return None


def console_config(data_dir: Path, **changes: Any) -> Config:
    """The demo's configuration with the API and console on 127.0.0.1, plain HTTP, any port."""
    config = demo_config(data_dir)
    api = ApiConfig(enabled=True, host="127.0.0.1", port=0, tls=False)
    return replace(config, api=replace(api, **changes))


@dataclass
class Running:
    """A running demo terminal and the console's address."""

    terminal: Terminal
    url: str  # http://127.0.0.1:PORT/console/


class start:
    """``async with start(config) as running``: the terminal up with its console."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        clock = clock or SystemClock(assume_synced=True)
        self._terminal = Terminal(config, clock, with_network_link=True)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        terminal = await self._terminal.__aenter__()
        self._task = asyncio.create_task(terminal.runtime.run())
        await terminal.runtime.wait_idle()
        return Running(terminal, f"{terminal.api.url}/console/")

    async def __aexit__(self, *exc: object) -> None:
        await self._terminal.runtime.stop(timeout_s=2)
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._terminal.__aexit__(None, None, None)


class browser:
    """``async with browser() as page``: a fresh headless Chromium page (its own profile)."""

    async def __aenter__(self) -> Any:
        from playwright.async_api import async_playwright

        self._profile = tempfile.mkdtemp(prefix="payterm-chromium-")
        self._pw = await async_playwright().start()
        self._context = await self._pw.chromium.launch_persistent_context(
            self._profile, executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000},
            accept_downloads=True, bypass_csp=True,  # the tests evaluate their own checks
        )  # fmt: skip
        return self._context.pages[0] if self._context.pages else await self._context.new_page()

    async def __aexit__(self, *exc: object) -> None:
        await self._context.close()
        await self._pw.stop()
        shutil.rmtree(self._profile, ignore_errors=True)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    """The demo terminal with its console."""
    async with start(console_config(tmp_path)) as value:
        yield value
