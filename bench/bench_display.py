"""Display figures: QR screen render + push time, full frames against countdown-only updates.

    .venv/bin/python -m bench.bench_display             # 1 000 frames per figure
    .venv/bin/python -m bench.bench_display --frames 200
    .venv/bin/python -m bench.bench_display --json

Frames go through :class:`hw.display.luma_display.LumaDisplay` onto luma's ``dummy`` device (the
target: render + push ≤ 15 ms per QR frame, timed from ``show()`` until ``flush()`` says the
display's worker pushed it; the loop itself only posts the frame, see
:mod:`bench.bench_display_stall`), and onto the real driver classes (ssd1306 for
128×64, sh1107 for 128×128) over a serial interface that only counts the bytes it is given,
so their bit packing is timed and the bytes that would cross the bus are known. The exit
status is 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, print_figures  # noqa: E402
from hw.display.luma_display import LumaDisplay, open_luma_display  # noqa: E402
from hw.display.render import countdown_box, redraw_countdown, render_screen  # noqa: E402
from terminal.config.model import DisplayConfig  # noqa: E402
from terminal.views.model import Screen  # noqa: E402

__all__ = ["main", "measure"]

TARGET_MS = 15.0  # a QR frame must not hold the loop longer than a poll answer takes to handle
SBP = (
    "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K"
    "?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75"
)
ALIPAY = "https://qr.alipay.com/bax03431ljhokirwl38f00a7"
#: The payment each size shows as a QR (a dynamic SBP link is printed on 128×64 instead).
PAYLOADS = {(128, 64): ALIPAY, (128, 128): SBP}
DRIVERS = {(128, 64): "ssd1306", (128, 128): "sh1107"}


class CountingInterface:
    """A luma serial interface that sends nothing and counts command and data bytes."""

    def __init__(self) -> None:
        self.command_bytes = 0
        self.data_bytes = 0

    def command(self, *cmd: int) -> None:
        self.command_bytes += len(cmd)

    def data(self, data: Any) -> None:
        self.data_bytes += len(data)

    def cleanup(self) -> None:
        return None


def measure(frames: int) -> list[Figure]:
    """Every figure, ``frames`` frames each."""
    figures: list[Figure] = []
    for size, payload in PAYLOADS.items():
        figures += _size_figures(size, payload, frames)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures as a table (or JSON); 0 whatever they say."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames per figure")
    parser.add_argument("--quick", action="store_true", help="100 frames per figure")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames = min(args.frames, 100)
    figures = measure(max(10, args.frames))
    print_figures(figures, as_json=args.json, frames=args.frames)
    return 0


# --- one size -------------------------------------------------------------------------------


def _size_figures(size: tuple[int, int], payload: str, frames: int) -> list[Figure]:
    width, height = size
    section = f"QR screen {width}x{height}"
    dummy = _dummy_display(size)
    driver = DRIVERS[size]
    counting = CountingInterface()
    real = open_luma_display(
        DisplayConfig(width=width, height=height, driver=driver), serial_interface=counting
    )
    full_dummy = _times(dummy, _amount_frames(payload), frames)
    full_real = _times(real, _amount_frames(payload), frames)
    counting.data_bytes = counting.command_bytes = 0
    real.show(_screen(payload, 0, 1))
    real.flush()
    frame_bytes = counting.data_bytes + counting.command_bytes
    tick_dummy = _times(dummy, _countdown_frames(payload), frames)
    tick_real = _times(real, _countdown_frames(payload), frames)
    cold = _times(dummy, _new_payload_frames(payload), max(10, frames // 10))
    render_full, render_tick = _render_times(size, payload, frames)
    window = _window_bytes(_screen(payload, 0, 119), size)
    return [
        _row(section, "dummy_full", "render + push, full frame (luma dummy), p50", full_dummy, 50),
        _row(section, "dummy_full_p99", "render + push, full frame (luma dummy), p99",
             full_dummy, 99, TARGET_MS),
        _row(section, f"{driver}_full", f"render + push, full frame ({driver}), p99",
             full_real, 99),
        _row(section, "dummy_tick", "countdown tick (luma dummy), p99", tick_dummy, 99),
        _row(section, f"{driver}_tick", f"countdown tick ({driver}), p99", tick_real, 99),
        _row(section, "dummy_cold", "new QR payload: encode + render + push, p99", cold, 99),
        _row(section, "render_full", "render only, full frame, p50", render_full, 50),
        _row(section, "render_tick", "render only, countdown redraw, p50", render_tick, 50),
        Figure(section, "frame_bytes", f"bytes to the panel per frame ({driver})",
               float(frame_bytes), "B", note="luma's monochrome drivers send whole frames"),
        Figure(section, "window_bytes", "bytes a countdown-only window would need",
               float(window), "B", note="page-aligned box around the countdown, + 6 command bytes"),
    ]  # fmt: skip


def _dummy_display(size: tuple[int, int]) -> LumaDisplay:
    from luma.core.device import dummy

    return LumaDisplay(device=dummy(width=size[0], height=size[1], mode="1"))


def _screen(payload: str, amount_minor: int, countdown_s: int) -> Screen:
    amount = f"{amount_minor // 100:,}.{amount_minor % 100:02} RUB".replace(",", " ")
    lines = ("Scan the QR", "or tap NFC")
    return Screen("qr", "PAY", amount, lines, payload, countdown_s)


def _amount_frames(payload: str) -> Callable[[int], Screen]:
    """Each frame a different amount: every frame is rendered in full (QR already encoded)."""
    return lambda index: _screen(payload, 100_00 + index, 119)


def _countdown_frames(payload: str) -> Callable[[int], Screen]:
    """Each frame one second less: only the countdown is redrawn (same digit count)."""
    return lambda index: _screen(payload, 100_00, 599 - index % 540)


def _new_payload_frames(payload: str) -> Callable[[int], Screen]:
    """Each frame a payload never seen: the QR is encoded again."""
    return lambda index: _screen(f"{payload}&n={index:06d}", 100_00, 119)


def _times(display: LumaDisplay, make: Callable[[int], Screen], frames: int) -> list[float]:
    display.show(make(frames + 1))  # the first frame of a run is not what is measured
    display.flush()
    times = []
    for index in range(frames):
        screen = make(index)
        started = time.perf_counter()
        display.show(screen)
        display.flush()  # drawn and pushed by the display's worker: wait for it
        times.append((time.perf_counter() - started) * 1000)
    return times


def _render_times(size: tuple[int, int], payload: str, frames: int) -> tuple[list[float], ...]:
    full, tick = [], []
    previous = render_screen(_screen(payload, 100_00, 599), size)
    for index in range(frames):
        screen = _screen(payload, 100_00, 598 - index % 500)
        started = time.perf_counter()
        render_screen(screen, size)
        middle = time.perf_counter()
        redraw_countdown(previous, screen, size)
        ended = time.perf_counter()
        full.append((middle - started) * 1000)
        tick.append((ended - middle) * 1000)
    return full, tick


def _window_bytes(screen: Screen, size: tuple[int, int]) -> int:
    """Bytes of a column/page window covering the countdown (8-pixel pages), plus commands."""
    box = countdown_box(screen, size)
    assert box is not None
    left, top, right, bottom = box
    pages = (bottom - 1) // 8 - top // 8 + 1
    return (right - left) * pages + 6


def _row(
    section: str, key: str, label: str, times: list[float], pct: int, limit: float | None = None
) -> Figure:
    value = statistics.median(times) if pct == 50 else _percentile(times, pct)
    return Figure(section, key, label, round(value, 3), "ms", limit)


def _percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
