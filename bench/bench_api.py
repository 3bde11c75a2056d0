"""The integrator API's figures: latency through it, events, load, cold start, memory.

    .venv/bin/python -m bench.bench_api            # the table
    .venv/bin/python -m bench.bench_api --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_api --quick    # fewer samples, 300 payments for RSS

The terminal runs in this process with the API on 127.0.0.1 over TLS (its own
self-signed certificate, pinned by the client) and its provider is the bench sandbox,
which notes when each request arrives. Figures:

1. API create → provider request: from the POS sending ``POST /v1/payments`` to the
   provider receiving the invoice request (p50, p99).
2. state change → SSE event received: from the journal write of a payment's step to a
   client of ``GET /v1/events`` reading its event (p99).
3. scan → provider request while 50 clients poll ``GET /v1/terminal`` 10 times a second
   (from another process, as POS machines would): the keypad path, with the API busy.
4. cold start → READY with the API on: a new process, until the terminal is started.
5. RSS after N API payments, paid (10 000; 300 with --quick).

It exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.measure import percentile, rss_bytes  # noqa: E402
from bench.report import Figure, not_measured, print_figures  # noqa: E402
from bench.rig import ALIPAY_CODE, BenchSandbox, Watch, bench_config, wait  # noqa: E402
from terminal.app import Terminal  # noqa: E402
from terminal.clock import FakeClock  # noqa: E402
from terminal.config.model import ApiConfig  # noqa: E402
from terminal.machine import ButtonPressed, CodeScanned, KeyPressed  # noqa: E402

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


@contextlib.asynccontextmanager
async def _terminal(data_dir: Path) -> AsyncIterator[tuple[Terminal, BenchSandbox, list[int]]]:
    arrivals: list[int] = []
    sandbox = BenchSandbox(data_dir / "ledger.sqlite3",
                           on_request=lambda request, ns: arrivals.append(ns))  # fmt: skip
    url = await sandbox.start()
    config = bench_config(data_dir, url)
    config = dataclasses.replace(config, api=ApiConfig(enabled=True, host="127.0.0.1", port=0))
    try:
        async with Terminal(config, FakeClock()) as terminal:
            runner = asyncio.create_task(terminal.runtime.run())
            await terminal.runtime.wait_idle()
            try:
                yield terminal, sandbox, arrivals
            finally:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError, BaseExceptionGroup):
                    await runner
    finally:
        await sandbox.aclose()


async def _pair(terminal: Terminal, tls: ssl.SSLContext) -> str:
    await terminal.api.api.pairings.open()
    await terminal.runtime.wait_idle()
    code = terminal.runtime.state.pairing_code
    async with httpx.AsyncClient(base_url=terminal.api.url, verify=tls, trust_env=False) as c:
        answer = await c.post("/v1/pairings", json={"code": code, "name": "bench"})
    return str(answer.json()["api_key"])


async def _pay_by_api(
    terminal: Terminal, sandbox: BenchSandbox, watch: Watch, client: httpx.AsyncClient, n: int
) -> int:
    """One API payment to paid; returns the ns the create was sent at."""
    waiting, done = watch.expect_phase("waiting"), watch.expect_phase("done")
    sent = time.perf_counter_ns()
    answer = await client.post("/v1/payments", json=BODY, headers={"Idempotency-Key": f"b{n}"})
    if answer.status_code != 201:
        raise RuntimeError(f"create answered {answer.status_code}: {answer.text}")
    await wait(waiting, "waiting for the customer")
    sandbox.ledger.customer("pay", answer.json()["id"])
    assert isinstance(terminal.clock, FakeClock)
    for _ in range(50):
        terminal.clock.advance(3.0)
        finished, _ = await asyncio.wait({done}, timeout=0.2)
        if finished:
            break
    await wait(done, "the paid result")
    await terminal.runtime.wait_idle()
    return sent


async def _measure(samples: int, payments: int) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="payterm-bench-api-") as folder:
        async with _terminal(Path(folder)) as (terminal, sandbox, arrivals):
            watch = Watch(terminal)
            cert = terminal.api.certificate.cert_path
            tls = ssl.create_default_context(cafile=str(cert))
            key = await _pair(terminal, tls)
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=terminal.api.url, verify=tls, headers=headers,
                                         trust_env=False, timeout=10) as client:  # fmt: skip
                # 1 and 2: create → provider request, and state change → SSE event.
                recorded: dict[tuple[str, str], int] = {}
                terminal.runtime.subscribe(lambda name, d: recorded.setdefault(
                    (d["order_id"], d["state"]), time.perf_counter_ns())
                    if name == "journal:record" else None)  # fmt: skip
                received: list[int] = []
                events = asyncio.create_task(_listen(client, recorded, received))
                create_ms: list[float] = []
                for n in range(samples):
                    before = len(arrivals)
                    sent = await _pay_by_api(terminal, sandbox, watch, client, n)
                    create_ms.append((arrivals[before] - sent) / 1e6)
                await asyncio.sleep(0.1)
                events.cancel()
                figures += [
                    Figure(SECTION, "create_p50", "API create → provider request p50",
                           percentile(create_ms, 0.5), "ms", 10.0),
                    Figure(SECTION, "create_p99", "API create → provider request p99",
                           percentile(create_ms, 0.99), "ms", 30.0),
                    Figure(SECTION, "sse_p99", "state change → SSE event received p99",
                           percentile([r / 1e6 for r in received], 0.99) if received else None,
                           "ms", 20.0, note=f"{len(received)} events"),
                ]  # fmt: skip
                # 3: scan → provider request with 50 pollers in another process.
                pollers = subprocess.Popen(
                    [sys.executable, "-c", POLLERS, terminal.api.url, key, str(cert)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                try:
                    await asyncio.sleep(1.0)
                    scan_ms = [await _scan_once(terminal, watch, arrivals) for _ in range(samples)]
                finally:
                    pollers.terminate()
                    pollers.wait(timeout=10)
                figures.append(Figure(
                    SECTION, "scan_loaded_p99", "scan → provider request p99, 50 clients polling",
                    percentile(scan_ms, 0.99), "ms", 20.0))  # fmt: skip
                # 5: RSS after many payments (this process: terminal, sandbox and client).
                before_mb = rss_bytes() / 2**20
                for n in range(samples, samples + payments):
                    await _pay_by_api(terminal, sandbox, watch, client, n)
                after_mb = rss_bytes() / 2**20
                figures += [
                    Figure(SECTION, "rss", f"RSS after {payments} API payments (API on)",
                           after_mb, "MB", 80.0,
                           note="the bench's process: terminal, sandbox and the POS client"),
                    Figure(SECTION, "rss_growth", f"RSS growth over those {payments} payments",
                           after_mb - before_mb, "MB"),
                ]  # fmt: skip
            watch.close()
    return figures


async def _listen(
    client: httpx.AsyncClient, recorded: dict[tuple[str, str], int], received: list[int]
) -> None:
    import json

    async with client.stream("GET", "/v1/events", timeout=None) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
                payment = data.get("payment")
                if payment is None:
                    continue
                at = recorded.get((payment["id"], payment["history"][-1]["state"]))
                if at is not None:
                    received.append(time.perf_counter_ns() - at)


async def _scan_once(terminal: Terminal, watch: Watch, arrivals: list[int]) -> float:
    runtime = terminal.runtime
    waiting = watch.expect_phase("waiting")
    for key in ("1", "2", "3", "enter"):
        runtime.feed(KeyPressed(key))
    await runtime.wait_idle()
    before = len(arrivals)
    scanned = time.perf_counter_ns()
    runtime.feed(CodeScanned(ALIPAY_CODE))
    await wait(waiting, "waiting for the customer")
    elapsed = (arrivals[before] - scanned) / 1e6
    done = watch.expect_phase("done")
    runtime.feed(ButtonPressed("cancel"))
    await wait(done, "cancelled")
    await runtime.wait_idle()
    return elapsed


def _cold_start() -> Figure:
    """A new process until the terminal with the API on is started (READY)."""
    code = (
        "import asyncio, dataclasses, sys\n"
        "from pathlib import Path\n"
        "from terminal.app import Terminal\n"
        "from terminal.clock import SystemClock\n"
        "from terminal.config.loader import demo_config\n"
        "from terminal.config.model import ApiConfig\n"
        "async def main():\n"
        "    config = demo_config(Path(sys.argv[1]))\n"
        "    config = dataclasses.replace(config, api=ApiConfig(enabled=True, host='127.0.0.1',"
        " port=0))\n"
        "    async with Terminal(config, SystemClock()) as t:\n"
        "        await t.runtime.run(on_started=lambda: (print('READY', flush=True),"
        " asyncio.get_running_loop().call_soon(asyncio.ensure_future, t.runtime.stop(0))))\n"
        "asyncio.run(main())\n"
    )
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="payterm-bench-cold-") as folder:
        for attempt in range(4):
            started = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-c", code, folder], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True,
                                     env=dict(os.environ))  # fmt: skip
            assert child.stdout is not None
            line = child.stdout.readline()
            elapsed = time.perf_counter() - started
            child.wait(timeout=30)
            if line.strip() != "READY":
                return not_measured(SECTION, "cold_start", "the child never said READY")
            if attempt:  # the first run made the certificate and the journal
                times.append(elapsed)
    return Figure(SECTION, "cold_start", "cold start → READY with the API on (best of 3)",
                  min(times), "s", 1.0)  # fmt: skip


def measure(*, quick: bool) -> list[Figure]:
    """Every figure of this benchmark."""
    samples, payments = (30, 300) if quick else (200, 10_000)
    try:
        figures = asyncio.run(_measure(samples, payments))
    except Exception as exc:  # noqa: BLE001 - a broken run is a row that says why
        figures = [not_measured(SECTION, "api", f"{type(exc).__name__}: {exc}")]
    return [*figures, _cold_start()]


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="fewer samples and payments")
    args = parser.parse_args(argv)
    print_figures(measure(quick=args.quick), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
