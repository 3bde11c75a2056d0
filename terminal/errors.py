"""The terminal's error tree.

    TerminalError
    ├── ConfigError (ValueError)         a config file is wrong; names the key and the fix
    ├── JournalError                     the journal could not be written or read
    │   └── JournalFull (OSError)        the disk is full
    └── ProviderTechnicalError           no proper answer from a provider: retryable, counted
        ├── ProviderTimeout              no answer in time
        ├── ProviderUnavailable          connection refused or reset, HTTP 5xx
        └── ProviderProtocolError        an answer that is not the protocol (garbage, bad signature)

Business outcomes (declined, expired, insufficient funds) are not errors: they are
values returned by the provider interface.
"""

from __future__ import annotations

__all__ = [
    "TerminalError",
    "ConfigError",
    "JournalError",
    "JournalFull",
    "ProviderTechnicalError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "ProviderProtocolError",
]


class TerminalError(Exception):
    """Base of every error the terminal raises on purpose."""


class ConfigError(TerminalError, ValueError):
    """The configuration is invalid; ``key`` names the offending setting."""

    def __init__(self, message: str, *, key: str = "", path: str = "") -> None:
        where = f"{path}: " if path else ""
        at = f"{key}: " if key else ""
        super().__init__(f"{where}{at}{message}")
        self.key = key
        self.path = path


class JournalError(TerminalError):
    """The journal could not be written or read."""


class JournalFull(JournalError, OSError):
    """The journal's disk is full: no new payment may start."""


class ProviderTechnicalError(TerminalError):
    """A provider gave no proper answer; the caller may retry and counts the failure."""

    def __init__(self, message: str, *, provider: str = "", order_id: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        self.order_id = order_id


class ProviderTimeout(ProviderTechnicalError):
    """The provider did not answer in time; the request may or may not have been processed."""


class ProviderUnavailable(ProviderTechnicalError):
    """The provider could not be reached or answered with a server error."""


class ProviderProtocolError(ProviderTechnicalError):
    """The provider answered something that is not its protocol."""
