"""Reading a driver's ``[providers.<name>.options]`` table, with the checks every driver needs.

Each driver names its own keys and words its own messages; this module holds the rules
they share. Values are read stripped of surrounding spaces; an absent key takes its
default, and a key written with a blank value is refused (a technician who wrote the line
meant to set it), except an optional URL, where blank means none. Every problem is a
``ConfigError`` whose key is ``providers.<name>.options.<key>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from terminal.errors import ConfigError

__all__ = ["DriverOptions", "is_http_url", "ONE_OF"]

#: The usual wording of a value that is not one of the allowed ones.
ONE_OF = "must be one of {allowed}"
#: The error of a key written with nothing in it.
BLANK = "is empty: give it a value, or remove the line to take the default"

_CURRENCY = re.compile(r"[A-Z]{3}")


class DriverOptions:
    """One provider's options table, read key by key; every error names its key."""

    def __init__(self, name: str, options: Mapping[str, str]) -> None:
        self.name = name
        self._options = options

    def key(self, option: str) -> str:
        """The full name of ``option`` as error messages and the docs give it."""
        return f"providers.{self.name}.options.{option}"

    def error(self, option: str, message: str) -> ConfigError:
        """A ``ConfigError`` about ``option`` (for checks only one driver makes)."""
        return ConfigError(message, key=self.key(option))

    def refuse_unknown(self, known: Collection[str], message: Callable[[str], str]) -> None:
        """Refuse the first key not in ``known``; ``message(key)`` says what to do instead."""
        for option in self._options:
            if option not in known:
                raise self.error(option, message(option))

    def text(self, option: str, default: str = "") -> str:
        """The value of ``option``, stripped; ``default`` when it is absent.

        Raises ``ConfigError`` when the key is there with a blank value.
        """
        raw = self._options.get(option)
        if raw is None:
            return default
        value = raw.strip()
        if not value:
            raise self.error(option, BLANK)
        return value

    def required(self, option: str, message: str) -> str:
        """The value of ``option``; ``message`` is the error when it is absent or blank."""
        value = self._options.get(option, "").strip()
        if not value:
            raise self.error(option, message)
        return value

    def choice(
        self, option: str, allowed: Collection[str], *, default: str, message: str = ONE_OF
    ) -> str:
        """One of ``allowed`` (``default`` when unset).

        ``message`` may name ``{value}`` and ``{allowed}`` (the allowed words, comma-separated).
        """
        value = self.text(option, default)
        if value not in allowed:
            raise self.error(option, message.format(value=value, allowed=", ".join(allowed)))
        return value

    def flag(
        self,
        option: str,
        *,
        default: bool,
        message: str,
        true: Collection[str] = ("true",),
        false: Collection[str] = ("false",),
    ) -> bool:
        """A yes/no option: a word of ``true`` or of ``false`` in any case (``default`` if unset).

        ``message``, which may name ``{value}``, is the error for any other word.
        """
        value = self.text(option)
        if not value:
            return default
        if value.lower() in true:
            return True
        if value.lower() in false:
            return False
        raise self.error(option, message.format(value=value))

    def currency(self, option: str, *, default: str, message: str) -> str:
        """An ISO 4217 code in capitals (``default`` when unset)."""
        value = self.text(option, default)
        if not _CURRENCY.fullmatch(value):
            raise self.error(option, message.format(value=value))
        return value

    def digits(self, option: str, *, default: str, message: str) -> str:
        """A number written in ASCII digits, kept as text (``default`` when unset)."""
        value = self.text(option, default)
        if not (value.isascii() and value.isdigit()):
            raise self.error(option, message.format(value=value))
        return value

    def path_prefix(self, option: str, *, message: str) -> str:
        """A URL path put before the provider's own paths: ``""`` or ``/a/b``, no final ``/``."""
        value = self.text(option).rstrip("/")
        if value and (not value.startswith("/") or "?" in value or "#" in value):
            raise self.error(option, message.format(value=value))
        return value

    def http_url(self, option: str, *, message: str) -> str | None:
        """An absolute ``http://`` or ``https://`` URL with a host, or None when unset or blank.

        A blank value means "none" here, as the POS modules' empty "Proxy" field does.
        """
        value = self._options.get(option, "").strip()
        if not value:
            return None
        if not is_http_url(value):
            raise self.error(option, message.format(value=value))
        return value

    def file(self, option: str) -> Path | None:
        """A file's path, or None when unset (whether it exists is the reader's question)."""
        value = self.text(option)
        return Path(value) if value else None


def is_http_url(value: str) -> bool:
    """True for an absolute ``http://`` or ``https://`` URL that names a host."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
