"""The nfcpy backends over nfcpy's own udp driver: badges, writing the link, emulating a tag.

Two nfcpy frontends talk over loopback UDP: one is the terminal's reader, the other a badge,
a writable FeliCa tag (nfcpy's Type3TagEmulation) or a phone reading the emulated link.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hw.errors import NfcError
from hw.nfc.badges import badge_digest, badge_matches, normalise_uid
from hw.nfc.frontend import describe_reader, nfc_error, open_frontend
from hw.nfc.ndef_link import LinkOffered, emulate_link, link_message, write_link
from hw.nfc.nfcpy_reader import NfcpyReader, open_nfcpy_reader
from terminal.config.model import NfcConfig

pytest.importorskip("nfc", reason="nfcpy is not installed (pip install 'payterm[pi]')")
import ndef  # noqa: E402  (ndeflib comes with nfcpy)
import nfc  # noqa: E402
import nfc.clf  # noqa: E402
import nfc.tag  # noqa: E402
import nfc.tag.tt3  # noqa: E402

SBP_LINK = (
    "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2"
    "?type=02&bank=100000000111&sum=12500&cur=RUB&crc=C08B"
)
WAIT_S = 20.0  # upper bound of any wait below
# How long a badge stays on the reader: over udp, a poll sent while no badge listens waits
# 1 s for an answer, so a badge must stay longer than that to be seen for sure.
HOLD_S = 2.5


def free_udp_port() -> int:
    """A free loopback UDP port that has no service name (nfcpy's udp driver needs that)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        try:
            socket.getservbyport(port)
        except OSError:
            return port
    pytest.skip("no loopback UDP port without a service name for nfcpy's udp driver")


@pytest.fixture
def udp_path() -> str:
    return f"udp:127.0.0.1:{free_udp_port()}"


def _type_a(uid: bytes) -> Any:
    size_bits = {4: 0x00, 7: 0x40, 10: 0x80}[len(uid)]
    return nfc.clf.LocalTarget(
        "106A", sens_res=bytearray([size_bits | 0x04, 0x00]), sdd_res=bytearray(uid),
        sel_res=bytearray(b"\x08"),
    )  # fmt: skip


def _type_f(idm: bytes) -> Any:
    sensf_res = b"\x01" + idm + bytes.fromhex("ffffffffffffffff") + bytes.fromhex("12fc")
    return nfc.clf.LocalTarget("212F", sensf_res=bytearray(sensf_res))


@contextmanager
def badge_on_reader(path: str, target: Any, *, seconds: float) -> Iterator[threading.Thread]:
    """A badge held on the reader for ``seconds``: another frontend answering polls."""

    def hold() -> None:
        clf = nfc.ContactlessFrontend(path)
        try:
            clf.listen(target, seconds)
        finally:
            clf.close()

    thread = threading.Thread(target=hold, name="udp-badge", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join(WAIT_S)


async def wait_until(check: Callable[[], bool]) -> None:
    """Wait (bounded) until ``check()`` holds."""
    async with asyncio.timeout(WAIT_S):
        while not check():
            await asyncio.sleep(0.02)


@pytest.fixture
async def reader(udp_path: str) -> AsyncIterator[NfcpyReader]:
    nfc_reader = NfcpyReader(path=udp_path, targets=("106A",), poll_interval_s=0.02)
    yield nfc_reader
    await nfc_reader.aclose()


async def next_tap(taps: AsyncIterator[str]) -> str:
    async with asyncio.timeout(WAIT_S):
        return await anext(taps)


# --- UIDs and digests ---


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("04A1B2C3", "04a1b2c3"),
        ("04:a1:b2:c3", "04a1b2c3"),
        (" 04-11-22-33-44-55-66 ", "04112233445566"),
    ],
)
def test_normalise_uid(given: str, expected: str) -> None:
    assert normalise_uid(given) == expected


@pytest.mark.parametrize("bad", ["", "04a1b2", "04a1b2c", "zz112233", "00" * 11])
def test_normalise_uid_rejects_what_no_card_sends(bad: str) -> None:
    with pytest.raises(ValueError, match="not a badge UID"):
        normalise_uid(bad)


