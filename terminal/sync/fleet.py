"""``payterm fleet listen``: the reference receiver of every terminal's records over MQTT.

It subscribes to ``payterm/+/records`` with QoS 1 on a persistent session, writes each
record once (keyed by its id, :mod:`terminal.sync.fleet_store`) into an SQLite file, and
prints one line per new record. A message is acknowledged to the broker only once its
record is committed (paho-mqtt's manual acknowledgement), so nothing is lost when the
listener stops between the two; duplicates are dropped by id and counted.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import aiomqtt

from terminal.money import Money
from terminal.sync.fleet_store import RecordStore
from terminal.sync.mqtt_link import Broker, close_client, connect_client

__all__ = ["listen", "record_line", "RECORDS_TOPIC", "ALERTS_TOPIC"]

log = logging.getLogger("payterm.fleet")

RECORDS_TOPIC = "payterm/+/records"
ALERTS_TOPIC = "payterm/+/alerts"
RECONNECT_S = 2.0


def record_line(record: dict[str, object]) -> str:
    """The line printed for a new record: id, order, state, amount, terminal's wall time."""
    amount = Money(int(str(record["amount_minor"])), str(record["currency"]))
    flags = [name for name in ("forced", "in_doubt", "needs_admin", "mismatch") if record.get(name)]
    extra = f" [{','.join(flags)}]" if flags else ""
    return (
        f"{record['id']} {record['order_id']} {record['state']} {amount} "
        f"{record.get('recorded_wall', '')}{extra}"
    )


async def listen(
    broker: Broker,
    db: Path,
    *,
    client_id: str = "payterm-fleet",
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Receive records until ``stop`` is set (or cancelled); reconnects after each loss."""
    store = RecordStore(db)
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            try:
                await _session(broker, store, client_id, out, stop, on_ready)
            except aiomqtt.MqttError as exc:
                log.warning("fleet: %s; connecting again in %.0f s", exc, RECONNECT_S)
                try:
                    await asyncio.wait_for(stop.wait(), RECONNECT_S)
                except TimeoutError:
                    pass
    finally:
        store.close()
    return 0


async def _session(
    broker: Broker,
    store: RecordStore,
    client_id: str,
    out: TextIO,
    stop: asyncio.Event,
    on_ready: Callable[[], None] | None,
) -> None:
    client = connect_client(broker, identifier=client_id, inflight=100)
    paho = client._client  # noqa: SLF001 - manual acknowledgement is paho's, not aiomqtt's
    paho.manual_ack_set(True)
    await client.__aenter__()
    try:
        await client.subscribe([(RECORDS_TOPIC, 1), (ALERTS_TOPIC, 1)])
        log.info("fleet: subscribed at %s", broker.url)
        if on_ready is not None:
            on_ready()
        stopping = asyncio.ensure_future(stop.wait())
        incoming = client.messages.__aiter__()
        try:
            while True:
                following = asyncio.ensure_future(incoming.__anext__())
                await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    following.cancel()
                    return
                taken = [following.result(), *_queued(client)]
                _take(taken, store, out)
                for message in taken:  # only now: their records are committed
                    paho.ack(message.mid, message.qos)
        finally:
            stopping.cancel()
    finally:
        await close_client(client)


def _queued(client: aiomqtt.Client, limit: int = 500) -> list[aiomqtt.Message]:
    """The messages already received and waiting, to be committed together with the first."""
    queue = client._queue  # noqa: SLF001 - aiomqtt keeps what paho received here
    taken: list[aiomqtt.Message] = []
    while len(taken) < limit and not queue.empty():
        taken.append(queue.get_nowait())
    return taken


def _take(messages: list[aiomqtt.Message], store: RecordStore, out: TextIO) -> None:
    """Store the records among ``messages`` in one commit; print alerts and new records."""
    records: list[bytes | str] = []
    for message in messages:
        payload = message.payload
        body = payload if isinstance(payload, bytes | str) else str(payload)
        if str(message.topic).endswith("/alerts"):
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            out.write(f"ALERT {message.topic}: {text}\n")
        else:
            records.append(body)
    for stored in store.add_batch(records) if records else []:
        if isinstance(stored, ValueError):
            log.warning("fleet: a message dropped: %s", stored)
        elif stored.new:
            out.write(record_line(stored.record) + "\n")
    out.flush()
