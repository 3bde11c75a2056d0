"""The secrets file: read it only when private, validate it, and check it against the config."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from terminal.config.files import decode_toml, file_error, raise_problems
from terminal.config.messages import did_you_mean
from terminal.config.model import Config, Secrets, SecretsFile
from terminal.config.rules import Problem
from terminal.config.validation import validate
from terminal.errors import ConfigError

__all__ = ["load_secrets", "parse_secrets", "check_secrets"]


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
        raise file_error(exc, source, "secrets file") from exc
    return parse_secrets(raw, source=source)


def parse_secrets(raw: bytes, *, source: str = "<memory>") -> Secrets:
    """Validate the bytes of a secrets file and return its Secrets (no check of file modes)."""
    data = decode_toml(raw, source=source)
    parsed = validate(SecretsFile, data)
    problems = (parsed if isinstance(parsed, list) else []) + _blank_secrets(data)
    if problems:
        raise_problems(data, problems, source)
    assert isinstance(parsed, SecretsFile)
    return Secrets(
        supervisor_pins=parsed.supervisor.pins,
        supervisor_badges=tuple(badge.lower() for badge in parsed.supervisor.badges),
        provider_keys={
            name: table["api_key"] for name, table in parsed.providers.items() if "api_key" in table
        },
        provider_secrets={name: dict(table) for name, table in parsed.providers.items()},
        wifi_psk=parsed.wifi.psk,
        sync_secrets={name: dict(table) for name, table in parsed.sync.items()},
        console_password=parsed.console.password,
        technician_password=parsed.technician.password,
    )


#: Provider secrets that may be written empty: a certificate exported without a password.
_MAY_BE_EMPTY = frozenset({"pfx_password"})


def _blank_secrets(data: Mapping[str, object]) -> list[Problem]:
    """A provider secret written blank is refused: whoever wrote the line meant to set it.

    Read from the file's data, so that these are told with the problems of types.
    """
    providers = data.get("providers")
    if not isinstance(providers, Mapping):
        return []
    problems: list[Problem] = []
    for name, table in providers.items():
        if not isinstance(table, Mapping):
            continue
        for key, value in table.items():
            if isinstance(value, str) and not value.strip() and key not in _MAY_BE_EMPTY:
                message = (
                    "must not be empty; write the value the provider issued, or remove the line"
                )
                problems.append((("providers", name, key), message))
    return problems


def check_secrets(config: Config, secrets: Secrets, *, source: str) -> None:
    """Check ``secrets`` against ``config``; raise ConfigError naming every key that disagrees.

    PINs must have the configured length; provider keys must be for configured providers.
    """
    problems: list[Problem] = []
    length = config.supervisor.pin_length
    for index, pin in enumerate(secrets.supervisor_pins):
        if len(pin) != length:
            message = (
                f"has {len(pin)} digits but supervisor.pin_length is {length} in {config.source}; "
                "change the PIN or supervisor.pin_length"
            )
            problems.append((("supervisor", "pins", index), message))
    for name in secrets.provider_secrets or secrets.provider_keys:
        if name not in config.providers:
            hint = did_you_mean(name, list(config.providers))
            message = (
                f"no provider {name!r} is configured in {config.source}{hint}; remove this table"
            )
            problems.append((("providers", name), message))
    problems += _sync_problems(config, secrets)
    if problems:
        raise_problems(None, problems, source)


def _sync_problems(config: Config, secrets: Secrets) -> list[Problem]:
    """Sync secrets must be for configured targets; a webhook target needs its secret."""
    problems: list[Problem] = []
    targets = {target.name: target for target in config.sync.targets}
    for name in secrets.sync_secrets:
        if name not in targets:
            hint = did_you_mean(name, list(targets))
            message = f"no sync target {name!r} is configured in {config.source}{hint}"
            problems.append((("sync", name), f"{message}; remove this table"))
    for name, target in targets.items():
        if target.kind == "webhook" and not secrets.sync_secrets.get(name, {}).get("secret"):
            message = (
                f"the webhook target {name!r} signs every batch; add [sync.{name}] "
                'secret = "…" (the key its receiver shares) to the secrets file'
            )
            problems.append((("sync", name, "secret"), message))
    return problems