def test_badge_digest_is_sha256_of_the_uid_bytes() -> None:
    expected = "461b5a59324397cd78a3868910a48a7a89b7694fe7187590e823a2f3bb8f5adf"
    assert badge_digest("04a1b2c3") == expected
    assert badge_digest("04:A1:B2:C3") == expected


def test_badge_matches_plain_uids_and_digests() -> None:
    assert badge_matches("04a1b2c3", ["04A1B2C3"])
    assert badge_matches("04a1b2c3", ["deadbeef", badge_digest("04a1b2c3").upper()])
    assert not badge_matches("04a1b2c3", ["04a1b2c4", badge_digest("04a1b2c4")])
    assert not badge_matches("04a1b2c3", [])


# --- opening a reader, and what the errors say ---


def test_open_frontend_without_a_path_says_how_to_configure() -> None:
    with pytest.raises(NfcError, match=r"set \[nfc\] path"):
        open_frontend("")


def test_open_frontend_bad_udp_path_names_the_path_shapes() -> None:
    with pytest.raises(NfcError, match="not an nfcpy reader path") as caught:
        open_frontend("udp:127.0.0.1:1")  # nfcpy turns port 1 into "tcpmux" and fails
    assert caught.value.device == "udp:127.0.0.1:1"
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.skipif(os.path.exists("/dev/ttyAMA0"), reason="this machine has a /dev/ttyAMA0")
def test_open_frontend_missing_pn532_names_the_wiring() -> None:
    with pytest.raises(NfcError, match="no PN532 answered on /dev/ttyAMA0") as caught:
        open_frontend("tty:AMA0:pn532")
    assert "raspi-config" in str(caught.value)
    assert caught.value.device == "tty:AMA0:pn532"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "udev rule"),
        (errno.EBUSY, "modprobe -r pn533_usb"),
        (errno.ENODEV, "lsusb"),
        (errno.EIO, "check its cable and power"),
    ],
)
def test_usb_errors_carry_the_fix(code: int, words: str) -> None:
    # The OSErrors nfcpy's USB transport raises for libusb's access/busy/no-device/io errors.
    err = nfc_error("usb:054c:06c3", OSError(code, os.strerror(code)))
    assert words in str(err)
    assert str(err).startswith("usb:054c:06c3: ")


def test_missing_libusb_says_which_package() -> None:
    err = nfc_error("usb", FileNotFoundError(errno.ENOENT, "cannot find a suitable libusb-1.0"))
    assert "apt-get install libusb-1.0-0" in str(err)


def test_describe_reader_names_nfcpy_device(udp_path: str) -> None:
    assert "UDP" in describe_reader(udp_path)


def test_open_nfcpy_reader_from_config(udp_path: str) -> None:
    with pytest.raises(NfcError, match="no NFC reader configured"):
        open_nfcpy_reader(NfcConfig(path=""))
    built = open_nfcpy_reader(NfcConfig(path=udp_path), poll_interval_s=0.5)
    assert repr(built) == f"<NfcpyReader {udp_path} idle>"
    assert built.status()["state"] == "idle"


# --- badges over udp ---


async def test_a_badge_held_on_the_reader_is_one_tap(reader: NfcpyReader, udp_path: str) -> None:
    taps = reader.taps()
    with badge_on_reader(udp_path, _type_a(bytes.fromhex("04A1B2C3")), seconds=HOLD_S):
        assert await next_tap(taps) == "04a1b2c3"
    await wait_until(lambda: reader.status()["badge_present"] is False)
    assert reader.status()["taps"] == 1  # polled many times while held, reported once
    assert reader.status()["state"] == "open"


async def test_each_presentation_taps_again(reader: NfcpyReader, udp_path: str) -> None:
    taps = reader.taps()
    seven = bytes.fromhex("04112233445566")
    for _ in range(2):
        with badge_on_reader(udp_path, _type_a(seven), seconds=HOLD_S):
            assert await next_tap(taps) == "04112233445566"
        await wait_until(lambda: reader.status()["badge_present"] is False)
    assert reader.status()["taps"] == 2


