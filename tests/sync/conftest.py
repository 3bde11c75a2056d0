"""Fixtures of the sync tests: a journal, a webhook receiver, a Mosquitto broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from terminal.journal import Journal
from tests.sync.kit import MOSQUITTO, NO_MOSQUITTO, Mosquitto, WebhookReceiver


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "journal.sqlite3", terminal_id="T0001") as opened:
        yield opened


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver(tmp_path / "pos.sqlite3")
    await hook.start()
    yield hook
    await hook.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if MOSQUITTO is None:
        pytest.skip(NO_MOSQUITTO)
    started = Mosquitto(tmp_path / "broker").start()
    yield started
    started.kill()
