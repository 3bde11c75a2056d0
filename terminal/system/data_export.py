"""``payterm export``: the journal and the configuration, never a secret, in one file off the card.

The file (``data_archive``) goes to the boot partition by default (any computer reads it),
to a folder (``--to``) or to the one USB stick plugged in (``--usb``). It is written under a
temporary name, flushed, and renamed into place, so a full or pulled target never leaves a
file that looks whole. The room it needs is checked before anything is written. It is safe
while the terminal runs and takes payments (``terminal.journal.backup``). See docs/data.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from terminal.errors import TerminalError
from terminal.journal.backup import backup_copy
from terminal.journal.marker import Marker, marker_path, write_marker
from terminal.system.data_archive import (
    CONFIG_MEMBER,
    JOURNAL_MEMBER,
    MARKER_MEMBER,
    DataTransferError,
    JournalCounts,
    Manifest,
    archive_bytes_needed,
    archive_name,
    manifest_member,
    member_info,
    sha256_of,
)
from terminal.system.provision_files import fsync_dir
from terminal.system.provision_layout import INSTALL_DIR
from terminal.system.usb_storage import mounted, the_usb_partition

__all__ = [
    "BOOT_DIR",
    "DATA_DIR",
    "Exported",
    "export_data",
    "add_folder_arguments",
    "build_parser",
    "main",
]

#: The boot partition, the default target (and where an update bundle is dropped).
BOOT_DIR = Path("/boot/firmware")
#: The terminal's data folder (the service's StateDirectory).
DATA_DIR = Path("/var/lib/payterm")
#: Room kept free on the target beyond the file itself (FAT's clusters, its directory).
_SPARE_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote: the file and its manifest."""

    path: Path
    manifest: Manifest
    size: int

    def line(self) -> str:
        """The one line a technician reads."""
        counts = self.manifest.counts
        config = (
            "the configuration" if CONFIG_MEMBER in self.manifest.members else "no configuration"
        )
        return (
            f"exported {counts.payments} payment(s), last number {counts.last_number:06d}, "
            f"{counts.outbox_unsent} record(s) not yet sent upstream, and "
            f"{config} to {self.path} ({self.size} bytes); no secrets are in it"
        )


def export_data(
    target: Path,
    *,
    data_dir: Path = DATA_DIR,
    config_dir: Path = Path(INSTALL_DIR),
    now: datetime | None = None,
    software_version: str = "",
) -> Exported:
    """Write the export file into the folder ``target``; what was written.

    :raises DataTransferError: the target is missing, read-only or too small, or no journal.
    :raises JournalError: the journal cannot be read or its copy is not sound.
    """
    now = now or datetime.now(UTC)
    _check_target(target)
    journal = data_dir / _journal_file()
    with tempfile.TemporaryDirectory(prefix="payterm-export-") as folder:
        work = Path(folder)
        if not journal.exists():
            raise DataTransferError(f"{journal}: no journal here, nothing to export")
        facts = backup_copy(journal, work / JOURNAL_MEMBER, scratch=work)
        _marker(journal, work, facts.epoch, facts.terminal_id, now)
        if (config_dir / CONFIG_MEMBER).is_file():
            shutil.copyfile(config_dir / CONFIG_MEMBER, work / CONFIG_MEMBER)
        names = [n for n in (JOURNAL_MEMBER, MARKER_MEMBER, CONFIG_MEMBER) if (work / n).exists()]
        manifest = Manifest(
            terminal_id=facts.terminal_id,
            software_version=software_version,
            created_utc=now.astimezone(UTC).isoformat(timespec="seconds"),
            members={n: ((work / n).stat().st_size, sha256_of(work / n)) for n in names},
            counts=JournalCounts(facts.payments, facts.last_number, facts.outbox_unsent),
        )
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = target / archive_name(facts.terminal_id, stamp)
        sizes = {n: size for n, (size, _) in manifest.members.items()}
        sizes["manifest"] = len(manifest.to_json())
        needed = archive_bytes_needed(sizes)
        _check_room(target, needed)
        _write_atomically(path, lambda tar: _fill(tar, work, names, manifest))
    return Exported(path, manifest, path.stat().st_size)


def _journal_file() -> str:
    from terminal.app import JOURNAL_FILE

    return JOURNAL_FILE


def _check_target(target: Path) -> None:
    if not target.is_dir():
        raise DataTransferError(
            f"{target}: no such folder; is the card's boot partition (or the stick) mounted? "
            "Give another folder with --to"
        )
    read_only = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
    if read_only or not os.access(target, os.W_OK):
        why = "is mounted read-only" if read_only else "is not writable by this user"
        raise DataTransferError(f"{target}: {why}; mount it read-write, or run with sudo")


def _check_room(target: Path, needed: int) -> None:
    free = shutil.disk_usage(target).free
    if free < needed + _SPARE_BYTES:
        raise DataTransferError(
            f"{target}: not enough room: the export needs {_mb(needed + _SPARE_BYTES)}, "
            f"{_mb(free)} is free; make room there or use another target (--to, --usb)"
        )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _marker(journal: Path, work: Path, epoch: str, terminal_id: str, now: datetime) -> None:
    """The journal's marker, or (for a journal made before markers) one made from its meta."""
    source = marker_path(journal)
    if source.is_file():
        shutil.copyfile(source, work / MARKER_MEMBER)
    else:
        write_marker(work / JOURNAL_MEMBER, Marker(epoch, terminal_id, now.isoformat()))


def _fill(tar: tarfile.TarFile, work: Path, names: Sequence[str], manifest: Manifest) -> None:
    info, raw = manifest_member(manifest)
    tar.addfile(info, raw)
    for name in names:
        path = work / name
        with path.open("rb") as file:
            tar.addfile(member_info(name, path.stat().st_size), file)


def _write_atomically(path: Path, fill: Callable[[tarfile.TarFile], None]) -> None:
    """Write the tar under a temporary name, flush it, rename it; on failure leave nothing."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("wb") as out:
            with tarfile.open(fileobj=out, mode="w:", format=tarfile.USTAR_FORMAT) as tar:
                fill(tar)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if exc.errno == errno.ENOSPC:
            raise DataTransferError(
                f"{path.parent}: the target filled up while the export was written; nothing "
                "was left there. Make room or use another target"
            ) from exc
        raise DataTransferError(f"{path}: cannot write the export: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Path]:
    if args.usb:
        with mounted(the_usb_partition()) as folder:
            yield folder
    else:
        yield args.to


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``payterm export``."""
    parser = argparse.ArgumentParser(
        prog="payterm export",
        description="Copy the journal and the configuration (never a secret) into one file "
        "on the boot partition, a folder or a USB stick (see docs/data.md).",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--to", type=Path, default=BOOT_DIR, help="a folder (default %(default)s)")
    where.add_argument("--usb", action="store_true", help="the one USB stick plugged in (root)")
    add_folder_arguments(parser)
    return parser


def add_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--config-dir``: where the journal and the config are."""
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="default %(default)s")
    parser.add_argument(
        "--config-dir", type=Path, default=Path(INSTALL_DIR), help="default %(default)s"
    )


def main(
    argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """``payterm export``: 0 when written, 2 when refused (the reason on stderr)."""
    from terminal.cli import version

    args = build_parser().parse_args(argv)
    try:
        with _target(args) as folder:
            done = export_data(
                folder, data_dir=args.data_dir, config_dir=args.config_dir,
                software_version=version(),
            )  # fmt: skip
            print(done.line(), file=out)
    except TerminalError as exc:
        print(f"payterm export: {exc}", file=err)
        return 2
    return 0