async def test_another_badge_is_another_tap(reader: NfcpyReader, udp_path: str) -> None:
    # (Not a 10-byte UID here: nfcpy's udp listener answers cascade level 3 to the wrong
    # command; the 10-byte path is covered by the real-reader contract test.)
    taps = reader.taps()
    with badge_on_reader(udp_path, _type_a(bytes.fromhex("04112233445566")), seconds=HOLD_S):
        assert await next_tap(taps) == "04112233445566"
    with badge_on_reader(udp_path, _type_a(bytes.fromhex("deadbeef")), seconds=HOLD_S):
        assert await next_tap(taps) == "deadbeef"


async def test_felica_badge_gives_its_idm(udp_path: str) -> None:
    async with NfcpyReader(path=udp_path, targets=("212F",), poll_interval_s=0.02) as felica:
        taps = felica.taps()
        with badge_on_reader(udp_path, _type_f(bytes.fromhex("0123456789abcdef")), seconds=HOLD_S):
            assert await next_tap(taps) == "0123456789abcdef"


async def test_aclose_ends_taps_and_stops_the_worker(reader: NfcpyReader) -> None:
    taps = reader.taps()
    pending = asyncio.ensure_future(anext(taps))
    await wait_until(lambda: reader.status()["state"] == "open")
    await reader.aclose()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, WAIT_S)
    await reader.aclose()  # idempotent
    assert repr(reader).endswith("closed>")
    assert not [t for t in threading.enumerate() if t.name == "nfc-reader"]
    assert [uid async for uid in reader.taps()] == []


async def test_a_reader_that_cannot_open_is_reported_and_retried() -> None:
    async with NfcpyReader(path="udp:127.0.0.1:1", retry_backoff_s=(0.01,)) as broken:
        taps = broken.taps()
        await wait_until(lambda: int(broken.status()["failures"]) >= 3)
        status = broken.status()
        assert status["state"] == "retrying"
        assert "not an nfcpy reader path" in str(status["problem"])
    assert [uid async for uid in taps] == []


