"""Load and validate the terminal's TOML configuration file and its secrets file."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import re
import shlex
import tomllib
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from hw.base import OPERATOR_KEYS
from terminal.config.model import (
    OPERATOR_FUNCTIONS,
    Config,
    DisplayConfig,
    KeypadConfig,
    PrinterConfig,
    ProviderConfig,
    RouteConfig,
    Secrets,
    SupervisorConfig,
    SystemConfig,
    TerminalConfig,
)
from terminal.config.toml_writer import toml_value
from terminal.errors import ConfigError

__all__ = [
    "load_config",
    "parse_config",
    "load_secrets",
    "parse_secrets",
    "check_secrets",
    "decode_toml",
    "demo_config",
    "DEMO_PIN",
    "DEMO_BADGE",
]

#: The supervisor PIN and NFC badge of the demo configuration.
DEMO_PIN = "1234"
DEMO_BADGE = "04a1b2c3"


def load_config(path: Path) -> Config:
    """Read, validate and return the configuration in ``path``, with its secrets file if named."""
    source = str(path)
    config = parse_config(_read_toml(path, source=source), source=source)
    terminal = _resolve_paths(config.terminal, path.absolute().parent)
    config = dataclasses.replace(config, terminal=terminal)
    if terminal.secrets_file is None:
        return config
    if not terminal.secrets_file.is_file():
        raise ConfigError(
            f"the secrets file {terminal.secrets_file} does not exist; create it from "
            "config/secrets.example.toml and run chmod 600 on it, or remove this key",
            key="terminal.secrets_file",
            path=source,
        )
    secrets = load_secrets(terminal.secrets_file)
    check_secrets(config, secrets, source=str(terminal.secrets_file))
    return dataclasses.replace(config, secrets=secrets)


def parse_config(data: Mapping[str, object], *, source: str = "<memory>") -> Config:
    """Validate already-parsed TOML ``data`` and return the Config (no secrets are read)."""
    config = _parse(Config, data, source=source, skip=_NOT_IN_FILE)
    try:
        _check_references(config, data)
    except _Problem as problem:
        raise ConfigError(problem.message, key=problem.key, path=source) from None
    return dataclasses.replace(config, source=source)


def load_secrets(path: Path) -> Secrets:
    """Read the secrets file; refuse it when users other than its owner and group may read it."""
    source = str(path)
    try:
        with path.open("rb") as file:
            if os.fstat(file.fileno()).st_mode & 0o006:
                raise ConfigError(
                    "the secrets file may be read or written by every user on the terminal; "
                    f"run: chmod 600 {shlex.quote(source)}",
                    path=source,
                )
            raw = file.read()
    except OSError as exc:
        raise _file_error(exc, source, "secrets file") from exc
    return parse_secrets(raw, source=source)


def parse_secrets(raw: bytes, *, source: str = "<memory>") -> Secrets:
    """Validate the bytes of a secrets file and return its Secrets (no check of file modes)."""
    parsed = _parse(_SecretsFile, decode_toml(raw, source=source), source=source)
    return Secrets(
        supervisor_pins=parsed.supervisor.pins,
        supervisor_badges=tuple(badge.lower() for badge in parsed.supervisor.badges),
        provider_keys={
            name: table["api_key"] for name, table in parsed.providers.items() if "api_key" in table
        },
        provider_secrets={name: dict(table) for name, table in parsed.providers.items()},
        wifi_psk=parsed.wifi.psk,
    )


def demo_config(data_dir: Path) -> Config:
    """Return the configuration ``payterm demo`` runs with when no file is given."""
    terminal = {"hardware": "emulated", "data_dir": str(data_dir)}
    config = parse_config({"terminal": terminal}, source="<demo>")
    secrets = Secrets(supervisor_pins=(DEMO_PIN,), supervisor_badges=(DEMO_BADGE,))
    check_secrets(config, secrets, source="<demo>")
    return dataclasses.replace(config, secrets=secrets)


# --- The secrets file's shape, validated by the same machinery as the config. ---


@dataclasses.dataclass(frozen=True, slots=True)
class _SupervisorSecrets:
    pins: tuple[str, ...] = ()
    badges: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class _WifiSecrets:
    psk: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class _SecretsFile:
    supervisor: _SupervisorSecrets = dataclasses.field(default_factory=_SupervisorSecrets)
    wifi: _WifiSecrets = dataclasses.field(default_factory=_WifiSecrets)
    # Each provider's secrets by name (api_key, app_secret, token, pfx_password, …).
    providers: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


# --- Rules beyond types. Each returns what is wrong and the fix, or None. ---

_T = TypeVar("_T")
_Rule = Callable[[Any], str | None]
_NAME = r"[A-Za-z0-9_-]+"
_NOT_IN_FILE = frozenset({"secrets", "source"})
_SECRET_NAMES = frozenset({"pins", "badges", "api_key", "psk"})
_DISPLAY_SIZES = ((128, 64), (128, 128))


def _at_least(low: int) -> _Rule:
    return lambda v: None if v >= low else f"must be at least {low}, got {v}"


def _between(low: int, high: int) -> _Rule:
    return lambda v: None if low <= v <= high else f"must be from {low} to {high}, got {v}"


def _one_of(*allowed: int) -> _Rule:
    listed = ", ".join(map(str, allowed))
    return lambda v: None if v in allowed else f"must be one of {listed}, got {v}"


def _matches(pattern: str, what: str, *, show: bool = True) -> _Rule:
    def rule(value: str) -> str | None:
        got = f", got {value!r}" if show else ""
        return None if re.fullmatch(pattern, value) else f"must be {what}{got}"

    return rule


def _is_wifi_ssid(value: str) -> str | None:
    if len(value.encode("utf-8")) > 32:
        return f"must be at most 32 bytes long (UTF-8), got {len(value.encode('utf-8'))}"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "must not contain control characters (line breaks, tabs)"
    return None


def _is_wifi_psk(value: str) -> str | None:
    if value == "" or re.fullmatch(r"[ -~]{8,63}|[0-9A-Fa-f]{64}", value):
        return None
    return (
        "must be the Wi-Fi passphrase, 8 to 63 printable ASCII characters (letters, digits, "
        f"spaces, punctuation), or 64 hex digits; this one has {len(value)} characters"
        + ("" if value.isascii() else ", some of them not ASCII")
    )


def _is_url(value: str) -> str | None:
    if value == "embedded" or value.startswith(("http://", "https://")):
        return None
    return f'must be "embedded" or an address starting with http:// or https://, got {value!r}'


_RULES: dict[tuple[type, str], _Rule] = {
    (TerminalConfig, "id"): _matches(r"[A-Za-z0-9_-]{1,32}", '1 to 32 letters, digits, "-" or "_"'),
    (TerminalConfig, "currency"): _matches(r"[A-Z]{3}", '3 upper-case letters such as "RUB"'),
    (TerminalConfig, "max_amount_minor"): _at_least(1),
    (SupervisorConfig, "pin_length"): _between(4, 12),
    (SupervisorConfig, "max_pin_attempts"): _at_least(1),
    (ProviderConfig, "driver"): _matches(_NAME, 'a driver name such as "sandbox"'),
    (ProviderConfig, "url"): _is_url,
    (ProviderConfig, "technical_error_budget"): _at_least(1),
    (RouteConfig, "wallet"): _matches(r".*\S.*", 'a wallet name such as "alipay"'),
    (RouteConfig, "prefixes"): _matches(r"[0-9A-Za-z]+", 'digits and letters only, such as "25"'),
    (RouteConfig, "lengths"): _between(1, 64),
    (PrinterConfig, "columns"): _one_of(32, 42, 48),
    (PrinterConfig, "copies"): _at_least(1),
    (SystemConfig, "hostname"): _matches(
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)?",
        '"" or 1 to 63 letters, digits and "-", neither first nor last "-", such as "shop1-till2"',
    ),
    (SystemConfig, "wifi_country"): _matches(
        r"(?:[A-Z]{2})?", '"" or an ISO 3166 country code of 2 upper-case letters such as "RU"'
    ),
    (SystemConfig, "wifi_ssid"): _is_wifi_ssid,
    (_WifiSecrets, "psk"): _is_wifi_psk,
    (_SupervisorSecrets, "pins"): _matches(r"[0-9]+", "digits only", show=False),
    (_SupervisorSecrets, "badges"): _matches(
        r"(?:[0-9A-Fa-f]{2})+", 'an even number of hex digits such as "04a1b2c3"', show=False
    ),
}

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


class _Problem(Exception):
    """One thing wrong at ``key``; turned into a ConfigError with the file's path."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _parse(cls: type[_T], data: object, *, source: str, skip: frozenset[str] = frozenset()) -> _T:
    try:
        return cast(_T, _build(cls, data, "", skip=skip))
    except _Problem as problem:
        raise ConfigError(problem.message, key=problem.key, path=source) from None


