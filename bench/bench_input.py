"""Scan decode throughput: codes per second from a synthetic stream of scanner key events.

    .venv/bin/python -m bench.bench_input            # the table
    .venv/bin/python -m bench.bench_input --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_input --quick    # fewer codes

Two figures for each code shape (an 18-digit wallet code, a 104-character SBP link):

- **decoder**: ``hw.input.scan_decoder.ScanDecoder`` fed ``evdev.InputEvent`` objects made
  beforehand
  (what the decoder costs, no I/O);
- **through the pipe**: ``EvdevScanner.codes()`` reading an ``EventPipe`` with evdev's own
  asyncio reader, the kernel's ``input_event`` structs written by a second thread (what the
  whole input path costs the loop).

The targets are per code: decoding alone at most 1 ms; the whole path at most 5 ms of loop
time (a third of the 15 ms a QR redraw may take, and spread over the 0.1 s or more a scanner
takes to type a long code, 64 events per read). It exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, print_figures  # noqa: E402

__all__ = ["main", "decode_throughput", "pipe_throughput", "SHAPES"]

SECTION = "scan decode throughput"
DECODE_LIMIT_MS = 1.0  # decoding alone: a small part of the whole path
# The whole path's loop time for one code stays under a third of a QR redraw (15 ms). It is
# spread over the 0.1 s or more a scanner takes to type a long code, 64 events per read.
PIPE_LIMIT_MS = 5.0
#: The code shapes measured: a wallet's payment code and a dynamic SBP link.
SHAPES = {
    "wallet code (18 digits)": "281234567890123456",
    "SBP link (104 chars)": "https://qr.nspk.ru/AD10006M8KH1J5TO9CQ8OJHJU7KTGB7N?type=02&bank="
    "100000000111&sum=12500&cur=RUB&crc=4B1A",
}


def _stream(text: str, count: int) -> list[Any]:
    """``count`` scans of ``text``, each a second after the one before, as evdev events."""
    from evdev import InputEvent

    from hw.input.keymaps import typed_events

    out: list[Any] = []
    for i in range(count):
        for e in typed_events(text, start_s=float(i)):
            out.append(InputEvent(e.sec, e.usec, e.type, e.code, e.value))
    return out


def decode_throughput(text: str, count: int) -> float:
    """Codes per second ``ScanDecoder`` turns out from a prepared event stream."""
    from hw.input.scan_decoder import ScanDecoder

    events = _stream(text, count)
    decoder = ScanDecoder(max_length=256)
    feed = decoder.feed
    started = time.perf_counter()
    codes = sum(1 for e in events if feed(e) is not None)
    elapsed = time.perf_counter() - started
    assert codes == count, (codes, count)
    return count / elapsed


def pipe_throughput(text: str, count: int) -> float:
    """Codes per second ``EvdevScanner.codes()`` yields reading an ``EventPipe``."""
    return asyncio.run(_pipe_run(text, count))


async def _pipe_run(text: str, count: int) -> float:
    from hw.input.evdev_scanner import EvdevScanner
    from hw.input.event_pipe import EventPipe, pack_events
    from terminal.clock import FakeClock

    data = pack_events(_stream(text, count))
    pipe = EventPipe(name="bench scanner")
    scanner = EvdevScanner(
        "/dev/bench", input_device=pipe.device, max_length=256, clock=FakeClock()
    )
    scanner.connect()
    writer = threading.Thread(target=pipe.write, args=(data,), daemon=True)
    started = time.perf_counter()
    writer.start()
    got = 0
    async for _code in scanner.codes():
        got += 1
        if got == count:
            break
    elapsed = time.perf_counter() - started
    writer.join()
    await scanner.aclose()
    pipe.close()
    return count / elapsed


def measure(count: int) -> list[Figure]:
    """Every figure: per shape, the decoder alone and the whole path through a pipe."""
    figures: list[Figure] = []
    for label, text in SHAPES.items():
        runs = (
            ("decoder", decode_throughput, DECODE_LIMIT_MS),
            ("through the pipe", pipe_throughput, PIPE_LIMIT_MS),
        )
        for how, run, limit in runs:
            rate = run(text, count)
            key = f"{how.split()[0]}_{len(text)}"
            figures.append(Figure(SECTION, f"{key}_rate", f"{label}, {how}", rate, "codes/s"))
            figures.append(
                Figure(SECTION, f"{key}_ms", f"{label}, {how}, per code", 1000 / rate, "ms",
                       limit=limit)
            )  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="200 codes instead of 2000")
    args = parser.parse_args(argv)
    figures = measure(200 if args.quick else 2000)
    print_figures(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
