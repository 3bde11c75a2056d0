"""What the API tests share: a payment body, waiting for a state, reading an SSE stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx


def body(reference: str = "POS-1", method: str = "qr", **changes: Any) -> dict[str, Any]:
    """A valid create-payment body."""
    return {"amount_minor": 1500, "currency": "RUB", "reference": reference, "method": method,
            **changes}  # fmt: skip


async def wait_state(client: httpx.AsyncClient, order_id: str, *states: str) -> dict[str, Any]:
    """Poll ``GET /v1/payments/{id}`` until it is in one of ``states`` (10 s at most)."""
    payment: dict[str, Any] = {}
    for _ in range(200):
        payment = (await client.get(f"/v1/payments/{order_id}")).json()
        if payment["state"] in states:
            return payment
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id} stayed {payment.get('state')}, not {states}")


async def read_events(
    client: httpx.AsyncClient, count: int, last_id: str | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """The next ``count`` events of ``GET /v1/events`` (after ``last_id``), as (id, data)."""
    headers = {"Last-Event-ID": last_id} if last_id is not None else {}
    found: list[tuple[int, dict[str, Any]]] = []
    event_id = 0
    async with client.stream("GET", "/v1/events", headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                found.append((event_id, json.loads(line[6:])))
                if len(found) == count:
                    break
    return found
