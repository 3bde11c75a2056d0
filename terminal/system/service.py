"""``payterm run``: the terminal as a systemd ``Type=notify`` service.

Start: the journal opens, the providers and the hardware that can be found are opened,
payments in doubt are queued for resolution, every input is listened to; then ``READY=1``.
While running: ``WATCHDOG=1`` from a task in the event loop every half watchdog interval
(a stalled loop stops the pings and systemd restarts the service), ``STATUS=`` on change.
SIGTERM or SIGINT: ``STOPPING=1``, input stops, provider calls under way get up to 15 s
to finish with their results journaled, then device and journal close and the process
exits 0. Outside systemd the same runs without the notifications.

A journal that is damaged, emptied or gone (``JournalDamaged``) is refused: with
``wait_on_damage`` (the service) the screen says "Journal damaged — call an administrator",
the status line and the log say why and what to run, and the process waits for a stop
with every file left as it was; by hand, ``payterm run`` exits 2 with the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from terminal.app import Terminal
from terminal.clock import Clock
from terminal.config.model import Config
from terminal.errors import JournalDamaged
from terminal.machine import PrinterReported
from terminal.system.provision_layout import RUN_ERROR, RUN_SSH_ERROR, WAITING_FOR_CONFIG
from terminal.system.sdnotify import Notifier, watchdog_interval_s
from terminal.system.status import StatusReporter
from terminal.views.model import Screen
from terminal.views.screens import config_error_screen, journal_refused_screen

__all__ = [
    "serve",
    "serve_terminal",
    "hold",
    "watchdog_pings",
    "read_config_error",
    "STOP_SIGNALS",
    "CONFIG_ERROR_FILE",
    "SSH_ERROR_FILE",
]

log = logging.getLogger("payterm.service")

#: The signals that stop the service cleanly.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Where the boot-partition import leaves its refusal for the terminal to show.
CONFIG_ERROR_FILE = Path(str(RUN_ERROR))
#: Where the import says what keeps the card's ``ssh`` file from letting anyone in.
SSH_ERROR_FILE = Path(str(RUN_SSH_ERROR))


def read_config_error(path: Path = CONFIG_ERROR_FILE) -> str:
    """The import's refusal of a new configuration, or "" when there is none."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return ""


async def serve(
    config: Config,
    clock: Clock,
    notifier: Notifier,
    *,
    watchdog_s: float | None = None,
    config_error_file: Path = CONFIG_ERROR_FILE,
    wait_on_damage: bool = False,
    show: Callable[[Screen], Any] | None = None,
) -> int:
    """Run the terminal for ``config`` until SIGTERM or SIGINT; return the exit code (0).

    With ``wait_on_damage``, a damaged journal is refused on the screen (``show``, default:
    the configured display), the status line and the log, and the process waits for a stop.

    ``watchdog_s`` is systemd's watchdog timeout (default: from ``$WATCHDOG_USEC``). A
    refusal left in ``config_error_file`` by the boot-partition import is logged and shown
    as a problem of the "config" part (screen and status line): the terminal runs on with
    its previous configuration.
    """
    interval = watchdog_s if watchdog_s is not None else watchdog_interval_s(os.environ)
    stop = asyncio.Event()
    pinger = asyncio.create_task(watchdog_pings(notifier, interval)) if interval else None
    try:
        with _stop_signals(stop):
            try:
                async with Terminal(config, clock) as terminal:
                    if stop.is_set():
                        log.info("stopped while starting")
                        return 0
                    await serve_terminal(
                        terminal, notifier, stop, config_error_file=config_error_file
                    )
            except JournalDamaged as exc:
                if not wait_on_damage:
                    raise
                log.error("journal refused, not taking payments: %s", exc)
                screen = journal_refused_screen(config.terminal.language)
                await _show_until(stop, screen, f"out of service: {exc}", notifier,
                                  show or _configured_display(config))  # fmt: skip
            log.info("stopped")
    finally:
        if pinger is not None:
            pinger.cancel()
        notifier.close()
    return 0


