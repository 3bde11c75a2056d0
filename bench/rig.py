"""The bench rig: a loopback sandbox the bench can watch, a terminal pointed at it, and drivers.

:class:`BenchSandbox` runs on 127.0.0.1 in the benchmark's own process, built from the
product's own parts (:class:`LoopbackHTTPServer` over :class:`SandboxApp` over
:class:`SandboxLedger`), with one hook called as each request arrives.
:class:`ChildSandbox` is ``payterm sandbox`` in a child process, for a benchmark that must not
count the sandbox's work as the terminal's. The terminal is the real :class:`Terminal` whose
provider URL points at either, so the journal and the ledger can live on different disks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from terminal.app import Terminal
from terminal.clock import Clock, FakeClock
from terminal.config.loader import demo_config
from terminal.config.model import Config
from terminal.machine import ButtonPressed, CodeScanned, KeyPressed
from terminal.providers.loopback_http import LoopbackHTTPServer, Request, Response
from terminal.providers.sandbox.app import SandboxApp
from terminal.providers.sandbox.ledger import CustomerAction, SandboxLedger

__all__ = [
    "ALIPAY_CODE",
    "BenchSandbox",
    "ChildSandbox",
    "Watch",
    "bench_config",
    "running_terminal",
    "terminal_at",
    "type_amount",
    "pay_once",
    "cancel_once",
    "cancel_waiting",
    "wait",
    "StalledError",
]

#: A customer code the demo routes to the sandbox as Alipay (prefix 28, 18 digits).
ALIPAY_CODE = "286648397128431234"
#: How long a driver waits for the terminal to reach a phase before calling it stalled.
STALL_S = 10.0

Predicate = Callable[[str, dict[str, Any]], bool]


class StalledError(RuntimeError):
    """The terminal did not reach the awaited point in time; the benchmark cannot go on."""


class BenchSandbox:
    """The sandbox on 127.0.0.1 with its ledger at ``ledger_path``; ``on_request`` sees arrivals.

    ``on_request(request, arrived_ns)`` is called with ``time.perf_counter_ns()`` when the
    server has read a whole request and before the sandbox handles it. Loop-only.
    """

    def __init__(
        self,
        ledger_path: Path,
        *,
        on_request: Callable[[Request, int], None] | None = None,
    ) -> None:
        self.ledger_path = ledger_path
        self.on_request = on_request
        self.ledger = SandboxLedger.open(ledger_path)
        self._app = SandboxApp(self.ledger)
        self._http = LoopbackHTTPServer(self._handle, "127.0.0.1", 0)

    async def start(self) -> str:
        """Start serving and return the base URL."""
        return await self._http.start()

    async def customer(self, action: CustomerAction, order_id: str) -> None:
        """Have the customer ``action`` ("pay", "decline", ...) the order at the ledger."""
        self.ledger.customer(action, order_id)

    async def aclose(self) -> None:
        """Stop serving and close the ledger."""
        try:
            await self._http.stop()
        finally:
            self.ledger.close()

    async def _handle(self, request: Request) -> Response:
        if self.on_request is not None:
            self.on_request(request, time.perf_counter_ns())
        return await self._app(request)


class ChildSandbox:
    """``payterm sandbox`` in a child process, its ledger at ``ledger_path``, on a free port.

    Its HTTP work, ledger writes and fsyncs happen in that process, so they never show in
    the benchmark's own loop. The customer acts over its ``/control/customer`` endpoint.
    """

    def __init__(self, ledger_path: Path) -> None:
        self.ledger_path = ledger_path
        self.url = ""
        self._process: asyncio.subprocess.Process | None = None
        self._client: httpx.AsyncClient | None = None
        self._drain: asyncio.Future[None] | None = None

    async def start(self) -> str:
        """Start the child, wait for its "serving" line and return the base URL."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "terminal", "sandbox", "--port", "0",
            "--ledger", str(self.ledger_path),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stderr is not None
        said: list[str] = []
        try:
            async with asyncio.timeout(STALL_S):
                while not self.url:
                    line = (await self._process.stderr.readline()).decode(errors="replace")
                    if not line:
                        raise StalledError(f"payterm sandbox ended: {''.join(said)[-300:]}")
                    said.append(line)
                    if found := re.search(r"sandbox:serving (http://\S+)", line):
                        self.url = found.group(1)
        except TimeoutError:
            raise StalledError("payterm sandbox never said it was serving") from None
        self._drain = asyncio.ensure_future(self._discard(self._process.stderr))
        self._client = httpx.AsyncClient(base_url=self.url, timeout=STALL_S, trust_env=False)
        return self.url

    async def customer(self, action: CustomerAction, order_id: str) -> None:
        """Have the customer ``action`` ("pay", "decline", ...) the order at the sandbox."""
        assert self._client is not None, "start() first"
        response = await self._client.post(
            "/control/customer", json={"action": action, "order_id": order_id}
        )
        response.raise_for_status()

    async def aclose(self) -> None:
        """Stop the child and wait for it."""
        if self._client is not None:
            await self._client.aclose()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._drain is not None:
            self._drain.cancel()

    @staticmethod
    async def _discard(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass


class Watch:
    """Lets the bench await what the runtime reports (phases, slips) without polling.

    It also listens to the log: every ERROR record is kept in :attr:`errors` and reported
    to waiters as ``("bench:error", {"message": ...})``, so a failing print task ends a
    wait instead of stalling it. :meth:`close` stops listening.
    """

    def __init__(self, terminal: Terminal) -> None:
        self._terminal = terminal
        self._waiters: list[tuple[Predicate, asyncio.Future[dict[str, Any]]]] = []
        self.errors: list[str] = []
        self._log = _ErrorLog(self._logged, asyncio.get_running_loop())
        logging.getLogger().addHandler(self._log)
        terminal.runtime.subscribe(self._seen)

    def close(self) -> None:
        """Stop listening to the log."""
        logging.getLogger().removeHandler(self._log)

    def expect(self, predicate: Predicate) -> asyncio.Future[dict[str, Any]]:
        """A future set by the next report for which ``predicate(name, details)`` holds."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future

    def expect_phase(self, phase: str) -> asyncio.Future[dict[str, Any]]:
        """A future set when the machine next enters ``phase``."""
        return self.expect(lambda name, d: name == "machine:state" and d["new"] == phase)

    def expect_slip(self, kind: str) -> asyncio.Future[dict[str, Any]]:
        """A future set when a slip of ``kind`` is out, or printing failed, or an error logged."""
        return self.expect(
            lambda name, d: (
                (name == "printer:slip" and d["kind"] == kind)
                or name in ("printer:failed", "bench:error")
            )
        )

    def _logged(self, message: str) -> None:
        self.errors.append(message)
        self._seen("bench:error", {"message": message})

    def _seen(self, name: str, details: dict[str, Any]) -> None:
        keep: list[tuple[Predicate, asyncio.Future[dict[str, Any]]]] = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            if predicate(name, details):
                future.set_result(details)
            else:
                keep.append((predicate, future))
        self._waiters = keep


class _ErrorLog(logging.Handler):
    """Hands each ERROR record's message to ``on_error`` on the loop's thread."""

    def __init__(self, on_error: Callable[[str], None], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.ERROR)
        self._on_error = on_error
        self._loop = loop

    def emit(self, record: logging.LogRecord) -> None:
        message = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        self._loop.call_soon_threadsafe(self._on_error, message)


async def wait(future: asyncio.Future[dict[str, Any]], what: str) -> dict[str, Any]:
    """Await ``future`` for at most :data:`STALL_S`; :class:`StalledError` names ``what``."""
    try:
        return await asyncio.wait_for(future, STALL_S)
    except TimeoutError:
        raise StalledError(f"the terminal never reached: {what}") from None


def bench_config(data_dir: Path, sandbox_url: str) -> Config:
    """The demo configuration with its provider pointed at the bench's sandbox."""
    config = demo_config(data_dir)
    provider = dataclasses.replace(config.providers["sandbox"], url=sandbox_url)
    return dataclasses.replace(config, providers={"sandbox": provider})


@contextlib.asynccontextmanager
async def running_terminal(
    data_dir: Path,
    ledger_path: Path,
    clock: Clock,
    *,
    on_request: Callable[[Request, int], None] | None = None,
) -> AsyncIterator[tuple[Terminal, BenchSandbox, Watch]]:
    """A bench sandbox and a terminal using it, with the runtime running, until exit."""
    sandbox = BenchSandbox(ledger_path, on_request=on_request)
    try:
        url = await sandbox.start()
        async with terminal_at(data_dir, url, clock) as (terminal, watch):
            yield terminal, sandbox, watch
    finally:
        await sandbox.aclose()


@contextlib.asynccontextmanager
async def terminal_at(
    data_dir: Path, sandbox_url: str, clock: Clock
) -> AsyncIterator[tuple[Terminal, Watch]]:
    """The terminal with its provider at ``sandbox_url``, its runtime running, until exit."""
    async with Terminal(bench_config(data_dir, sandbox_url), clock) as terminal:
        watch = Watch(terminal)
        runner = asyncio.create_task(terminal.runtime.run())
        try:
            await terminal.runtime.wait_idle()
            yield terminal, watch
        finally:
            watch.close()
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, BaseExceptionGroup):
                await runner


