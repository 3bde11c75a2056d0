"""Import the technician's configuration from the SD card's boot partition and apply it.

At every start, before the terminal, ``payterm-import.service`` runs this. When the boot
partition holds ``payterm.toml`` (and perhaps ``payterm-secrets.toml``), both are validated
with the terminal's own loader as if already installed in ``/etc/payterm``:

- valid: they are installed in ``/etc/payterm`` (the old config kept as ``payterm.toml.previous``),
  the ``[system]`` table's host name and Wi-Fi are written into the system, the card's copy is
  renamed ``payterm.toml.imported`` and the secrets are wiped from the card;
- invalid: nothing on the terminal changes, the card's copy is renamed ``payterm.toml.rejected``
  and ``payterm-config-error.txt`` beside it says what is wrong, naming the key.

The installed config's ``terminal.secrets_file`` is set to ``/etc/payterm/secrets.toml`` when a
secrets file is in force (imported now or by an earlier import); relative paths are resolved
against ``/etc/payterm``. Every path is taken under ``root``, so tests and image builds run it
on a folder. See docs/first-boot.md.

This module validates the card's files and plans the changes, and is the command line;
the files it reads and writes are named in ``provision_layout``, how a run ends (and what
the card and the screen are told) is in ``provision_outcome``, and the all-or-nothing
install in ``provision_files``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import tomli_w

from terminal.config.files import raise_problems
from terminal.config.loader import (
    check_secrets,
    decode_toml,
    load_secrets,
    parse_config,
    parse_secrets,
)
from terminal.config.model import Config, Secrets
from terminal.config.places import data_dir_problems
from terminal.config.training import check_training
from terminal.errors import ConfigError
from terminal.system.host_settings import Host, RunningHost
from terminal.system.logs import configure_logging
from terminal.system.provision_files import Change, NewFile, NewLink, Removal, install, only_real
from terminal.system.provision_layout import (
    BOOT_CONFIG,
    BOOT_SECRETS,
    INSTALL_DIR,
    INSTALLED_SECRETS,
    Layout,
)
from terminal.system.provision_outcome import (
    ImportResult,
    Outcome,
    clear_card,
    fail,
    reject,
    tell_ssh,
    tell_terminal,
)
from terminal.system.ssh_card import check_card_ssh
from terminal.system.system_files import SystemChanges, apply_live, system_changes
from terminal.system.technician import wanted_hash

__all__ = ["import_config", "build_parser", "main"]

log = logging.getLogger(__name__)

_GROUP = "payterm"
#: The service's StateDirectory (systemd/payterm.service): the one folder it may write.
STATE_DIR = PurePosixPath("/var/lib/payterm")


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """What a valid import changes: its own files, and the root file system's."""

    changes: tuple[Change, ...]
    system: SystemChanges


def import_config(
    root: Path = Path("/"),
    boot: Path | None = None,
    *,
    dry_run: bool = False,
    host: Host | None = None,
) -> ImportResult:
    """Import and apply the configuration on the boot partition, if any; never raises for it.

    ``host`` carries out the changes to the running system; by default the real one when
    ``root`` is ``/`` and nothing otherwise. ``dry_run`` validates and logs what would be done.
    The card's ``ssh`` file is checked at every run, whatever the configuration's outcome.
    """
    layout = Layout.under(root, boot)
    if host is None:
        host = RunningHost() if root == Path("/") else Host()
    result = _import_files(layout, host, dry_run=dry_run)
    _check_ssh(layout, dry_run=dry_run)
    return result


