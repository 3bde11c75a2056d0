"""The event loop's longest stall during payments, with a display on a slow I²C bus.

    .venv/bin/python -m bench.bench_display_stall            # 20 payments per bus speed
    .venv/bin/python -m bench.bench_display_stall --quick    # 6 payments per bus speed
    .venv/bin/python -m bench.bench_display_stall --json

The whole terminal runs (:func:`bench.rig.running_terminal`: the real runtime, journal and
sandbox provider, on a fake clock) on the emulated device, with its display replaced by the
real luma.oled ``ssd1306`` driver behind :class:`hw.display.luma_display.LumaDisplay`, over
a serial interface that takes as long as the bus would: luma writes a frame as 32-byte I²C
transactions, each an address and a control byte plus the data, 9 bits a byte (1 024 data
bytes: ≈ 25 ms at 400 kHz, ≈ 98 ms at the Pi's default 100 kHz). Half the payments are
customer codes, half QR payments with their countdown. They go at a cashier's pace: a key
every 150 ms, the clock moved one second at a time with 100 ms between (each second is a
countdown redraw), Enter on the result, so the screens are pushed, not all dropped.

While they run, a probe task sleeps 1 ms at a time and notes how late it wakes: the
longest lateness is the longest time the loop could not run anything (a scan's events
waited in the kernel's ≈ 64-event buffer, a provider request waited to be sent). The
target is ≤ 5 ms. A run with an instant bus shows what the rest of the terminal costs. The
journal lives in /dev/shm where there is one, so its fsyncs are not what is measured. It
exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import percentile  # noqa: E402
from bench.report import Figure, print_figures  # noqa: E402

__all__ = ["SlowI2C", "main", "measure", "stall_run"]

SECTION = "loop stall during payments, display on a slow I2C bus"
STALL_LIMIT_MS = 5.0
KEY_GAP_S = 0.15  # between a cashier's key presses
SECOND_S = 0.1  # real time between the fake clock's seconds
BUS_SPEEDS_HZ = (100_000, 400_000)
PROBE_S = 0.001
BLOCK = 32  # luma.core.interface.serial.i2c writes data in blocks of this many bytes


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
    """Sleeps ``PROBE_S`` at a time and keeps how late each wake-up was, in milliseconds."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self.on = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(PROBE_S)
            if self.on:
                self.late_ms.append((loop.time() - started - PROBE_S) * 1000)


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


async def stall_run(bus_hz: int, payments: int, base: Path) -> dict[str, Any]:
    """``payments`` paid payments (CPM and MPM in turn) with the display on a ``bus_hz`` bus."""
    from bench.rig import pay_once, running_terminal
    from terminal.clock import FakeClock

    bus = SlowI2C(bus_hz)
    clock = FakeClock()
    data_dir = Path(tempfile.mkdtemp(prefix=f"stall-{bus_hz}-", dir=base))
    probe = _Probe()
    with _display_on(bus) as (displays, shows_ms):
        async with running_terminal(data_dir, data_dir / "ledger.sqlite3", clock) as (
            terminal,
            sandbox,
            watch,
        ):
            prober = asyncio.create_task(probe.run())
            try:
                await pay_once(terminal, sandbox, watch, clock, cpm=True)  # warm-up
                await terminal.runtime.wait_idle()
                bus.busy_s = 0.0
                shows_ms.clear()
                probe.on = True
                started = time.perf_counter()
                for index in range(payments):
                    await _paced_payment(terminal, sandbox, watch, clock, cpm=index % 2 == 0)
                await terminal.runtime.wait_idle()
                elapsed = time.perf_counter() - started
                probe.on = False
            finally:
                prober.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await prober
            status = displays[-1].status()
    return {
        "late_ms": probe.late_ms,
        "show_ms": shows_ms,
        "elapsed_s": elapsed,
        "bus_s": bus.busy_s,
        "frames": status["frames"],
        "dropped": status.get("frames_dropped", 0),
        "errors": list(watch.errors),
    }


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
    sandbox.ledger.customer("pay", runtime.state.payment.order_id)
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


def measure(payments: int) -> list[Figure]:
    """The figures for an instant bus, then each bus speed."""
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="bench-stall-", dir=shm if shm.is_dir() else None))
    figures: list[Figure] = []
    try:
        for bus_hz in (0, *BUS_SPEEDS_HZ):
            run = asyncio.run(stall_run(bus_hz, payments, base))
            figures += _figures(bus_hz, run)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return figures


def _figures(bus_hz: int, run: dict[str, Any]) -> list[Figure]:
    name = f"{bus_hz // 1000}k" if bus_hz else "instant"
    where = f"{bus_hz // 1000} kHz bus" if bus_hz else "instant bus"
    late: list[float] = run["late_ms"]
    frames = run["frames"]
    note = "; ".join(run["errors"])[:200]
    rows = [
        Figure(SECTION, f"stall_max_{name}", f"{where}: longest loop stall", round(max(late), 2),
               "ms", STALL_LIMIT_MS if bus_hz else None, note=note),
        Figure(SECTION, f"stall_p99_{name}", f"{where}: loop stall, p99",
               round(percentile(late, 0.99), 2), "ms"),
        Figure(SECTION, f"show_max_{name}", f"{where}: longest display.show() on the loop",
               round(max(run["show_ms"]), 3), "ms", STALL_LIMIT_MS),
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
    args = parser.parse_args(argv)
    payments = min(args.payments, 6) if args.quick else max(2, args.payments)
    print_figures(measure(payments), as_json=args.json, payments=payments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