class Unpluggable:
    """Opens nfcpy's udp frontend; while ``unplugged``, behaves as nfcpy does for a USB
    reader pulled out: polling raises the transport's OSError(ENODEV), opening finds none."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.unplugged = False
        self.opened = 0

    def __call__(self, path: str) -> Any:
        if self.unplugged:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        clf = nfc.ContactlessFrontend(path)
        real_sense = clf.device.sense_tta

        def sense_tta(target: Any) -> Any:
            if self.unplugged:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
            return real_sense(target)

        clf.device.sense_tta = sense_tta
        self.opened += 1
        return clf


async def test_unplug_and_replug_keeps_the_taps_coming(udp_path: str) -> None:
    usb = Unpluggable(udp_path)
    async with NfcpyReader(
        path=udp_path, targets=("106A",), poll_interval_s=0.02, retry_backoff_s=(0.02, 0.05),
        frontend_factory=usb,
    ) as flaky:  # fmt: skip
        taps = flaky.taps()
        with badge_on_reader(udp_path, _type_a(bytes.fromhex("04a1b2c3")), seconds=HOLD_S):
            assert await next_tap(taps) == "04a1b2c3"
        usb.unplugged = True
        await wait_until(lambda: int(flaky.status()["failures"]) >= 2)
        assert flaky.status()["state"] == "retrying"
        assert "no NFC reader found" in str(flaky.status()["problem"])
        usb.unplugged = False
        await wait_until(lambda: flaky.status()["state"] == "open")
        assert flaky.status()["problem"] is None
        with badge_on_reader(udp_path, _type_a(bytes.fromhex("04a1b2c3")), seconds=HOLD_S):
            assert await next_tap(taps) == "04a1b2c3"
        assert usb.opened >= 2


# --- writing the link to a tag ---


class UdpFelicaTag:
    """A FeliCa tag with an NDEF area on nfcpy's udp link (nfcpy's Type3TagEmulation)."""

    def __init__(self, path: str, *, blocks: int = 12, writable: bool = True, ndef_ok: bool = True):
        self.path = path
        self.idm = bytes.fromhex("02fe0a0b0c0d0e0f")
        attributes = bytearray([0x10, 4, 4]) + blocks.to_bytes(2, "big") + bytes(4)
        attributes += bytes([0x00, 0x01 if writable else 0x00]) + bytes(3)
        checksum = sum(attributes) if ndef_ok else sum(attributes) + 1
        self.memory = attributes + (checksum & 0xFFFF).to_bytes(2, "big") + bytes(16 * blocks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udp-tag", daemon=True)

    def message(self) -> bytes:
        length = int.from_bytes(self.memory[11:14], "big")
        return bytes(self.memory[16 : 16 + length])

    def __enter__(self) -> UdpFelicaTag:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)

    def _run(self) -> None:
        def on_startup(target: Any) -> Any:
            return _type_f(self.idm)

        def on_connect(tag: Any) -> bool:
            tag.add_service(0x0009, self._read, self._write)
            tag.add_service(0x000B, self._read, lambda *args: False)
            return True

        options = {"on-startup": on_startup, "on-connect": on_connect, "timeout": 0.5}
        clf = nfc.ContactlessFrontend(self.path)
        try:
            clf.connect(card=options, terminate=self._stop.is_set)
        finally:
            clf.close()

    def _read(self, block: int, rb: bool, re: bool) -> bytearray | None:
        return self.memory[block * 16 : block * 16 + 16] if block * 16 < len(self.memory) else None

    def _write(self, block: int, data: bytearray, wb: bool, we: bool) -> bool:
        if block * 16 >= len(self.memory):
            return False
        self.memory[block * 16 : block * 16 + 16] = data
        return True


def test_link_message_is_one_uri_record_with_https_abbreviated() -> None:
    message = link_message(SBP_LINK)
    assert message[3] == 0x55  # "U": the URI record type
    assert message[4] == 0x04  # URI identifier code 0x04 stands for "https://"
    assert message[5:].decode() == SBP_LINK.removeprefix("https://")
    with pytest.raises(ValueError, match="not a link"):
        link_message("qr.nspk.ru/with space")


def test_write_link_writes_the_uri_record(udp_path: str) -> None:
    with UdpFelicaTag(udp_path) as tag:
        written = write_link(udp_path, SBP_LINK, timeout_s=10.0, targets=("212F",))
    records = list(ndef.message_decoder(tag.message()))
    assert [r.iri for r in records] == [SBP_LINK]
    assert tag.message() == link_message(SBP_LINK)
    assert written.uid == "02fe0a0b0c0d0e0f"
    assert written.size_bytes == len(link_message(SBP_LINK))
    assert written.capacity_bytes == 12 * 16
    assert written.locked is False


def test_write_link_to_a_read_only_tag(udp_path: str) -> None:
    with UdpFelicaTag(udp_path, writable=False), pytest.raises(NfcError, match="locked read-only"):
        write_link(udp_path, SBP_LINK, timeout_s=10.0, targets=("212F",))


def test_write_link_to_a_small_tag_names_a_bigger_one(udp_path: str) -> None:
    with UdpFelicaTag(udp_path, blocks=2), pytest.raises(NfcError, match="NTAG215") as caught:
        write_link(udp_path, SBP_LINK, timeout_s=10.0, targets=("212F",))
    assert f"needs {len(link_message(SBP_LINK))} bytes but the tag holds 32" in str(caught.value)


def test_write_link_to_a_tag_without_ndef(udp_path: str) -> None:
    with UdpFelicaTag(udp_path, ndef_ok=False), pytest.raises(NfcError, match="no NDEF data area"):
        write_link(udp_path, SBP_LINK, timeout_s=10.0, targets=("212F",))


def test_write_link_lock_refused_by_the_tag_says_it_stays_rewritable(udp_path: str) -> None:
    with UdpFelicaTag(udp_path) as tag, pytest.raises(NfcError, match="stays rewritable"):
        write_link(udp_path, SBP_LINK, timeout_s=10.0, lock=True, targets=("212F",))
    assert tag.message() == link_message(SBP_LINK)


def test_write_link_without_a_tag_times_out_with_advice(udp_path: str) -> None:
    with pytest.raises(NfcError, match="no tag on the reader within 0.2 s"):
        write_link(udp_path, SBP_LINK, timeout_s=0.2, targets=("212F",))


def test_write_link_checks_the_link_before_opening_anything() -> None:
    with pytest.raises(ValueError, match="not a link"):
        write_link("", "not a link", timeout_s=0.1)


# --- emulating a tag that carries the link ---


def read_link_like_a_phone(path: str, brty: str) -> tuple[str, Any]:
    """Poll until the emulated tag answers, activate it, read its NDEF: (url, tag)."""
    clf = nfc.ContactlessFrontend(path)
    try:
        # A poll that falls between two listen windows is retried; on a busy machine the
        # windows drift, so the phone keeps trying for WAIT_S rather than a number of times.
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            target = clf.sense(nfc.clf.RemoteTarget(brty), iterations=1)
            tag = nfc.tag.activate(clf, target) if target is not None else None
            if tag is not None and tag.ndef is not None:
                return str(tag.ndef.records[0].iri), tag
        raise AssertionError("the emulated tag was never read")
    finally:
        clf.close()


@contextmanager
def emulating(path: str, tag_type: int) -> Iterator[dict[str, LinkOffered]]:
    stop = threading.Event()
    result: dict[str, LinkOffered] = {}

    def run() -> None:
        result["offered"] = emulate_link(
            path, SBP_LINK, seconds=WAIT_S, tag_type=tag_type, stop=stop
        )

    thread = threading.Thread(target=run, name="udp-emulator", daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()


@pytest.mark.parametrize(("tag_type", "brty"), [(3, "212F"), (4, "106A")])
def test_emulated_tag_is_read_back_with_the_exact_link(
    udp_path: str, tag_type: int, brty: str
) -> None:
    with emulating(udp_path, tag_type) as result:
        url, tag = read_link_like_a_phone(udp_path, brty)
        assert url == SBP_LINK
        assert not tag.ndef.is_writeable
    assert result["offered"].reads >= 1
    assert result["offered"].tag_type == tag_type


def test_emulated_type4_tag_answers_presence_checks_and_refuses_writes(udp_path: str) -> None:
    with emulating(udp_path, 4):
        clf = nfc.ContactlessFrontend(udp_path)
        try:
            deadline = time.monotonic() + WAIT_S
            target = None
            while target is None and time.monotonic() < deadline:
                target = clf.sense(nfc.clf.RemoteTarget("106A"), iterations=1)
            tag = nfc.tag.activate(clf, target)
            assert tag.is_present  # ISO-DEP presence check: R(NAK) answered
            reply = tag.send_apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("d2760000850101"))
            assert reply == b""
            with pytest.raises(nfc.tag.tt4.Type4TagCommandError):
                tag.send_apdu(0x00, 0xD6, 0x00, 0x00, b"\x00\x00")
        finally:
            clf.close()


def test_emulate_link_stops_when_asked(udp_path: str) -> None:
    stop = threading.Event()
    stop.set()
    offered = emulate_link(udp_path, SBP_LINK, seconds=60.0, stop=stop)
    assert offered == LinkOffered(url=SBP_LINK, tag_type=4, reads=0)


def test_emulate_link_rejects_unknown_tag_types(udp_path: str) -> None:
    with pytest.raises(ValueError, match="tag_type must be 3 or 4"):
        emulate_link(udp_path, SBP_LINK, seconds=0.1, tag_type=2)


async def test_reader_offers_the_link_between_badge_polls_and_withdraws_it(udp_path: str) -> None:
    async with NfcpyReader(path=udp_path, targets=("106A",), poll_interval_s=0.02) as both:
        taps = both.taps()
        both.offer_link(SBP_LINK, tag_type=4)
        url, _ = await asyncio.to_thread(read_link_like_a_phone, udp_path, "106A")
        assert url == SBP_LINK
        await wait_until(lambda: int(both.status()["link_reads"]) >= 1)
        both.offer_link(None)
        assert both.status()["offering_link"] is False
        await wait_until(lambda: both.status()["emulating"] is False)
        with badge_on_reader(udp_path, _type_a(bytes.fromhex("04a1b2c3")), seconds=HOLD_S):
            assert await next_tap(taps) == "04a1b2c3"


async def test_offer_link_rejects_what_is_no_link(reader: NfcpyReader) -> None:
    with pytest.raises(ValueError, match="not a link"):
        reader.offer_link("no link at all")
    assert reader.status()["offering_link"] is False