# --- Generic validation driven by the dataclasses' fields and type hints. ---


def _build(cls: Any, value: object, key: str, *, skip: frozenset[str] = frozenset()) -> Any:
    """Make a ``cls`` from the TOML table ``value`` found at ``key``."""
    table = _table(value, key, _describe(cls, key, "", None))
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    for name in table:
        if name not in fields:
            raise _Problem(_join(key, name), _unknown(name, list(fields)))
    hints = _hints(cls)
    kwargs: dict[str, object] = {}
    for name, f in fields.items():
        sub, example = _join(key, name), _example(f)
        if name in table:
            kwargs[name] = _field_value(cls, name, hints[name], table[name], sub, example)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Problem(sub, f"is required but missing; add {name} = {_toml(example)}")
    built = cls(**kwargs)
    if isinstance(built, DisplayConfig):
        _check_display(built, key)
    if isinstance(built, KeypadConfig):
        _check_operator_keys(built, key)
    if isinstance(built, SystemConfig):
        _check_system(built, key)
    return built


def _field_value(cls: type, name: str, hint: Any, raw: object, key: str, example: object) -> object:
    """Convert one field's value and apply the rules beyond its type."""
    value = _convert(raw, hint, key, name, example)
    if name.endswith("_s") and isinstance(value, float) and value <= 0:
        raise _Problem(key, f"must be a number of seconds greater than 0, got {value}")
    rule = _RULES.get((cls, name))
    if rule is None:
        return value
    items = value if isinstance(value, tuple) else (value,)
    for index, item in enumerate(items):
        if (problem := rule(item)) is not None:
            raise _Problem(f"{key}[{index}]" if isinstance(value, tuple) else key, problem)
    return value


