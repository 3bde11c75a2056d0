"""Sendy's activation state file: the terminal key and the attempts per activation code (0600)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from terminal.errors import ConfigError

__all__ = ["read_state", "write_state"]


def read_state(path: Path, *, key: str = "state_path") -> dict[str, Any]:
    """The activation state file's content; empty when it does not exist yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", key=key) from exc
    try:
        state = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not the Sendy state file (not JSON)", key=key) from exc
    if not isinstance(state, dict) or not isinstance(state.get("attempts", {}), dict):
        raise ConfigError(f"{path} is not the Sendy state file", key=key)
    return state


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Replace the state file atomically, readable by its owner only (0600)."""
    data = json.dumps(state, indent=2, sort_keys=True).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", key="state_path") from exc
