"""PayMaster over its loopback fake: what reading the refund list adds to a query and a refund.

    .venv/bin/python -m bench.bench_paymaster_refunds            # the table
    .venv/bin/python -m bench.bench_paymaster_refunds --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_paymaster_refunds --quick    # 50 rounds instead of 500

A refunded PayMaster payment stays ``Settled``, so a query that finds a payment settled
also reads its refund list (one more GET), and a refund PayMaster answers as a duplicate
is looked up there. Timed on one kept-alive loopback connection, per call: a query of a
pending payment (one GET, the polling cost), of a settled one (GET + refund list), and a
refund repeated under a booked key, as after a lost answer (POST + refund list). The figures are the
driver's and the fake's own work; a real network adds its round trips per GET. It exits
0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, print_figures  # noqa: E402
from terminal.config.model import ProviderConfig  # noqa: E402
from terminal.money import Money  # noqa: E402
from terminal.providers.base import Order, PaymentStatus, Provider, ProviderAnswer  # noqa: E402
from terminal.providers.paymaster.fake import PayMasterFake  # noqa: E402
from terminal.providers.registry import build_provider  # noqa: E402
from terminal.providers.sandbox.server import SandboxServer  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "PayMaster refund list (loopback)"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


async def _timed(samples: list[float], call: Awaitable[ProviderAnswer]) -> ProviderAnswer:
    started = time.perf_counter()
    result = await call
    samples.append((time.perf_counter() - started) * 1000)
    return result


async def _round(
    server: SandboxServer, provider: Provider, n: int, times: dict[str, list[float]]
) -> None:
    order = Order(f"T0001-be00-{n:06d}", Money(15_000, "RUB"), "Bench")
    await provider.create_invoice(order)
    pending = await _timed(times["pending"], provider.query(order))
    assert pending.status is PaymentStatus.PENDING
    server.ledger.customer("pay", order.order_id)
    settled = await _timed(times["settled"], provider.query(order))
    assert settled.status is PaymentStatus.PAID
    await provider.refund(order, f"{order.order_id}-void", order.amount)
    again = await _timed(
        times["repeat"], provider.refund(order, f"{order.order_id}-void", order.amount)
    )
    assert again.status is PaymentStatus.REFUNDED


async def _measure(rounds: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        options, secrets = dict(PayMasterFake.DEMO_OPTIONS), dict(PayMasterFake.DEMO_SECRETS)
        server = SandboxServer(
            Path(folder) / "ledger.sqlite3", driver="paymaster", options=options, secrets=secrets
        )
        url = await server.start()
        cfg = ProviderConfig(driver="paymaster", url=url, options=options, read_timeout_s=5.0)
        provider = build_provider("paymaster", cfg, api_key=None, secrets=secrets)
        times: dict[str, list[float]] = {"pending": [], "settled": [], "repeat": []}
        try:
            for n in range(rounds):
                await _round(server, provider, n, times)
        finally:
            await provider.aclose()
            await server.stop()
    figures: list[Figure] = []
    labels = {
        "pending": "query, pending payment (1 GET)",
        "settled": "query, settled payment (GET + refund list)",
        "repeat": "refund repeated under a booked key (POST + refund list)",
    }
    for key, label in labels.items():
        p50, p99 = _percentiles(times[key])
        figures.append(Figure(SECTION, f"{key}_p50", f"{label}, p50", p50, "ms"))
        figures.append(Figure(SECTION, f"{key}_p99", f"{label}, p99", p99, "ms"))
    return figures


def measure(rounds: int) -> list[Figure]:
    """Run ``rounds`` payments through PayMaster's fake and time the three calls."""
    return asyncio.run(_measure(rounds))


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="50 rounds instead of 500")
    args = parser.parse_args(argv)
    print_figures(measure(50 if args.quick else 500), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
