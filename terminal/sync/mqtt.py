"""The MQTT target: records published with QoS 1, the terminal's status retained, its alerts.

Topics (``<id>`` is the terminal id): ``payterm/<id>/records`` (one message per record,
QoS 1; a batch is acknowledged once the broker acknowledged every one of its messages),
``payterm/<id>/status`` (retained: ``online`` with the status line's facts, or ``offline``
set by the broker from the Last Will when the terminal goes away) and
``payterm/<id>/alerts`` (QoS 1). Nothing broker-specific: any MQTT 3.1.1 or 5 broker.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

import aiomqtt

from terminal.clock import Clock
from terminal.config.model import SyncTargetConfig
from terminal.sync.mqtt_link import Broker, close_client, connect_client, is_auth_failure
from terminal.sync.record import Record
from terminal.sync.targets import Refused, TryLater

__all__ = ["MqttTarget", "topics", "ALERTS_KEPT"]

log = logging.getLogger("payterm.sync")

#: Alerts raised while the broker is away are kept (the newest this many) and sent later.
ALERTS_KEPT = 50


def topics(terminal_id: str) -> tuple[str, str, str]:
    """The records, status and alerts topics of a terminal."""
    base = f"payterm/{terminal_id}"
    return f"{base}/records", f"{base}/status", f"{base}/alerts"


def broker_of(config: SyncTargetConfig, password: str) -> Broker:
    """The broker a target's config and secret describe."""
    return Broker(
        url=config.url, protocol=config.protocol, username=config.username, password=password,
        ca_file=config.ca_file, cert_file=config.cert_file, key_file=config.key_file,
        timeout_s=config.timeout_s,
    )  # fmt: skip


class MqttTarget:
    """Publishes records to a broker over one persistent session, reconnecting as needed."""

    kind = "mqtt"

    def __init__(
        self, config: SyncTargetConfig, *, password: str, terminal_id: str, clock: Clock
    ) -> None:
        self.name = config.name
        self._config = config
        self._broker = broker_of(config, password)
        self._terminal_id = terminal_id
        self._clock = clock
        self._records, self._status_topic, self._alerts_topic = topics(terminal_id)
        self._client: aiomqtt.Client | None = None
        self._facts: dict[str, object] = {}
        self._alerts: deque[bytes] = deque(maxlen=ALERTS_KEPT)
        self._lock = asyncio.Lock()

    async def send(self, records: Sequence[Record]) -> None:
        """Publish ``records`` (QoS 1) and return once the broker acknowledged them all."""
        async with self._lock:
            client = await self._connected()
            publishes = [
                client.publish(self._records, r.body, qos=1, timeout=self._config.timeout_s)
                for r in records
            ]
            await self._settle(client, publishes)

    async def alert(self, code: str, message: str) -> None:
        """Publish an alert (kept and sent later while the broker is away)."""
        wall, synced = self._clock.wall().isoformat(), self._clock.wall_is_synced()
        body = {"terminal_id": self._terminal_id, "code": code, "message": message,
                "wall": wall, "wall_synced": synced}  # fmt: skip
        self._alerts.append(json.dumps(body, ensure_ascii=False, sort_keys=True).encode())
        if self._client is not None:
            await self._flush_alerts()

    async def status(self, facts: dict[str, object]) -> None:
        """Publish the terminal's status, retained (only when connected; kept for next time)."""
        self._facts = dict(facts)
        client = self._client
        if client is None:
            return
        try:
            await client.publish(self._status_topic, self._status_body("online"), qos=1,
                                 retain=True, timeout=self._config.timeout_s)  # fmt: skip
        except aiomqtt.MqttError as exc:
            log.info("sync %s: status not published: %s", self.name, exc)

    async def aclose(self) -> None:
        """Say ``offline`` (retained) and disconnect cleanly: the broker keeps the session."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.publish(self._status_topic, self._status_body("offline"), qos=1,
                                 retain=True, timeout=2.0)  # fmt: skip
        except aiomqtt.MqttError:
            pass
        await close_client(client)

    async def _connected(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        will = aiomqtt.Will(self._status_topic, self._status_body("offline"), qos=1, retain=True)
        client = connect_client(
            self._broker, identifier=f"payterm-{self._terminal_id}", will=will,
            inflight=max(20, self._config.batch_size),
        )  # fmt: skip
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            if is_auth_failure(exc):
                raise Refused(f"the broker refused the terminal's credentials: {exc}") from exc
            raise TryLater(f"cannot reach the broker {self._broker.url}: {exc}") from exc
        self._client = client
        log.info("sync %s: connected to %s", self.name, self._broker.url)
        try:
            await client.publish(self._status_topic, self._status_body("online"), qos=1,
                                 retain=True, timeout=self._config.timeout_s)  # fmt: skip
        except aiomqtt.MqttError as exc:
            await self._drop()
            raise TryLater(f"the broker took no status: {exc}") from exc
        await self._flush_alerts()
        return client

    async def _settle(
        self, client: aiomqtt.Client, publishes: list[Coroutine[Any, Any, None]]
    ) -> None:
        """Wait for every publish's acknowledgement, or fail fast when the connection drops."""
        waiting = asyncio.ensure_future(asyncio.gather(*publishes))
        dropped = getattr(client, "_disconnected", None)
        watch = {waiting} | ({dropped} if isinstance(dropped, asyncio.Future) else set())
        try:
            await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
            if waiting.done():
                waiting.result()
                return
            raise aiomqtt.MqttError("the connection to the broker was lost")
        except aiomqtt.MqttError as exc:
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            await self._drop()
            raise TryLater(f"the broker did not acknowledge the batch: {exc}") from exc
        except BaseException:
            waiting.cancel()
            raise

    async def _flush_alerts(self) -> None:
        client = self._client
        while client is not None and self._alerts:
            try:
                await client.publish(self._alerts_topic, self._alerts[0], qos=1,
                                     timeout=self._config.timeout_s)  # fmt: skip
            except aiomqtt.MqttError as exc:
                log.info("sync %s: alert kept for later: %s", self.name, exc)
                return
            self._alerts.popleft()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await close_client(client)

    def _status_body(self, state: str) -> bytes:
        body = {**self._facts, "state": state, "terminal_id": self._terminal_id}
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
