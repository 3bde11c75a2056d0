"""The HTTPS webhook target: each batch POSTed as signed JSON; 2xx acknowledges it.

408, 429, 5xx, timeouts and broken connections are tried again later (``Retry-After``
honoured); any other answer parks the batch (:class:`~terminal.sync.targets.Refused`).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path

import httpx

from terminal.clock import Clock
from terminal.config.model import SyncTargetConfig
from terminal.sync.backoff import retry_after_s
from terminal.sync.record import Record, encode_batch
from terminal.sync.signing import SIGNATURE_HEADER, signature_header
from terminal.sync.targets import Refused, TryLater

__all__ = ["WebhookTarget", "RETRYABLE_STATUSES", "tls_context"]

#: Answers that mean "not now": the batch is sent again after a wait.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def tls_context(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None
) -> ssl.SSLContext:
    """The TLS context for a target: the system's CAs or ``ca_file``, and a client cert."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None and key_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file))
    return context


class WebhookTarget:
    """POSTs batches to one endpoint, signed with HMAC-SHA256 (see ``signing``)."""

    kind = "webhook"

    def __init__(
        self,
        config: SyncTargetConfig,
        *,
        secret: str,
        terminal_id: str,
        epoch: str,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = config.name
        self._config = config
        self._secret = secret
        self._terminal_id = terminal_id
        self._epoch = epoch
        self._clock = clock
        verify: ssl.SSLContext | bool = True
        if config.url.startswith("https://"):
            verify = tls_context(config.ca_file, config.cert_file, config.key_file)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_s), verify=verify, trust_env=False,
            transport=transport,
        )  # fmt: skip

    async def send(self, records: Sequence[Record]) -> None:
        """POST ``records`` as one batch; return once the receiver answered 2xx."""
        wall = self._clock.wall()
        body = encode_batch(self._terminal_id, self._epoch, records, wall.isoformat())
        first, last = (records[0].outbox_id, records[-1].outbox_id) if records else (0, 0)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(self._secret, int(wall.timestamp()), body),
            "Idempotency-Key": f"{self._terminal_id}-{self._epoch}-{first}-{last}",
            "User-Agent": "payterm-sync",
        }
        try:
            response = await self._client.post(self._config.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TryLater(f"no answer within {self._config.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise TryLater(f"cannot reach {self._config.url}: {exc or type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status in RETRYABLE_STATUSES or status >= 500:
            raise TryLater(reason, retry_after_s(response.headers.get("Retry-After")))
        raise Refused(f"{reason}: {response.text[:200].strip()}".rstrip(": "))

    async def probe(self) -> None:
        """Send an empty signed batch (the doctor's test): TryLater or Refused as ``send``."""
        await self.send(())

    async def alert(self, code: str, message: str) -> None:
        """Webhooks carry records only: alerts reach the POS through its own records."""

    async def status(self, facts: dict[str, object]) -> None:
        """Webhooks carry records only."""

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
