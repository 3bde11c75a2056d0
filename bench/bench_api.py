"""The integrator API's figures: latency through it, events, load, cold start, memory.

    .venv/bin/python -m bench.bench_api            # the table
    .venv/bin/python -m bench.bench_api --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_api --quick    # fewer samples, 300 payments for RSS

The terminal runs on its own, as on the device: ``payterm demo --headless --api`` in a
child process (the emulated device, the API on 127.0.0.1 over TLS with its own
self-signed certificate, pinned by the client), with its provider the bench sandbox in a
second child process, which prints when each request arrives. The POS client runs in
this process, and the 50 pollers in a third. So the memory and the start-up time are the
terminal's own. Figures:

1. API create → provider request: from the POS sending ``POST /v1/payments`` to the
   provider receiving the invoice request (p50, p99).
2. state change → SSE event received: from the terminal reporting a payment's journal
   write (its headless output, read here) to a client of ``GET /v1/events`` reading its
   event (p99).
3. scan → provider request while 50 clients poll ``GET /v1/terminal`` 10 times a second:
   the scanner path (a headless ``scan``), with the API busy.
4. Where a poll's time goes, measured on the same code in this process: the key check,
   the status document (built, and served from its cache), and the whole request
   through Starlette (uvicorn's h11 parsing is the rest of the loaded figure).
5. cold start → READY with the API on: a new terminal process until ``terminal:ready``.
6. RSS of the terminal's process after N API payments, paid (10 000; 300 with --quick).

It exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.api_rig import STALL_S, Rig, event_line  # noqa: E402
from bench.measure import percentile  # noqa: E402
from bench.report import Figure, not_measured, print_figures  # noqa: E402
from bench.rig import ALIPAY_CODE  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "integrator API"
BODY = {"amount_minor": 1500, "currency": "RUB", "reference": "BENCH", "method": "qr"}
POLLERS = """
import asyncio, sys, httpx
async def poll(client):
    while True:
        await client.get("/v1/terminal")
        await asyncio.sleep(0.1)
async def main():
    url, key, cert = sys.argv[1:4]
    async with httpx.AsyncClient(base_url=url, verify=cert, trust_env=False,
            headers={"Authorization": "Bearer " + key},
            limits=httpx.Limits(max_connections=60)) as c:
        await asyncio.gather(*(poll(c) for _ in range(50)))
asyncio.run(main())
"""


async def _pay_by_api(
    rig: Rig, client: httpx.AsyncClient, control: httpx.AsyncClient, n: int,
    paid: dict[str, asyncio.Future[None]],
) -> tuple[int, int]:  # fmt: skip
    """One API payment to paid; (sent ns, sandbox line index before it)."""
    before = len(rig.sandbox.lines)
    sent = time.perf_counter_ns()
    answer = await client.post("/v1/payments", json=BODY, headers={"Idempotency-Key": f"b{n}"})
    if answer.status_code != 201:
        raise RuntimeError(f"create answered {answer.status_code}: {answer.text}")
    order_id = answer.json()["id"]
    done = paid.setdefault(order_id, asyncio.get_running_loop().create_future())
    await rig.arrival(before, "the invoice request")
    said = await control.post("/control/customer", json={"action": "pay", "order_id": order_id})
    if said.status_code >= 400:
        raise RuntimeError(f"the sandbox would not pay: {said.text}")
    await asyncio.wait_for(done, STALL_S)
    paid.pop(order_id, None)
    return sent, before


async def _follow(
    client: httpx.AsyncClient, rig: Rig, paid: dict[str, asyncio.Future[None]],
    received: list[float] | None,
) -> None:  # fmt: skip
    """Read ``GET /v1/events``: resolve ``paid`` futures, and time each step's event."""
    terminal = rig.terminal
    assert terminal is not None
    seen = 0
    recorded: dict[tuple[str, str], int] = {}
    async with client.stream("GET", "/v1/events", timeout=None) as stream:
        async for line in stream.aiter_lines():
            if not line.startswith("data: "):
                continue
            got = time.perf_counter_ns()
            payment = json.loads(line[6:]).get("payment")
            if payment is None:
                continue
            state = payment["history"][-1]["state"] if payment["history"] else payment["state"]
            if received is not None:
                for ns, text in terminal.lines[seen:]:
                    if '"journal:record"' in text:
                        data = json.loads(text)
                        recorded.setdefault((data["order_id"], data["state"]), ns)
                seen = len(terminal.lines)
                at = recorded.pop((payment["id"], state), None)
                if at is not None:
                    received.append((got - at) / 1e6)
            if payment["state"] == "paid":
                future = paid.setdefault(payment["id"], asyncio.get_running_loop().create_future())
                if not future.done():
                    future.set_result(None)


