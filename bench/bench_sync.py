"""Sync upstream: draining a backlog over a 50 ms round trip, and what sync costs the terminal.

    .venv/bin/python -m bench.bench_sync            # 10 000 records, 10 000 payments
    .venv/bin/python -m bench.bench_sync --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_sync --quick    # 2 000 records, 300 payments

1. Drain: a journal holding a backlog is sent to a webhook behind a loopback proxy that
   delays each direction by 25 ms (the receiver and proxy run in a process of their own).
   Batches of 100 against one record per round trip (timed on a sample and scaled): the
   speed-up, the share of the link used (round trips needed / time taken), bytes on the
   wire per record, the terminal's CPU seconds per 1 000 records, and the disk bytes
   written per record sent (the WAL's growth: watermark updates only).
2. Scan -> provider request p99 while a backlog drains to that webhook (real clock).
3. RSS after taking payments with a webhook and an MQTT target on (Mosquitto, when
   installed), every record sent.
It exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import _one_payment, _Stamps  # noqa: E402
from bench.measure import cpu_seconds, percentile, rss_bytes  # noqa: E402
from bench.report import Figure, not_measured, print_figures  # noqa: E402
from bench.rig import BenchSandbox, Watch, bench_config, pay_once  # noqa: E402
from bench.sync_link import SECRET, Link  # noqa: E402
from terminal.app import JOURNAL_FILE, Terminal  # noqa: E402
from terminal.clock import FakeClock, SystemClock  # noqa: E402
from terminal.config.loader import parse_config  # noqa: E402
from terminal.config.model import Config  # noqa: E402
from terminal.journal import Journal  # noqa: E402
from terminal.journal.sync_marks import target_marks  # noqa: E402
from terminal.money import Money  # noqa: E402
from terminal.payment import Payment, PaymentState  # noqa: E402
from terminal.sync.service import SyncService  # noqa: E402

__all__ = ["main"]

RTT_S = 0.050
WALL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
S_DRAIN, S_LATENCY, S_RSS = "1. drain over 50 ms", "2. latency while draining", "3. memory"


def _fill(path: Path, count: int) -> None:
    with Journal.open(path, terminal_id="T0001") as journal:
        for _ in range(count):
            seq = journal.next_seq()
            order = f"T0001-{journal.epoch}-{seq:06d}"
            payment = Payment(order, seq, 1, "cpm", "sandbox", Money(150_00, "RUB"),
                              PaymentState.NEW, code_masked="2866**********1234",
                              created_wall=WALL.isoformat())  # fmt: skip
            journal.record(payment, note="intent", mono=0.0, wall=WALL, wall_synced=True)
            journal.record(payment.with_state(PaymentState.PAID, provider_ref=f"SB{seq}"),
                           note="paid", mono=1.0, wall=WALL, wall_synced=True)  # fmt: skip


def _with_sync(
    config: Config, targets: list[dict[str, object]], secrets: dict[str, dict[str, str]]
) -> Config:
    sync = parse_config({"sync": {"targets": targets}}).sync
    return dataclasses.replace(
        config, sync=sync, secrets=dataclasses.replace(config.secrets, sync_secrets=secrets)
    )


async def _drain(folder: Path, link: Link, count: int, batch: int) -> dict[str, float]:
    path = folder / JOURNAL_FILE
    _fill(path, count)
    config = _with_sync(parse_config({"terminal": {"data_dir": str(folder)}}),
                        [{"name": "pos", "kind": "webhook", "url": link.url, "batch_size": batch}],
                        {"pos": {"secret": SECRET}})  # fmt: skip
    with Journal.open(path, terminal_id="T0001") as journal:
        service = SyncService(config, journal, SystemClock(assume_synced=True))
        wal = Path(f"{path}-wal")
        wal_before = wal.stat().st_size if wal.exists() else 0
        link.reset()
        cpu, started = cpu_seconds(), time.perf_counter()
        task = asyncio.ensure_future(service.run_forever())
        while target_marks(journal.database)[0].acked_through < count:
            await asyncio.sleep(0.005)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        wal_after = wal.stat().st_size if wal.exists() else 0
    stats = link.stats()
    wire, batches = float(stats["up"] + stats["down"]), float(stats["batches"])
    return {"seconds": seconds, "cpu": cpu, "wal": float(wal_after - wal_before),
            "bytes": wire, "batches": batches}  # fmt: skip


async def drain_figures(out: Path, link: Link, quick: bool) -> list[Figure]:
    count, sample = (2000, 20) if quick else (10_000, 100)
    batched = await _drain(out / "batched", link, count, 100)
    single = await _drain(out / "single", link, sample, 1)
    per_batched = batched["seconds"] / count
    per_single = single["seconds"] / sample
    ideal = batched["batches"] * RTT_S
    return [
        Figure(S_DRAIN, "drain_s", f"{count} records in batches of 100", batched["seconds"], "s"),
        Figure(
            S_DRAIN,
            "single_s",
            f"{count} records one per round trip (from {sample})",
            per_single * count,
            "s",
        ),  # fmt: skip
        Figure(
            S_DRAIN,
            "speedup_shortfall",
            "one-per-trip time / batched time, below 25x",
            max(0.0, 25.0 - per_single / per_batched),
            "x",
            0.0,
            note=f"speed-up {per_single / per_batched:.1f}x",
        ),  # fmt: skip
        Figure(
            S_DRAIN,
            "link_unused_pct",
            "share of the time not spent on needed round trips",
            100.0 * (1 - ideal / batched["seconds"]),
            "%",
            20.0,
        ),  # fmt: skip
        Figure(
            S_DRAIN,
            "wire_bytes",
            "bytes on the wire per record (both ways)",
            batched["bytes"] / count,
            "B",
        ),  # fmt: skip
        Figure(
            S_DRAIN,
            "cpu_per_1000",
            "terminal CPU seconds per 1 000 records",
            batched["cpu"] / count * 1000,
            "s",
        ),  # fmt: skip
        Figure(
            S_DRAIN,
            "disk_per_record",
            "disk bytes written per record sent (WAL growth)",
            batched["wal"] / count,
            "B",
            512.0,
        ),  # fmt: skip
    ]


async def latency_figures(out: Path, link: Link, quick: bool) -> list[Figure]:
    backlog, payments = (2000, 60) if quick else (10_000, 300)
    data = out / "latency"
    data.mkdir()
    _fill(data / JOURNAL_FILE, backlog)
    stamps = _Stamps()
    sandbox = BenchSandbox(out / "sandbox.sqlite3", on_request=stamps.on_request)
    totals: list[float] = []
    try:
        url = await sandbox.start()
        config = _with_sync(bench_config(data, url),
                            [{"name": "pos", "kind": "webhook", "url": link.url}],
                            {"pos": {"secret": SECRET}})  # fmt: skip
        async with Terminal(config, SystemClock()) as terminal:
            watch = Watch(terminal)
            terminal.runtime.subscribe(stamps.on_report)
            runner = asyncio.ensure_future(terminal.runtime.run())
            await terminal.runtime.wait_idle()
            for _ in range(payments):
                totals.append((await _one_payment(terminal, watch, stamps))["total"])
            left = terminal.journal.outbox_count(limit=1_000_000)
            watch.close()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
    finally:
        await sandbox.aclose()
    return [
        Figure(
            S_LATENCY,
            "p50_ms",
            f"scan -> request p50, {backlog} records draining",
            percentile(totals, 0.5),
            "ms",
        ),  # fmt: skip
        Figure(
            S_LATENCY,
            "p99_ms",
            "scan -> request p99 while draining",
            percentile(totals, 0.99),
            "ms",
            20.0,
            note=f"{left} records still unsent at the end",
        ),  # fmt: skip
    ]


def _mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        return None, ""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = folder / "mosquitto.conf"
    user = f"user {os.environ.get('USER', 'root')}\n" if os.geteuid() == 0 else ""
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{user}")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc, f"mqtt://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None, ""


async def rss_figures(out: Path, link: Link, quick: bool) -> list[Figure]:
    payments = 300 if quick else 10_000
    broker, mqtt_url = _mosquitto(out)
    targets: list[dict[str, object]] = [{"name": "pos", "kind": "webhook", "url": link.url}]
    if mqtt_url:
        targets.append({"name": "fleet", "kind": "mqtt", "url": mqtt_url})
    sandbox = BenchSandbox(out / "sandbox-rss.sqlite3")
    clock = FakeClock()
    try:
        url = await sandbox.start()
        config = _with_sync(bench_config(out / "rss", url), targets, {"pos": {"secret": SECRET}})
        async with Terminal(config, clock) as terminal:
            watch = Watch(terminal)
            runner = asyncio.ensure_future(terminal.runtime.run())
            await terminal.runtime.wait_idle()
            for _ in range(payments):
                await pay_once(terminal, sandbox, watch, clock, cpm=True)
            for _ in range(3000):
                if terminal.journal.outbox_count() == 0:
                    break
                await asyncio.sleep(0.01)
            left = terminal.journal.outbox_count(limit=1_000_000)
            rss = rss_bytes()
            watch.close()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
    finally:
        await sandbox.aclose()
        if broker is not None:
            broker.kill()
            broker.wait()
    on = "webhook and MQTT" if mqtt_url else "webhook (no mosquitto installed)"
    return [Figure(S_RSS, "rss_mb", f"RSS after {payments} payments, {on} on", rss / 2**20, "MB",
                   80.0, note=f"{left} records unsent at the end")]  # fmt: skip


async def measure(quick: bool) -> list[Figure]:
    """Every figure of the three parts (a part that breaks is a not-measured row)."""
    figures: list[Figure] = []
    link = Link(RTT_S)
    with tempfile.TemporaryDirectory(prefix="payterm-bench-sync-") as folder:
        try:
            for name, part in (("drain", drain_figures), ("latency", latency_figures),
                               ("rss", rss_figures)):  # fmt: skip
                sub = Path(folder) / name
                sub.mkdir()
                try:
                    figures += await part(sub, link, quick)
                except Exception as exc:  # noqa: BLE001 - a broken part is a row, not a crash
                    figures.append(not_measured(name, name, repr(exc)))
        finally:
            link.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="2 000 records, 300 payments")
    args = parser.parse_args(argv)
    print_figures(asyncio.run(measure(args.quick)), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