async def serve_terminal(
    terminal: Terminal,
    notifier: Notifier,
    stop: asyncio.Event,
    *,
    config_error_file: Path = CONFIG_ERROR_FILE,
    ssh_error_file: Path = SSH_ERROR_FILE,
) -> None:
    """Run an opened :class:`~terminal.app.Terminal` until ``stop`` is set, then drain it."""
    runtime = terminal.runtime
    refused = read_config_error(config_error_file)
    if refused:
        log.error("new configuration refused, the previous one runs: %s", refused)
        runtime.report_problem("config", f"config refused: {refused}")
    if ssh_note := read_config_error(ssh_error_file):
        log.error("%s", ssh_note)
        runtime.report_problem("ssh", ssh_note)
    reporter = StatusReporter(runtime, terminal.journal, notifier)

    def started() -> None:
        line = reporter.start()
        notifier.ready(line)
        log.info("ready (journal %s)", terminal.journal.path)

    running = asyncio.create_task(runtime.run(on_started=started))
    stopping = asyncio.create_task(stop.wait())
    checking = asyncio.create_task(_check_printer(terminal))
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # the runtime failed: raise it (systemd restarts the service)
            return
        notifier.stopping("stopping")
        log.info("stopping: no new input; waiting for calls under way")
        await runtime.stop()
        await running
    finally:
        reporter.close()
        for task in (stopping, checking, running):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checking


async def hold(
    problem: str,
    notifier: Notifier,
    *,
    watchdog_s: float | None = None,
    show: Callable[[Screen], Any] | None = None,
    config_error_file: Path = CONFIG_ERROR_FILE,
) -> int:
    """No usable configuration: say so on the display, to systemd and in the log, and wait.

    Waiting (rather than exiting) keeps the message on the screen and stops systemd from
    restarting the service in a loop; SIGTERM or SIGINT ends it (exit code 0). ``show``
    puts a screen on a display and returns it, to close at the end (default: the display
    a terminal has when nothing says otherwise). The boot-partition import's refusal, when
    there is one, says more than "no configuration" and is shown instead.
    """
    message = read_config_error(config_error_file) or problem
    interval = watchdog_s if watchdog_s is not None else watchdog_interval_s(os.environ)
    stop = asyncio.Event()
    pinger = asyncio.create_task(watchdog_pings(notifier, interval)) if interval else None
    try:
        with _stop_signals(stop):
            log.error("no usable configuration, not taking payments: %s", message)
            if show is None:
                from hw.select import show_on_default_display

                show = show_on_default_display
            status = f"{WAITING_FOR_CONFIG}: {message}"
            await _show_until(stop, config_error_screen(), status, notifier, show)
    finally:
        if pinger is not None:
            pinger.cancel()
        notifier.close()
    return 0


async def _show_until(
    stop: asyncio.Event, screen: Screen, status: str, notifier: Notifier, show: Callable[..., Any]
) -> None:
    """Show ``screen``, say READY with ``status``, and wait for ``stop``; close the display."""
    display = await asyncio.to_thread(show, screen)
    try:
        notifier.ready(status)
        await stop.wait()
        notifier.stopping("stopping")
    finally:
        close = getattr(display, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


def _configured_display(config: Config) -> Callable[[Screen], Any]:
    """Show a screen on the display ``config`` names (a Pi's OLED); nothing when emulated."""

    def show(screen: Screen) -> Any:
        if config.terminal.hardware != "pi":
            return None
        try:
            from hw.display.luma_display import open_luma_display

            display = open_luma_display(config.display)
            display.show(screen)
        except Exception as exc:  # noqa: BLE001 - best effort: the log says it all anyway
            log.info("no display to show the journal refusal on: %s", exc)
            return None
        return display

    return show


async def watchdog_pings(notifier: Notifier, timeout_s: float) -> None:
    """Send ``WATCHDOG=1`` every ``timeout_s / 2`` from the loop, until cancelled."""
    log.info("watchdog: every %.1f s (timeout %.1f s)", timeout_s / 2, timeout_s)
    while True:
        notifier.watchdog()
        await asyncio.sleep(timeout_s / 2)


async def _check_printer(terminal: Terminal) -> None:
    """Ask the printer once at start, so a missing or empty one shows before the first slip."""
    if terminal.config.printer.connection == "none":
        return  # a terminal without a printer by design
    query = getattr(terminal.device.printer, "aquery_status", None)
    if query is None:
        return
    try:
        status = await query()
    except Exception as exc:  # noqa: BLE001 - a failed check must not stop the terminal
        log.warning("printer not checked at start: %s", exc)
        return
    problem = "paper" if not status.paper else "offline" if not status.online else ""
    if problem:
        log.warning("printer %s at start: %s", problem, status.detail)
        terminal.runtime.feed(PrinterReported("status", "", problem))


@contextlib.contextmanager
def _stop_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("%s received: stopping", sig.name)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
