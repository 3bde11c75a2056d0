"""The card's ``ssh`` file: public keys that may log in, checked before the SSH server uses it.

SSH runs when the boot partition holds a file named ``ssh``; its lines are the public keys
allowed in as root (the ``ssh.service`` drop-in copies it to the data partition, without a
UTF-8 BOM and Windows line ends). A file with no public key in it (the empty ``ssh`` file of
Raspberry Pi OS, a private key pasted by mistake, PuTTY's own format) would give a server
nobody can log into; a key saved as ``ssh.pub`` or ``ssh.txt`` is not read at all. The
import checks the card: a bad ``ssh`` file is renamed ``ssh.rejected`` (so the server stays
off and a private key is copied nowhere) and the reason is written on the card and shown on
the terminal's screen.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import os
import re
import struct
from pathlib import Path

__all__ = [
    "SSH_FILE",
    "REJECTED_SSH_FILE",
    "KEY_TYPES",
    "KeyFile",
    "read_key_file",
    "is_public_key",
    "ssh_problem",
    "check_card_ssh",
]

log = logging.getLogger(__name__)

#: The file on the boot partition that turns SSH on, and the name a bad one is given.
SSH_FILE = "ssh"
REJECTED_SSH_FILE = "ssh.rejected"
#: The key types OpenSSH 9 (Debian 12) accepts for log-in (DSA is off there), each with the
#: number of fields of its key blob (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4, PROTOCOL.u2f).
KEY_TYPES: dict[str, int] = {
    "ssh-ed25519": 2, "ssh-rsa": 3, "ecdsa-sha2-nistp256": 3, "ecdsa-sha2-nistp384": 3,
    "ecdsa-sha2-nistp521": 3, "sk-ssh-ed25519@openssh.com": 3,
    "sk-ecdsa-sha2-nistp256@openssh.com": 4,
}  # fmt: skip
#: Files a technician may have meant as ``ssh`` (Windows hides ``.txt``), besides any ``*.pub``.
_LOOKALIKES = ("ssh.txt", "ssh.pub", "ssh.ssh")
_PRIVATE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|PuTTY-User-Key-File-")
_PUTTY_PUBLIC = "---- BEGIN SSH2 PUBLIC KEY ----"
_HOW = "Put your public key lines (ssh-ed25519 AAAA… user@pc) in it"


@dataclasses.dataclass(frozen=True, slots=True)
class KeyFile:
    """What an ``ssh`` file holds: its public key lines, the lines that are not, a private key."""

    keys: tuple[str, ...]
    other_lines: tuple[int, ...]  # 1-based numbers of lines that are neither keys nor comments
    private_key: bool
    putty_format: bool


def read_key_file(data: bytes) -> KeyFile:
    """Read an authorized-keys file as sshd will see it (BOM and carriage returns dropped)."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    keys: list[str] = []
    other: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").strip()
        if not line or line.startswith("#"):
            continue
        if is_public_key(line):
            keys.append(line)
        else:
            other.append(number)
    return KeyFile(
        tuple(keys), tuple(other), _PRIVATE.search(text) is not None, _PUTTY_PUBLIC in text
    )


def is_public_key(line: str) -> bool:
    """Whether ``line`` is an authorized-keys line: [options] type base64-key [comment].

    The key itself must decode whole, name its own type and hold its type's fields.
    """
    words = line.split()
    for index, word in enumerate(words[:-1]):
        if word in KEY_TYPES:
            fields = _blob_fields(words[index + 1])
            return (
                fields is not None
                and len(fields) == KEY_TYPES[word]
                and fields[0] == word.encode()
                and (word != "ssh-ed25519" or len(fields[1]) == 32)
            )
    return False


def ssh_problem(key_file: KeyFile) -> str | None:
    """Why the SSH server could not let anyone in with this file, and the fix; None if it can."""
    rejected = f"SSH stays off and the file was renamed {REJECTED_SSH_FILE}"
    if key_file.private_key:
        return (
            f"SSH: the file ssh on the card holds a PRIVATE key, which must never leave your "
            f"computer; {rejected} and copied nowhere. Delete {REJECTED_SSH_FILE} from the "
            "card, and put your PUBLIC key (the .pub file's line, ssh-ed25519 AAAA… user@pc) "
            "in a file named ssh"
        )
    if key_file.keys:
        return None
    if key_file.putty_format:
        return (
            "SSH: the file ssh on the card holds a key in PuTTY's format, which the SSH server "
            f"does not read; {rejected}. Copy the one line from PuTTYgen's box \"Public key for "
            'pasting into OpenSSH authorized_keys file" into it and name it ssh again'
        )
    return (
        "SSH: the file ssh on the card holds no public key, so nobody could log in; "
        f"{rejected}. {_HOW} and name it ssh again, or delete it"
    )


def check_card_ssh(boot: Path, *, dry_run: bool = False) -> str | None:
    """Check the card's ``ssh`` file (or a look-alike); return the message to tell, or None.

    A bad ``ssh`` file is renamed ``ssh.rejected`` unless ``dry_run``. Lines that are not
    keys beside good keys are only logged: sshd skips them, and the good keys get in.
    """
    path = boot / SSH_FILE
    if not path.is_file():
        found = [name for name in _LOOKALIKES if (boot / name).is_file()]
        found += sorted(path.name for path in boot.glob("*.pub") if path.name not in found)
        if not found:
            return None
        return (
            f"SSH: the card holds {found[0]}, but SSH is turned on by a file named exactly ssh "
            "(no extension); rename it ssh. Windows hides extensions: check with "
            "View > File name extensions"
        )
    key_file = read_key_file(path.read_bytes())
    problem = ssh_problem(key_file)
    if problem is None:
        if key_file.other_lines:
            lines = ", ".join(map(str, key_file.other_lines))
            log.warning("ssh on the card: line(s) %s are not public keys and are ignored", lines)
        log.info("ssh on the card: %d public key(s) may log in", len(key_file.keys))
        return None
    log.error("%s", problem)
    if not dry_run:
        os.replace(path, boot / REJECTED_SSH_FILE)
    return problem


def _blob_fields(word: str) -> list[bytes] | None:
    """The length-prefixed fields of a base64 key blob, or None unless they fill it exactly."""
    try:
        blob = base64.b64decode(word, validate=True)
    except (binascii.Error, ValueError):
        return None
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            return None
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        offset += 4 + length
        if offset > len(blob):
            return None
        fields.append(blob[offset - length : offset])
    return fields