def _convert(value: object, hint: Any, key: str, name: str, example: object) -> object:
    """Check ``value`` against the type ``hint`` and return it in the dataclass's type."""
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return _literal(value, args, key)
    if origin in (Union, types.UnionType):
        (inner,) = (arg for arg in args if arg is not type(None))
        return _convert(value, inner, key, name, example)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _wrong_type(value, hint, key, name, example)
        item = _first(example)
        return tuple(_convert(v, args[0], f"{key}[{i}]", "", item) for i, v in enumerate(value))
    if origin is dict:
        table = _table(value, key, _describe(hint, key, name, example))
        return {k: _convert(v, args[1], _join(key, k), "", None) for k, v in table.items()}
    return _scalar(value, hint, key, name, example)


def _scalar(value: object, hint: type, key: str, name: str, example: object) -> object:
    """Check a bool, int, float, str or Path value; int is accepted where float is expected."""
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    expected = str if hint is Path else hint
    if not isinstance(value, expected) or (isinstance(value, bool) and hint is not bool):
        raise _wrong_type(value, hint, key, name, example)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Problem(key, f"must be a finite number, got {value}")
    if hint is Path:
        if not str(value).strip():
            raise _Problem(key, f"must not be empty; give {_describe(hint, key, name, example)}")
        return Path(str(value))
    return value


def _literal(value: object, allowed: tuple[object, ...], key: str) -> object:
    """Accept ``value`` only if it is one of ``allowed``, of the same type (true is not 1)."""
    if any(type(value) is type(option) and value == option for option in allowed):
        return value
    listed = ", ".join(_toml(option) for option in allowed)
    words = [option for option in allowed if isinstance(option, str)]
    hint = _did_you_mean(value, words) if isinstance(value, str) else ""
    raise _Problem(key, f"must be one of {listed}, got {_got(value, key)}{hint}")


