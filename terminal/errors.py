"""The terminal's error tree.

    TerminalError
    ├── ConfigError (ValueError)         a config file is wrong; names the key and the fix
    ├── JournalError                     the journal could not be written or read
    │   ├── JournalFull (OSError)        the disk is full
    │   └── JournalDamaged               damaged, emptied or gone: a technician recovers it
    └── ProviderTechnicalError           no proper answer from a provider: retryable, counted
        ├── ProviderTimeout              no answer in time
        ├── ProviderUnavailable          connection refused or reset, HTTP 5xx
        └── ProviderProtocolError        an answer that is not the protocol (garbage, bad signature)

Business outcomes (declined, expired, insufficient funds) are not errors: they are
values returned by the provider interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "TerminalError",
    "ConfigProblem",
    "ConfigError",
    "JournalError",
    "JournalFull",
    "JournalDamaged",
    "ProviderTechnicalError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "ProviderProtocolError",
]


class TerminalError(Exception):
    """Base of every error the terminal raises on purpose."""


class ConfigProblem(NamedTuple):
    """One thing wrong in a config file: the key (may be empty) and what is wrong, the fix."""

    key: str
    message: str


class ConfigError(TerminalError, ValueError):
    """The configuration is invalid; ``key`` names the (first) offending setting.

    ``problems`` holds every problem found in the file, in file order; the message tells
    each on a line of its own, as ``path: key: message``.
    """

    def __init__(self, message: str, *, key: str = "", path: str = "") -> None:
        self.key = key
        self.path = path
        self.problems: tuple[ConfigProblem, ...] = (ConfigProblem(key, message),)
        super().__init__(self._line(key, message))

    @classmethod
    def of(cls, problems: Iterable[ConfigProblem], *, path: str = "") -> ConfigError:
        """One error for all of ``problems`` (at least one) found in the file at ``path``."""
        listed = tuple(problems)
        error = cls(listed[0].message, key=listed[0].key, path=path)
        error.problems = listed
        error.args = ("\n".join(error._line(p.key, p.message) for p in listed),)
        return error

    def _line(self, key: str, message: str) -> str:
        where = f"{self.path}: " if self.path else ""
        at = f"{key}: " if key else ""
        return f"{where}{at}{message}"


class JournalError(TerminalError):
    """The journal could not be written or read.

    The message names the file, the action and the cause; ``reason`` says it in a few
    words for the out-of-service screen ("journal: disk full").
    """

    reason = "journal failed"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        if reason:
            self.reason = reason


class JournalFull(JournalError, OSError):
    """The journal's disk is full: no new payment may start."""

    reason = "journal: disk full"


class JournalDamaged(JournalError):
    """The journal file is damaged, emptied or missing where one was kept: refuse, keep it.

    Never cured by a restart: the terminal does not start a new journal by itself, and
    ``payterm journal --recover`` salvages what can be read (see docs/journal.md).
    """


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
