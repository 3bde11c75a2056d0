"""The terminal's data export file: which members it holds, its manifest, and reading it back.

An export (``payterm export``) is one uncompressed tar, ``payterm-export-<terminal id>-<UTC
stamp>.tar``, holding exactly these members, each a plain file at the top level:

- ``journal.sqlite3``: a consistent copy of the journal, one file (no write-ahead log);
- ``journal.sqlite3.marker``: the marker beside it (epoch, terminal id, when it was made);
- ``payterm.toml``: the installed configuration, when there is one;
- ``manifest.json``: the format version, the terminal id, the software version, when it was
  made (UTC), each other member's size and SHA-256, and the journal's counts.

Never a secret: the secrets file, the API's TLS key and the technician's password hash are
not members, whatever the folders hold. ``read_archive`` refuses an archive whose members
or checksums do not match its manifest (a damaged or cut-short file) in words.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from terminal.errors import TerminalError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "JOURNAL_MEMBER",
    "MARKER_MEMBER",
    "CONFIG_MEMBER",
    "DataTransferError",
    "JournalCounts",
    "Manifest",
    "archive_name",
    "archive_bytes_needed",
    "sha256_of",
    "member_info",
    "manifest_member",
    "read_archive",
]

#: The manifest's ``format``: raised only when a reader of an older version could not read it.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
JOURNAL_MEMBER = "journal.sqlite3"
MARKER_MEMBER = "journal.sqlite3.marker"
CONFIG_MEMBER = "payterm.toml"
_OPTIONAL = frozenset({CONFIG_MEMBER})
_REQUIRED = frozenset({JOURNAL_MEMBER, MARKER_MEMBER})
_TAR_BLOCK = 512
_TAR_RECORD = 20 * _TAR_BLOCK


class DataTransferError(TerminalError):
    """An export or an import of the terminal's data was refused or failed; the message says why."""


@dataclasses.dataclass(frozen=True, slots=True)
class JournalCounts:
    """What the exported journal holds: payments, the last through-number, unsent outbox items."""

    payments: int
    last_number: int
    outbox_unsent: int


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    """The manifest of an export: who made it, when, and each member's size and SHA-256."""

    terminal_id: str
    software_version: str
    created_utc: str
    members: Mapping[str, tuple[int, str]]  # name -> (size, sha256)
    counts: JournalCounts
    format: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        """The manifest as the archive holds it (UTF-8 JSON, keys in a fixed order)."""
        data = {
            "format": self.format,
            "terminal_id": self.terminal_id,
            "software_version": self.software_version,
            "created_utc": self.created_utc,
            "members": {
                name: {"size": size, "sha256": digest}
                for name, (size, digest) in sorted(self.members.items())
            },
            "journal": dataclasses.asdict(self.counts),
        }
        return (json.dumps(data, indent=2) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse a manifest; ``DataTransferError`` when it is not one this version reads."""
        try:
            data = json.loads(raw.decode("utf-8"))
            if int(data["format"]) != FORMAT_VERSION:
                raise DataTransferError(
                    f"the export is of format {data['format']}, this payterm reads format "
                    f"{FORMAT_VERSION}: import it with the payterm version that made it "
                    f"({data.get('software_version', '?')}) or a newer one"
                )
            members = {
                str(name): (int(entry["size"]), str(entry["sha256"]))
                for name, entry in data["members"].items()
            }
            counts = JournalCounts(**{k: int(v) for k, v in data["journal"].items()})
            return cls(
                terminal_id=str(data["terminal_id"]),
                software_version=str(data["software_version"]),
                created_utc=str(data["created_utc"]),
                members=members,
                counts=counts,
            )
        except DataTransferError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise DataTransferError(f"its manifest cannot be read ({exc}): {_DAMAGED}") from exc


_DAMAGED = "the file is damaged or was cut short; export again from the old card"


def archive_name(terminal_id: str, stamp: str) -> str:
    """The export's file name: ``payterm-export-<terminal id>-<UTC stamp>.tar``."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in terminal_id) or "terminal"
    return f"payterm-export-{safe}-{stamp}.tar"


def archive_bytes_needed(sizes: Mapping[str, int]) -> int:
    """The size of the tar that holds members of these sizes (headers, padding, end blocks)."""
    body = sum(_TAR_BLOCK + -(-size // _TAR_BLOCK) * _TAR_BLOCK for size in sizes.values())
    total = body + 2 * _TAR_BLOCK
    return -(-total // _TAR_RECORD) * _TAR_RECORD


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex (read in chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_archive(path: Path, into: Path) -> Manifest:
    """Check the export at ``path`` against its manifest; extract its members into ``into``.

    :raises DataTransferError: not an export, damaged, cut short, or of another format.
    """
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = _members(tar)
            manifest = Manifest.from_json(_read(tar, members[MANIFEST]))
            _check_names(manifest, set(members))
            for name in manifest.members:
                _extract(tar, members[name], into / name, manifest.members[name])
    except FileNotFoundError as exc:
        raise DataTransferError(f"{path}: no such file") from exc
    except (tarfile.TarError, EOFError) as exc:
        raise DataTransferError(f"{path}: not a readable export ({exc}): {_DAMAGED}") from exc
    except DataTransferError as exc:
        raise DataTransferError(f"{path}: {exc}") from exc
    return manifest


def _members(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    for info in tar.getmembers():
        if not info.isfile() or "/" in info.name or info.name in found:
            raise DataTransferError(f"it holds {info.name!r}, which no export holds: {_DAMAGED}")
        found[info.name] = info
    if MANIFEST not in found:
        raise DataTransferError(f"it has no {MANIFEST}: {_DAMAGED}")
    return found


def _check_names(manifest: Manifest, names: set[str]) -> None:
    listed = set(manifest.members)
    missing = sorted((listed | _REQUIRED) - names)
    if missing:
        raise DataTransferError(f"{', '.join(missing)} missing: {_DAMAGED}")
    extra = sorted(names - listed - {MANIFEST})
    unknown = sorted(listed - _REQUIRED - _OPTIONAL)
    if extra or unknown:
        raise DataTransferError(f"it holds {', '.join(extra + unknown)}, not listed: {_DAMAGED}")


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    file = tar.extractfile(info)
    if file is None:
        raise DataTransferError(f"{info.name} cannot be read: {_DAMAGED}")
    data = file.read()
    if len(data) != info.size:
        raise DataTransferError(f"{info.name} is cut short: {_DAMAGED}")
    return data


def _extract(tar: tarfile.TarFile, info: tarfile.TarInfo, target: Path, want: Any) -> None:
    size, digest = want
    source = tar.extractfile(info)
    if source is None or info.size != size:
        raise DataTransferError(f"{info.name} is not the size its manifest says: {_DAMAGED}")
    hasher, written = hashlib.sha256(), 0
    with source, target.open("wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            hasher.update(chunk)
            out.write(chunk)
            written += len(chunk)
    if written != size or hasher.hexdigest() != digest:
        raise DataTransferError(f"{info.name} does not match its checksum: {_DAMAGED}")


def member_info(name: str, size: int) -> tarfile.TarInfo:
    """The tar header of a member: a plain file, mode 0600, no owner names, time 0."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, 0
    info.uname = info.gname = ""
    return info


def manifest_member(manifest: Manifest) -> tuple[tarfile.TarInfo, io.BytesIO]:
    """The manifest as a tar member and its content."""
    raw = manifest.to_json()
    return member_info(MANIFEST, len(raw)), io.BytesIO(raw)
