"""The network comes back: how soon a failed cancel is closed at the provider.

    .venv/bin/python -m bench.bench_reconnect            # 30 rounds
    .venv/bin/python -m bench.bench_reconnect --quick    # 5 rounds
    .venv/bin/python -m bench.bench_reconnect --json     # one JSON document on stdout

The whole terminal runs on the emulated device and the real clock, with the sandbox
provider behind the demo's cuttable network link. Each round shows a QR, cuts the
network and presses Cancel (the one cancel fails: the payment is cancel-failed), then
restores the network in one of two ways and times the first background cancel and the
provider's answer that closed the order (checked in the sandbox's ledger):

- *told*: the link says it is back (the demo's ``net up``; on a Pi, a default route with
  carrier coming back, read every 5 s), timed from that moment;
- *seen*: nobody says so, the next payment's invoice is the first proper answer from the
  provider, timed from that answer.

Before the terminal learnt when the link was back, the first call came on a 60 s timer. It exits 0
whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, not_measured, print_figures  # noqa: E402
from terminal.app import Terminal  # noqa: E402
from terminal.clock import SystemClock  # noqa: E402
from terminal.config.loader import demo_config  # noqa: E402
from terminal.payment import PaymentState  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "reconnect"
FIRST_CALL_LIMIT_MS = 1000.0
CLOSED_LIMIT_MS = 2000.0
WAIT_S = 10.0


class _Stamps:
    """The time each event the runtime emitted was seen, by name."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, dict[str, Any]]] = []

    def __call__(self, name: str, details: dict[str, Any]) -> None:
        self.seen.append((time.perf_counter(), name, details))

    async def first(self, event: str, since: float, **match: object) -> float:
        """When ``event`` with ``match`` among its details was first seen after ``since``."""
        deadline = time.perf_counter() + WAIT_S
        while time.perf_counter() < deadline:
            for at, seen, details in self.seen:
                if (
                    seen == event
                    and at >= since
                    and all(details.get(k) == v for k, v in match.items())
                ):
                    return at
            await asyncio.sleep(0.001)
        raise TimeoutError(f"no {event} {match} within {WAIT_S} s")


async def _payment_shown(terminal: Terminal, stamps: _Stamps) -> str:
    """Type 1.00 and ask for a QR; the order id once the QR is on the screen."""
    started = time.perf_counter()
    for key in ("1", "0", "0", "enter", "enter"):
        terminal.device.keypad.press(key)
    await stamps.first("display:screen", started, name="qr")
    await terminal.runtime.wait_idle()
    return terminal.journal.recent(1)[0].order_id


async def _cancel_fails(terminal: Terminal, stamps: _Stamps) -> str:
    """A QR, the network cut, Cancel: the one cancel fails; the order id."""
    order_id = await _payment_shown(terminal, stamps)
    for link in terminal.links:
        link.set_up(False)  # the cable is out; nobody has said anything yet
    terminal.device.buttons.press("cancel")
    await terminal.runtime.wait_idle()
    payment = terminal.journal.get(order_id)
    assert payment is not None, order_id
    assert payment.state is PaymentState.CANCEL_FAILED, payment
    return order_id


async def _closed(
    terminal: Terminal, stamps: _Stamps, order_id: str, since: float
) -> tuple[float, float]:
    """When the background cancel of ``order_id`` went out and when it came back closed."""
    called = await stamps.first("reconcile:call", since, order_id=order_id, op="cancel")
    closed = await stamps.first("reconcile:answer", since, order_id=order_id, status="cancelled")
    await terminal.runtime.wait_idle()
    record = next(iter(terminal.sandboxes.values())).ledger.get(order_id)
    assert record is not None, order_id
    assert record.status == "cancelled", record
    payment = terminal.journal.get(order_id)
    assert payment is not None, order_id
    assert payment.state is PaymentState.CANCELLED, payment
    return called, closed


async def _told(terminal: Terminal, stamps: _Stamps) -> tuple[float, float]:
    """The network link says it is back: from then to the first call, and to the close."""
    order_id = await _cancel_fails(terminal, stamps)
    back = time.perf_counter()
    terminal.set_network(True)
    called, closed = await _closed(terminal, stamps, order_id, back)
    terminal.device.keypad.press("clear")
    await terminal.runtime.wait_idle()
    return (called - back) * 1000, (closed - back) * 1000


async def _noticed(terminal: Terminal, stamps: _Stamps) -> tuple[float, float]:
    """The network returns silently; the next payment's answer is the sign: from it on."""
    order_id = await _cancel_fails(terminal, stamps)
    for link in terminal.links:
        link.set_up(True)
    back = time.perf_counter()
    await _payment_shown(terminal, stamps)
    answered = await stamps.first("provider:answer", back, op="create")
    called, closed = await _closed(terminal, stamps, order_id, back)
    terminal.device.buttons.press("cancel")  # the new payment: cancelled, network up
    await terminal.runtime.wait_idle()
    terminal.device.keypad.press("clear")
    await terminal.runtime.wait_idle()
    return (called - answered) * 1000, (closed - answered) * 1000


Samples = dict[str, list[float]]


async def _measure(rounds: int) -> Samples:
    samples: Samples = {"told_call": [], "told_closed": [], "seen_call": [], "seen_closed": []}
    with tempfile.TemporaryDirectory() as folder:
        clock = SystemClock(assume_synced=True)
        async with Terminal(demo_config(Path(folder)), clock, with_network_link=True) as terminal:
            stamps = _Stamps()
            terminal.runtime.subscribe(lambda name, details: stamps(name, details))
            runner = asyncio.create_task(terminal.runtime.run())
            try:
                await terminal.runtime.wait_idle()
                for _ in range(rounds):
                    call, closed = await _told(terminal, stamps)
                    samples["told_call"].append(call)
                    samples["told_closed"].append(closed)
                    call, closed = await _noticed(terminal, stamps)
                    samples["seen_call"].append(call)
                    samples["seen_closed"].append(closed)
                return samples
            finally:
                await terminal.runtime.stop(timeout_s=2.0)
                runner.cancel()
                try:
                    await runner
                except (asyncio.CancelledError, BaseExceptionGroup):
                    pass


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(rounds: int) -> list[Figure]:
    """Run ``rounds`` failed cancels of each kind of return; the figures of both delays."""
    # The failed cancels are the point: their warnings and alerts would only hide the table.
    logging.getLogger("payterm").setLevel(logging.CRITICAL)
    try:
        samples = asyncio.run(_measure(rounds))
    except Exception as exc:  # noqa: BLE001 - a broken benchmark is a row, not a crash
        return [not_measured(SECTION, "reconnect", f"{type(exc).__name__}: {exc}")]
    where = f"{rounds} rounds"
    told = "network link says it is back"
    seen = "first proper answer after the outage"
    rows = (
        ("told_call", f"{told} → first background cancel", FIRST_CALL_LIMIT_MS),
        ("told_closed", f"{told} → order closed at the provider", CLOSED_LIMIT_MS),
        ("seen_call", f"{seen} → first background cancel", FIRST_CALL_LIMIT_MS),
        ("seen_closed", f"{seen} → order closed at the provider", CLOSED_LIMIT_MS),
    )
    figures: list[Figure] = []
    for key, label, limit in rows:
        values = samples[key]
        figures.append(
            Figure(SECTION, f"{key}_p50", f"{label}, p50, {where}", _p(values, 0.5), "ms")
        )
        figures.append(
            Figure(SECTION, f"{key}_max", f"{label}, max, {where}", max(values), "ms", limit)
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 30")
    args = parser.parse_args(argv)
    print_figures(measure(5 if args.quick else 30), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
