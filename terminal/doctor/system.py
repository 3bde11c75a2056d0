"""The checks of the system the terminal runs on: the clock, the disk and the journal."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from terminal.config.model import Config
from terminal.doctor.probes import SystemProbes
from terminal.doctor.results import CheckResult, Status
from terminal.errors import JournalError

__all__ = [
    "DISK_FAIL_BYTES",
    "DISK_WARN_BYTES",
    "DISK_WARN_SHARE",
    "disk_status",
    "HELD_BY_TERMINAL",
    "STOP_TERMINAL_FIX",
    "check_clock",
    "check_disk",
    "check_journal",
    "held_parts",
    "terminal_is_running",
]

#: Below this the journal may soon refuse new payments: ≈ 10 000 payments of about 1 KiB,
#: plus room for SQLite's write-ahead log and a checkpoint.
DISK_FAIL_BYTES = 10_000_000
#: Warn below this share of the file system holding the journal (a fresh 256 MiB data
#: partition has 216 MB free: far above it) ...
DISK_WARN_SHARE = 0.10
#: ... but never above this much free (a large card: weeks of growth on a busy terminal).
DISK_WARN_BYTES = 200_000_000
COMMAND_TIMEOUT_S = 5.0  # timedatectl answers in milliseconds when systemd is healthy


async def check_clock(probes: SystemProbes) -> CheckResult:
    """The wall clock is NTP-synchronised (a Pi has no clock of its own); else WARN."""
    if probes.timesync_flag.exists():
        return CheckResult("clock", Status.PASS, "synchronised (systemd-timesyncd)")
    fix = (
        "check the network and the NTP server (timedatectl timesync-status); until then "
        "records carry an unsynchronised mark"
    )
    if probes.timedatectl is None:
        detail = f"cannot tell: no {probes.timesync_flag} and no timedatectl"
        return CheckResult("clock", Status.WARN, detail, fix)
    answer = await _command_output(
        [probes.timedatectl, "show", "-p", "NTPSynchronized", "--value"], COMMAND_TIMEOUT_S
    )
    if answer == "yes":
        return CheckResult("clock", Status.PASS, "synchronised (timedatectl)")
    if answer == "no":
        return CheckResult("clock", Status.WARN, "not synchronised yet", fix)
    return CheckResult("clock", Status.WARN, f"cannot tell (timedatectl: {answer})", fix)


def disk_status(total: int, free: int) -> Status:
    """FAIL below 10 MB free; WARN below 10 % of ``total`` (at most 200 MB); else PASS."""
    warn_below = max(DISK_FAIL_BYTES, min(int(total * DISK_WARN_SHARE), DISK_WARN_BYTES))
    if free < DISK_FAIL_BYTES:
        return Status.FAIL
    if free < warn_below:
        return Status.WARN
    return Status.PASS


def check_disk(config: Config, probes: SystemProbes) -> CheckResult:
    """Free space where the journal lives, judged by :func:`disk_status`."""
    data_dir = config.terminal.data_dir
    where = _existing_ancestor(data_dir)
    note = "" if where == data_dir else f" (on {where}: {data_dir} is not made yet)"
    try:
        total, _used, free = probes.disk_usage(where)
    except OSError as exc:
        fix = "check that the data folder's storage is mounted"
        return CheckResult("disk", Status.FAIL, f"{where}: {exc.strerror or exc}", fix)
    detail = f"{_size(free)} free of {_size(total)} for {data_dir}{note}"
    fix = (
        "free space (e.g. journalctl --vacuum-size=50M) or use a larger card; "
        "with a full disk the journal refuses new payments"
    )
    status = disk_status(total, free)
    return CheckResult("disk", status, detail, "" if status is Status.PASS else fix)


async def check_journal(config: Config) -> CheckResult:
    """SQLite's integrity check on the journal; SKIP when the running terminal holds it."""
    from terminal.app import JOURNAL_FILE  # the app module is heavy; only this check needs it

    path = config.terminal.data_dir / JOURNAL_FILE
    if not path.exists():
        return CheckResult("journal", Status.SKIP, f"{path}: none yet (made at the first start)")
    try:
        verdict, status = await asyncio.to_thread(_inspect_journal, path, config.terminal.id)
    except JournalError as exc:
        if _held_by_another(exc):
            detail = f"{path}: {HELD_BY_TERMINAL}, not checked"
            return CheckResult("journal", Status.SKIP, detail, STOP_TERMINAL_FIX)
        return CheckResult("journal", Status.FAIL, str(exc), _JOURNAL_FIX)
    if verdict != "ok":
        return CheckResult("journal", Status.FAIL, f"{path}: {verdict}", _JOURNAL_FIX)
    detail = (
        f"{path}: integrity ok, shift {status.get('current_shift')}, "
        f"{status.get('unresolved')} unresolved, {status.get('outbox_pending')} to sync"
    )
    return CheckResult("journal", Status.PASS, detail)


#: What the journal check says when the terminal is running (it holds the journal).
HELD_BY_TERMINAL = "in use by the running terminal"

STOP_TERMINAL_FIX = "to check it, stop the terminal first (systemctl stop payterm)"


def terminal_is_running(journal: CheckResult) -> bool:
    """True when the journal check found the journal held by the running terminal."""
    return journal.status is Status.SKIP and HELD_BY_TERMINAL in journal.detail


def held_parts() -> list[CheckResult]:
    """The parts a running terminal holds (grabbed, claimed), as SKIP rows: not opened."""
    parts = ("display", "printer", "scanner", "keypad", "buttons", "nfc reader")
    detail = f"{HELD_BY_TERMINAL}, not opened"
    return [CheckResult(part, Status.SKIP, detail, STOP_TERMINAL_FIX) for part in parts]


_JOURNAL_FIX = (
    "the journal holds payments: never delete it. Stop the terminal (systemctl stop payterm); "
    "`payterm journal --check` says what is damaged and `payterm journal --recover` salvages "
    "it into a new journal, keeping the damaged files (see docs/journal.md)"
)


def _inspect_journal(path: Path, terminal_id: str) -> tuple[str, dict[str, object]]:
    """Runs in a worker thread: open, check and close the journal, recording nothing."""
    from terminal.journal import Journal

    with Journal.open(path, terminal_id=terminal_id) as journal:
        return journal.integrity_check(), journal.status()


def _held_by_another(exc: JournalError) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(cause, sqlite3.Error) and isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "in use by another" in str(exc)


async def _command_output(argv: list[str], timeout_s: float) -> str:
    """The command's stripped stdout, or what went wrong in words."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"no answer in {timeout_s:g} s"
    if proc.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        return said[0] if said else f"exit status {proc.returncode}"
    return out.decode(errors="replace").strip()


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _size(count: int) -> str:
    if count >= 10_000_000_000:
        return f"{count // 1_000_000_000} GB"
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f} GB"
    return f"{count // 1_000_000} MB"
