"""The journal: durable SQLite record of payments, their history, shifts and sync outbox."""

from terminal.journal.journal import Journal

__all__ = ["Journal"]
