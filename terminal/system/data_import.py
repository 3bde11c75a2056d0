"""``payterm import-data FILE``: put an export's journal, marker and configuration on a new card.

Everything is checked before anything is written: the file against its manifest (size and
SHA-256 of every member), the journal with SQLite's integrity check and the journal's own
checks, the journal's counts and terminal against the manifest, and the configuration with
``check-config``'s validation (training guard included). It is refused while the terminal
holds the journal, and when the journal in place holds any payment, unless ``--replace``,
which keeps the files in place renamed ``<name>.replaced-<UTC stamp>``. The journal is
written under a temporary name, flushed, and renamed into place; the configuration is
installed as the boot import installs it (``provision_files``). See docs/data.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import pwd
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TextIO

from terminal.config.loader import check_secrets, decode_toml, load_secrets, parse_config
from terminal.config.training import check_training
from terminal.errors import ConfigError, JournalError, TerminalError
from terminal.journal.backup import JournalFacts, journal_facts
from terminal.journal.marker import fsync_folder, marker_path, read_marker
from terminal.journal.recovery import in_use
from terminal.journal.snapshot import SIDE_FILES, side_file
from terminal.system.data_archive import (
    CONFIG_MEMBER,
    JOURNAL_MEMBER,
    MARKER_MEMBER,
    DataTransferError,
    Manifest,
    read_archive,
)
from terminal.system.data_export import DATA_DIR, add_folder_arguments
from terminal.system.provision_files import NewFile, install
from terminal.system.provision_layout import INSTALL_DIR

__all__ = ["Imported", "import_data", "build_parser", "main"]

log = logging.getLogger(__name__)

_SERVICE_USER = "payterm"


@dataclasses.dataclass(frozen=True, slots=True)
class Imported:
    """What an import installed, and what it set aside."""

    journal: Path
    facts: JournalFacts
    config: Path | None
    kept: tuple[Path, ...]
    notes: tuple[str, ...]

    def lines(self) -> list[str]:
        """What a technician reads."""
        out = [
            f"journal of terminal {self.facts.terminal_id} (epoch {self.facts.epoch}) installed "
            f"in {self.journal}: {self.facts.payments} payment(s), numbering goes on at "
            f"{self.facts.last_number + 1:06d}, {self.facts.outbox_unsent} record(s) still to "
            "send upstream"
        ]
        if self.config is not None:
            out.append(f"configuration installed: {self.config}")
        out += [f"kept as it was: {path}" for path in self.kept]
        return out + list(self.notes)


def import_data(
    archive: Path,
    *,
    replace: bool = False,
    data_dir: Path = DATA_DIR,
    config_dir: Path = Path(INSTALL_DIR),
    now: datetime | None = None,
) -> Imported:
    """Check the export at ``archive`` and install it; what was done.

    :raises DataTransferError: refused (in use, payments in place, damaged, bad config).
    """
    now = now or datetime.now(UTC)
    journal = data_dir / JOURNAL_MEMBER
    if in_use(journal):
        raise DataTransferError(
            f"{journal}: the journal is in use by the running terminal; stop it first "
            "(systemctl stop payterm), import, then start it again"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".payterm-import-", dir=data_dir) as folder:
        work = Path(folder)  # on the data partition: the journal is renamed, never copied
        manifest = read_archive(archive, work)
        facts = _check_journal(archive, work, manifest)
        notes: list[str] = []
        config = _check_config(archive, work, config_dir, notes)
        if not replace:
            _refuse_payments_in_place(journal)
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = _set_aside(journal, stamp) if replace else _drop_empty(journal)
        _place(work / JOURNAL_MEMBER, journal)
        _place(work / MARKER_MEMBER, marker_path(journal))
        fsync_folder(data_dir)
    installed = None
    if config is not None:
        target = config_dir / CONFIG_MEMBER
        old = target.read_bytes() if target.is_file() else None
        previous = (
            target.with_name(f"{CONFIG_MEMBER}.previous") if old not in (None, config) else None
        )
        install([NewFile(target, config, mode=0o640, group=_SERVICE_USER, previous=previous)])
        installed = target
    log.warning("data:imported from=%s journal=%s epoch=%s", archive, journal, facts.epoch)
    return Imported(journal, facts, installed, kept, tuple(notes))


def _check_journal(archive: Path, work: Path, manifest: Manifest) -> JournalFacts:
    copy = work / JOURNAL_MEMBER
    try:
        facts = journal_facts(copy)
    except JournalError as exc:
        said = str(exc).replace(str(copy), "its journal").split("; the terminal will not")[0]
        raise DataTransferError(f"{archive}: {said}: it is not imported") from exc
    counts = manifest.counts
    if (facts.payments, facts.last_number, facts.outbox_unsent) != (
        counts.payments, counts.last_number, counts.outbox_unsent,
    ):  # fmt: skip
        raise DataTransferError(f"{archive}: its journal does not hold what its manifest says")
    marker = read_marker(copy)
    if marker is None or marker.epoch != facts.epoch or facts.terminal_id != manifest.terminal_id:
        raise DataTransferError(
            f"{archive}: its journal, marker and manifest name different journals "
            f"(epoch {facts.epoch} / {marker.epoch if marker else '-'}, terminal "
            f"{facts.terminal_id} / {manifest.terminal_id}): it is not imported"
        )
    return facts


def _check_config(archive: Path, work: Path, config_dir: Path, notes: list[str]) -> bytes | None:
    """The export's configuration, validated as ``check-config`` does; None when it has none."""
    path = work / CONFIG_MEMBER
    if not path.is_file():
        notes.append("the export holds no configuration; the installed one (if any) stays")
        return None
    raw = path.read_bytes()
    source = f"{archive.name}: {CONFIG_MEMBER}"
    try:
        config = parse_config(decode_toml(raw, source=source), source=source)
        check_training(config)
        named = config.terminal.secrets_file
        if named is not None:
            secrets = _in_config_dir(PurePosixPath(named), config_dir)
            if secrets.is_file():
                check_secrets(config, load_secrets(secrets), source=str(secrets))
            else:
                notes.append(
                    f"the configuration names {named}, which is not on this terminal (secrets "
                    "are never exported): put payterm-secrets.toml on the card's boot "
                    "partition and restart"
                )
    except ConfigError as exc:
        raise DataTransferError(f"its configuration is refused, nothing imported:\n{exc}") from exc
    return raw


