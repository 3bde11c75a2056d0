"""Emulated NFC tags that carry a link: NFC Forum Type 4 (ISO-DEP) and Type 3 (FeliCa).

A reader that can listen (Sony RC-S380, PN532) acts as the tag :func:`link_card` makes;
:func:`serve_link_once` listens once and answers the reader or phone that comes by. Both
block: call them from a worker thread.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any, Literal

from hw.errors import NfcError
from hw.nfc.frontend import nfc_error

__all__ = [
    "LISTEN_WINDOW_S",
    "SESSION_IDLE_S",
    "LinkCard",
    "TagType",
    "link_card",
    "serve_link_once",
]

TagType = Literal[3, 4]

LISTEN_WINDOW_S = 1.0  # one listen lasts this long, so a stop is honoured within it
SESSION_IDLE_S = 1.0  # a phone silent this long has been taken away

# Type 3: IDm 02FE… marks an emulated NFC Forum Type 3 tag; PMm FF… gives readers the
# longest response times, which a host-driven emulation needs.
_T3_PMM = bytes.fromhex("ffffffffffffffff")
_T3_SYSTEM_NDEF = bytes.fromhex("12fc")
_T3_BLOCKS_PER_READ = 3  # a PN532 listens with 64-byte frames: 13 + 3 × 16 bytes fit
# Type 4: ATS with FSCI 8 (256-byte frames), FWI 9 (155 ms per answer), CID supported.
_T4_ATS = bytes.fromhex("0578809002")
_T4_AID = bytes.fromhex("d2760000850101")
_T4_CC_FILE = bytes.fromhex("e103")
_T4_NDEF_FILE = bytes.fromhex("e104")
_T4_MAX_DATA = 0x70  # MLe and MLc: fits a reader frame of 128 bytes with header and status
_FSD = (16, 24, 32, 40, 48, 64, 96, 128, 256)


def serve_link_once(
    clf: Any, path: str, card: LinkCard, listen_s: float, until: float, stop: threading.Event
) -> int:
    """Listen up to ``listen_s`` as ``card`` and serve a reader that comes, until ``until``
    (monotonic) or ``stop``; 1 if it read the whole link, else 0. Blocks; worker threads only.
    """
    import nfc.clf

    try:
        target = clf.listen(card.local_target(), listen_s)
    except nfc.clf.UnsupportedTargetError as exc:
        raise NfcError(
            f"this reader cannot act as a Type {card.tag_type} tag ({exc}): an ACR122U only "
            "reads; use a Sony RC-S380 or a PN532 on UART, or write the link to a sticker",
            device=path,
        ) from exc
    except OSError as exc:
        raise nfc_error(path, exc) from exc
    if target is None:
        return 0
    card.start(clf, target)
    response = card.respond(card.first_command(target))
    while not (stop.is_set() or card.finished) and time.monotonic() < until:
        try:
            command = clf.exchange(response, SESSION_IDLE_S)
        except nfc.clf.CommunicationError:  # the reader went away (or switched off its field)
            break
        if not command:
            break
        response = card.respond(command)
    return 1 if card.read_all else 0


class LinkCard:
    """One emulated tag carrying a link: how readers find it, and its answers in a session."""

    tag_type: TagType
    finished = False  # the reader deselected us: the session is over
    read_all = False  # the reader has read the last byte of the link

    def local_target(self) -> Any:
        """The nfcpy ``LocalTarget`` to listen as."""
        raise NotImplementedError

    def start(self, clf: Any, target: Any) -> None:
        """A reader activated ``target``: begin a fresh session."""
        self.finished = self.read_all = False

    def first_command(self, target: Any) -> bytes:
        """The command that came with the activation."""
        raise NotImplementedError

    def respond(self, command: bytes) -> bytes | None:
        """The answer to ``command``; None to stay silent."""
        raise NotImplementedError


def link_card(tag_type: TagType, message: bytes) -> LinkCard:
    """The emulated tag of ``tag_type`` (3: FeliCa, 4: ISO-DEP) carrying NDEF ``message``."""
    if tag_type == 3:
        return _Type3Card(message)
    if tag_type == 4:
        return _Type4Card(message)
    raise ValueError(f"tag_type must be 3 or 4, got {tag_type!r}")


class _Type3Card(LinkCard):
    """A FeliCa (NFC Forum Type 3) tag with a read-only NDEF service, via nfcpy's emulation."""

    tag_type: TagType = 3

    def __init__(self, message: bytes) -> None:
        count = -(-len(message) // 16)
        attributes = bytearray([0x10, _T3_BLOCKS_PER_READ, 1]) + count.to_bytes(2, "big")
        attributes += bytes(4) + bytes([0x00, 0x00]) + len(message).to_bytes(3, "big")
        attributes += (sum(attributes) & 0xFFFF).to_bytes(2, "big")
        data = bytes(attributes) + message.ljust(count * 16, b"\0")
        self._blocks = [data[i : i + 16] for i in range(0, len(data), 16)]
        self._idm = bytes.fromhex("02fe") + secrets.token_bytes(6)
        self._emulation: Any = None

    def local_target(self) -> Any:
        import nfc.clf

        sensf_res = b"\x01" + self._idm + _T3_PMM + _T3_SYSTEM_NDEF
        return nfc.clf.LocalTarget("212F", sensf_res=bytearray(sensf_res))

    def start(self, clf: Any, target: Any) -> None:
        import nfc.tag

        super().start(clf, target)
        self._emulation = nfc.tag.emulate(clf, target)
        self._emulation.add_service(0x000B, self._read_block, None)

    def first_command(self, target: Any) -> bytes:
        return bytes(self._emulation.cmd)

    def respond(self, command: bytes) -> bytes | None:
        response: bytearray | None = self._emulation.process_command(bytearray(command))
        return None if response is None else bytes(response)

    def _read_block(self, number: int, rb: bool, re: bool) -> bytearray | None:
        if number >= len(self._blocks):
            return None
        if number == len(self._blocks) - 1:
            self.read_all = True
        return bytearray(self._blocks[number])


class _Type4Card(LinkCard):
    """An NFC Forum Type 4 tag (ISO-DEP) with a read-only NDEF file.

    Answers RATS when the driver leaves it to the host (nfcpy's udp driver does; PN532 and
    RC-S380 answer it themselves with the ATS given in the target), then I-blocks carrying
    the APDUs SELECT, READ BINARY; UPDATE BINARY is refused.
    """

    tag_type: TagType = 4

    def __init__(self, message: bytes) -> None:
        self._ndef_file = len(message).to_bytes(2, "big") + message
        tlv = b"\x04\x06" + _T4_NDEF_FILE + len(self._ndef_file).to_bytes(2, "big") + b"\x00\xff"
        limits = _T4_MAX_DATA.to_bytes(2, "big") * 2
        self._cc_file = b"\x00\x0f\x20" + limits + tlv
        self._uid = b"\x08" + secrets.token_bytes(3)  # 08h: a random single-size UID
        self._reset()

    def local_target(self) -> Any:
        import nfc.clf

        return nfc.clf.LocalTarget(
            "106A",
            sens_res=bytearray(b"\x04\x00"),
            sdd_res=bytearray(self._uid),
            sel_res=bytearray(b"\x20"),
            rats_res=bytearray(_T4_ATS),
        )

    def start(self, clf: Any, target: Any) -> None:
        super().start(clf, target)
        self._reset()

    def first_command(self, target: Any) -> bytes:
        return bytes(target.tt4_cmd)

    def respond(self, command: bytes) -> bytes | None:
        if not command:
            return None
        pcb = command[0]
        if pcb == 0xE0 and len(command) == 2:  # RATS
            self._max_frame = _FSD[min(command[1] >> 4, 8)]
            return _T4_ATS
        head = command[: 2 if pcb & 0x08 else 1]  # PCB, and the CID when it has one
        if pcb & 0xE2 == 0x02:
            return self._i_block(head, command[len(head) :])
        if pcb & 0xE6 == 0xA2:  # R(ACK) or R(NAK)
            if pcb & 1 == self._block and self._last:
                return self._last
            return bytes([0xA2 | (pcb & 0x08) | self._block]) + head[1:]
        if pcb & 0xF7 == 0xC2:  # S(DESELECT): answer it and end the session
            self.finished = True
            return head
        return None

    def _reset(self) -> None:
        self._chain = b""
        self._last = b""
        self._block = 1
        self._file = b""
        self._app_selected = False
        self._max_frame = 256

    def _i_block(self, head: bytes, inf: bytes) -> bytes:
        self._block = head[0] & 1
        if head[0] & 0x10:  # chained: acknowledge and wait for the rest
            self._chain += inf
            return bytes([0xA2 | (head[0] & 0x08) | self._block]) + head[1:]
        apdu, self._chain = self._chain + inf, b""
        room = self._max_frame - len(head) - 4  # EDC and status words
        self._last = bytes([head[0] & 0x0B]) + head[1:] + self._apdu(apdu, room)
        return self._last

    def _apdu(self, apdu: bytes, room: int) -> bytes:
        if len(apdu) < 4 or apdu[0] != 0x00:
            return b"\x6e\x00"
        ins, p1, p2, body = apdu[1], apdu[2], apdu[3], apdu[4:]
        if ins == 0xA4:
            return self._select(p1, body[1 : 1 + body[0]] if body else b"")
        if ins == 0xB0:
            wanted = (body[0] or 256) if body else 256
            return self._read((p1 << 8) | p2, min(wanted, room))
        if ins == 0xD6:
            return b"\x69\x82"  # the plate is read-only
        return b"\x6d\x00"

    def _select(self, p1: int, name: bytes) -> bytes:
        if p1 == 0x04:
            self._app_selected = name == _T4_AID
            self._file = b""
            return b"\x90\x00" if self._app_selected else b"\x6a\x82"
        files = {_T4_CC_FILE: self._cc_file, _T4_NDEF_FILE: self._ndef_file}
        if p1 == 0x00 and self._app_selected and name in files:
            self._file = files[name]
            return b"\x90\x00"
        return b"\x6a\x82"

    def _read(self, offset: int, size: int) -> bytes:
        if not self._file:
            return b"\x69\x86"
        if offset > len(self._file):
            return b"\x6b\x00"
        data = self._file[offset : offset + size]
        if self._file is self._ndef_file and offset + len(data) >= len(self._file):
            self.read_all = True
        return data + b"\x90\x00"
