"""`payterm run` as a systemd service, in-process: READY, STATUS lines, watchdog, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from terminal.app import JOURNAL_FILE, Terminal
from terminal.clock import FakeClock
from terminal.config.loader import demo_config
from terminal.demo.headless import HeadlessSession
from terminal.errors import JournalDamaged
from terminal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.system.sdnotify import Notifier
from terminal.system.service import hold, serve, serve_terminal, watchdog_pings
from terminal.views.model import Screen

#: The demo is a training terminal: its status line ends so.
TRAINING = "; TRAINING: no real payments"


class RecordingNotifier(Notifier):
    """Keeps what would go to systemd, each datagram as one string, in a shared list."""

    def __init__(self, seen: list[str], on_send: Callable[[str], None] | None = None) -> None:
        super().__init__({})
        self.seen = seen
        self.sent_at: list[tuple[float, str]] = []
        self._on_send = on_send

    @property
    def enabled(self) -> bool:
        """Always: it stands in for a socket systemd gave."""
        return True

    def send(self, *fields: str) -> bool:
        """Record the datagram (and when it was sent) instead of sending it."""
        message = "\n".join(fields)
        self.seen.append(message)
        self.sent_at.append((time.monotonic(), message))
        if self._on_send is not None:
            self._on_send(message)
        return True

    def statuses(self) -> list[str]:
        """Every STATUS= text sent so far, oldest first."""
        return [
            line[len("STATUS=") :]
            for message in self.seen
            for line in message.splitlines()
            if line.startswith("STATUS=")
        ]


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (at most 20 s, so a broken build fails rather than hangs) for ``condition``."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def _seed_payment_in_doubt(data_dir: Path, terminal_id: str) -> str:
    """A journal holding one payment left NEW, as a power cut leaves it; its order id."""
    journal = Journal.open(data_dir / JOURNAL_FILE, terminal_id=terminal_id)
    order_id = f"{terminal_id}-{journal.epoch}-000001"
    payment = Payment(
        order_id=order_id, seq=1, shift=1, flow="mpm", provider="sandbox",
        amount=Money(100, "RUB"), created_wall="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    journal.record(payment, note="intent", mono=0.0, wall=datetime.now(UTC), wall_synced=True)
    journal.close()
    return order_id


async def test_ready_comes_after_the_journal_opened_and_payments_in_doubt_were_queued(
    tmp_path: Path,
) -> None:
    config = demo_config(tmp_path)
    order_id = _seed_payment_in_doubt(tmp_path, config.terminal.id)
    seen: list[str] = []
    at_ready: dict[str, Any] = {}
    stop = asyncio.Event()
    async with Terminal(config, FakeClock()) as terminal:

        def on_send(message: str) -> None:
            if message.startswith("READY=1"):
                at_ready["journal_open"] = terminal.journal.is_open
                at_ready["device_closed"] = terminal.device.is_closed

        terminal.runtime.subscribe(lambda name, details: seen.append(name))
        notifier = RecordingNotifier(seen, on_send)
        service = asyncio.create_task(serve_terminal(terminal, notifier, stop))
        await until(lambda: any(m.startswith("READY=1") for m in seen), "READY=1")
        stop.set()
        await service
    ready = next(i for i, m in enumerate(seen) if m.startswith("READY=1"))
    assert "journal:in_doubt" in seen[:ready], "the payment in doubt is queued before READY"
    assert at_ready == {"journal_open": True, "device_closed": False}
    assert sum(m.startswith("READY=1") for m in seen) == 1
    assert any(m.startswith("STOPPING=1") for m in seen[ready:])
    assert order_id


async def test_status_lines_follow_a_payment_and_the_parts(tmp_path: Path) -> None:
    seen: list[str] = []
    notifier = RecordingNotifier(seen)
    stop = asyncio.Event()
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        session = HeadlessSession(terminal, lambda event: None)
        service = asyncio.create_task(serve_terminal(terminal, notifier, stop))
        await until(lambda: f"READY=1\nSTATUS=ready{TRAINING}" in seen, "READY=1 with STATUS=ready")
        for command in ("key 1", "key 0", "key 0", "key enter", "key enter"):
            await session.execute(command)
        await until(
            lambda: notifier.statuses()[-1] == f"payment 000001 in progress{TRAINING}",
            "payment in progress",
        )
        await session.execute("customer pay")
        await session.execute("advance 5")
        await until(
            lambda: notifier.statuses()[-1] == f"ready; 1 record waiting to sync{TRAINING}",
            "paid, to sync",
        )
        await session.execute("scanner unplug")
        await until(
            lambda: (
                notifier.statuses()[-1]
                == f"ready; scanner disconnected; 1 record waiting to sync{TRAINING}"
            ),
            "scanner disconnected",
        )
        await session.execute("printer paper-out")
        for command in ("key 2", "key 0", "key 0", "key enter", "key enter"):
            await session.execute(command)
        await session.execute("customer pay")
        await session.execute("advance 5")
        await until(
            lambda: (
                notifier.statuses()[-1]
                == "ready; printer out of paper; scanner disconnected; 2 records waiting to sync"
                + TRAINING
            ),
            "printer out of paper",
        )
        stop.set()
        await service
    statuses = notifier.statuses()
    assert all(a != b for a, b in zip(statuses, statuses[1:], strict=False)), "only changes"


async def test_the_printer_is_asked_at_start(tmp_path: Path) -> None:
    seen: list[str] = []
    notifier = RecordingNotifier(seen)
    stop = asyncio.Event()
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        terminal.device.escpos.online = False
        service = asyncio.create_task(serve_terminal(terminal, notifier, stop))
        await until(
            lambda: f"ready; printer offline{TRAINING}" in notifier.statuses(), "printer offline"
        )
        assert terminal.runtime.state.printer_problem == "offline"
        assert terminal.runtime.screen is not None
        assert terminal.runtime.screen.lines[-1] == "Printer offline"
        stop.set()
        await service
    assert notifier.statuses()[0] == f"ready{TRAINING}"  # READY first, then the printer's answer


async def test_stopping_lets_the_call_under_way_finish_and_journals_its_answer(
    tmp_path: Path,
) -> None:
    seen: list[str] = []
    notifier = RecordingNotifier(seen)
    stop = asyncio.Event()
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        terminal.runtime.subscribe(
            lambda name, details: seen.append(f"{name} {details.get('op') or details.get('state')}")
        )
        service = asyncio.create_task(serve_terminal(terminal, notifier, stop))
        await until(lambda: any(m.startswith("READY=1") for m in seen), "READY=1")
        for server in terminal.sandboxes.values():
            server.http.set_misbehaviour("slow", count=1, delay_s=0.5)
        for key in ("1", "0", "0", "enter", "enter"):
            terminal.device.keypad.press(key)
        await until(lambda: "provider:call create" in seen, "the invoice is asked for")
        stop.set()  # as SIGTERM does
        await asyncio.wait_for(service, timeout=20)
        payment = terminal.journal.recent(1)[0]
        assert not terminal.runtime.status()["phase"] == "fault"
    stopping = seen.index("STOPPING=1\nSTATUS=stopping")
    assert seen.index("provider:answer create") > stopping, "the answer came in while stopping"
    assert "journal:record pending" in seen[stopping:], "and was journaled"
    assert payment.state is PaymentState.PENDING
    assert payment.provider_ref, "the provider's order is kept for the next start"


async def test_watchdog_pings_come_from_the_loop_and_stop_while_it_is_stalled() -> None:
    notifier = RecordingNotifier([])
    pinger = asyncio.create_task(watchdog_pings(notifier, 0.02))
    try:
        await until(lambda: len(notifier.sent_at) >= 3, "three pings")
        stalled_from = time.monotonic()
        time.sleep(0.2)  # the loop is stuck: nothing in it runs
        stalled_to = time.monotonic()
        count = len(notifier.sent_at)
        await until(lambda: len(notifier.sent_at) >= count + 2, "pings again")
    finally:
        pinger.cancel()
    assert {m for _, m in notifier.sent_at} == {"WATCHDOG=1"}
    assert not [t for t, _ in notifier.sent_at if stalled_from < t < stalled_to]


async def test_a_refused_new_config_is_shown_while_the_previous_one_runs(tmp_path: Path) -> None:
    refusal = tmp_path / "config-error"
    refusal.write_text("payterm.toml: display.address: must be 60 or 61, got 99\n")
    seen: list[str] = []
    notifier = RecordingNotifier(seen)
    stop = asyncio.Event()
    async with Terminal(demo_config(tmp_path / "data"), FakeClock()) as terminal:
        service = asyncio.create_task(
            serve_terminal(terminal, notifier, stop, config_error_file=refusal)
        )
        await until(lambda: any("display.address" in s for s in notifier.statuses()), "refusal")
        screen = terminal.runtime.screen
        assert screen is not None
        assert screen.lines[-1].startswith("config refused: payterm.toml: display.address")
        stop.set()
        await service
    refused = "ready; config refused: payterm.toml: display.address: must be 60 or 61, got 99"
    assert refused + TRAINING in notifier.statuses()


async def test_the_card_s_ssh_problem_is_shown_on_the_screen_and_status(tmp_path: Path) -> None:
    ssh_note = tmp_path / "ssh-error"
    ssh_note.write_text(
        "SSH: the file ssh on the card holds no public key, so nobody could log in; SSH stays "
        "off and the file was renamed ssh.rejected.\n"
    )
    notifier = RecordingNotifier([])
    stop = asyncio.Event()
    async with Terminal(demo_config(tmp_path / "data"), FakeClock()) as terminal:
        service = asyncio.create_task(
            serve_terminal(
                terminal,
                notifier,
                stop,
                config_error_file=tmp_path / "none",
                ssh_error_file=ssh_note,
            )  # fmt: skip
        )
        await until(lambda: any("SSH: the file ssh" in s for s in notifier.statuses()), "ssh")
        screen = terminal.runtime.screen
        assert screen is not None
        assert screen.lines[-1].startswith("SSH: the file ssh on the card holds no public key")
        stop.set()
        await service


async def test_without_a_usable_config_it_shows_why_and_waits(tmp_path: Path) -> None:
    shown: list[Screen] = []
    seen: list[str] = []
    notifier = RecordingNotifier(seen)

    def show(screen: Screen) -> None:
        shown.append(screen)

    holding = asyncio.create_task(
        hold(
            "/etc/payterm/payterm.toml: no such file",
            notifier,
            watchdog_s=0.2,
            show=show,
            config_error_file=tmp_path / "none",
        )  # fmt: skip
    )
    await until(lambda: any("READY=1" in m.splitlines() for m in seen), "READY=1")
    assert notifier.statuses() == [
        "no usable configuration: /etc/payterm/payterm.toml: no such file"
    ]
    assert [(s.name, s.title) for s in shown] == [("config_error", "CONFIG ERROR")]
    assert shown[0].lines[0] == "See the SD card"
    await until(lambda: seen.count("WATCHDOG=1") >= 3, "watchdog pings while waiting")
    assert not holding.done()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await holding == 0
    assert "STOPPING=1" in "\n".join(seen)


async def test_the_imports_refusal_says_more_than_no_config(tmp_path: Path) -> None:
    refusal = tmp_path / "config-error"
    refusal.write_text("payterm.toml: terminal.id: 1 to 32 letters, digits, - or _\n")
    seen: list[str] = []
    notifier = RecordingNotifier(seen)
    holding = asyncio.create_task(
        hold(
            "no such file",
            notifier,
            watchdog_s=0,
            show=lambda screen: None,
            config_error_file=refusal,
        )  # fmt: skip
    )
    await until(lambda: bool(notifier.statuses()), "a status")
    assert notifier.statuses() == [
        "no usable configuration: payterm.toml: terminal.id: 1 to 32 letters, digits, - or _"
    ]
    os.kill(os.getpid(), signal.SIGTERM)
    assert await holding == 0


async def test_a_damaged_journal_is_refused_on_the_screen_the_status_and_the_log(
    tmp_path: Path, caplog: Any
) -> None:
    config = demo_config(tmp_path)
    path = tmp_path / JOURNAL_FILE
    with Journal.open(path, terminal_id=config.terminal.id):
        pass
    path.write_bytes(b"")  # cut to zero bytes
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    shown: list[Screen] = []
    seen: list[str] = []
    notifier = RecordingNotifier(seen)
    serving = asyncio.create_task(
        serve(
            config,
            FakeClock(),
            notifier,
            watchdog_s=0.2,
            wait_on_damage=True,
            show=shown.append,
            config_error_file=tmp_path / "none",
        )  # fmt: skip
    )
    await until(lambda: any("READY=1" in m.splitlines() for m in seen), "READY=1")
    (status,) = notifier.statuses()
    assert status.startswith(f"out of service: {path}: the journal file is empty")
    assert "payterm journal --recover" in status
    assert [(s.name, s.title, s.lines) for s in shown] == [
        ("journal_refused", "OUT OF SERVICE", ("Journal damaged", "Call an administrator"))
    ]
    assert any("journal refused" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)  # fmt: skip
    await until(lambda: seen.count("WATCHDOG=1") >= 2, "watchdog pings while refusing")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await serving == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


async def test_run_by_hand_a_damaged_journal_ends_with_its_message(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    (tmp_path / JOURNAL_FILE).write_bytes(b"")
    with pytest.raises(JournalDamaged, match="empty"):
        await serve(config, FakeClock(), RecordingNotifier([]), config_error_file=tmp_path / "x")