def _in_config_dir(named: PurePosixPath, config_dir: Path) -> Path:
    """The file the config names, in ``config_dir`` when named under /etc/payterm."""
    if named.is_relative_to(INSTALL_DIR):
        return config_dir / named.relative_to(INSTALL_DIR)
    return config_dir / named


def _refuse_payments_in_place(journal: Path) -> None:
    from terminal.journal.listing import journal_snapshot

    if not journal.exists() and read_marker(journal) is None:
        return
    try:
        with journal_snapshot(journal, terminal_id="") as present:
            count = present.next_seq() - 1
    except JournalError as exc:
        raise DataTransferError(
            f"{journal}: the journal in place cannot be read ({exc}); to set it aside and "
            "import anyway, add --replace (its files are kept renamed)"
        ) from exc
    if count:
        raise DataTransferError(
            f"{journal}: the journal in place holds {count} payment(s); to set it aside and "
            "import anyway, add --replace (its files are kept renamed, nothing is deleted)"
        )


def _drop_empty(journal: Path) -> tuple[Path, ...]:
    """A journal with no payment (a first start before the import) is made again: removed."""
    for name in (journal, *(side_file(journal, s) for s in SIDE_FILES), marker_path(journal)):
        name.unlink(missing_ok=True)
    return ()


def _set_aside(journal: Path, stamp: str) -> tuple[Path, ...]:
    kept = []
    for name in (journal, *(side_file(journal, s) for s in SIDE_FILES), marker_path(journal)):
        if name.exists():
            aside = name.with_name(f"{name.name}.replaced-{stamp}")
            os.replace(name, aside)
            kept.append(aside)
    return tuple(kept)


def _place(source: Path, target: Path) -> None:
    """Flush ``source``, give it the service's owner and mode, rename it to ``target``."""
    with source.open("rb+") as file:
        os.fsync(file.fileno())
    os.chmod(source, 0o640)
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(_SERVICE_USER)
            os.chown(source, user.pw_uid, user.pw_gid)
    os.replace(source, target)


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``payterm import-data``."""
    parser = argparse.ArgumentParser(
        prog="payterm import-data",
        description="Install an export's journal and configuration on this terminal, with "
        "the terminal stopped (see docs/data.md).",
    )
    parser.add_argument("file", type=Path, help="the payterm-export-….tar file")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="set aside a journal that holds payments (kept renamed .replaced-<stamp>)",
    )
    add_folder_arguments(parser)
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """``payterm import-data``: 0 when installed, 2 when refused (the reason on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        done = import_data(
            args.file, replace=args.replace, data_dir=args.data_dir, config_dir=args.config_dir
        )
    except (TerminalError, OSError) as exc:
        print(f"payterm import-data: {exc}", file=err)
        return 2
    print("\n".join(done.lines()), file=out)
    return 0
