"""The scripted demo: one command per line on stdin, one JSON object per line on stdout."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.errors import TerminalError
from terminal.payment import Payment

__all__ = ["HeadlessSession", "COMMANDS", "run_headless"]

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
    "advance": "advance <seconds>  move the fake clock (with --fake-clock)",
    "wait": "wait  until nothing is under way",
    "screen": "screen  print the current screen",
    "journal": "journal [n]  print the last n payments",
    "status": "status  print the runtime status",
    "quit": "quit  stop",
}


class HeadlessSession:
    """Drives a running :class:`Terminal` from text commands and reports what happens."""

    def __init__(self, terminal: Terminal, write: Callable[[dict[str, Any]], None]) -> None:
        self.terminal = terminal
        self._write = write
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
        """Run one command line; returns False for ``quit``."""
        words = line.strip().split(maxsplit=1)
        if not words or words[0].startswith("#"):
            return True
        name, rest = words[0], words[1].split() if len(words) > 1 else []
        if name == "quit":
            return False
        handler = self._handlers.get(name)
        if handler is None:
            self._write(
                {
                    "event": "error",
                    "command": line.strip(),
                    "message": f"unknown command {name!r}; known: {', '.join(COMMANDS)}",
                }
            )  # noqa: E501
            return True
        try:
            await handler(rest)
            await self.terminal.runtime.wait_idle()
        except (ValueError, IndexError, TerminalError) as exc:
            self._write({"event": "error", "command": line.strip(), "message": str(exc)})
            return True
        self._write({"event": "ok", "command": line.strip()})
        return True

    @property
    def _device(self) -> Any:
        return self.terminal.device

    async def _key(self, args: list[str]) -> None:
        self._device.keypad.press(_one(args, "key"))

    async def _scan(self, args: list[str]) -> None:
        text = " ".join(args)
        if "\\" in text:  # scripts write control characters as \xNN escapes
            text = codecs.decode(text, "unicode_escape")
        self._device.scanner.scan(text)

    async def _scan_slip(self, args: list[str]) -> None:
        barcode = self._device.slip_barcode()
        if barcode is None:
            raise ValueError("no printed slip carries a barcode yet")
        self._device.scanner.scan(barcode)

    async def _press(self, args: list[str]) -> None:
        button = _one(args, "button")
        if button not in ("retry", "cancel", "force"):
            raise ValueError(f"no button {button!r}: retry, cancel or force")
        self._device.buttons.press(button)

    async def _nfc(self, args: list[str]) -> None:
        self._device.nfc.tap(_one(args, "uid").lower())

    async def _net(self, args: list[str]) -> None:
        state = _one(args, "down|up")
        if state not in ("down", "up"):
            raise ValueError("net takes down or up")
        self.terminal.set_network(state == "up")
        self._write({"event": "net:changed", "up": state == "up"})
        if state == "up":
            await self.terminal.runtime.reconcile_once()

    async def _customer(self, args: list[str]) -> None:
        action = _one(args[:1], "action")
        if action not in ("pay", "decline", "abandon", "expire"):
            raise ValueError("customer takes pay, decline, abandon or expire")
        result = await self.terminal.customer(action, args[1] if len(args) > 1 else None)
        self._write({"event": "customer:acted", "action": action, **result})

    async def _sandbox(self, args: list[str]) -> None:
        mode = _one(args[:1], "mode")
        count = int(args[1]) if len(args) > 1 else None
        for server in self.terminal.sandboxes.values():
            server.http.set_misbehaviour(mode, count=count, delay_s=15.0 if mode == "slow" else 0.0)
        self._write({"event": "sandbox:behaviour", "mode": mode, "count": count})

    async def _printer(self, args: list[str]) -> None:
        change = _one(args, "paper-out|paper-in|unplug|plug")
        switches = {"paper-out": ("paper", False), "paper-in": ("paper", True),
                    "unplug": ("online", False), "plug": ("online", True)}  # fmt: skip
        if change not in switches:
            raise ValueError(f"printer takes one of {', '.join(switches)}")
        name, value = switches[change]
        setattr(self._device.escpos, name, value)
        self._write({"event": "printer:changed", name: value})

    async def _scanner(self, args: list[str]) -> None:
        change = _one(args, "unplug|plug")
        if change not in ("unplug", "plug"):
            raise ValueError("scanner takes unplug or plug")
        getattr(self._device.scanner, change)()

    async def _advance(self, args: list[str]) -> None:
        clock = self.terminal.clock
        if not isinstance(clock, FakeClock):
            raise ValueError("advance needs --fake-clock")
        target = clock.monotonic() + float(_one(args, "seconds"))
        while (due := clock.next_deadline()) is not None and due <= target:
            clock.set(due)
            await self.terminal.runtime.wait_idle()
        clock.set(target)

    async def _wait(self, args: list[str]) -> None:
        await self.terminal.runtime.wait_idle()

    async def _screen(self, args: list[str]) -> None:
        screen = self.terminal.runtime.screen
        if screen is not None:
            self._write({"event": "screen", "name": screen.name, "title": screen.title,
                         "amount": screen.amount, "lines": list(screen.lines), "qr": screen.qr,
                         "countdown_s": screen.countdown_s})  # fmt: skip

    async def _journal(self, args: list[str]) -> None:
        limit = int(args[0]) if args else 10
        for p in self.terminal.journal.recent(limit):
            self._write(_payment_dict(p))

    async def _status(self, args: list[str]) -> None:
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
        raise ValueError(f"expected one argument: {what}")
    return args[0]


def _json_writer(out: TextIO) -> Callable[[dict[str, Any]], None]:
    def write(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        out.flush()

    return write


async def run_headless(terminal: Terminal, *, stdin: TextIO = sys.stdin) -> None:
    """Serve commands from ``stdin`` until ``quit`` or end of input."""
    write = _json_writer(sys.stdout)
    session = HeadlessSession(terminal, write)
    runner = asyncio.create_task(terminal.runtime.run())
    await terminal.runtime.wait_idle()
    write({"event": "terminal:ready", **terminal.runtime.status()})
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or not await session.execute(line):
                break
            if runner.done():
                break
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, BaseExceptionGroup):
            await runner
