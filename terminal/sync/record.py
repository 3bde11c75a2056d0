"""The record a target receives: one JSON object per outbox item, the same for every target.

Its JSON Schema is in docs/sync.md. A record's ``id`` is ``<terminal id>-<epoch>-<outbox
id>``: stable across resends, restarts and power cuts, never given twice (the epoch is
random per journal). The wire is at-least-once; the receiver's view is exactly-once by the
dedupe rule: keep the first record of each ``id`` and drop any other with that ``id``.
Within one terminal and epoch, ``outbox_id`` only grows, in the order records were made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from terminal import __version__
from terminal.config.model import RouteConfig
from terminal.journal import Journal
from terminal.journal.outbox import OutboxItem, items_after
from terminal.journal.sync_marks import histories
from terminal.machine.routing import route_code

__all__ = ["SCHEMA_ID", "Record", "RecordReader", "record_id", "encode_batch"]

#: The record format's name and version, in each record's ``schema`` field.
SCHEMA_ID = "payterm.record/1"
#: States in which the terminal had no final word, settled later by asking the provider.
_IN_DOUBT_STATES = frozenset({"forced", "cancel_failed", "voiding"})


def record_id(terminal_id: str, epoch: str, outbox_id: int) -> str:
    """The record's stable id: the dedupe key of every receiver."""
    return f"{terminal_id}-{epoch}-{outbox_id}"


@dataclass(frozen=True, slots=True)
class Record:
    """One record ready to send: its outbox id (for the watermark) and its JSON bytes."""

    outbox_id: int
    id: str
    body: bytes


class RecordReader:
    """Reads the records above a watermark from the journal and makes their JSON."""

    def __init__(self, journal: Journal, routes: Sequence[RouteConfig] = ()) -> None:
        self._journal = journal
        self._routes = tuple(routes)

    def after(self, watermark: int, limit: int) -> list[Record]:
        """Up to ``limit`` records with outbox ids above ``watermark``, in order."""
        journal = self._journal
        items = items_after(
            journal.database, watermark, terminal_id=journal.terminal_id, epoch=journal.epoch,
            limit=limit,
        )  # fmt: skip
        raws = [(item, json.loads(item.payload)) for item in items]
        steps = histories(self._journal.database, [int(raw["seq"]) for _, raw in raws])
        records = []
        for item, raw in raws:
            body = self._body(item, raw, steps[int(raw["seq"])])
            records.append(Record(item.id, str(body["id"]), _compact(body)))
        return records

    def _body(self, item: OutboxItem, raw: dict[str, Any], rows: list[Any]) -> dict[str, Any]:
        """The record of an outbox item as a dict (see docs/sync.md for every field)."""
        history = [
            {"state": str(row[1]), "note": str(row[2]), "wall": str(row[3]),
             "wall_synced": bool(row[4])}
            for row in rows[: int(raw.get("history_steps", 0))]
        ]  # fmt: skip
        code = str(raw.get("code_masked") or "")
        route = route_code(code, self._routes) if raw["flow"] == "cpm" and code else None
        states = {step["state"] for step in history}
        return {
            "schema": SCHEMA_ID,
            "id": record_id(str(raw["terminal_id"]), str(raw["epoch"]), item.id),
            "terminal_id": raw["terminal_id"],
            "epoch": raw["epoch"],
            "outbox_id": item.id,
            "software_version": __version__,
            "order_id": raw["order_id"],
            "seq": raw["seq"],
            "shift": raw["shift"],
            "flow": raw["flow"],
            "provider": raw["provider"],
            "wallet": raw.get("wallet") or (route.wallet if route is not None else None),
            "amount_minor": raw["amount_minor"],
            "currency": raw["currency"],
            "state": raw["state"],
            "provider_ref": raw.get("provider_ref"),
            "code_masked": code,
            "raw_status": raw.get("raw_status", ""),
            "message": raw.get("message", ""),
            "forced": bool(raw.get("forced")) or "forced" in states,
            "in_doubt": bool(states & _IN_DOUBT_STATES),
            "needs_admin": bool(raw.get("needs_admin")),
            "mismatch": bool(raw.get("mismatch")),
            "created_wall": raw["created_wall"],
            "created_wall_synced": bool(raw.get("wall_synced")),
            "recorded_wall": raw["recorded_wall"],
            "recorded_wall_synced": bool(raw.get("recorded_wall_synced")),
            "history": history,
        }


def encode_batch(terminal_id: str, epoch: str, records: Sequence[Record], sent_wall: str) -> bytes:
    """A webhook batch: ``{"terminal_id", "epoch", "sent_wall", "records": [...]}`` as bytes."""
    head = _compact({"terminal_id": terminal_id, "epoch": epoch, "sent_wall": sent_wall})
    return head[:-1] + b',"records":[' + b",".join(r.body for r in records) + b"]}"


def _compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
