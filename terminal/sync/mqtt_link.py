"""Connecting to an MQTT broker with aiomqtt: the standard options only (3.1.1 or 5, TLS).

Shared by the terminal's MQTT target, the doctor's check and ``payterm fleet listen``. A
persistent session: MQTT 3.1.1 ``clean_session = false``; MQTT 5 ``clean_start = false``
with a session expiry, so the broker keeps the session while the client is away.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from terminal.sync.webhook import tls_context

__all__ = ["Broker", "SESSION_EXPIRY_S", "connect_client", "close_client", "is_auth_failure"]

#: How long an MQTT 5 broker keeps a session while its client is away: a week.
SESSION_EXPIRY_S = 7 * 24 * 3600
#: CONNACK codes that mean the credentials or certificate are refused (3.1.1 and 5).
_AUTH_CODES = frozenset({4, 5, 134, 135, 138})


@dataclass(frozen=True, slots=True)
class Broker:
    """Where and how to reach a broker: ``mqtt://host:port`` or ``mqtts://host:port``."""

    url: str
    protocol: str = "5"  # "5" or "3.1.1"
    username: str = ""
    password: str = ""
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    timeout_s: float = 10.0

    @property
    def host(self) -> str:
        """The broker's host name."""
        return urlsplit(self.url).hostname or ""

    @property
    def tls(self) -> bool:
        """True for ``mqtts://``."""
        return self.url.startswith("mqtts://")

    @property
    def port(self) -> int:
        """The port from the url, else 8883 with TLS and 1883 without."""
        return urlsplit(self.url).port or (8883 if self.tls else 1883)


def connect_client(
    broker: Broker,
    *,
    identifier: str,
    persistent: bool = True,
    will: aiomqtt.Will | None = None,
    inflight: int = 20,
) -> aiomqtt.Client:
    """An aiomqtt client for ``broker`` (not connected yet: ``await client.__aenter__()``)."""
    v5 = broker.protocol == "5"
    properties = None
    if v5 and persistent:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=identifier,
        username=broker.username or None,
        password=broker.password or None,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else not persistent,
        clean_start=not persistent if v5 else MQTT_CLEAN_START_FIRST_ONLY,
        properties=properties,
        will=will,
        timeout=broker.timeout_s,
        keepalive=30,
        max_inflight_messages=inflight,
        tls_context=(
            tls_context(broker.ca_file, broker.cert_file, broker.key_file) if broker.tls else None
        ),
    )
    client.pending_calls_threshold = inflight + 10
    return client


async def close_client(client: aiomqtt.Client) -> None:
    """Disconnect cleanly when still connected; a broken connection is simply dropped."""
    with contextlib.suppress(aiomqtt.MqttError, OSError):
        await client.__aexit__(None, None, None)


def is_auth_failure(exc: BaseException) -> bool:
    """True when the broker refused the connection for its credentials (not for load)."""
    code = getattr(exc, "rc", None)
    value = getattr(code, "value", code)
    return isinstance(value, int) and value in _AUTH_CODES
