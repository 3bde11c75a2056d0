"""The event loop's longest stall during payments, with a display on a slow I²C bus.

    .venv/bin/python -m bench.bench_display_stall            # 20 payments per run
    .venv/bin/python -m bench.bench_display_stall --quick    # 6 payments per run
    .venv/bin/python -m bench.bench_display_stall --json

The whole terminal runs (:func:`bench.rig.terminal_at`: the real runtime, journal and sandbox
driver, on a fake clock) on the emulated device, with its display replaced by the real
luma.oled ``ssd1306`` driver behind :class:`hw.display.luma_display.LumaDisplay`, over a
serial interface that takes as long as the bus would: luma writes a frame as 32-byte I²C
transactions, each an address and a control byte plus the data, 9 bits a byte (1 024 data
bytes: ≈ 25 ms at 400 kHz, ≈ 98 ms at the Pi's default 100 kHz). The sandbox provider is
``payterm sandbox`` in a child process (:class:`bench.rig.ChildSandbox`), so its work is not
counted as the terminal's. Half the payments are customer codes, half QR payments with their
countdown. They go at a cashier's pace: a key every 150 ms, the clock moved one second at a
time with 100 ms between (each second is a countdown redraw), Enter on the result, so the
screens are pushed, not all dropped.

While they run, a probe task sleeps 1 ms at a time and notes how late it wakes: the
longest lateness is the longest time the loop could not run anything (a scan's events
waited in the kernel's ≈ 64-event buffer, a provider request waited to be sent). The
target is ≤ 5 ms. A run with an instant bus shows what the rest of the terminal costs. The
journal is on the disk under ``bench/out/`` (``--out``), as the terminal's is on its SD card;
a fourth run holds every journal commit :data:`SLOW_COMMIT_MS` in SQLite's own trace hook,
as an SD card's fsync can, to show whether the loop waits for it. Each stall over the target
is explained (:mod:`bench.loop_watch`): loop work (a callback that ran that long, named) or a
wait (a worker thread holding the interpreter's lock, no free CPU, a blocking call). It exits
0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loop_watch import (  # noqa: E402
    LoopWatch,
    explain,
    runq_wait_ms,
    thread_cpu,
    thread_cpu_used,
)
from bench.measure import percentile  # noqa: E402
from bench.report import Figure, print_figures  # noqa: E402

__all__ = ["SlowI2C", "main", "measure", "stall_run"]

REPO = Path(__file__).resolve().parent.parent

SECTION = "loop stall during payments, display on a slow I2C bus"
STALL_LIMIT_MS = 5.0
KEY_GAP_S = 0.15  # between a cashier's key presses
SECOND_S = 0.1  # real time between the fake clock's seconds
BUS_SPEEDS_HZ = (100_000, 400_000)
PROBE_S = 0.001
BLOCK = 32  # luma.core.interface.serial.i2c writes data in blocks of this many bytes
#: How long the slow-commit run holds each journal commit (an SD card's fsync: 10–50 ms).
SLOW_COMMIT_MS = 30.0


class SlowI2C:
    """A luma serial interface that sends nothing and takes as long as an I²C bus would.

    ``bus_hz`` 0 makes it instant. ``busy_s`` sums the time spent "on the bus".
    """

    def __init__(self, bus_hz: int) -> None:
        self.bus_hz = bus_hz
        self.busy_s = 0.0

    def command(self, *cmd: int) -> None:
        self._wire(len(cmd))

    def data(self, data: Any) -> None:
        data = list(data)
        for start in range(0, len(data), BLOCK):
            self._wire(len(data[start : start + BLOCK]))

    def cleanup(self) -> None:
        return None

    def _wire(self, payload: int) -> None:
        if not self.bus_hz:
            return
        seconds = (2 + payload) * 9 / self.bus_hz  # address + control byte + payload
        self.busy_s += seconds
        time.sleep(seconds)


def frame_push_ms(bus_hz: int, width: int = 128, height: int = 64) -> float:
    """What the model says one whole frame takes on the bus, in milliseconds."""
    data = width * height // 8
    blocks = math.ceil(data / BLOCK)
    return (blocks * 2 + data + 2 + 6) * 9 / bus_hz * 1000  # + the window's 6 command bytes


class _Probe:
    """Sleeps ``PROBE_S`` at a time and keeps each wake-up: due and woke (perf_counter
    seconds), and how long the loop's thread waited for a CPU since the last one (ms)."""

    def __init__(self) -> None:
        self.wakes: list[tuple[float, float, float]] = []
        self.on = False

    @property
    def late_ms(self) -> list[float]:
        """How late each wake-up was, in milliseconds."""
        return [(woke - due) * 1000 for due, woke, _ in self.wakes]

    async def run(self) -> None:
        runq = runq_wait_ms()
        while True:
            started = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            woke, runq_before, runq = time.perf_counter(), runq, runq_wait_ms()
            if self.on:
                self.wakes.append((started + PROBE_S, woke, runq - runq_before))


