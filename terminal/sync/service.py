"""The sync task: one sender per configured target, and what the terminal shows of them.

It runs alongside the runtime on the same loop and never holds a payment up: it only reads
the outbox and writes its own watermarks, each a small transaction between two events. It
also prunes records every target has (after ``sync.keep_s``), shows the display's small
mark when the oldest unsynced record is overdue (``sync.late_after_s``, measured on the
monotonic clock, so an NTP jump neither shows nor hides it), raises a refused batch as an
alert (screen, status line, log, the MQTT alerts topic), passes the terminal's alerts and
status on to the MQTT targets, and takes ``payterm sync retry``'s request file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from terminal import __version__
from terminal.clock import Clock
from terminal.config.model import Config, SyncTargetConfig
from terminal.errors import JournalError
from terminal.journal import Journal
from terminal.journal.sync_marks import ensure_targets, prune, unpark
from terminal.payment import PaymentState
from terminal.runtime.runtime import Runtime
from terminal.sync.backoff import Backoff
from terminal.sync.lateness import Lateness
from terminal.sync.mqtt import MqttTarget
from terminal.sync.record import RecordReader
from terminal.sync.sender import TargetSender
from terminal.sync.targets import Target
from terminal.sync.webhook import WebhookTarget
from terminal.views.text import t

__all__ = ["SyncService", "RETRY_REQUEST_FILE", "build_target", "request_retry"]

log = logging.getLogger("payterm.sync")

#: ``payterm sync retry`` leaves this file in the data folder for the running terminal.
RETRY_REQUEST_FILE = "sync-retry.request"
HOUSEKEEPING_S = 1.0  # how often retry requests, lateness and status are looked at
PRUNE_EVERY_S = 3600.0
STATUS_EVERY_S = 5.0  # the retained status is republished at most this often


def build_target(
    target: SyncTargetConfig,
    config: Config,
    epoch: str,
    clock: Clock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Target:
    """The target ``target`` describes, with its secrets from the secrets file."""
    secrets = config.secrets.sync_secrets.get(target.name, {})
    if target.kind == "webhook":
        return WebhookTarget(
            target, secret=secrets.get("secret", ""), terminal_id=config.terminal.id,
            epoch=epoch, clock=clock, transport=transport,
        )  # fmt: skip
    return MqttTarget(
        target, password=secrets.get("password", ""), terminal_id=config.terminal.id, clock=clock
    )


def request_retry(data_dir: Path, target: str | None) -> Path:
    """Ask the running terminal to send a parked batch again (every target when None)."""
    path = data_dir / RETRY_REQUEST_FILE
    with path.open("a", encoding="utf-8") as file:
        file.write(f"{target or '*'}\n")
    return path


class SyncService:
    """Every target's sender, started with the runtime; see the module's docstring."""

    def __init__(
        self,
        config: Config,
        journal: Journal,
        clock: Clock,
        *,
        targets: Mapping[str, Target] | None = None,
    ) -> None:
        self._config = config
        self._journal = journal
        self._clock = clock
        self._runtime: Runtime | None = None
        sync = config.sync
        reader = RecordReader(journal, config.routes)
        made = dict(targets or {})
        self.senders: list[TargetSender] = []
        for target_config in sync.targets:
            target = made.get(target_config.name) or build_target(
                target_config, config, journal.epoch, clock
            )
            self.senders.append(
                TargetSender(
                    target,
                    journal,
                    reader,
                    clock,
                    batch_size=target_config.batch_size,
                    backoff=Backoff(sync.backoff_initial_s, sync.backoff_max_s),
                    on_refused=self._refused,
                    on_acked=self._acked,
                )  # fmt: skip
            )
        ensure_targets(journal.database, [t.name for t in sync.targets])
        self._lateness = Lateness(journal, clock, late_after_s=sync.late_after_s)
        self._retry_file = config.terminal.data_dir / RETRY_REQUEST_FILE
        self._status_due = True
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, runtime: Runtime) -> None:
        """Run alongside ``runtime``: woken by its records, passing its alerts and status on."""
        self._runtime = runtime
        runtime.subscribe(self._observe)
        runtime.run_alongside(self.run_forever)

    async def run_forever(self) -> None:
        """Run every sender and the housekeeping until cancelled; nothing here raises."""
        try:
            async with asyncio.TaskGroup() as group:
                for sender in self.senders:
                    group.create_task(sender.run_forever())
                group.create_task(self._housekeeping())
        finally:
            for task in list(self._tasks):
                task.cancel()
            for sender in self.senders:
                with contextlib.suppress(Exception):
                    await sender.target.aclose()

    def wake(self) -> None:
        """Tell every sender to look at the outbox now."""
        for sender in self.senders:
            sender.wake()

    async def _housekeeping(self) -> None:
        next_prune = self._clock.monotonic()
        next_status = self._clock.monotonic()
        while True:
            try:
                self._take_retry_request()
                late = self._lateness.late()
                if self._runtime is not None:
                    self._runtime.set_sync_late(late)
                now = self._clock.monotonic()
                if now >= next_prune:
                    next_prune = now + PRUNE_EVERY_S
                    self._prune()
                if self._status_due and now >= next_status:
                    next_status = now + STATUS_EVERY_S
                    self._status_due = False
                    await self._publish_status()
            except JournalError as exc:
                log.error("sync: journal: %s", exc)
            except Exception:  # noqa: BLE001 - sync must never stop the terminal
                log.exception("sync: housekeeping failed")
            await self._clock.sleep(HOUSEKEEPING_S)

    def _take_retry_request(self) -> None:
        try:
            text = self._retry_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("sync: cannot read %s: %s", self._retry_file, exc)
            return
        self._retry_file.unlink(missing_ok=True)
        names = {line.strip() for line in text.splitlines() if line.strip()}
        self.retry(None if "*" in names else sorted(names))

    def retry(self, names: list[str] | None) -> list[str]:
        """Send the parked batches of ``names`` (every target when None) again; those released."""
        released: list[str] = []
        for name in [None] if names is None else names:
            released += unpark(self._journal.database, name)
        log.info("sync: parked batches released: %s", ", ".join(released) or "none")
        if released and self._runtime is not None:
            self._runtime.report_problem("sync", "")
        self.wake()
        return released

    def _prune(self) -> None:
        before = self._clock.wall() - timedelta(seconds=self._config.sync.keep_s)
        removed = prune(self._journal.database, before=before)
        if removed:
            log.info("sync: %d record(s) every target has were pruned", removed)

    def _refused(self, name: str, reason: str) -> None:
        message = f"sync to {name} refused: {reason}"
        if self._runtime is not None:
            words = f"{t('sync_refused', self._config.terminal.language)}: {name}"
            self._runtime.report_problem("sync", words)
            self._runtime.announce("sync:parked", target=name, reason=reason)
        self._spawn(self._alert_all("sync_refused", message))

    def _acked(self, name: str) -> None:
        self._status_due = True
        if self._runtime is not None:
            self._runtime.announce("sync:acked", target=name)

    def _observe(self, event: str, details: dict[str, Any]) -> None:
        if event == "journal:record":
            self._status_due = True
            if details.get("state") not in (PaymentState.NEW.value, PaymentState.PENDING.value):
                self.wake()
        elif event == "terminal:alert":
            code, message = str(details.get("code", "")), str(details.get("message", ""))
            self._spawn(self._alert_all(code, message))
        elif event in ("machine:state", "hardware:problem", "printer:status"):
            self._status_due = True

    async def _alert_all(self, code: str, message: str) -> None:
        for sender in self.senders:
            try:
                await sender.target.alert(code, message)
            except Exception:  # noqa: BLE001 - an alert that cannot go out stays in the log
                log.exception("sync %s: alert not passed on", sender.target.name)

    async def _publish_status(self) -> None:
        facts = self._facts()
        for sender in self.senders:
            await sender.target.status(facts)

    def _facts(self) -> dict[str, object]:
        from terminal.system.status import status_line

        runtime_status = self._runtime.status() if self._runtime is not None else {}
        pending = self._journal.outbox_count(limit=100_000)
        return {
            "line": status_line(runtime_status, pending) if runtime_status else "",
            "phase": runtime_status.get("phase"),
            "fault": runtime_status.get("fault"),
            "printer_problem": runtime_status.get("printer_problem"),
            "part_problems": runtime_status.get("part_problems"),
            "records_unsynced": pending,
            "sync_late": self._lateness.is_late,
            "software_version": __version__,
            "wall": self._clock.wall().isoformat(),
            "wall_synced": self._clock.wall_is_synced(),
        }

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