def _import_files(layout: Layout, host: Host, *, dry_run: bool) -> ImportResult:
    """The configuration and secrets on the card: validated, then installed or refused."""
    card_config, card_secrets = layout.boot / BOOT_CONFIG, layout.boot / BOOT_SECRETS
    if not card_config.exists() and not card_secrets.exists():
        if layout.config.exists():
            log.info("no %s on %s: the installed configuration stays", BOOT_CONFIG, layout.boot)
            return ImportResult(Outcome.NOTHING, "nothing to import")
        message = f"no configuration: put {BOOT_CONFIG} on the SD card's boot partition and restart"
        if (layout.boot / f"{BOOT_CONFIG}.txt").exists():
            message += f" ({BOOT_CONFIG}.txt is there: rename it {BOOT_CONFIG})"
        log.error("%s", message)
        if not dry_run:
            tell_terminal(layout, message)
        return ImportResult(Outcome.MISSING, message)
    imported = BOOT_CONFIG if card_config.exists() else BOOT_SECRETS
    try:
        plan = _plan(layout, card_config, card_secrets)
    except ConfigError as exc:
        return reject(layout, str(exc), dry_run=dry_run)
    except OSError as exc:
        return fail(layout, exc, dry_run=dry_run)
    if dry_run:
        for change in plan.changes:
            log.info("would %s %s", _verb(change), change.path)
        return ImportResult(Outcome.IMPORTED, f"{imported} is valid; nothing written (dry run)")
    try:
        with host.writable([layout.config, layout.on_terminal("/etc"), layout.boot]):
            install(plan.changes)
            clear_card(layout, card_config, card_secrets)
    except OSError as exc:
        return fail(layout, exc, dry_run=False)
    apply_live(plan.system, host)
    with contextlib.suppress(OSError):
        layout.run_error.unlink(missing_ok=True)
    message = f"{imported} imported into {INSTALL_DIR}"
    log.info("%s (%d file(s) changed)", message, len(plan.changes))
    return ImportResult(Outcome.IMPORTED, message)


def _check_ssh(layout: Layout, *, dry_run: bool) -> None:
    """Tell on the card and the screen what keeps the card's ``ssh`` file from letting anyone in."""
    try:
        problem = check_card_ssh(layout.boot, dry_run=dry_run)
    except OSError as exc:
        problem = f"SSH: the file ssh on the card cannot be read or renamed: {exc.strerror or exc}"
        log.error("%s", problem)
    if not dry_run:
        tell_ssh(layout, problem)


# --- Validation: everything is read and checked before anything is written. ---


def _plan(layout: Layout, card_config: Path, card_secrets: Path) -> _Plan:
    """Validate the card's files as if installed; return the changes, or raise ConfigError."""
    if card_config.exists():
        source, raw = BOOT_CONFIG, _read(card_config, BOOT_CONFIG)
    elif layout.config.exists():  # secrets alone: they go with the installed configuration
        source = str(INSTALL_DIR / "payterm.toml")
        raw = _read(layout.config, source)
    else:
        message = f"is imported together with {BOOT_CONFIG}; put {BOOT_CONFIG} next to it"
        raise ConfigError(message, path=BOOT_SECRETS)
    data = decode_toml(raw, source=source)
    config = parse_config(data, source=source)
    if not config.terminal.data_dir.is_absolute():
        message = (
            'must be an absolute path such as "/var/lib/payterm": a relative one would be '
            f"inside {INSTALL_DIR}, which is read-only"
        )
        raise ConfigError(message, key="terminal.data_dir", path=source)
    data_dir = PurePosixPath(os.path.normpath(config.terminal.data_dir))
    _check_data_dir(layout, data_dir, data, source)
    secrets = _secrets(layout, config, card_secrets)
    check_secrets(config, secrets.secrets, source=secrets.source)
    check_training(config)  # as `payterm run` would: no pretend payments by accident
    text = _installed_text(raw, data, config, secrets.path)
    changes: list[Change] = []
    if secrets.new is not None:
        changes.append(_private(layout.secrets, secrets.new))
    changes.append(_private(layout.config, text.encode("utf-8")))
    # A new secrets file decides the technician's password; otherwise the kept hash stays.
    password = secrets.secrets.technician_password if secrets.new is not None else None
    system = system_changes(layout, config, secrets.secrets, wanted_hash(layout, password))
    return _Plan((*only_real(changes), *system.changes), system)


def _check_data_dir(layout: Layout, data_dir: PurePosixPath, data: object, source: str) -> None:
    """The data folder must be where the service may write, and a folder on the terminal."""
    if data_dir != STATE_DIR and STATE_DIR not in data_dir.parents:
        message = (
            f"must be {STATE_DIR} or a folder in it: the terminal's service may write nowhere "
            "else (the rest of the file system is read-only to it)"
        )
        raise ConfigError(message, key="terminal.data_dir", path=source)
    if problems := data_dir_problems(data_dir, root=layout.root):
        raise_problems(data, problems, source)


