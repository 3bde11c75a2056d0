"""Benchmark 5: what the terminal costs while it sits idle with its runtime running.

A fresh terminal on the real clock takes one payment (cancelled while the customer
confirms, so connections, journal and device are all warm), returns to idle, settles,
and is then left alone. CPU seconds come from ``getrusage`` (every thread of the
process), bytes from /proc/self/io. The sandbox runs in the same process with its
ledger on the same disk, so anything it wrote would count too.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from bench.measure import context_switches, cpu_seconds, io_counters
from bench.report import Figure, error_figures
from bench.rig import cancel_once, running_terminal
from bench.sysinfo import fs_type
from terminal.clock import SystemClock

__all__ = ["SECTION", "IdleRun", "measure", "run"]

SECTION = "5. idle (real clock, runtime running)"
FULL_IDLE_S = 60.0
QUICK_IDLE_S = 10.0
SETTLE_S = 1.0
WRITE_LIMIT_BYTES = 0.0


@dataclass(frozen=True, slots=True)
class IdleRun:
    """CPU seconds and I/O counters over one idle stretch."""

    seconds: float
    cpu_s: float
    wchar: int
    write_bytes: int
    switches: int = 0  # context switches of every thread: how often the process woke
    threads: tuple[str, ...] = ()  # names of the Python threads alive while idle
    errors: tuple[str, ...] = ()  # ERROR records the terminal logged


async def measure(seconds: float, base_dir: Path) -> IdleRun:
    """Warm a terminal up with one payment, then measure ``seconds`` of idling."""
    async with running_terminal(
        base_dir / "data", base_dir / "data" / "sandbox.sqlite3", SystemClock()
    ) as (terminal, _sandbox, watch):
        await cancel_once(terminal, watch)
        await asyncio.sleep(SETTLE_S)
        cpu, io, switches = cpu_seconds(), io_counters(), context_switches()
        await asyncio.sleep(seconds)
        used, wrote = cpu_seconds() - cpu, io_counters() - io
        woke = context_switches() - switches
        threads = tuple(thread.name for thread in threading.enumerate())
        phase = terminal.runtime.state.phase.value
        errors = tuple(watch.errors)
    if phase != "idle":
        raise RuntimeError(f"the terminal left idle while measured: {phase}")
    return IdleRun(seconds, used, wrote.wchar, wrote.write_bytes, woke, threads, errors)


async def run(quick: bool, out_dir: Path) -> list[Figure]:
    """Benchmark 5 in this process."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="idle-", dir=out_dir))
    try:
        idle = await measure(QUICK_IDLE_S if quick else FULL_IDLE_S, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    span = f"{idle.seconds:.0f} s idle"
    share = 100 * idle.cpu_s / idle.seconds
    return [
        Figure(SECTION, "idle_cpu_s", f"CPU seconds over {span}", idle.cpu_s, "s",
               note=f"{share:.2f}% of one core"),
        Figure(SECTION, "idle_write_bytes", f"write_bytes over {span}", float(idle.write_bytes),
               "B", WRITE_LIMIT_BYTES, f"journal and ledger on {fs_type(out_dir)}"),
        Figure(SECTION, "idle_wchar", f"wchar over {span}", float(idle.wchar), "B"),
        Figure(SECTION, "idle_wakeups_per_s", "context switches per second",
               idle.switches / idle.seconds, "/s",
               note=f"{len(idle.threads)} threads: {_thread_summary(idle.threads)}"),
        *error_figures(SECTION, idle.errors),
    ]  # fmt: skip


def _thread_summary(names: tuple[str, ...]) -> str:
    """Thread names with repeats counted, e.g. ``MainThread, held x3``."""
    counts: dict[str, int] = {}
    for name in names:
        short = name.split("(")[-1].rstrip(")") if "(" in name else name
        counts[short] = counts.get(short, 0) + 1
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.items())
