"""The MQTT target against a real Mosquitto: QoS 1 records, retained status, Last Will,
alerts, TLS with a client certificate, passwords, and a broker stopped mid-batch."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from terminal.clock import SystemClock
from terminal.journal import Journal
from terminal.journal.sync_marks import target_marks
from terminal.sync.fleet import listen
from terminal.sync.fleet_store import RecordStore
from terminal.sync.mqtt_link import Broker, close_client, connect_client
from terminal.sync.service import SyncService
from tests.sync.kit import (
    MOSQUITTO,
    NO_MOSQUITTO,
    Mosquitto,
    fill,
    make_certificates,
    sync_config,
    wait_for,
)

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason=NO_MOSQUITTO)


def _target(url: str, **more: object) -> dict[str, object]:
    return {"name": "fleet", "kind": "mqtt", "url": url, "batch_size": 50, "timeout_s": 2.0,
            **more}  # fmt: skip


@asynccontextmanager
async def running(service: SyncService) -> AsyncIterator[SyncService]:
    task = asyncio.ensure_future(service.run_forever())
    try:
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def fleet(broker: Broker, db: Path, client_id: str = "fleet-test") -> AsyncIterator[None]:
    ready, stop = asyncio.Event(), asyncio.Event()
    out = open(db.with_suffix(".log"), "w")  # noqa: SIM115
    task = asyncio.ensure_future(listen(broker, db, client_id=client_id, out=out, stop=stop,
                                        on_ready=ready.set))  # fmt: skip
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        out.close()


def _acked(journal: Journal) -> int:
    return target_marks(journal.database)[0].acked_through


def _kept(db: Path) -> list[int]:
    store = RecordStore(db)
    try:
        return store.outbox_ids("T0001")
    finally:
        store.close()


async def _retained(broker: Broker, topic: str) -> dict[str, object]:
    client = connect_client(broker, identifier="peek", persistent=False)
    await client.__aenter__()
    try:
        await client.subscribe(topic, qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                return dict(json.loads(bytes(message.payload)))  # type: ignore[arg-type]
    finally:
        await close_client(client)
    raise AssertionError("no retained message")


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_records_reach_the_fleet_listener_once_each(
    tmp_path: Path, journal: Journal, broker: Mosquitto, protocol: str
) -> None:
    fill(journal, 130)
    config = sync_config(tmp_path, [_target(broker.url, protocol=protocol)], {})
    db = tmp_path / "fleet.sqlite3"
    async with fleet(Broker(broker.url, protocol=protocol), db):
        async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
            await wait_for(lambda: _acked(journal) == 130, what="all acknowledged")
            await wait_for(lambda: len(_kept(db)) == 130, what="all at the listener")
        status = await _retained(Broker(broker.url), "payterm/T0001/status")
    assert _kept(db) == list(range(1, 131))
    assert status["state"] == "offline"  # a clean stop says so, retained
    lines = db.with_suffix(".log").read_text().splitlines()
    assert len(lines) == 130
    assert lines[0].startswith(f"T0001-{journal.epoch}-1 ")


async def test_status_is_retained_online_and_the_last_will_says_offline(
    tmp_path: Path, journal: Journal, broker: Mosquitto
) -> None:
    fill(journal, 1)
    config = sync_config(tmp_path, [_target(broker.url)], {})
    service = SyncService(config, journal, SystemClock(assume_synced=True))
    async with running(service):
        await wait_for(lambda: _acked(journal) == 1, what="acknowledged")
        for _ in range(40):  # the housekeeping publishes the facts, at most every 5 s
            status = await _retained(Broker(broker.url), "payterm/T0001/status")
            if status.get("records_unsynced") == 0:
                break
            await asyncio.sleep(0.25)
        assert status["state"] == "online"
        assert status["records_unsynced"] == 0
        assert "software_version" in status
        client = service.senders[0].target._client  # type: ignore[attr-defined]
        client._client.socket().shutdown(socket.SHUT_RDWR)  # the link dies, no DISCONNECT
        await asyncio.sleep(0.1)
        status = await _retained(Broker(broker.url), "payterm/T0001/status")
    assert status["state"] == "offline"


async def test_alerts_go_to_the_alerts_topic(
    tmp_path: Path, journal: Journal, broker: Mosquitto
) -> None:
    config = sync_config(tmp_path, [_target(broker.url)], {})
    service = SyncService(config, journal, SystemClock(assume_synced=True))
    watcher = connect_client(Broker(broker.url), identifier="watch", persistent=False)
    await watcher.__aenter__()
    await watcher.subscribe("payterm/T0001/alerts", qos=1)
    try:
        async with running(service):
            fill(journal, 1)
            service.wake()
            await wait_for(lambda: _acked(journal) == 1, what="connected")
            service._observe("terminal:alert", {"code": "mismatch", "message": "paid after all"})
            async with asyncio.timeout(5):
                async for message in watcher.messages:
                    alert = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                    break
    finally:
        await close_client(watcher)
    assert (alert["code"], alert["message"], alert["terminal_id"]) == (
        "mismatch", "paid after all", "T0001")  # fmt: skip


async def test_tls_with_a_client_certificate_and_a_password(
    tmp_path: Path, journal: Journal
) -> None:
    certs = make_certificates(tmp_path)
    broker = Mosquitto(tmp_path / "tls", tls=certs, users={"till": "s3cret"}).start()
    try:
        client = certs["client"]
        target = _target(broker.url, username="till", ca_file=f"{certs['ca']}.pem",
                         cert_file=f"{client}.pem", key_file=f"{client}.key")  # fmt: skip
        fill(journal, 5)
        config = sync_config(tmp_path, [target], {"fleet": {"password": "s3cret"}})
        async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
            await wait_for(lambda: _acked(journal) == 5, what="sent over TLS")
        wrong = sync_config(tmp_path, [target], {"fleet": {"password": "wrong"}})
        fill(journal, 1)
        async with running(SyncService(wrong, journal, SystemClock(assume_synced=True))):
            await wait_for(lambda: target_marks(journal.database)[0].parked, what="refused: parked")
        assert "credentials" in target_marks(journal.database)[0].parked_reason
        assert _acked(journal) == 5
    finally:
        broker.kill()


async def test_broker_stopped_mid_batch_and_restarted_loses_nothing(
    tmp_path: Path, journal: Journal, broker: Mosquitto
) -> None:
    fill(journal, 2000)
    config = sync_config(tmp_path, [_target(broker.url, batch_size=100)], {})
    db = tmp_path / "fleet.sqlite3"
    async with fleet(Broker(broker.url), db, client_id="fleet-persist"):
        async with running(SyncService(config, journal, SystemClock(assume_synced=True))):
            await wait_for(lambda: _acked(journal) >= 300, what="a part sent")
            broker.stop()
            stopped_at = _acked(journal)
            await asyncio.sleep(1.0)
            assert _acked(journal) < 2000
            assert _acked(journal) <= stopped_at + 100
            broker.start()
            await wait_for(lambda: _acked(journal) == 2000, timeout_s=60, what="the rest")
            await wait_for(lambda: len(_kept(db)) == 2000, timeout_s=60, what="all kept")
    kept = _kept(db)
    assert sorted(kept) == list(range(1, 2001))
    assert len(set(kept)) == 2000
    assert kept == sorted(kept)  # first arrivals in order


def test_connect_client_speaks_each_protocol() -> None:
    async def make() -> list[aiomqtt.Client]:
        return [
            connect_client(Broker("mqtt://h", protocol=p), identifier="x") for p in ("5", "3.1.1")
        ]

    v5, v311 = asyncio.run(make())
    assert v5._client.protocol == 5
    assert v311._client.protocol == 4