def _read(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", path=source) from None


class _SecretsInForce(NamedTuple):
    """The secrets after the import, the path the config names them by, and their origin."""

    secrets: Secrets
    path: PurePosixPath | None  # for terminal.secrets_file; None: no secrets file
    new: bytes | None  # the card's file, to install; None: nothing to install
    source: str  # for messages


def _secrets(layout: Layout, config: Config, card_secrets: Path) -> _SecretsInForce:
    """Return the secrets in force after the import.

    The card's secrets file replaces the installed one; without it the installed one stays
    (and the config is pointed at it), or the file the config names must be on the terminal.
    """
    if card_secrets.exists():
        raw = _read(card_secrets, BOOT_SECRETS)
        secrets = parse_secrets(raw, source=BOOT_SECRETS)
        return _SecretsInForce(secrets, INSTALLED_SECRETS, _without_technician(raw), BOOT_SECRETS)
    named = config.terminal.secrets_file
    if named is None:
        if not layout.secrets.exists():
            return _SecretsInForce(Secrets(), None, None, "<none>")
        named = Path(INSTALLED_SECRETS)
    path = INSTALL_DIR / PurePosixPath(named)
    if not layout.on_terminal(path).is_file():
        message = (
            f"names {path}, which is not on the terminal; put {BOOT_SECRETS} next to "
            f"{BOOT_CONFIG} on the card (it is installed as {INSTALLED_SECRETS})"
        )
        raise ConfigError(message, key="terminal.secrets_file", path=config.source)
    secrets = load_secrets(layout.on_terminal(path))
    return _SecretsInForce(secrets, path, None, str(path))


def _without_technician(raw: bytes) -> bytes:
    """The secrets file as installed: without ``[technician]``, whose password only its hash keeps.

    The installed file is readable by the ``payterm`` group; root's password must not be.
    A file without the table is installed exactly as written.
    """
    data = decode_toml(raw, source=BOOT_SECRETS)
    if "technician" not in data:
        return raw
    del data["technician"]
    text = (
        "# Installed by the configuration import without its [technician] table: root's\n"
        "# console password is kept only as its hash (/etc/payterm/technician.hash).\n\n"
        + tomli_w.dumps(data)
    )
    if tomllib.loads(text) != data:  # tomli-w must round-trip exactly
        raise ConfigError("could not be rewritten faithfully; report this", path=BOOT_SECRETS)
    return text.encode("utf-8")


def _installed_text(
    raw: bytes, data: dict[str, Any], config: Config, secrets_file: PurePosixPath | None
) -> str:
    """The file as written when it already names ``secrets_file``; else rewritten naming it."""
    named = config.terminal.secrets_file
    as_written = None if named is None else INSTALL_DIR / PurePosixPath(named)
    if secrets_file is None or as_written == secrets_file:
        return raw.decode("utf-8-sig")
    rewritten = copy.deepcopy(data)
    rewritten.setdefault("terminal", {})["secrets_file"] = str(secrets_file)
    log.info("the installed configuration names the secrets file %s", secrets_file)
    text = (
        "# Installed by the configuration import, which set terminal.secrets_file. The file\n"
        "# as written, with its comments, is kept on the boot partition as "
        f"{BOOT_CONFIG}.imported.\n\n" + tomli_w.dumps(rewritten)
    )
    if tomllib.loads(text) != rewritten:  # tomli-w must round-trip exactly
        raise ConfigError("could not be rewritten faithfully; report this", path=config.source)
    return text


def _private(path: Path, data: bytes) -> NewFile:
    """A config or secrets file: 0640, group payterm, the replaced one kept as ``.previous``."""
    old = path.read_bytes() if path.is_file() else None
    previous = path.with_name(path.name + ".previous") if old not in (None, data) else None
    return NewFile(path, data, mode=0o640, group=_GROUP, previous=previous)


def _verb(change: Change) -> str:
    return {NewFile: "write", NewLink: "link", Removal: "remove"}[type(change)]


# --- The command. ---


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``python -m terminal.system.provision`` (``payterm import-config``)."""
    parser = argparse.ArgumentParser(
        prog="payterm import-config",
        description="Import payterm.toml (and payterm-secrets.toml) from the boot partition.",
    )
    parser.add_argument(
        "--root", type=Path, default=Path("/"), help="the terminal's root folder (default /)"
    )
    parser.add_argument(
        "--boot",
        type=Path,
        default=None,
        help="the boot partition's folder (default <root>/boot/firmware)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and say what would be done; write nothing"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one import; exit 0 when imported or nothing to do, 1 otherwise."""
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        result = import_config(args.root, args.boot, dry_run=args.dry_run)
    except Exception:  # noqa: BLE001 - the terminal must still start; the log has the trace
        log.exception("the configuration import failed")
        return 1
    log.info("import: %s: %s", result.outcome, result.message)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
