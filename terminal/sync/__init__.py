"""Sync upstream: the outbox's records sent to each configured target exactly once per id."""
