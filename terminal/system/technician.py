"""The technician's console password: hashed with the system's own tool, set as root's.

The secrets file's ``[technician] password`` is never written anywhere: the import hashes
it (SHA-512 crypt, ``openssl passwd -6``, the password on standard input, never in a
command line) and writes the hash into the root file system's ``/etc/shadow`` as root's
password, and into ``/etc/payterm/technician.hash`` (0600, on the data partition) so that
the same hash can be set again on a new root after an update (``payterm apply-system``).
Without a password root is locked (``*``): only SSH with a key gets in. SSH never accepts
a password (``PasswordAuthentication no``), so the password opens the local console only.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from terminal.system.provision_files import Change, NewFile, Removal
from terminal.system.provision_layout import Layout

__all__ = [
    "OPENSSL",
    "LOCKED",
    "hash_password",
    "verify_password",
    "is_locked",
    "root_password",
    "shadow_with_root",
    "wanted_hash",
    "technician_changes",
]

#: The system's tool that hashes the password (Debian's ``openssl``, which ca-certificates needs).
OPENSSL = "/usr/bin/openssl"
#: Root's password field when no password may log in.
LOCKED = "*"
_SHA512_CRYPT = re.compile(r"\$6\$(?:rounds=\d+\$)?([./0-9A-Za-z]{1,16})\$[./0-9A-Za-z]{86}")
_DAY_S = 86_400


def hash_password(password: str, *, salt: str | None = None, openssl: str = OPENSSL) -> str:
    """The SHA-512 crypt hash (``$6$salt$…``) of ``password``; OSError when it cannot be made.

    A fresh random salt unless ``salt`` is given (to verify a password against a hash).
    """
    argv = [openssl, "passwd", "-6", "-stdin"] + ([] if salt is None else ["-salt", salt])
    try:
        result = subprocess.run(  # noqa: S603 - a fixed program; the password goes on stdin
            argv, input=password + "\n", capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OSError(f"the technician's password cannot be hashed: {openssl}: {exc}") from None
    hashed = result.stdout.strip()
    if result.returncode != 0 or not _SHA512_CRYPT.fullmatch(hashed):
        reason = result.stderr.strip() or f"exit {result.returncode}"
        raise OSError(f"the technician's password cannot be hashed: {openssl} passwd: {reason}")
    return hashed


def verify_password(password: str, hashed: str, *, openssl: str = OPENSSL) -> bool:
    """Whether ``hashed`` is the SHA-512 crypt hash of ``password``."""
    found = _SHA512_CRYPT.fullmatch(hashed)
    if found is None:
        return False
    return hash_password(password, salt=found.group(1), openssl=openssl) == hashed


def is_locked(field: str) -> bool:
    """Whether a shadow password field lets no password in (an empty one lets any in)."""
    return field.startswith(("!", "*"))


def root_password(shadow: str) -> str | None:
    """Root's password field in the text of /etc/shadow, or None when root has no line."""
    for line in shadow.splitlines():
        fields = line.split(":")
        if fields[0] == "root" and len(fields) > 1:
            return fields[1]
    return None


def shadow_with_root(shadow: str, field: str, *, today: int | None = None) -> str:
    """/etc/shadow's text with root's password field set, and its last change today.

    The day of the last change must not be 0, which would ask for a new password at log-in.
    """
    day = today if today is not None else int(time.time()) // _DAY_S
    lines = shadow.splitlines()
    for index, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == "root":
            fields += [""] * (9 - len(fields))
            fields[1], fields[2] = field, str(day)
            lines[index] = ":".join(fields)
            return "\n".join(lines) + "\n"
    raise OSError("/etc/shadow has no line for root: the root file system is not a payterm image")


def wanted_hash(layout: Layout, password: str | None, *, openssl: str = OPENSSL) -> str | None:
    """Root's hash after an import: the kept hash if it is this password's, else a new one.

    ``password`` None: the secrets in force did not change, the installed hash (if any)
    stays; "" : no password, root is locked.
    """
    kept = _read_hash(layout.technician_hash)
    if password is None:
        return kept
    if not password:
        return None
    if kept is not None and verify_password(password, kept, openssl=openssl):
        return kept
    return hash_password(password, openssl=openssl)


def technician_changes(layout: Layout, hashed: str | None) -> list[Change]:
    """The kept hash file and root's line in /etc/shadow for ``hashed`` (None: root locked).

    A root already as wanted (the same hash, or locked in any way) is left alone.
    """
    changes: list[Change] = []
    if hashed is None:
        changes.append(Removal(layout.technician_hash))
    else:
        changes.append(NewFile(layout.technician_hash, f"{hashed}\n".encode(), mode=0o600))
    shadow = layout.on_terminal("/etc/shadow")
    if not shadow.exists():
        if hashed is None:
            return changes  # nothing to lock
        raise OSError(f"{shadow} does not exist: root's password cannot be set")
    text = shadow.read_text(encoding="utf-8")
    current = root_password(text)
    if (hashed is None and current is not None and is_locked(current)) or current == hashed:
        return changes
    wanted = shadow_with_root(text, LOCKED if hashed is None else hashed)
    mode = shadow.stat().st_mode & 0o7777
    changes.append(NewFile(shadow, wanted.encode("utf-8"), mode=mode, group="shadow"))
    return changes


def _read_hash(path: Path) -> str | None:
    if not path.is_file():
        return None
    hashed = path.read_text(encoding="utf-8").strip()
    return hashed if _SHA512_CRYPT.fullmatch(hashed) else None
