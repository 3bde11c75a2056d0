"""Benchmark 1: from a scanned code to the pay request arriving at the sandbox (real clock).

Each payment types an amount, waits until the terminal is quiet, then feeds
``CodeScanned`` and notes three moments on ``time.perf_counter_ns()``: the runtime's
``journal:record`` report for the intent (the fsynced write-ahead record is done), its
``provider:call`` report (the call task has started), and the sandbox handler being
entered with the whole ``POST /v1/payments`` read. The payment is then cancelled
from the "confirm in the app" wait, and the terminal returns to idle.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import percentile
from bench.report import Figure, error_figures
from bench.rig import ALIPAY_CODE, Watch, cancel_waiting, running_terminal, type_amount, wait
from bench.sysinfo import fs_type
from terminal.app import Terminal
from terminal.clock import SystemClock
from terminal.machine import CodeScanned
from terminal.providers.loopback_http import Request

__all__ = ["SECTION", "LatencyRun", "measure", "figures", "run"]

SECTION = "1. scan -> provider request (real clock, journal on disk)"
FULL_PAYMENTS = 500
QUICK_PAYMENTS = 100
WARMUP_PAYMENTS = 20  # the first connection and cold caches are not the steady state
P50_LIMIT_MS = 5.0
P99_LIMIT_MS = 20.0


@dataclass
class LatencyRun:
    """Per-payment intervals in milliseconds, split where the runtime reports progress."""

    total_ms: list[float] = field(default_factory=list)  # scan fed -> request arrived
    journal_ms: list[float] = field(default_factory=list)  # scan fed -> intent fsynced
    spawn_ms: list[float] = field(default_factory=list)  # intent fsynced -> call task runs
    wire_ms: list[float] = field(default_factory=list)  # call task runs -> request arrived
    data_dir: Path = Path()
    errors: list[str] = field(default_factory=list)  # ERROR records the terminal logged


class _Stamps:
    """Collects the moments of one payment from the runtime's reports and the sandbox."""

    def __init__(self) -> None:
        self.marks: dict[str, int] = {}
        self.arrived: asyncio.Future[int] | None = None

    def on_report(self, name: str, details: dict[str, Any]) -> None:
        if name == "journal:record" and details.get("note") == "intent":
            self.marks.setdefault("journal", time.perf_counter_ns())
        elif name == "provider:call" and details.get("op") == "pay":
            self.marks.setdefault("call", time.perf_counter_ns())

    def on_request(self, request: Request, arrived_ns: int) -> None:
        if request.method == "POST" and request.path == "/v1/payments":
            if self.arrived is not None and not self.arrived.done():
                self.arrived.set_result(arrived_ns)


async def measure(payments: int, base_dir: Path, *, warmup: int = WARMUP_PAYMENTS) -> LatencyRun:
    """Run ``warmup + payments`` payments and return the measured ones' intervals."""
    stamps = _Stamps()
    result = LatencyRun(data_dir=base_dir)
    async with running_terminal(
        base_dir / "data", base_dir / "sandbox.sqlite3", SystemClock(), on_request=stamps.on_request
    ) as (terminal, _sandbox, watch):
        terminal.runtime.subscribe(stamps.on_report)
        for number in range(warmup + payments):
            ms = await _one_payment(terminal, watch, stamps)
            if number >= warmup:
                result.total_ms.append(ms["total"])
                result.journal_ms.append(ms["journal"])
                result.spawn_ms.append(ms["spawn"])
                result.wire_ms.append(ms["wire"])
        result.errors = list(watch.errors)
    return result


async def _one_payment(terminal: Terminal, watch: Watch, stamps: _Stamps) -> dict[str, float]:
    runtime = terminal.runtime
    type_amount(terminal, 100 + runtime.state.next_seq % 900)
    await runtime.wait_idle()
    waiting = watch.expect_phase("waiting")
    stamps.marks.clear()
    stamps.arrived = asyncio.get_running_loop().create_future()
    fed = time.perf_counter_ns()
    runtime.feed(CodeScanned(ALIPAY_CODE))
    arrived = await asyncio.wait_for(stamps.arrived, 10.0)
    await wait(waiting, "waiting for the customer")
    await cancel_waiting(terminal, watch)
    journal, call = stamps.marks["journal"], stamps.marks["call"]
    return {
        "total": (arrived - fed) / 1e6,
        "journal": (journal - fed) / 1e6,
        "spawn": (call - journal) / 1e6,
        "wire": (arrived - call) / 1e6,
    }


def figures(run: LatencyRun) -> list[Figure]:
    """The figures of one run: overall p50/p99 against the targets, then the split."""
    n = len(run.total_ms)
    note = f"{n} payments after {WARMUP_PAYMENTS} warm-up; journal on {fs_type(run.data_dir)}"
    rows = [
        Figure(SECTION, "scan_to_request_p50_ms", "scan -> pay request, p50",
               percentile(run.total_ms, 0.50), "ms", P50_LIMIT_MS, note),
        Figure(SECTION, "scan_to_request_p99_ms", "scan -> pay request, p99",
               percentile(run.total_ms, 0.99), "ms", P99_LIMIT_MS),
        Figure(SECTION, "scan_to_request_max_ms", "scan -> pay request, max",
               max(run.total_ms), "ms"),
    ]  # fmt: skip
    parts = (
        ("journal", "queue + machine step + intent fsync", run.journal_ms),
        ("spawn", "display redraw + task start", run.spawn_ms),
        ("wire", "httpx + loopback + server read", run.wire_ms),
    )
    for key, label, values in parts:
        p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
        rows.append(
            Figure(SECTION, f"{key}_p50_ms", f"  of which {label}, p50", p50, "ms",
                   note=f"p99 {p99:.2f} ms")
        )  # fmt: skip
    return rows + error_figures(SECTION, run.errors)


async def run(quick: bool, out_dir: Path) -> list[Figure]:
    """Benchmark 1 in this process; its files go to a fresh folder under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="latency-", dir=out_dir))
    try:
        result = await measure(QUICK_PAYMENTS if quick else FULL_PAYMENTS, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return figures(result)