@contextlib.asynccontextmanager
async def _clients(rig: Rig, key: str, tls: ssl.SSLContext) -> AsyncIterator[Any]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=rig.url, verify=tls, headers=headers, trust_env=False,
                          timeout=10) as client,
        httpx.AsyncClient(base_url=rig.sandbox_url, trust_env=False, timeout=10) as control,
    ):  # fmt: skip
        yield client, control


async def _scan_once(rig: Rig) -> float:
    for key in ("1", "2", "3", "enter"):
        await rig.command(f"key {key}")
    before = len(rig.sandbox.lines)
    assert rig.terminal is not None
    scanned = time.perf_counter_ns()
    rig.terminal.send(f"scan {ALIPAY_CODE}")
    arrived = await rig.arrival(before, "the scanned code's request")
    elapsed = (arrived - scanned) / 1e6
    start = len(rig.terminal.lines)
    await asyncio.to_thread(rig.terminal.wait_line, start, event_line("ok"), "the scan's ok")
    await rig.command("press cancel")
    await rig.command("wait")
    return elapsed


async def _measure(samples: int, payments: int) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="payterm-bench-api-") as folder:
        rig = Rig(Path(folder))
        try:
            rig.start_terminal()
            tls = ssl.create_default_context(cafile=str(rig.cert))
            key = await rig.pair(tls)
            async with _clients(rig, key, tls) as (client, control):
                paid: dict[str, asyncio.Future[None]] = {}
                received: list[float] = []
                follower = asyncio.create_task(_follow(client, rig, paid, received))
                await asyncio.sleep(0.2)
                create_ms: list[float] = []
                for n in range(samples):
                    sent, before = await _pay_by_api(rig, client, control, n, paid)
                    create_ms.append((await rig.arrival(before, "invoice") - sent) / 1e6)
                received_n = len(received)
                figures += [
                    Figure(SECTION, "create_p50", "API create → provider request p50",
                           percentile(create_ms, 0.5), "ms", 10.0),
                    Figure(SECTION, "create_p99", "API create → provider request p99",
                           percentile(create_ms, 0.99), "ms", 30.0),
                    Figure(SECTION, "sse_p99", "state change → SSE event received p99",
                           percentile(received, 0.99) if received else None, "ms", 20.0,
                           note=f"{received_n} events, from the terminal's report of "
                           "the journal write"),
                ]  # fmt: skip
                pollers = subprocess.Popen(
                    [sys.executable, "-c", POLLERS, rig.url, key, str(rig.cert)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                try:
                    await asyncio.sleep(1.0)
                    scan_ms = [await _scan_once(rig) for _ in range(samples)]
                finally:
                    pollers.terminate()
                    pollers.wait(timeout=10)
                figures.append(Figure(
                    SECTION, "scan_loaded_p99", "scan → provider request p99, 50 clients polling",
                    percentile(scan_ms, 0.99), "ms", 20.0,
                    note=f"p50 {percentile(scan_ms, 0.5):.1f} ms"))  # fmt: skip
                assert rig.terminal is not None
                before_mb = rig.terminal.rss_mb()
                for n in range(samples, samples + payments):
                    await _pay_by_api(rig, client, control, n, paid)
                after_mb = rig.terminal.rss_mb()
                follower.cancel()
                figures += [
                    Figure(SECTION, "rss", f"RSS after {payments} API payments (API on)",
                           after_mb, "MB", 80.0, note="the terminal's process alone"),
                    Figure(SECTION, "rss_growth", f"RSS growth over those {payments} payments",
                           after_mb - before_mb, "MB"),
                ]  # fmt: skip
        finally:
            rig.close()
    return figures


def _cold_start() -> Figure:
    """A new terminal process until it says ``terminal:ready``, the API on (best of 3)."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="payterm-bench-cold-") as folder:
        rig = Rig(Path(folder))
        try:
            for attempt in range(4):
                elapsed = rig.start_terminal()
                rig.stop_terminal()
                if attempt:  # the first run made the certificate and the journal
                    times.append(elapsed)
        except RuntimeError as exc:
            return not_measured(SECTION, "cold_start", str(exc))
        finally:
            rig.close()
    note = "payterm demo --headless --api, its own process"
    return Figure(SECTION, "cold_start", "cold start → READY with the API on (best of 3)",
                  min(times), "s", 1.0, note=note)  # fmt: skip


def measure(*, quick: bool) -> list[Figure]:
    """Every figure of this benchmark."""
    from bench.api_poll import poll_breakdown

    samples, payments = (30, 300) if quick else (200, 10_000)
    try:
        figures = asyncio.run(_measure(samples, payments))
    except Exception as exc:  # noqa: BLE001 - a broken run is a row that says why
        figures = [not_measured(SECTION, "api", f"{type(exc).__name__}: {exc}")]
    return [*figures, *poll_breakdown(quick=quick), _cold_start()]


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="fewer samples and payments")
    args = parser.parse_args(argv)
    print_figures(measure(quick=args.quick), as_json=args.json)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
