"""The scripted demo: one command per line on stdin, one JSON object per line on stdout.

Every command ends with exactly one ``{"event": "ok"}`` or ``{"event": "error", "message"}``
(the message in words), ``quit`` included; :func:`run_headless` returns how many failed, and
``payterm demo --headless`` exits 1 when any did.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from hw.errors import HardwareError
from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.demo.control import (
    CUSTOMER_ACTIONS,
    act_as_customer,
    restore_network,
    set_network,
    set_sandbox_behaviour,
    why_stopped,
)
from terminal.errors import TerminalError
from terminal.payment import Payment
from terminal.providers.loopback_http import MODES

__all__ = ["HeadlessSession", "COMMANDS", "MAX_ADVANCE_S", "CommandFailed", "run_headless"]

log = logging.getLogger("payterm.demo")

#: The most one ``advance`` moves the clock: an hour, longer than any timer of a payment.
MAX_ADVANCE_S = 3600.0

#: The commands, with their arguments, as the README documents them.
COMMANDS = {
    "key": "key <0-9|00|enter|backspace|clear|f1-f4>  press a keypad key",
    "scan": "scan <text>  the scanner reads a code",
    "scan-slip": "scan-slip  the scanner reads the barcode on the newest slip that has one",
    "press": "press <retry|cancel|force>  press a button",
    "nfc": "nfc <uid>  tap an NFC badge",
    "net": "net <down|up>  cut or restore the path to the providers",
    "customer": "customer <pay|decline|abandon|expire> [order_id]  act as the customer",
    "sandbox": "sandbox <normal|slow|error|drop|garbage|lose_answer> [count]  misbehave",
    "printer": "printer <paper-out|paper-in|unplug|plug>  change the emulated printer",
    "scanner": "scanner <unplug|plug>  pull or plug the emulated scanner's cable",
    "advance": f"advance <seconds>  move the fake clock (--fake-clock), at most {MAX_ADVANCE_S:g}",
    "wait": "wait  until nothing is under way",
    "screen": "screen  print the current screen",
    "journal": "journal [n]  print the last n payments",
    "status": "status  print the runtime status",
    "quit": "quit  stop",
}


class CommandFailed(Exception):
    """A command given wrong arguments or unable to act; the message says why in words."""


class HeadlessSession:
    """Drives a running :class:`Terminal` from text commands and reports what happens.

    ``failed`` counts the commands that ended in an error.
    """

    def __init__(self, terminal: Terminal, write: Callable[[dict[str, Any]], None]) -> None:
        self.terminal = terminal
        self._write = write
        self.failed = 0
        terminal.runtime.subscribe(lambda name, details: write({"event": name, **details}))
        self._handlers: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "key": self._key,
            "scan": self._scan,
            "scan-slip": self._scan_slip,
            "press": self._press,
            "nfc": self._nfc,
            "net": self._net,
            "customer": self._customer,
            "sandbox": self._sandbox,
            "printer": self._printer,
            "scanner": self._scanner,
            "advance": self._advance,
            "wait": self._wait,
            "screen": self._screen,
            "journal": self._journal,
            "status": self._status,
        }

    async def execute(self, line: str) -> bool:
        """Run one command line and answer ok or error; returns False for ``quit``."""
        command = line.strip()
        words = command.split(maxsplit=1)
        if not words or words[0].startswith("#"):
            return True
        name, rest = words[0], words[1].split() if len(words) > 1 else []
        if name == "quit":
            self._write({"event": "ok", "command": command})
            return False
        handler = self._handlers.get(name)
        if handler is None:
            self.fail(command, f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
            return True
        try:
            await handler(rest)
            await self.terminal.runtime.wait_idle()
        except (CommandFailed, ValueError, TerminalError, HardwareError) as exc:
            self.fail(command, str(exc) or type(exc).__name__)
            return True
        except Exception as exc:  # noqa: BLE001 - a fault must end in an error line, not a crash
            log.exception("headless:%s failed", command)
            self.fail(command, f"{name} failed unexpectedly ({type(exc).__name__}: {exc})")
            return True
        self._write({"event": "ok", "command": command})
        return True

    def fail(self, command: str, message: str) -> None:
        """Answer ``command`` with an error saying ``message``; it counts as failed."""
        self.failed += 1
        self._write({"event": "error", "command": command, "message": message})

    @property
    def _device(self) -> Any:
        return self.terminal.device

    async def _key(self, args: list[str]) -> None:
        self._device.keypad.press(_one(args, "a key: 0-9, 00, enter, backspace, clear, f1-f4"))

    async def _scan(self, args: list[str]) -> None:
        text = " ".join(args)
        if not text:
            raise CommandFailed("scan needs the code's text")
        if "\\" in text:  # scripts write control characters as \xNN escapes
            try:
                text = codecs.decode(text, "unicode_escape")
            except UnicodeDecodeError as exc:
                raise CommandFailed(f"a broken escape in the code ({exc.reason})") from exc
        self._device.scanner.scan(text)

    async def _scan_slip(self, args: list[str]) -> None:
        _none(args, "scan-slip")
        barcode = self._device.slip_barcode()
        if barcode is None:
            raise CommandFailed("no printed slip carries a barcode yet")
        self._device.scanner.scan(barcode)

    async def _press(self, args: list[str]) -> None:
        button = _one(args, "a button: retry, cancel or force")
        if button not in ("retry", "cancel", "force"):
            raise CommandFailed(f"no button {button!r}: retry, cancel or force")
        self._device.buttons.press(button)

    async def _nfc(self, args: list[str]) -> None:
        self._device.nfc.tap(_one(args, "the badge's UID in hex").lower())

    async def _net(self, args: list[str]) -> None:
        state = _one(args, "down or up")
        if state not in ("down", "up"):
            raise CommandFailed(f"net takes down or up, not {state!r}")
        if state == "down":
            set_network(self.terminal, False)
            self._write({"event": "net:changed", "up": False})
            return
        checked = await restore_network(self.terminal)
        self._write({"event": "net:changed", "up": True})
        self._write({"event": "net:reconciled", **checked})

    async def _customer(self, args: list[str]) -> None:
        if not 1 <= len(args) <= 2:
            raise CommandFailed(f"customer takes {'|'.join(CUSTOMER_ACTIONS)} [order_id]")
        action = args[0]
        result = await act_as_customer(self.terminal, action, args[1] if len(args) > 1 else None)
        self._write({"event": "customer:acted", "action": action, **result})

    async def _sandbox(self, args: list[str]) -> None:
        if not 1 <= len(args) <= 2:
            raise CommandFailed(f"sandbox takes {'|'.join(MODES)} [count]")
        mode = args[0]
        count = _whole(args[1], "the count") if len(args) > 1 else None
        targets = await set_sandbox_behaviour(self.terminal, mode, count)
        self._write({"event": "sandbox:behaviour", "mode": mode, "count": count, "at": targets})

    async def _printer(self, args: list[str]) -> None:
        change = _one(args, "paper-out, paper-in, unplug or plug")
        switches = {"paper-out": ("paper", False), "paper-in": ("paper", True),
                    "unplug": ("online", False), "plug": ("online", True)}  # fmt: skip
        if change not in switches:
            raise CommandFailed(f"printer takes one of {', '.join(switches)}, not {change!r}")
        escpos = getattr(self._device, "escpos", None)
        if escpos is None:
            raise CommandFailed('this terminal has no printer (printer.connection = "none")')
        name, value = switches[change]
        setattr(escpos, name, value)
        self._write({"event": "printer:changed", name: value})

    async def _scanner(self, args: list[str]) -> None:
        change = _one(args, "unplug or plug")
        if change not in ("unplug", "plug"):
            raise CommandFailed(f"scanner takes unplug or plug, not {change!r}")
        getattr(self._device.scanner, change)()

    async def _advance(self, args: list[str]) -> None:
        clock = self.terminal.clock
        if not isinstance(clock, FakeClock):
            raise CommandFailed("advance needs the fake clock: start the demo with --fake-clock")
        seconds = _seconds(_one(args, "seconds"))
        target = clock.monotonic() + seconds
        while (due := clock.next_deadline()) is not None and due <= target:
            clock.set(due)
            await self.terminal.runtime.wait_idle()
        clock.set(target)

    async def _wait(self, args: list[str]) -> None:
        _none(args, "wait")
        await self.terminal.runtime.wait_idle()

    async def _screen(self, args: list[str]) -> None:
        _none(args, "screen")
        screen = self.terminal.runtime.screen
        if screen is None:
            raise CommandFailed("nothing is on the screen yet")
        self._write({"event": "screen", "name": screen.name, "title": screen.title,
                     "amount": screen.amount, "lines": list(screen.lines), "qr": screen.qr,
                     "countdown_s": screen.countdown_s})  # fmt: skip

    async def _journal(self, args: list[str]) -> None:
        if len(args) > 1:
            raise CommandFailed("journal takes at most one number: how many payments")
        limit = _whole(args[0], "how many payments") if args else 10
        for p in self.terminal.journal.recent(limit):
            self._write(_payment_dict(p))

    async def _status(self, args: list[str]) -> None:
        _none(args, "status")
        self._write({"event": "status", **self.terminal.runtime.status()})


def _payment_dict(p: Payment) -> dict[str, Any]:
    return {
        "event": "journal:payment",
        "order_id": p.order_id,
        "seq": p.seq,
        "flow": p.flow,
        "state": p.state.value,
        "amount_minor": p.amount.amount_minor,
        "currency": p.amount.currency,
        "forced": p.forced,
        "needs_admin": p.needs_admin,
        "mismatch": p.mismatch,
        "history": list(p.history),
    }


def _one(args: list[str], what: str) -> str:
    if len(args) != 1:
        raise CommandFailed(f"give exactly one argument: {what}")
    return args[0]


def _none(args: list[str], command: str) -> None:
    if args:
        raise CommandFailed(f"{command} takes no arguments")


def _whole(text: str, what: str) -> int:
    """``text`` as a whole number of 1 or more, or an error naming ``what``."""
    try:
        value = int(text)
    except ValueError:
        raise CommandFailed(f"{what} must be a whole number, not {text!r}") from None
    if value < 1:
        raise CommandFailed(f"{what} must be 1 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    """``text`` as seconds to advance: more than 0, at most :data:`MAX_ADVANCE_S`."""
    try:
        value = float(text)
    except ValueError:
        raise CommandFailed(f"advance takes a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise CommandFailed(f"advance moves time forward: give seconds above 0, not {text}")
    if value > MAX_ADVANCE_S:
        raise CommandFailed(
            f"advance moves at most {MAX_ADVANCE_S:g} s at a time, not {text}: "
            "repeat it to go further"
        )
    return value


def _json_writer(out: TextIO) -> Callable[[dict[str, Any]], None]:
    def write(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        out.flush()

    return write


async def run_headless(terminal: Terminal, *, stdin: TextIO = sys.stdin) -> int:
    """Serve commands from ``stdin`` until ``quit`` or end of input; returns how many failed.

    ``terminal:ready`` is written once the runtime has started (payments in doubt queued,
    every input listened to) and is idle; if it cannot start, ``terminal:failed`` says why
    and nothing is read. If it stops while commands are served, ``terminal:failed`` too.
    """
    write = _json_writer(sys.stdout)
    session = HeadlessSession(terminal, write)
    started = asyncio.Event()
    runner = asyncio.create_task(terminal.runtime.run(on_started=started.set))
    loop = asyncio.get_running_loop()
    try:
        if not await _started(runner, started):
            write({"event": "terminal:failed", "message": why_stopped(runner)})
            return 1
        await terminal.runtime.wait_idle()
        write({"event": "terminal:ready", **terminal.runtime.status()})
        while True:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or not await session.execute(line):
                break
            if runner.done():
                write({"event": "terminal:failed", "message": why_stopped(runner)})
                return session.failed + 1
        return session.failed
    finally:
        runner.cancel()
        # Its failure, if any, was told already (terminal:failed, the log).
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner


async def _started(runner: asyncio.Task[None], started: asyncio.Event) -> bool:
    """Wait until the runtime says it started (True) or ends first (False)."""
    waiter = asyncio.create_task(started.wait())
    try:
        await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return started.is_set() and not runner.done()
