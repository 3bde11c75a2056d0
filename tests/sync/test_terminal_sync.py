"""Sync inside the assembled terminal: a refused batch is an alert on the screen and the
status line, the X report counts what is not yet synced, the display's mark, clock jumps,
and a 10 000-record backlog to each target."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest

from terminal.app import Terminal
from terminal.clock import FakeClock, SystemClock
from terminal.journal import Journal
from terminal.journal.sync_marks import target_marks
from terminal.providers.loopback_http import Response
from terminal.sync.fleet_store import RecordStore
from terminal.sync.mqtt_link import Broker
from terminal.sync.service import SyncService
from terminal.system.status import status_line
from tests.sync.kit import (
    MOSQUITTO,
    NO_MOSQUITTO,
    SECRET,
    Mosquitto,
    WebhookReceiver,
    fill,
    sync_config,
    wait_for,
)
from tests.sync.test_mqtt import fleet, running


def _hook(url: str, **more: object) -> dict[str, object]:
    return {"name": "pos", "kind": "webhook", "url": url, **more}


async def test_a_refused_batch_shows_on_screen_status_line_and_x_report(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    receiver.answers = [Response.json({"error": "revoked"}, status=403)]
    config = sync_config(tmp_path, [_hook(await receiver.start())], {"pos": {"secret": SECRET}})
    clock = FakeClock()
    async with Terminal(config, clock) as terminal:
        run = asyncio.ensure_future(terminal.runtime.run())
        try:
            fill(terminal.journal, 2)
            terminal.sync.wake()
            await wait_for(lambda: "sync" in terminal.runtime.status()["part_problems"])
            await terminal.runtime.wait_idle()
            assert terminal.runtime.screen is not None
            assert terminal.runtime.screen.lines[-1] == "Sync refused: pos"
            line = status_line(terminal.runtime.status(), terminal.journal.outbox_count())
            assert "Sync refused: pos" in line
            assert "2 records waiting to sync" in line
            report = terminal.runtime._printing.x_report(  # as the X report key prints it
                terminal.journal.report(), printed_wall="2026-01-01T12:00:00+00:00",
                unsynced=terminal._unsynced(),
            )  # fmt: skip
            assert any("Not yet synced" in x.text and x.text.endswith("2") for x in report.lines)
            (terminal.config.terminal.data_dir / "sync-retry.request").write_text("pos\n")
            clock.advance(1.5)
            await wait_for(lambda: terminal.journal.outbox_count() == 0, what="sent on retry")
            await wait_for(lambda: "sync" not in terminal.runtime.status()["part_problems"])
        finally:
            await terminal.runtime.stop()
            await run
    assert receiver.store.outbox_ids("T0001") == [1, 2]


async def test_the_display_mark_follows_the_monotonic_age_not_the_wall_clock(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    receiver.server.set_misbehaviour("error", count=1000)  # 503 all along: nothing goes
    config = sync_config(
        tmp_path, [_hook(await receiver.start())], {"pos": {"secret": SECRET}},
        late_after_s=60.0,
    )  # fmt: skip
    clock = FakeClock(synced=False)
    async with Terminal(config, clock) as terminal:
        run = asyncio.ensure_future(terminal.runtime.run())
        try:
            fill(terminal.journal, 1)
            clock._wall0 += dt.timedelta(days=3 * 365)  # NTP syncs: the wall clock jumps
            clock.synced = True
            for _ in range(5):
                clock.advance(1.0)
                await asyncio.sleep(0.02)
            await terminal.runtime.wait_idle()
            assert terminal.runtime.screen is not None
            assert not terminal.runtime.screen.sync_late
            for _ in range(60):
                clock.advance(1.0)
                await asyncio.sleep(0.005)
            await wait_for(lambda: terminal.runtime.screen.sync_late, what="the mark")  # type: ignore[union-attr]
            receiver.server.clear_misbehaviour()
            for _ in range(400):
                if terminal.journal.outbox_count() == 0 and not terminal.runtime.screen.sync_late:  # type: ignore[union-attr]
                    break
                clock.advance(1.0)
                await asyncio.sleep(0.01)
            assert terminal.journal.outbox_count() == 0
            assert not terminal.runtime.screen.sync_late  # type: ignore[union-attr]
        finally:
            await terminal.runtime.stop()
            await run


async def test_records_keep_the_clock_flag_across_an_ntp_jump(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 1)  # recorded with the clock not yet synced, then synced (see fill)
    config = sync_config(tmp_path, [_hook(await receiver.start())], {"pos": {"secret": SECRET}})
    async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
        await wait_for(lambda: receiver.store.count() == 1)
    (request,) = receiver.requests
    (record,) = json.loads(request.body)["records"]
    assert record["created_wall_synced"] is False
    assert record["recorded_wall_synced"] is True
    assert [s["wall_synced"] for s in record["history"]] == [False, True]


async def test_a_backlog_of_10000_reaches_the_webhook_once_each_in_order(
    tmp_path: Path, journal: Journal, receiver: WebhookReceiver
) -> None:
    fill(journal, 10_000)
    config = sync_config(tmp_path, [_hook(await receiver.start())], {"pos": {"secret": SECRET}})
    receiver.server.set_misbehaviour("lose_answer", count=3)
    async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
        await wait_for(lambda: target_marks(journal.database)[0].acked_through == 10_000, 120)
    assert receiver.store.outbox_ids("T0001") == list(range(1, 10_001))


@pytest.mark.skipif(MOSQUITTO is None, reason=NO_MOSQUITTO)
async def test_a_backlog_of_10000_reaches_the_fleet_once_each_in_order(
    tmp_path: Path, journal: Journal, broker: Mosquitto
) -> None:
    fill(journal, 10_000)
    target = {"name": "fleet", "kind": "mqtt", "url": broker.url, "batch_size": 200}
    config = sync_config(tmp_path, [target], {})
    db = tmp_path / "fleet.sqlite3"
    async with fleet(Broker(broker.url), db, client_id="fleet-10k"):
        async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
            await wait_for(lambda: target_marks(journal.database)[0].acked_through == 10_000, 120)

            def kept() -> int:
                store = RecordStore(db)
                try:
                    return store.count()
                finally:
                    store.close()

            await wait_for(lambda: kept() == 10_000, 60)
    store = RecordStore(db)
    try:
        assert store.outbox_ids("T0001") == list(range(1, 10_001))
    finally:
        store.close()
