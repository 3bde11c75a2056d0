"""The NfcReader contract, run against every backend.

Always: the emulated reader, and :class:`NfcpyReader` over nfcpy's udp driver with a badge
emulated by a second nfcpy frontend. With ``PAYTERM_HW_TEST=1`` also a real reader at
``PAYTERM_NFC_PATH`` (default "usb"): run with ``pytest -s`` and tap badges when asked.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import socket
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from hw.base import NfcReader
from hw.emulated import EmulatedNfc
from hw.nfc.frontend import describe_reader
from hw.nfc.nfcpy_reader import NfcpyReader

# Read at import: the autouse clean_environ fixture removes PAYTERM_* before each test.
HW_TEST = os.environ.get("PAYTERM_HW_TEST") == "1"
HW_PATH = os.environ.get("PAYTERM_NFC_PATH", "usb")
HW_LOCK = Path(tempfile.gettempdir()) / "payterm-hw-test.lock"
WAIT_S = 20.0  # upper bound of every wait (a person tapping a real badge included)
HOLD_S = 2.5  # a udp badge stays longer than the 1 s a poll waits when none listens

UID = re.compile(r"(?:[0-9a-f]{2}){4,10}")


class Rig(Protocol):
    """A reader and a way to put a badge on it."""

    reader: NfcReader

    def badge(self, uid: str) -> AbstractAsyncContextManager[str | None]:
        """Hold badge ``uid`` on the reader; yields the UID to expect (None: unknown)."""
        ...


class EmulatedRig:
    def __init__(self) -> None:
        self.reader = EmulatedNfc()

    @asynccontextmanager
    async def badge(self, uid: str) -> AsyncIterator[str | None]:
        self.reader.tap(uid)
        yield uid.lower()


class UdpRig:
    def __init__(self, path: str) -> None:
        self.path = path
        self.reader = NfcpyReader(path=path, targets=("106A",), poll_interval_s=0.02)

    @asynccontextmanager
    async def badge(self, uid: str) -> AsyncIterator[str | None]:
        with _udp_badge(self.path, bytes.fromhex(uid)):
            yield uid.lower()
        async with asyncio.timeout(WAIT_S):  # taken away: the reader has seen it gone
            while self.reader.status()["badge_present"]:
                await asyncio.sleep(0.02)


class RealRig:
    def __init__(self, path: str) -> None:
        print(f"\n>>> NFC reader: {describe_reader(path)}", file=sys.stderr)  # NfcError: the fix
        self.reader = NfcpyReader(path=path)

    @asynccontextmanager
    async def badge(self, uid: str) -> AsyncIterator[str | None]:
        which = "A" if uid.lower() == "04a1b2c3" else "B (another one)"
        print(f"\n>>> tap badge {which} on the reader", file=sys.stderr)
        yield None
        print(">>> take it away", file=sys.stderr)
        await asyncio.sleep(2.0)


@contextmanager
def _udp_badge(path: str, uid: bytes) -> Iterator[None]:
    import nfc
    import nfc.clf

    target = nfc.clf.LocalTarget(
        "106A", sens_res=bytearray([0x04 if len(uid) == 4 else 0x44, 0x00]),
        sdd_res=bytearray(uid), sel_res=bytearray(b"\x08"),
    )  # fmt: skip

    def hold() -> None:
        clf = nfc.ContactlessFrontend(path)
        try:
            clf.listen(target, HOLD_S)
        finally:
            clf.close()

    thread = threading.Thread(target=hold, name="udp-badge", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(WAIT_S)


def _udp_path() -> str:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        try:
            socket.getservbyport(port)  # nfcpy's udp driver fails on a port with a name
        except OSError:
            return f"udp:127.0.0.1:{port}"
    pytest.skip("no loopback UDP port without a service name for nfcpy's udp driver")


@contextmanager
def _hardware_lock() -> Iterator[None]:
    with HW_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


BACKENDS = [
    "emulated",
    "nfcpy-udp",
    pytest.param(
        "nfcpy-real",
        marks=pytest.mark.skipif(not HW_TEST, reason="real reader: set PAYTERM_HW_TEST=1"),
    ),
]


@pytest.fixture(params=BACKENDS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "emulated":
        made: Any = EmulatedRig()
    elif request.param == "nfcpy-udp":
        pytest.importorskip("nfc", reason="nfcpy is not installed (pip install 'payterm[pi]')")
        made = UdpRig(_udp_path())
    else:
        made = RealRig(HW_PATH)
    with _hardware_lock() if request.param == "nfcpy-real" else _no_lock():
        try:
            yield made
        finally:
            await made.reader.aclose()


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


async def _next(taps: AsyncIterator[str]) -> str:
    async with asyncio.timeout(WAIT_S):
        return await anext(taps)


async def test_a_tap_yields_the_uid_in_lowercase_hex(rig: Rig) -> None:
    taps = rig.reader.taps()
    async with rig.badge("04A1B2C3") as expected:
        uid = await _next(taps)
    assert UID.fullmatch(uid)
    assert expected is None or uid == expected


async def test_each_presentation_is_one_tap(rig: Rig) -> None:
    taps = rig.reader.taps()
    seen: list[str] = []
    for uid in ("04a1b2c3", "04a1b2c3", "04112233445566"):
        async with rig.badge(uid):
            seen.append(await _next(taps))
    # a badge reported twice in one presentation would show up in place of the next one
    assert seen[0] == seen[1]
    assert seen[2] != seen[1] or isinstance(rig, RealRig)


async def test_aclose_ends_taps_and_is_idempotent(rig: Rig) -> None:
    taps = rig.reader.taps()
    pending = asyncio.ensure_future(anext(taps))
    await asyncio.sleep(0)
    await rig.reader.aclose()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, WAIT_S)
    await rig.reader.aclose()
    assert "closed" in repr(rig.reader)