def _hold_commits(journal: Any, hold_s: float) -> None:
    """Have SQLite hold each COMMIT of ``journal`` for ``hold_s`` before it runs.

    SQLite's trace hook is called in the thread that runs the statement, with the
    connection held, as an fsync would keep it.
    """

    def trace(sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            time.sleep(hold_s)

    journal._conn.set_trace_callback(trace)


@contextlib.contextmanager
def _display_on(bus: SlowI2C) -> Iterator[tuple[list[Any], list[float]]]:
    """The terminal opens the emulated device with this display: the displays made, and
    how long each of their ``show()`` calls took."""
    import hw.select
    from hw.display.luma_display import open_luma_display
    from hw.emulated import open_emulated_device
    from terminal.config.model import DisplayConfig

    made: list[Any] = []
    shows_ms: list[float] = []
    real_open = hw.select.open_device

    async def open_device(config: Any) -> Any:
        device = open_emulated_device(columns=config.printer.columns)
        device.display = open_luma_display(DisplayConfig(), serial_interface=bus)
        device.display.show = _timed(device.display.show, shows_ms)
        made.append(device.display)
        return device

    hw.select.open_device = open_device
    try:
        yield made, shows_ms
    finally:
        hw.select.open_device = real_open


def _timed(show: Any, times_ms: list[float]) -> Any:
    """``show`` noting how long each call held the loop, in milliseconds."""

    def timed(screen: Any) -> None:
        started = time.perf_counter()
        try:
            show(screen)
        finally:
            times_ms.append((time.perf_counter() - started) * 1000)

    return timed


async def stall_run(
    bus_hz: int, payments: int, base: Path, *, commit_hold_s: float = 0.0
) -> dict[str, Any]:
    """``payments`` paid payments (CPM and MPM in turn) with the display on a ``bus_hz`` bus."""
    from bench.rig import ChildSandbox, pay_once, terminal_at
    from terminal.clock import FakeClock

    bus = SlowI2C(bus_hz)
    clock = FakeClock()
    data_dir = Path(tempfile.mkdtemp(prefix=f"stall-{bus_hz}-", dir=base))
    shm = Path("/dev/shm")
    ledger_dir = Path(tempfile.mkdtemp(prefix="stall-ledger-", dir=shm if shm.is_dir() else base))
    probe = _Probe()
    sandbox = ChildSandbox(ledger_dir / "ledger.sqlite3")
    try:
        url = await sandbox.start()
        with _display_on(bus) as (displays, shows_ms), LoopWatch() as watch_loop:
            async with terminal_at(data_dir, url, clock) as (terminal, watch):
                if commit_hold_s:
                    _hold_commits(terminal.journal, commit_hold_s)
                prober = asyncio.create_task(probe.run())
                try:
                    await pay_once(terminal, sandbox, watch, clock, cpm=True)  # warm-up
                    await terminal.runtime.wait_idle()
                    bus.busy_s = 0.0
                    shows_ms.clear()
                    cpu0, threads0 = _cpu(), thread_cpu()
                    probe.on = watch_loop.on = True
                    started = time.perf_counter()
                    for index in range(payments):
                        await _paced_payment(terminal, sandbox, watch, clock, cpm=index % 2 == 0)
                    await terminal.runtime.wait_idle()
                    elapsed = time.perf_counter() - started
                    probe.on = watch_loop.on = False
                    cpu1, threads1 = _cpu(), thread_cpu()
                finally:
                    prober.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await prober
                status = displays[-1].status()
    finally:
        await sandbox.aclose()
        shutil.rmtree(ledger_dir, ignore_errors=True)
    threads = thread_cpu_used(threads0, threads1)
    return {
        "late_ms": probe.late_ms,
        "own_ms": [max(0.0, (woke - due) * 1000 - runq) for due, woke, runq in probe.wakes],
        "stalls": explain(probe.wakes, watch_loop, STALL_LIMIT_MS),
        "longest": watch_loop.longest(),
        "longest_bench": watch_loop.longest(bench=True),
        "show_ms": shows_ms,
        "elapsed_s": elapsed,
        "cpu_s": cpu1 - cpu0,
        "threads": threads,
        "bus_s": bus.busy_s,
        "frames": status["frames"],
        "dropped": status.get("frames_dropped", 0),
        "errors": list(watch.errors),
        "payments": payments,
    }


def _cpu() -> float:
    """CPU seconds this process used so far, every thread (those that ended too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _paced_payment(terminal: Any, sandbox: Any, watch: Any, clock: Any, *, cpm: bool) -> None:
    """One paid payment at a cashier's pace, back to idle."""
    from bench.rig import ALIPAY_CODE, StalledError, wait
    from terminal.machine import CodeScanned, KeyPressed

    runtime = terminal.runtime
    waiting, done = watch.expect_phase("waiting"), watch.expect_phase("done")
    slip = watch.expect_slip("payment")
    for digit in str(100 + runtime.state.next_seq % 900):
        runtime.feed(KeyPressed(digit))
        await asyncio.sleep(KEY_GAP_S)
    runtime.feed(KeyPressed("enter"))
    await asyncio.sleep(KEY_GAP_S)
    runtime.feed(CodeScanned(ALIPAY_CODE) if cpm else KeyPressed("enter"))
    await wait(waiting, "waiting for the customer")
    await sandbox.customer("pay", runtime.state.payment.order_id)
    for _ in range(60):
        for _ in range(3):  # the runtime's timers are tasks: let them reach their sleep
            await asyncio.sleep(0)
        clock.advance(1.0)
        finished, _ = await asyncio.wait({done}, timeout=SECOND_S)
        if finished:
            break
    else:
        raise StalledError("the terminal never reached: the paid result")
    await wait(slip, "the payment slip")
    await asyncio.sleep(KEY_GAP_S)
    idle = watch.expect_phase("idle")
    runtime.feed(KeyPressed("enter"))
    await wait(idle, "idle")


#: Each run: a name for its rows, the bus speed (0: instant), how long commits are held.
RUNS: tuple[tuple[str, int, float], ...] = (
    ("instant", 0, 0.0),
    ("100k", 100_000, 0.0),
    ("400k", 400_000, 0.0),
    ("slow_commit", 0, SLOW_COMMIT_MS / 1000),
)


def measure(payments: int, out: Path) -> list[Figure]:
    """The figures for an instant bus, each bus speed, and an instant bus with slow commits."""
    out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="bench-stall-", dir=out))
    figures: list[Figure] = []
    try:
        for name, bus_hz, hold_s in RUNS:
            run = asyncio.run(stall_run(bus_hz, payments, base, commit_hold_s=hold_s))
            figures += _figures(name, bus_hz, run)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return figures


