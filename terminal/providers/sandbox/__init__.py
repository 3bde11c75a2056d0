"""The sandbox provider: the terminal's built-in training and demo service, and its driver."""

from __future__ import annotations

from terminal.providers.sandbox.app import SandboxApp
from terminal.providers.sandbox.driver import SandboxProvider
from terminal.providers.sandbox.ledger import (
    LedgerRecord,
    LedgerRefusal,
    RefundRecord,
    SandboxLedger,
)
from terminal.providers.sandbox.server import SandboxServer, serve

__all__ = [
    "SandboxApp",
    "SandboxProvider",
    "SandboxLedger",
    "LedgerRecord",
    "LedgerRefusal",
    "RefundRecord",
    "SandboxServer",
    "serve",
]
