"""The words of the configuration's messages: what a value should look like, what was found.

A problem is told as the key, what is wrong and the fix, with an example written as TOML.
Values under a secret key (PINs, badges, keys, passphrases) are never shown.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Union, get_args, get_origin

import tomli_w

__all__ = [
    "NAME",
    "SECRET_NAMES",
    "describe",
    "did_you_mean",
    "example",
    "first",
    "generic",
    "got",
    "join",
    "toml_value",
    "unknown",
]

#: A key TOML writes bare, and a name a provider or driver may have.
NAME = r"[A-Za-z0-9_-]+"
#: Keys whose values are secrets: a message says what kind of value, never the value.
SECRET_NAMES = frozenset({"pins", "badges", "api_key", "psk", "password"})

#: Examples for fields whose default is empty or missing.
_EXAMPLES: dict[str, object] = {
    "wallet": "alipay",
    "provider": "sandbox",
    "prefixes": ("25", "26"),
    "lengths": (18,),
    "secrets_file": "secrets.toml",
    "options": {"key": "value"},
    "pins": ("1234",),
    "badges": ("04a1b2c3",),
    "api_key": "...",
    "hostname": "shop1-till2",
    "wifi_country": "RU",
    "wifi_ssid": "ShopWiFi",
    "psk": "...",
}


def describe(hint: Any, key: str, name: str, shown: object) -> str:
    """Say in words what a value of type ``hint`` at ``key`` looks like, with an example."""
    args = get_args(hint)
    if dataclasses.is_dataclass(hint):
        return f"a table written as [{key}]" if key else "a table of settings"
    if get_origin(hint) is tuple and dataclasses.is_dataclass(args[0]):
        return f"an array of tables, each written as [[{key}]]"
    if get_origin(hint) is dict and dataclasses.is_dataclass(args[1]):
        return f"a table of tables, each written as [{key}.<name>]"
    if get_origin(hint) in (Union, types.UnionType):
        return describe(next(a for a in args if a is not type(None)), key, name, shown)
    text = toml_value(generic(hint, shown))
    if hint is float:
        unit = "a number of seconds" if name.endswith("_s") else "a number"
        return f"{unit} such as {text}"
    if hint is bool:
        return "true or false"
    words = {int: "a whole number", str: "a string", Path: "a file path"}
    if hint in words:
        return f"{words[hint]} such as {text}"
    kind = "an array" if get_origin(hint) is tuple else "a table of strings"
    return f"{kind} such as {text}"


def generic(hint: Any, shown: object) -> object:
    """Return the example ``shown``, or a made-up value of type ``hint`` when there is none."""
    if shown is not None:
        return shown
    if get_origin(hint) in (Union, types.UnionType):
        return generic(next(a for a in get_args(hint) if a is not type(None)), None)
    if get_origin(hint) is tuple:
        return (generic(get_args(hint)[0], None),)
    if get_origin(hint) is dict:
        return {"key": "value"}
    made_up: dict[Any, object] = {bool: True, int: 1, float: 1.0, str: "text", Path: "/path"}
    return made_up.get(hint, "...")


def example(field: dataclasses.Field[Any]) -> object:
    """An example value for ``field``: a known good one, else its default if not empty."""
    if field.name in _EXAMPLES:
        return _EXAMPLES[field.name]
    if field.default is not dataclasses.MISSING:
        return field.default if field.default not in (None, ()) else None
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory() or None
    return None


def first(shown: object) -> object:
    """The first item of an example array, to serve as an example item."""
    return shown[0] if isinstance(shown, tuple) and shown else None


def got(value: object, key: str) -> str:
    """Describe a value found in the file, hiding it when it sits under a secret key."""
    secret = bool(SECRET_NAMES.intersection(re.split(r"[.\[\]]", key)))
    if isinstance(value, bool):
        return f"the boolean {toml_value(value)}"
    if isinstance(value, str):
        return "a string" if secret else f"the string {value!r}"
    if isinstance(value, int | float):
        return "a number" if secret else f"the number {value!r}"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return f"the {type(value).__name__} value {value}"


def unknown(name: str, known: list[str]) -> str:
    """The message for a key that has no place here, with the keys that do."""
    text = f"unknown key {name!r}{did_you_mean(name, known)}"
    if name in SECRET_NAMES:
        text += "; secrets belong in the secrets file named by terminal.secrets_file"
    return f"{text}; remove it or correct it (keys allowed here: {', '.join(known)})"


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to ``word``, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def join(key: str, name: str) -> str:
    """The dotted key of ``name`` inside ``key``, quoted the TOML way where it must be."""
    part = name if re.fullmatch(NAME, name) else json.dumps(name, ensure_ascii=False)
    return f"{key}.{part}" if key else part


def toml_value(value: object) -> str:
    """``value`` on one line as TOML writes it, for messages (``repr`` where TOML has none).

    tomli-w writes every scalar; arrays and inline tables are put on one line here, where
    a document would spread them over several.
    """
    if isinstance(value, PurePath):
        value = str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    try:
        line = tomli_w.dumps({"v": value})
    except TypeError:
        return repr(value)
    return line.removeprefix("v = ").removesuffix("\n")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(NAME, key) else toml_value(key)