def _figures(name: str, bus_hz: int, run: dict[str, Any]) -> list[Figure]:
    where = f"{bus_hz // 1000} kHz bus" if bus_hz else "instant bus"
    if name == "slow_commit":
        where = f"instant bus, commits held {SLOW_COMMIT_MS:.0f} ms"
    late: list[float] = run["late_ms"]
    own: list[float] = run["own_ms"]
    frames = run["frames"]
    stalls = run["stalls"]
    causes: dict[str, int] = {}
    for stall in stalls:
        kind = stall.cause.split(":")[0]
        causes[kind] = causes.get(kind, 0) + 1
    worst = f"the longest: {stalls[0].cause}" if stalls else "none over the target"
    errors = "; ".join(run["errors"])[:200]
    note = "; ".join(part for part in (worst, errors) if part)
    longest, bench = run["longest"], run["longest_bench"]
    over = ", ".join(f"{count} {kind}" for kind, count in sorted(causes.items())) or "none"
    workers = {k: round(v, 2) for k, v in run["threads"].items() if v > 0}
    rows = [
        Figure(SECTION, f"stall_max_{name}", f"{where}: longest loop stall", round(max(late), 2),
               "ms", STALL_LIMIT_MS, note=note),
        Figure(SECTION, f"stall_own_max_{name}",
               f"{where}: longest loop stall, less waits for a CPU", round(max(own), 2), "ms",
               STALL_LIMIT_MS, note="the stall the terminal itself caused: the time the kernel "
               "ran other threads or processes while the loop's thread was runnable taken out"),
        Figure(SECTION, f"stall_p99_{name}", f"{where}: loop stall, p99",
               round(percentile(late, 0.99), 2), "ms"),
        Figure(SECTION, f"stalls_over_{name}", f"{where}: stalls over {STALL_LIMIT_MS:g} ms",
               float(len(stalls)), "stalls", note=f"of which {over}"),
        Figure(SECTION, f"callback_max_{name}", f"{where}: longest terminal callback on the loop",
               round(longest.wall_ms, 2) if longest else 0.0, "ms", STALL_LIMIT_MS,
               note=(f"{longest.name}, {longest.cpu_ms:.2f} ms of it on CPU" if longest else "")
               + (f"; the bench's own longest: {bench.name} {bench.wall_ms:.2f} ms"
                  if bench else "")),
        Figure(SECTION, f"show_max_{name}", f"{where}: longest display.show() on the loop",
               round(max(run["show_ms"]), 3), "ms", STALL_LIMIT_MS),
        Figure(SECTION, f"cpu_{name}", f"{where}: CPU per payment, every thread",
               round(run["cpu_s"] * 1000 / max(1, run["payments"]), 1), "ms",
               note=f"by thread (s): {workers}"),
        Figure(SECTION, f"frames_{name}", f"{where}: frames pushed (full + countdown)",
               float(frames["full"] + frames["countdown"]), "frames",
               note=f"{run['dropped']} replaced by a newer one before they were pushed"),
    ]  # fmt: skip
    if bus_hz:
        rows.append(
            Figure(SECTION, f"frame_ms_{name}", f"{where}: one full frame on the bus (model)",
                   round(frame_push_ms(bus_hz), 1), "ms",
                   note=f"{run['bus_s']:.2f} s on the bus in {run['elapsed_s']:.2f} s")
        )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20, help="payments per bus speed")
    parser.add_argument("--quick", action="store_true", help="6 payments per bus speed")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "out",
        help="scratch folder for the journal, on a real disk (default: bench/out/)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    payments = min(args.payments, 6) if args.quick else max(2, args.payments)
    print_figures(measure(payments, args.out), as_json=args.json, payments=payments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
