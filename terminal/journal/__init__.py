"""The journal: durable SQLite record of payments, their history, shifts and sync outbox."""

from terminal.journal.journal import HistoryEntry, Journal, OutboxItem, ShiftSummary

__all__ = ["Journal", "HistoryEntry", "ShiftSummary", "OutboxItem"]
