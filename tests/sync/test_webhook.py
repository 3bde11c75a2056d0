"""The webhook target against a loopback receiver: signed batches, back-off, parking."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from terminal.clock import FakeClock, SystemClock
from terminal.journal import Journal
from terminal.journal.sync_marks import target_marks
from terminal.providers.loopback_http import Response
from terminal.sync.backoff import Backoff, retry_after_s
from terminal.sync.service import SyncService, request_retry
from terminal.sync.signing import signature_header, verify
from tests.sync.kit import SECRET, WebhookReceiver, fill, sync_config, wait_for


def _config(tmp_path: Path, url: str, **target: object):  # type: ignore[no-untyped-def]
    spec = {"name": "pos", "kind": "webhook", "url": url, "batch_size": 50, **target}
    return sync_config(tmp_path, [spec], {"pos": {"secret": SECRET}})


@asynccontextmanager
async def running(service: SyncService) -> AsyncIterator[SyncService]:
    task = asyncio.ensure_future(service.run_forever())
    try:
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _acked(journal: Journal) -> int:
    return target_marks(journal.database)[0].acked_through


def test_the_signature_is_stripe_like_and_checked() -> None:
    body = b'{"records":[]}'
    header = signature_header("k", 1700000000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify("k", header, body)
    assert not verify("k", header, body + b" ")
    assert not verify("other", header, body)
    assert not verify("k", header, body, now=1700000000 + 301)
    assert not verify("k", "v1=abc", body)


def test_retry_after_takes_seconds_and_dates() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s(None) is None
    assert retry_after_s("soon") is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    waits = Backoff(1.0, 8.0)
    assert all(0.5 <= waits.after_failure() <= 8.0 for _ in range(10))
    assert waits.after_failure(retry_after_s=30.0) >= 30.0


async def test_a_backlog_goes_in_order_in_batches_signed(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 120)
    config = _config(tmp_path, await receiver.start())
    async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
        await wait_for(lambda: _acked(journal) == 120, what="every record acknowledged")
    assert len(receiver.requests) == 3  # 50 + 50 + 20
    assert receiver.bad_signatures == 0
    assert receiver.store.outbox_ids("T0001") == list(range(1, 121))
    first = json.loads(receiver.requests[0].body)
    assert first["terminal_id"] == "T0001"
    assert len(first["records"]) == 50
    key = receiver.requests[0].headers["idempotency-key"]
    assert key == f"T0001-{journal.epoch}-1-50"
    assert journal.outbox_count() == 0


async def test_503_then_200_backs_off_honouring_retry_after(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 3)
    busy = Response(503, b"busy", "text/plain", (("Retry-After", "120"),))
    receiver.answers = [busy]
    clock = FakeClock()
    config = _config(tmp_path, await receiver.start())
    async with running(SyncService(config, journal, clock)):
        await wait_for(lambda: len(receiver.requests) == 1, what="the first try")
        await wait_for(lambda: target_marks(journal.database)[0].last_error != "", what="the error")
        assert target_marks(journal.database)[0].last_error.startswith("HTTP 503")
        await asyncio.sleep(0.05)
        deadlines = [d for d, _, f in clock._sleepers if not f.done()]
        assert max(deadlines) - clock.monotonic() >= 120.0  # Retry-After is honoured
        clock.advance(60)
        await asyncio.sleep(0.05)
        assert len(receiver.requests) == 1
        assert _acked(journal) == 0
        clock.advance(61)
        await wait_for(lambda: _acked(journal) == 3, what="sent after the wait")
    assert receiver.store.outbox_ids("T0001") == [1, 2, 3]
    assert target_marks(journal.database)[0].last_error == ""


async def test_resets_lost_answers_and_timeouts_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 10)
    url = await receiver.start()
    config = _config(tmp_path, url, batch_size=10, timeout_s=0.3)
    receiver.server.set_misbehaviour("drop", count=2)
    service = SyncService(config, journal, SystemClock(assume_synced=True))
    async with running(service):
        await wait_for(lambda: _acked(journal) == 10, what="after resets")
        receiver.server.set_misbehaviour("lose_answer", count=2)  # taken, but the answer lost
        fill(journal, 10)
        service.wake()
        await wait_for(lambda: _acked(journal) == 20, what="after lost answers")
        receiver.server.set_misbehaviour("slow", count=1, delay_s=1.0)
        fill(journal, 20)
        service.wake()
        await wait_for(lambda: _acked(journal) == 40, what="after a timeout")
    assert receiver.store.outbox_ids("T0001") == list(range(1, 41))  # in order, once each
    assert receiver.store.duplicates >= 1  # a lost answer means the batch came again


async def test_a_401_parks_the_batch_until_retry(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 5)
    receiver.answers = [Response.json({"error": "unknown key"}, status=401)]
    config = _config(tmp_path, await receiver.start())
    service = SyncService(config, journal, FakeClock())
    async with running(service):
        await wait_for(lambda: target_marks(journal.database)[0].parked, what="parked")
        (mark,) = target_marks(journal.database)
        assert mark.parked_through == 5
        assert "401" in mark.parked_reason
        assert "unknown key" in mark.last_error
        await asyncio.sleep(0.1)
        assert len(receiver.requests) == 1
        assert _acked(journal) == 0
        fill(journal, 1)
        service.wake()
        await asyncio.sleep(0.1)
        assert len(receiver.requests) == 1  # a parked target holds its order
        request_retry(tmp_path, "pos")  # as `payterm sync retry` does while the terminal runs
        service._clock.advance(1.0)  # type: ignore[attr-defined]
        await wait_for(lambda: _acked(journal) == 6, what="sent after the retry")
    assert receiver.store.outbox_ids("T0001") == [1, 2, 3, 4, 5, 6]
    assert not (tmp_path / "sync-retry.request").exists()


async def test_a_wrong_secret_is_refused_by_the_receiver(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 1)
    config = sync_config(
        tmp_path, [{"name": "pos", "kind": "webhook", "url": await receiver.start()}],
        {"pos": {"secret": "not-the-shared-one"}},
    )  # fmt: skip
    async with running(SyncService(config, journal, FakeClock())):
        await wait_for(lambda: target_marks(journal.database)[0].parked, what="parked")
    assert receiver.bad_signatures == 1
    assert receiver.store.count() == 0


@pytest.mark.parametrize("url", ["ftp://pos/hook", "mqtt://pos"])
def test_a_webhook_url_must_be_http(tmp_path: Path, url: str) -> None:
    from terminal.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sync.targets\[0\].url"):
        _config(tmp_path, url)