def type_amount(terminal: Terminal, amount_minor: int) -> None:
    """Queue the keypad presses that type ``amount_minor``."""
    for digit in str(amount_minor):
        terminal.runtime.feed(KeyPressed(digit))


async def pay_once(
    terminal: Terminal,
    sandbox: BenchSandbox | ChildSandbox,
    watch: Watch,
    clock: FakeClock,
    *,
    cpm: bool,
) -> int:
    """One complete paid payment on a fake clock, back to idle; returns clock nudges needed.

    CPM: amount, scan. MPM: amount, Enter, Enter. Either way the customer pays at the
    sandbox, the clock is moved to the first poll (which sees it paid and prints the
    slip), then past the result screen back to idle. A failed print ends the slip wait
    (it is in ``watch.errors`` or reported as ``printer:failed``).
    """
    runtime = terminal.runtime
    waiting, done = watch.expect_phase("waiting"), watch.expect_phase("done")
    slip = watch.expect_slip("payment")
    type_amount(terminal, 100 + runtime.state.next_seq % 900)
    if cpm:
        runtime.feed(CodeScanned(ALIPAY_CODE))
    else:
        runtime.feed(KeyPressed("enter"))
        runtime.feed(KeyPressed("enter"))
    await wait(waiting, "waiting for the customer")
    payment = runtime.state.payment
    assert payment is not None
    await sandbox.customer("pay", payment.order_id)
    # The cadence in force: the driver's own unless the config sets one.
    caps = runtime.state.settings.capabilities("sandbox")
    settle = runtime.wait_idle
    nudges = await _advance_until(clock, caps.first_poll_delay_s, done, "the paid result", settle)
    await wait(slip, "the payment slip")
    idle = watch.expect_phase("idle")
    nudges += await _advance_until(
        clock, terminal.config.terminal.result_screen_s, idle, "idle", settle
    )
    return nudges


