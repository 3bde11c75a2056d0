"""Writing TOML: tomllib only reads it, and the configuration import must write it back."""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["toml_document", "toml_value"]


def toml_document(data: Mapping[str, Any]) -> str:
    """``data`` (tables as mappings, arrays of tables as lists of them) as a TOML document."""
    lines: list[str] = []
    _toml_table(lines, (), data)
    return "\n".join(lines).strip("\n") + "\n"


def _toml_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    nested = {k: v for k, v in table.items() if _is_table(v) or _is_table_array(v)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{_toml_key(key)} = {toml_value(value)}")
    for key, value in nested.items():
        sub = (*path, key)
        if _is_table(value):
            lines += ["", f"[{'.'.join(map(_toml_key, sub))}]"]
            _toml_table(lines, sub, value)
        else:
            for item in value:
                lines += ["", f"[[{'.'.join(map(_toml_key, sub))}]]"]
                _toml_table(lines, sub, item)


def _is_table(value: object) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: object) -> str:
    """One value as a TOML file writes it: strings, numbers, dates, arrays, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | PurePath):
        return _toml_string(str(value))
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")
