"""Reading a TOML file, and telling its problems as one ConfigError."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, NoReturn

from terminal.config.rules import Problem, where
from terminal.config.validation import in_file_order
from terminal.errors import ConfigError, ConfigProblem

__all__ = ["read_toml", "decode_toml", "file_error", "raise_problems"]


def read_toml(path: Path, *, source: str) -> dict[str, Any]:
    """The TOML document in the configuration file at ``path``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise file_error(exc, source, "configuration file") from exc
    return decode_toml(raw, source=source)


def decode_toml(raw: bytes, *, source: str = "<memory>") -> dict[str, Any]:
    """Decode the bytes of a TOML file (UTF-8, a BOM allowed); a ConfigError says what is wrong."""
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        raise ConfigError(message, path=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"is not valid TOML: {exc}; correct the syntax there", path=source
        ) from None


def file_error(exc: OSError, source: str, what: str) -> ConfigError:
    """The ConfigError for a file that cannot be read, with what to do about it."""
    if isinstance(exc, FileNotFoundError):
        return ConfigError(f"the {what} does not exist; check the path", path=source)
    if isinstance(exc, PermissionError):
        message = f"the {what} cannot be read (permission denied); check its owner and mode"
        return ConfigError(message, path=source)
    if isinstance(exc, IsADirectoryError):
        return ConfigError(f"is a folder, not a {what}; give the file's path", path=source)
    return ConfigError(f"the {what} cannot be read: {exc.strerror or exc}", path=source)


def raise_problems(data: object, problems: list[Problem], source: str) -> NoReturn:
    """Raise one ConfigError telling every problem, in the order of ``data``'s keys."""
    told = [
        ConfigProblem(where(loc) or "(top level)", message)
        for loc, message in in_file_order(data, problems)
    ]
    raise ConfigError.of(told, path=source)
