"""Fixtures every test folder shares."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PAYTERM_* setting of the developer's shell leaks into a test."""
    for name in [n for n in os.environ if n.startswith("PAYTERM_")]:
        monkeypatch.delenv(name)


class _ErrorLog(logging.Handler):
    """Collects ERROR records from asyncio (e.g. a connection task that ended badly)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
async def no_asyncio_errors() -> AsyncIterator[None]:
    """Fail a test whose servers left asyncio to log an error (checked after teardown)."""
    handler = _ErrorLog()
    logging.getLogger("asyncio").addHandler(handler)
    try:
        yield
        for _ in range(3):  # let connection callbacks scheduled by stop() run
            await asyncio.sleep(0)
    finally:
        logging.getLogger("asyncio").removeHandler(handler)
    assert handler.messages == []
