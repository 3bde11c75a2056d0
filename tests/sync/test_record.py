"""The record matches the JSON Schema in docs/sync.md, and carries what the issue lists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from terminal import __version__
from terminal.config.loader import parse_config
from terminal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.sync.record import RecordReader, encode_batch
from tests.sync.kit import WALL, fill

DOC = Path(__file__).resolve().parents[2] / "docs" / "sync.md"


def _schema() -> dict[str, object]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```json\n(\{\n  \"\$schema\".*?)\n```", text, re.S)
    assert block is not None, "docs/sync.md holds the record's JSON Schema"
    return dict(json.loads(block.group(1)))


def test_records_match_the_documented_schema(journal: Journal) -> None:
    fill(journal, 2)
    seq = journal.next_seq()
    cpm = Payment(f"T0001-{journal.epoch}-{seq:06d}", seq, 1, "cpm", "sandbox",
                  Money(990, "RUB"), PaymentState.FORCED, code_masked="2866**********1234",
                  forced=True, created_wall=WALL.isoformat())  # fmt: skip
    journal.record(cpm, note="forced", mono=0.0, wall=WALL, wall_synced=True)
    journal.record(cpm.with_state(PaymentState.PAID), note="reconciled", mono=1.0, wall=WALL,
                   wall_synced=True)  # fmt: skip
    routes = parse_config({}).routes
    records = RecordReader(journal, routes).after(0, 10)
    schema = _schema()
    validator = jsonschema.Draft202012Validator(schema)
    bodies = [json.loads(r.body) for r in records]
    for body in bodies:
        validator.validate(body)
    last = bodies[-1]
    assert last["id"] == f"T0001-{journal.epoch}-3"
    assert last["wallet"] == "alipay"
    assert last["forced"] is True
    assert last["in_doubt"] is True
    assert last["software_version"] == __version__
    assert [s["state"] for s in last["history"]] == ["forced", "paid"]
    assert bodies[0]["wallet"] is None
    assert bodies[0]["in_doubt"] is False
    batch = json.loads(encode_batch("T0001", journal.epoch, records, WALL.isoformat()))
    assert [r["id"] for r in batch["records"]] == [b["id"] for b in bodies]


def test_the_schema_refuses_a_record_without_an_id() -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    assert list(validator.iter_errors({"schema": "payterm.record/1"}))


def test_a_record_holds_only_the_history_up_to_it(journal: Journal) -> None:
    (order_id,) = fill(journal, 1)
    paid = journal.get(order_id)
    assert paid is not None
    journal.record(paid.with_state(PaymentState.VOIDED, raw_status="REFUNDED"), note="void",
                   mono=2.0, wall=WALL, wall_synced=True)  # fmt: skip
    first, second = (json.loads(r.body) for r in RecordReader(journal).after(0, 10))
    assert [s["state"] for s in first["history"]] == ["new", "paid"]
    assert [s["state"] for s in second["history"]] == ["new", "paid", "voided"]
