"""``GET /v1/events``: Server-Sent Events numbered from the journal, resumable by Last-Event-ID.

A payment's every recorded step has an event (written by a trigger in the same
transaction as the step, so none is lost in a crash); so has an API payment waiting for
or abandoned before the customer's code, and each terminal condition (printer trouble, a
part unplugged or back, an alert such as a reconcile mismatch), which this hub writes as
the runtime tells it. A client that reconnects with ``Last-Event-ID: n`` gets every event
after n, in order, once, even after a restart of the terminal.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from terminal.errors import JournalError
from terminal.journal.api_store import ApiStore, StoredEvent
from terminal.runtime.runtime import Runtime

__all__ = ["EventHub", "KEEPALIVE_S"]

log = logging.getLogger("payterm.api")

#: A comment line is sent this often on a quiet stream, so proxies and clients see it live.
KEEPALIVE_S = 15.0


class EventHub:
    """Writes terminal conditions as events and wakes the streams when anything is added."""

    def __init__(self, runtime: Runtime, payments: Any) -> None:
        self._runtime = runtime
        self._store: ApiStore = runtime.api_store
        self._payments = payments  # terminal.api.payments.Payments (resources)
        self._changed = asyncio.Event()
        self._closed = False
        self._printer_problem = ""
        #: Each provider's last call: True answered, False failed (None: not called yet).
        self.providers: dict[str, bool] = {}
        self._calls: dict[str, str] = {}  # order id -> provider, for answers and failures
        runtime.subscribe(self._observe)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _observe(self, name: str, details: dict[str, Any]) -> None:
        if name in ("journal:record", "api:order"):
            self._wake()  # their events were written with them, by the journal's triggers
        elif name == "provider:call":
            self._calls[str(details["order_id"])] = str(details["provider"])
        elif name in ("provider:answer", "provider:failed"):
            provider = self._calls.get(str(details["order_id"]))
            if provider is not None:
                self.providers[provider] = name == "provider:answer"
        elif name == "printer:failed":
            self._printer_problem = "printer"
            self._add("terminal", {"condition": "printer", "problem": details["reason"]})
        elif name == "printer:slip" and self._printer_problem:
            self._printer_problem = ""
            self._add("terminal", {"condition": "printer", "problem": ""})
        elif name == "hardware:problem":
            self._add("terminal", {"condition": details["part"], "problem": details["problem"]})
        elif name == "terminal:alert":
            body = {"condition": "alert", "code": details["code"], "message": details["message"]}
            self._add("terminal", body)

    def _add(self, kind: str, body: dict[str, Any]) -> None:
        try:
            self._store.add_event(kind, json.dumps(body), wall=self._runtime.clock_wall())
        except JournalError as exc:
            log.error("event not recorded: %s", exc)
        self._wake()

    def frame(self, event: StoredEvent) -> str | None:
        """The SSE frame for ``event`` (None for a step whose payment is gone)."""
        data = self.data(event)
        if data is None:
            return None
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return f"id: {event.id}\nevent: {data['type']}\ndata: {text}\n\n"

    def data(self, event: StoredEvent) -> dict[str, Any] | None:
        """The event as JSON: a payment as the resource shows it, or a terminal condition."""
        body: dict[str, Any] = json.loads(event.body) if event.body else {}
        training = self._runtime.state.settings.training
        if event.kind == "terminal":
            return {"type": "terminal", "id": event.id, "training": training, "at": event.wall,
                    **body}  # fmt: skip
        if event.kind == "order":
            payment = self._payments.resource(body["id"])
            return None if payment is None else {"type": "payment", "id": event.id,
                                                 "training": training,
                                                 "payment": payment}  # fmt: skip
        if event.seq is None or event.n is None:
            return None
        order_id = self._store.order_id_of(event.seq)
        payment = self._payments.resource(order_id) if order_id is not None else None
        if payment is None:
            return None
        # The payment as it stood at this step: its history up to it, its state then.
        steps = payment["history"][: event.n + 1]
        state = steps[-1]["state"] if steps else payment["state"]
        if state == "voided" and any(s["note"] == "refunded" for s in steps):
            state = "refunded"
        at_step = {**payment, "history": steps, "state": state}
        return {"type": "payment", "id": event.id, "training": training, "payment": at_step}

    async def stream(self, last_id: int) -> AsyncIterator[str]:
        """Every event after ``last_id`` as SSE frames, then each new one as it comes."""
        yield "retry: 2000\n\n"
        while not self._closed:
            changed = self._changed
            events = self._store.events_after(last_id)
            for event in events:
                last_id = event.id
                frame = self.frame(event)
                if frame is not None:
                    yield frame
            if len(events) == 100:
                continue  # more waiting
            try:
                await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
