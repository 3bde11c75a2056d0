"""Where one ``GET /v1/terminal`` poll spends the terminal's loop, piece by piece.

Measured in this process on the terminal's own code (the demo terminal, the API on): the
key check (hashing the bearer key and finding it among the paired keys), building the
status document and encoding it, serving it from :class:`terminal.api.status.TerminalStatus`
when nothing changed, and the whole request through the Starlette app (routing, the
guard, the response) over ASGI without a socket. What the loaded figure adds beyond the
last one is uvicorn's h11 parsing, TLS and the sockets.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, not_measured
from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.config.loader import demo_config
from terminal.config.model import ApiConfig

__all__ = ["poll_breakdown"]

SECTION = "integrator API"


def _per_call_us(call: Callable[[], object], n: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - started) / n / 1e3


async def _breakdown(n: int) -> list[Figure]:
    from terminal import __version__
    from terminal.api.routes import build_app
    from terminal.api.status import terminal_resource

    with tempfile.TemporaryDirectory(prefix="payterm-bench-poll-") as folder:
        config = demo_config(Path(folder))
        config = replace(config, api=ApiConfig(enabled=True, host="127.0.0.1", port=0))
        async with Terminal(config, FakeClock()) as terminal:
            runner = asyncio.create_task(terminal.runtime.run())
            try:
                await terminal.runtime.wait_idle()
                api = terminal.api.api
                await api.pairings.open()
                await terminal.runtime.wait_idle()
                code = terminal.runtime.state.pairing_code
                answer = await api.pairings.pair(_pairing(code))
                bearer = f"Bearer {answer['api_key']}"
                await terminal.runtime.wait_idle()

                def build() -> bytes:
                    document = terminal_resource(terminal.runtime, terminal.journal, api.hub,
                                                 __version__)  # fmt: skip
                    return json.dumps(document, separators=(",", ":")).encode()

                auth_us = _per_call_us(lambda: api.pairings.authenticate(bearer), n)
                build_us = _per_call_us(build, n)
                cached_us = _per_call_us(api.status.body, n)
                transport = httpx.ASGITransport(app=build_app(api))
                headers = {"Authorization": bearer}
                async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                             headers=headers) as client:  # fmt: skip
                    await client.get("/v1/terminal")
                    started = time.perf_counter_ns()
                    for _ in range(n // 10):
                        await client.get("/v1/terminal")
                    asgi_us = (time.perf_counter_ns() - started) / (n // 10) / 1e3
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
    note = "per poll, this process"
    return [
        Figure(SECTION, "poll_auth_us", "poll: key check", auth_us, "µs", note=note),
        Figure(SECTION, "poll_build_us", "poll: status document built and encoded",
               build_us, "µs", note=note),
        Figure(SECTION, "poll_cached_us", "poll: status document served from its cache",
               cached_us, "µs", note=note),
        Figure(SECTION, "poll_asgi_us", "poll: whole request through Starlette (no socket)",
               asgi_us, "µs", note="includes the httpx client's side"),
    ]  # fmt: skip


def _pairing(code: str) -> Any:
    from terminal.api.bodies import CreatePairing

    return CreatePairing(code=code, name="bench")


def poll_breakdown(*, quick: bool) -> list[Figure]:
    """The cost of one poll's pieces (fewer repetitions with ``quick``)."""
    try:
        return asyncio.run(_breakdown(2_000 if quick else 20_000))
    except Exception as exc:  # noqa: BLE001 - a broken run is a row that says why
        return [not_measured(SECTION, "poll", f"{type(exc).__name__}: {exc}")]