async def cancel_once(terminal: Terminal, watch: Watch, code: str = ALIPAY_CODE) -> None:
    """Start a CPM payment, cancel it while the customer confirms, return to idle (any clock)."""
    runtime = terminal.runtime
    waiting = watch.expect_phase("waiting")
    type_amount(terminal, 100 + runtime.state.next_seq % 900)
    runtime.feed(CodeScanned(code))
    await wait(waiting, "waiting for the customer")
    await cancel_waiting(terminal, watch)


async def cancel_waiting(terminal: Terminal, watch: Watch) -> None:
    """From the "confirm in the app" wait: Cancel, then Enter on the result, then quiet idle."""
    runtime = terminal.runtime
    done, idle = watch.expect_phase("done"), watch.expect_phase("idle")
    runtime.feed(ButtonPressed("cancel"))
    await wait(done, "the cancelled result")
    runtime.feed(KeyPressed("enter"))
    await wait(idle, "idle")
    await runtime.wait_idle()  # the failure slip is printed in a worker thread


async def _advance_until(
    clock: FakeClock,
    seconds: float,
    future: asyncio.Future[dict[str, Any]],
    what: str,
    settle: Callable[[], Awaitable[None]],
) -> int:
    """Move the fake clock by ``seconds`` until ``future`` is set; returns extra nudges.

    ``settle`` waits until the runtime is quiet: its journal commits run on a thread, so the
    timers an effect starts exist only once the commit before them is done.
    """
    nudges = 0
    while True:
        await settle()
        clock.advance(seconds)
        done, _ = await asyncio.wait({future}, timeout=1.0)
        if done:
            return nudges
        nudges += 1
        if nudges * 1.0 >= STALL_S:
            raise StalledError(f"the terminal never reached: {what}")
