"""Load and validate the terminal's TOML configuration file and its secrets file.

The shape is in ``model``, the rules beyond types in ``rules``; ``validation`` checks a file
against both with pydantic and tells every problem at once, in ``messages``' words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from terminal.config.files import decode_toml, raise_problems, read_toml
from terminal.config.model import Config, Secrets, TerminalConfig
from terminal.config.places import data_dir_problems
from terminal.config.rules import reference_problems
from terminal.config.secrets import check_secrets, load_secrets, parse_secrets
from terminal.config.validation import validate
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

#: Fields of Config that the loader fills in; a file may not set them.
_NOT_IN_FILE = frozenset({"secrets", "source"})


def load_config(path: Path) -> Config:
    """Read, validate and return the configuration in ``path``, with its secrets file if named."""
    source = str(path)
    config = parse_config(read_toml(path, source=source), source=source)
    terminal = _resolve_paths(config.terminal, path.absolute().parent)
    config = dataclasses.replace(config, terminal=terminal)
    if problems := data_dir_problems(PurePosixPath(terminal.data_dir)):
        raise_problems(None, problems, source)
    if terminal.secrets_file is None:
        if config.sync.targets:  # a webhook's signing secret can only come from that file
            check_secrets(config, Secrets(), source=f"{source} (no terminal.secrets_file)")
        return config
    if not terminal.secrets_file.exists():  # a folder is told by load_secrets
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
    """Validate already-parsed TOML ``data`` and return the Config (no secrets are read).

    Every problem in the file is told in one ConfigError, in file order.
    """
    config = validate(Config, data, skip=_NOT_IN_FILE)
    problems = reference_problems(data) if isinstance(data, Mapping) else []
    if isinstance(config, list):
        problems = config + problems
    if problems:
        raise_problems(data, problems, source)
    assert isinstance(config, Config)
    return dataclasses.replace(config, source=source)


def demo_config(data_dir: Path) -> Config:
    """Return the configuration ``payterm demo`` runs with when no file is given."""
    terminal = {"hardware": "emulated", "training": True, "data_dir": str(data_dir)}
    config = parse_config({"terminal": terminal}, source="<demo>")
    secrets = Secrets(supervisor_pins=(DEMO_PIN,), supervisor_badges=(DEMO_BADGE,))
    check_secrets(config, secrets, source="<demo>")
    return dataclasses.replace(config, secrets=secrets)


def _resolve_paths(terminal: TerminalConfig, folder: Path) -> TerminalConfig:
    """Paths written relative in the file are relative to the file's folder."""
    secrets = terminal.secrets_file
    return dataclasses.replace(
        terminal,
        data_dir=folder / terminal.data_dir,
        secrets_file=None if secrets is None else folder / secrets,
    )
