"""The outbox's per-target watermarks: moved only forward, parked, pruned, counted."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from terminal.journal import Journal, schema
from terminal.journal.outbox import items_after
from terminal.journal.sync_marks import (
    acknowledge,
    backlog,
    ensure_targets,
    note_error,
    oldest_unsent_wall,
    park,
    prune,
    target_marks,
    unpark,
)
from tests.sync.kit import WALL, fill


def test_each_target_has_its_own_watermark_and_the_lowest_counts(journal: Journal) -> None:
    fill(journal, 5)
    ensure_targets(journal.database, ["mqtt", "pos"])
    assert journal.outbox_count() == 5
    acknowledge(journal.database, "pos", 4, wall=WALL)
    assert journal.outbox_count() == 5  # mqtt still lacks them all
    acknowledge(journal.database, "mqtt", 2, wall=WALL)
    assert journal.outbox_count() == 3
    assert oldest_unsent_wall(journal.database) == WALL.isoformat()
    acknowledge(journal.database, "mqtt", 1, wall=WALL)  # never backwards
    marks = {m.name: m for m in target_marks(journal.database)}
    assert (marks["mqtt"].acked_through, marks["pos"].acked_through) == (2, 4)
    assert backlog(journal.database, marks["mqtt"].acked_through) == 3
    assert [i.id for i in items_after(journal.database, 4, terminal_id="T0001", epoch="x")] == [5]


def test_a_removed_target_no_longer_holds_records_back(journal: Journal) -> None:
    fill(journal, 3)
    ensure_targets(journal.database, ["old", "pos"])
    acknowledge(journal.database, "pos", 3, wall=WALL)
    assert journal.outbox_count() == 3
    ensure_targets(journal.database, ["pos"])
    assert journal.outbox_count() == 0
    assert [m.name for m in target_marks(journal.database)] == ["pos"]


def test_park_holds_until_released_and_errors_are_kept_once(journal: Journal) -> None:
    fill(journal, 2)
    ensure_targets(journal.database, ["pos"])
    park(journal.database, "pos", 2, "HTTP 401 Unauthorized", wall=WALL)
    (mark,) = target_marks(journal.database)
    assert mark.parked
    assert mark.parked_through == 2
    assert mark.last_error.startswith("HTTP 401")
    assert unpark(journal.database, "other") == []
    assert unpark(journal.database) == ["pos"]
    assert not target_marks(journal.database)[0].parked
    changes = journal.database.live().total_changes
    note_error(journal.database, "pos", "HTTP 401 Unauthorized", wall=WALL)
    assert journal.database.live().total_changes == changes  # the same error is not written again


def test_prune_keeps_what_a_target_lacks_and_the_newest_item(journal: Journal) -> None:
    fill(journal, 6)
    ensure_targets(journal.database, ["pos"])
    acknowledge(journal.database, "pos", 4, wall=WALL)
    later = WALL + dt.timedelta(days=30)
    assert prune(journal.database, before=WALL) == 0  # not old enough
    assert prune(journal.database, before=later) == 4
    assert [i.id for i in items_after(journal.database, 0, terminal_id="T0001", epoch="x")] == [
        5,
        6,
    ]
    acknowledge(journal.database, "pos", 6, wall=WALL)
    assert prune(journal.database, before=later) == 1  # id 6 stays: ids are never given twice
    fill(journal, 1)
    assert [i.id for i in items_after(journal.database, 0, terminal_id="T0001", epoch="x")] == [
        6,
        7,
    ]


def test_a_journal_of_the_previous_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in schema.MIGRATIONS[:-1]:
        for statement in step:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS) - 1}")
    conn.close()
    with Journal.open(path, terminal_id="T0001") as journal:
        fill(journal, 1)
        ensure_targets(journal.database, ["pos"])
        assert backlog(journal.database, 0) == 1