def _table(value: object, key: str, described: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _Problem(key or "(top level)", f"expected {described}, got {_got(value, key)}")
    return value


def _wrong_type(value: object, hint: Any, key: str, name: str, example: object) -> _Problem:
    tabular = any(dataclasses.is_dataclass(arg) for arg in get_args(hint))
    fix = f"; write {name} = {_toml(_or_generic(hint, example))}" if name and not tabular else ""
    described = _describe(hint, key, name, example)
    return _Problem(key, f"expected {described}, got {_got(value, key)}{fix}")


def _describe(hint: Any, key: str, name: str, example: object) -> str:
    """Say in words what a value of type ``hint`` looks like, with an example."""
    args = get_args(hint)
    if dataclasses.is_dataclass(hint):
        return f"a table written as [{key}]" if key else "a table of settings"
    if get_origin(hint) is tuple and dataclasses.is_dataclass(args[0]):
        return f"an array of tables, each written as [[{key}]]"
    if get_origin(hint) is dict and dataclasses.is_dataclass(args[1]):
        return f"a table of tables, each written as [{key}.<name>]"
    if get_origin(hint) in (Union, types.UnionType):
        return _describe(next(a for a in args if a is not type(None)), key, name, example)
    shown = _toml(_or_generic(hint, example))
    if hint is float:
        unit = "a number of seconds" if name.endswith("_s") else "a number"
        return f"{unit} such as {shown}"
    if hint is bool:
        return "true or false"
    words = {int: "a whole number", str: "a string", Path: "a file path"}
    if hint in words:
        return f"{words[hint]} such as {shown}"
    kind = "an array" if get_origin(hint) is tuple else "a table of strings"
    return f"{kind} such as {shown}"


def _or_generic(hint: Any, example: object) -> object:
    """Return ``example``, or a made-up value of type ``hint`` when there is none."""
    if example is not None:
        return example
    if get_origin(hint) in (Union, types.UnionType):
        return _or_generic(next(a for a in get_args(hint) if a is not type(None)), None)
    if get_origin(hint) is tuple:
        return (_or_generic(get_args(hint)[0], None),)
    if get_origin(hint) is dict:
        return {"key": "value"}
    generic: dict[Any, object] = {bool: True, int: 1, float: 1.0, str: "text", Path: "/path"}
    return generic.get(hint, "...")


def _example(f: dataclasses.Field[Any]) -> object:
    """Return an example value for field ``f``: a known good one, else its default if not empty."""
    if f.name in _EXAMPLES:
        return _EXAMPLES[f.name]
    if f.default is not dataclasses.MISSING:
        return f.default if f.default not in (None, ()) else None
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory() or None
    return None


def _first(example: object) -> object:
    """Return the first item of an example array, to serve as an example item."""
    return example[0] if isinstance(example, tuple) and example else None


def _got(value: object, key: str) -> str:
    """Describe a value found in the file, hiding it when it sits under a secret key."""
    secret = bool(_SECRET_NAMES.intersection(re.split(r"[.\[\]]", key)))
    if isinstance(value, bool):
        return f"the boolean {_toml(value)}"
    if isinstance(value, str):
        return "a string" if secret else f"the string {value!r}"
    if isinstance(value, int | float):
        return "a number" if secret else f"the number {value!r}"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return f"the {type(value).__name__} value {value}"


def _toml(value: object) -> str:
    """``value`` as a TOML file writes it, for messages (``repr`` where TOML has no form)."""
    try:
        return toml_value(value)
    except TypeError:
        return repr(value)


def _unknown(name: str, known: list[str]) -> str:
    text = f"unknown key {name!r}{_did_you_mean(name, known)}"
    if name in _SECRET_NAMES:
        text += "; secrets belong in the secrets file named by terminal.secrets_file"
    return f"{text}; remove it or correct it (keys allowed here: {', '.join(known)})"


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _join(key: str, name: str) -> str:
    part = name if re.fullmatch(_NAME, name) else json.dumps(name, ensure_ascii=False)
    return f"{key}.{part}" if key else part


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


# --- Checks across tables and files. ---


def _check_display(display: DisplayConfig, key: str) -> None:
    """Only the display sizes the screens are drawn for are accepted."""
    if (display.width, display.height) in _DISPLAY_SIZES:
        return
    sizes = " or ".join(f"{w}x{h}" for w, h in _DISPLAY_SIZES)
    heights = [h for w, h in _DISPLAY_SIZES if w == display.width]
    name, fix = ("height", heights) if heights else ("width", [w for w, _ in _DISPLAY_SIZES])
    choices = " or ".join(f"{name} = {value}" for value in dict.fromkeys(fix))
    got = f"{display.width}x{display.height}"
    raise _Problem(_join(key, name), f"the display must be {sizes}, got {got}; set {choices}")


def _check_operator_keys(keypad: KeypadConfig, key: str) -> None:
    """Operator keys are the keypad's four; each does one of the known functions."""
    keys = sorted(OPERATOR_KEYS.values())
    for name, function in keypad.operator_keys.items():
        where = _join(_join(key, "operator_keys"), name)
        if name not in keys:
            raise _Problem(where, _unknown(name, keys))
        if function not in OPERATOR_FUNCTIONS:
            choices = ", ".join(f'"{f}"' for f in OPERATOR_FUNCTIONS)
            hint = _did_you_mean(function, list(OPERATOR_FUNCTIONS))
            raise _Problem(where, f"no function {function!r}{hint}; choose one of {choices}")


def _check_system(system: SystemConfig, key: str) -> None:
    """Wi-Fi needs the country: the radio may use only the channels allowed there."""
    if system.wifi_ssid and not system.wifi_country:
        message = (
            "is required when wifi_ssid is set (the radio may use only the channels allowed "
            'in the country); add wifi_country = "RU" with your country\'s code'
        )
        raise _Problem(_join(key, "wifi_country"), message)


def _check_references(config: Config, data: Mapping[str, object]) -> None:
    """Every provider named in [payment] and [[routes]] must be configured."""
    if not config.providers:
        raise _Problem(
            "providers", "no provider is configured; add a table such as [providers.sandbox]"
        )
    for name in config.providers:
        if not re.fullmatch(_NAME, name):
            message = "a provider name may hold only letters, digits, '-' and '_'; rename the table"
            raise _Problem(_join("providers", name), message)
    payment = data.get("payment")
    given = isinstance(payment, Mapping) and "mpm_provider" in payment
    fix = None if given else "set payment.mpm_provider"
    _check_provider(config, config.payment.mpm_provider, "payment.mpm_provider", fix)
    fix = None if "routes" in data else "write [[routes]] tables"
    for index, route in enumerate(config.routes):
        _check_provider(config, route.provider, f"routes[{index}].provider", fix)


def _check_provider(config: Config, name: str, key: str, default_fix: str | None) -> None:
    """``default_fix`` says how to replace a default that names an unconfigured provider."""
    if name in config.providers:
        return
    known = ", ".join(config.providers)
    add = f"add a [providers.{name}] table"
    if default_fix is None:
        hint = _did_you_mean(name, list(config.providers))
        message = f"names the provider {name!r}, which is not configured{hint}; "
        message += f"use one of {known} or {add}"
    else:
        message = (
            f"names the provider {name!r} by default, which is not configured; "
            f"{default_fix} naming one of {known}, or {add}"
        )
    raise _Problem(key, message)


def check_secrets(config: Config, secrets: Secrets, *, source: str) -> None:
    """Check ``secrets`` against ``config``; raise ConfigError naming the key if they disagree.

    PINs must have the configured length; provider keys must be for configured providers.
    """
    length = config.supervisor.pin_length
    for index, pin in enumerate(secrets.supervisor_pins):
        if len(pin) != length:
            message = (
                f"has {len(pin)} digits but supervisor.pin_length is {length} in {config.source}; "
                "change the PIN or supervisor.pin_length"
            )
            raise ConfigError(message, key=f"supervisor.pins[{index}]", path=source)
    for name in secrets.provider_secrets or secrets.provider_keys:
        if name not in config.providers:
            hint = _did_you_mean(name, list(config.providers))
            message = (
                f"no provider {name!r} is configured in {config.source}{hint}; remove this table"
            )
            raise ConfigError(message, key=_join("providers", name), path=source)


# --- Files. ---


def _resolve_paths(terminal: TerminalConfig, folder: Path) -> TerminalConfig:
    """Paths written relative in the file are relative to the file's folder."""
    secrets = terminal.secrets_file
    return dataclasses.replace(
        terminal,
        data_dir=folder / terminal.data_dir,
        secrets_file=None if secrets is None else folder / secrets,
    )


def _read_toml(path: Path, *, source: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _file_error(exc, source, "configuration file") from exc
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


def _file_error(exc: OSError, source: str, what: str) -> ConfigError:
    if isinstance(exc, FileNotFoundError):
        return ConfigError(f"the {what} does not exist; check the path", path=source)
    if isinstance(exc, PermissionError):
        message = f"the {what} cannot be read (permission denied); check its owner and mode"
        return ConfigError(message, path=source)
    if isinstance(exc, IsADirectoryError):
        return ConfigError(f"is a folder, not a {what}; give the file's path", path=source)
    return ConfigError(f"the {what} cannot be read: {exc.strerror or exc}", path=source)
