"""The SBP NFC plate: write the cash-register link to a tag, or offer it by emulating one.

:func:`write_link` writes one NDEF URI record (nfcpy's ndeflib abbreviates "https://" to
prefix code 0x04) to the sticker on the reader; ``payterm nfc write-link`` calls it.
:func:`emulate_link` makes a reader that can listen (Sony RC-S380, PN532) act as a tag
carrying the link: an NFC Forum Type 4 tag (ISO-DEP, read by every NFC phone) or Type 3
(FeliCa), made by :mod:`hw.nfc.link_cards`. Both functions block: call them from a thread,
or from the command line.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from hw.errors import NfcError
from hw.nfc.frontend import DEFAULT_TARGETS, FrontendFactory, nfc_error, open_frontend
from hw.nfc.link_cards import LISTEN_WINDOW_S, TagType, link_card, serve_link_once

__all__ = [
    "LinkOffered",
    "LinkWritten",
    "emulate_link",
    "link_message",
    "write_link",
]

MAX_LINK_BYTES = 1024  # beyond the largest NTAG (NTAG216: 888 bytes of memory)
POLL_INTERVAL_S = 0.1  # write_link polls for a tag 10 times a second

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")


@dataclass(frozen=True, slots=True)
class LinkWritten:
    """What :func:`write_link` wrote, and to which tag."""

    url: str
    uid: str  # the tag's identifier, lowercase hex
    tag: str  # nfcpy's product name, e.g. "NXP NTAG215"
    size_bytes: int  # the NDEF message written
    capacity_bytes: int  # the most the tag's NDEF area holds
    locked: bool  # True when the tag was made read-only for good


@dataclass(frozen=True, slots=True)
class LinkOffered:
    """What :func:`emulate_link` did: how many readers read the whole link."""

    url: str
    tag_type: TagType
    reads: int


def link_message(url: str) -> bytes:
    """The NDEF message with one URI record for ``url``; ValueError if it is no URL."""
    import ndef

    if not _URL.fullmatch(url):
        raise ValueError(f"not a link (scheme:rest, no spaces): {url!r}")
    message: bytes = b"".join(ndef.message_encoder([ndef.UriRecord(url)]))
    if len(message) > MAX_LINK_BYTES:
        raise ValueError(f"link too long for a tag: {len(message)} bytes, at most {MAX_LINK_BYTES}")
    return message


def write_link(
    path: str,
    url: str,
    *,
    timeout_s: float = 10.0,
    lock: bool = False,
    targets: tuple[str, ...] = DEFAULT_TARGETS,
    frontend_factory: FrontendFactory | None = None,
) -> LinkWritten:
    """Write ``url`` to the tag put on the reader at ``path`` within ``timeout_s``; blocks.

    Reads the tag back to check it. ``lock`` then makes the tag read-only for good (no one
    can overwrite the plate with another link; nor can you). Raises ValueError for a bad
    link and :class:`NfcError` with the fix in words for anything the reader or tag refused.
    """
    message = link_message(url)
    clf = open_frontend(path, frontend_factory=frontend_factory)
    try:
        tag = _wait_for_tag(clf, path, timeout_s, targets)
        return _write(tag, path, url, message, lock)
    finally:
        clf.close()


def emulate_link(
    path: str,
    url: str,
    *,
    seconds: float,
    tag_type: TagType = 4,
    stop: threading.Event | None = None,
    frontend_factory: FrontendFactory | None = None,
) -> LinkOffered:
    """Act as a tag carrying ``url`` for ``seconds`` (or until ``stop`` is set); blocks.

    Serves every reader or phone that comes by. Raises :class:`NfcError` when the reader
    cannot emulate a tag (ACR122U) or fails.
    """
    card = link_card(tag_type, link_message(url))
    stop = stop or threading.Event()
    until = time.monotonic() + seconds
    reads = 0
    clf = open_frontend(path, frontend_factory=frontend_factory)
    try:
        while not stop.is_set() and (left := until - time.monotonic()) > 0:
            reads += serve_link_once(clf, path, card, min(LISTEN_WINDOW_S, left), until, stop)
    finally:
        clf.close()
    return LinkOffered(url=url, tag_type=tag_type, reads=reads)


# --- writing ---


def _wait_for_tag(clf: Any, path: str, timeout_s: float, targets: tuple[str, ...]) -> Any:
    until = time.monotonic() + timeout_s

    def gave_up() -> bool:  # nfcpy asks this between polls
        time.sleep(POLL_INTERVAL_S)
        return time.monotonic() > until

    options = {
        "targets": list(targets),
        "on-connect": lambda tag: False,  # hand the tag back while it is on the reader
        "iterations": 1,
        "beep-on-connect": False,
    }
    try:
        tag = clf.connect(rdwr=options, terminate=gave_up)
    except OSError as exc:
        raise nfc_error(path, exc) from exc
    if tag is False:
        raise NfcError("the NFC reader stopped answering: check its cable and power", device=path)
    if tag is None:
        raise NfcError(
            f"no tag on the reader within {timeout_s:g} s: hold an NFC sticker "
            "(NTAG213/215/216) flat on the reader and try again",
            device=path,
        )
    return tag


def _write(tag: Any, path: str, url: str, message: bytes, lock: bool) -> LinkWritten:
    import nfc.clf
    import nfc.tag

    ndef_area = _writable_area(tag, path, len(message))
    try:
        ndef_area.octets = message
        differs = ndef_area.has_changed
    except (nfc.tag.TagCommandError, nfc.clf.CommunicationError) as exc:
        raise NfcError(
            f"writing the tag failed ({exc}): keep the sticker still on the reader and retry",
            device=path,
        ) from exc
    if differs or tag.ndef is None or tag.ndef.octets != message:
        raise NfcError("the tag read back differently: retry, or use a new sticker", device=path)
    locked = lock and _lock(tag, path)
    return LinkWritten(
        url=url,
        uid=bytes(tag.identifier).hex(),
        tag=str(tag.product),
        size_bytes=len(message),
        capacity_bytes=int(ndef_area.capacity),
        locked=locked,
    )


def _writable_area(tag: Any, path: str, size: int) -> Any:
    area = tag.ndef
    if area is None:
        raise NfcError(
            f"the tag ({tag}) has no NDEF data area: use an NTAG213/215/216 sticker, or "
            "format this one with a phone app first",
            device=path,
        )
    if not area.is_writeable:
        raise NfcError(f"the tag ({tag}) is locked read-only: use a new sticker", device=path)
    if size > area.capacity:
        raise NfcError(
            f"the link needs {size} bytes but the tag holds {area.capacity}: use an NTAG215 "
            "(504 bytes) or NTAG216 (888 bytes)",
            device=path,
        )
    return area


def _lock(tag: Any, path: str) -> bool:
    if tag.protect() is not True:
        raise NfcError(
            f"the link was written but this tag ({tag}) cannot be locked: it stays rewritable; "
            "use an NTAG sticker to lock it",
            device=path,
        )
    return True
