"""``payterm sync status`` and ``payterm sync retry``: the technician's view of sync.

``status`` reads a copy of the journal (the running service holds it), so it never
disturbs a payment. ``retry`` releases a parked batch: in the journal itself when the
terminal is stopped, else by a request file the running terminal takes within a second.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from terminal.config.model import Config
from terminal.errors import ConfigError, JournalError
from terminal.journal import Journal
from terminal.journal.listing import journal_snapshot
from terminal.journal.sync_marks import backlog, ensure_targets, target_marks, unpark
from terminal.sync.record import record_id
from terminal.sync.service import request_retry

__all__ = ["TargetReport", "sync_report", "format_report", "retry_parked"]

JOURNAL_FILE = "journal.sqlite3"


@dataclass(frozen=True, slots=True)
class TargetReport:
    """One target's line of ``payterm sync status``."""

    name: str
    kind: str
    url: str
    last_acknowledged: str | None  # the record id, None before the first
    acknowledged_wall: str | None
    backlog: int
    parked: bool
    parked_reason: str
    last_error: str
    error_wall: str | None


def _journal_path(config: Config) -> Path:
    return config.terminal.data_dir / JOURNAL_FILE


def sync_report(config: Config) -> list[TargetReport]:
    """Every configured target: last acknowledged record, backlog, parked batch, last error."""
    if not config.sync.targets:
        raise ConfigError("no sync target is configured; add [[sync.targets]]", key="sync")
    path = _journal_path(config)
    with journal_snapshot(path, terminal_id=config.terminal.id) as journal:
        marks = {m.name: m for m in target_marks(journal.database)}
        reports = []
        for target in config.sync.targets:
            mark = marks.get(target.name)
            acked = mark.acked_through if mark is not None else 0
            reports.append(
                TargetReport(
                    target.name,
                    target.kind,
                    target.url,
                    record_id(config.terminal.id, journal.epoch, acked) if acked else None,
                    mark.acked_wall if mark else None,
                    backlog(journal.database, acked),
                    bool(mark and mark.parked),
                    mark.parked_reason if mark else "",
                    mark.last_error if mark else "",
                    mark.error_wall if mark else None,
                )  # fmt: skip
            )
    return reports


def format_report(reports: list[TargetReport], *, as_json: bool) -> str:
    """The report as a JSON list, or as lines for a person."""
    if as_json:
        return json.dumps([asdict(r) for r in reports], indent=2, ensure_ascii=False)
    lines = []
    for r in reports:
        state = f"PARKED ({r.parked_reason}) - run: payterm sync retry --target {r.name}" if (
            r.parked) else "sending" if r.backlog else "up to date"  # fmt: skip
        lines.append(f"{r.name} ({r.kind} {r.url}): {state}")
        lines.append(f"  last acknowledged: {r.last_acknowledged or 'none yet'}"
                     + (f" at {r.acknowledged_wall}" if r.acknowledged_wall else ""))  # fmt: skip
        lines.append(f"  backlog: {r.backlog} record{'' if r.backlog == 1 else 's'}")
        if r.last_error:
            lines.append(f"  last error: {r.last_error} (at {r.error_wall})")
    return "\n".join(lines)


def retry_parked(config: Config, target: str | None) -> str:
    """Release the parked batch of ``target`` (every target when None); what was done."""
    names = [t.name for t in config.sync.targets]
    if target is not None and target not in names:
        raise ConfigError(f"no sync target {target!r}; configured: {', '.join(names) or 'none'}",
                          key="--target")  # fmt: skip
    path = _journal_path(config)
    if not path.is_file():
        raise JournalError(f"{path}: no journal here (has the terminal run with this config?)")
    try:
        journal = Journal.open(path, terminal_id=config.terminal.id)
    except JournalError:  # the running terminal holds it: ask it
        request_retry(config.terminal.data_dir, target)
        return "asked the running terminal to send the parked batch again (payterm sync status)"
    try:
        ensure_targets(journal.database, names)
        released = unpark(journal.database, target)
    finally:
        journal.close()
    if not released:
        return "no batch is parked"
    return f"released: {', '.join(released)}; they are sent when the terminal runs"
