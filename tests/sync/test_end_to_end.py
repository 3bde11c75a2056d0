"""The whole terminal syncing to a webhook and to Mosquitto while it takes payments, through
faults: the broker stopped and restarted, the webhook answering 503 then 200, the terminal
SIGKILLed mid-batch. After each: every record at each receiver, in order, none twice."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.providers.loopback_http import Response
from terminal.sync.fleet_store import RecordStore
from tests.scenarios.headless_process import HeadlessProcess
from tests.sync.kit import MOSQUITTO, NO_MOSQUITTO, SECRET, Mosquitto, WebhookReceiver

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason=NO_MOSQUITTO)


class ReceiverThread:
    """The webhook receiver on a loop of its own, so the test can block on the terminal."""

    def __init__(self, store: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

        async def make() -> WebhookReceiver:  # its SQLite file belongs to the loop's thread
            return WebhookReceiver(store)

        self.receiver: WebhookReceiver = self.call(make())
        self.url = self.call(self.receiver.start())

    def call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def do(self, func, *args):  # type: ignore[no-untyped-def]
        async def run():  # type: ignore[no-untyped-def]
            return func(*args)

        return self.call(run())

    def close(self) -> None:
        self.call(self.receiver.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def _write_config(folder: Path, hook: str, broker: str) -> Path:
    secrets = folder / "secrets.toml"
    secrets.write_text(f'[sync.pos]\nsecret = "{SECRET}"\n')
    secrets.chmod(0o600)
    config = folder / "payterm.toml"
    config.write_text(
        f'[terminal]\ndata_dir = "{folder / "data"}"\nsecrets_file = "{secrets}"\n\n'
        "[sync]\nbackoff_initial_s = 0.5\nbackoff_max_s = 2.0\n\n"
        f'[[sync.targets]]\nname = "pos"\nkind = "webhook"\nurl = "{hook}"\nbatch_size = 5\n'
        "timeout_s = 5.0\n\n"
        f'[[sync.targets]]\nname = "fleet"\nkind = "mqtt"\nurl = "{broker}"\nbatch_size = 5\n'
        "timeout_s = 1.0\n"
    )
    return config


def _pay(terminal: HeadlessProcess, n: int) -> None:
    """One CPM payment of n.00 taken to the end: the terminal takes payments throughout."""
    for key in str(n * 100):
        terminal.send(f"key {key}")
    terminal.send("scan 286648397128431234")
    terminal.send("customer pay")
    terminal.send("advance 6")
    terminal.send("advance 16")  # past the result screen: ready for the next one
    terminal.send("journal 1")
    assert terminal.events[-2]["state"] == "paid", terminal.events[-6:]


def _patience(terminal: HeadlessProcess, check, what: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        terminal.send("advance 1")  # the back-off and the housekeeping wait on the terminal clock
        time.sleep(0.05)


@pytest.fixture
def fleet_db(tmp_path: Path) -> Path:
    return tmp_path / "fleet.sqlite3"


@pytest.fixture
def listener(tmp_path: Path, broker: Mosquitto, fleet_db: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "terminal", "fleet", "listen", "--broker", broker.url,
         "--db", str(fleet_db), "--client-id", "fleet-e2e"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    time.sleep(1.0)  # subscribed (its session keeps what comes while it connects)
    yield proc
    proc.terminate()
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


def _kept(path: Path) -> list[int]:
    if not path.exists():
        return []
    store = RecordStore(path)
    try:
        return store.outbox_ids("T0001")
    finally:
        store.close()


def test_every_record_once_in_order_through_faults(
    tmp_path: Path, broker: Mosquitto, listener: subprocess.Popen[str], fleet_db: Path
) -> None:
    hook = ReceiverThread(tmp_path / "pos.sqlite3")
    config = _write_config(tmp_path, hook.url, broker.url)
    store = hook.receiver.store
    pos = lambda: hook.do(store.outbox_ids, "T0001")  # noqa: E731
    try:
        terminal = HeadlessProcess(tmp_path / "data", ["--config", str(config)])
        for n in range(1, 4):
            _pay(terminal, n)
        _patience(terminal, lambda: pos() == [1, 2, 3] and _kept(fleet_db) == [1, 2, 3], "3")

        broker.stop()  # the broker goes away; payments go on
        for n in range(4, 7):
            _pay(terminal, n)
        _patience(terminal, lambda: pos() == [1, 2, 3, 4, 5, 6], "the webhook meanwhile")
        broker.start()
        _patience(terminal, lambda: _kept(fleet_db) == [1, 2, 3, 4, 5, 6], "after the restart")

        hook.do(hook.receiver.answers.append, Response(503, b"busy", "text/plain"))
        _pay(terminal, 7)
        _patience(terminal, lambda: pos() == list(range(1, 8)), "after a 503")

        # SIGKILL while a batch is on its way: the receiver holds its answer back.
        hook.do(functools.partial(hook.receiver.server.set_misbehaviour, "slow", count=1,
                                  delay_s=10.0))  # fmt: skip
        _pay(terminal, 8)
        time.sleep(0.5)
        terminal.kill()
        again = HeadlessProcess(tmp_path / "data", ["--config", str(config)])
        _pay(again, 9)
        _patience(again, lambda: pos() == list(range(1, 10)), "after the kill (webhook)")
        _patience(again, lambda: _kept(fleet_db) == list(range(1, 10)), "after the kill (mqtt)")
        again.send("journal 20")
        payments = {e["order_id"]: e["state"] for e in again.events
                    if e["event"] == "journal:payment"}  # fmt: skip
        again.quit()
        assert list(payments.values()) == ["paid"] * 9
        assert hook.do(lambda: store.duplicates) >= 1  # the killed batch came again, dropped
    finally:
        hook.close()
    listener.terminate()
    out, _ = listener.communicate(timeout=10)
    lines = out.splitlines()
    assert len(lines) == 9
    assert all(" paid " in line for line in lines)
