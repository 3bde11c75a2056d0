"""The interactive demo: the OLED drawn in the terminal window, keys act as the hardware."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from collections import deque
from typing import Any

from terminal.app import Terminal
from terminal.config.loader import DEMO_BADGE
from terminal.errors import TerminalError

__all__ = ["run_interactive", "HELP", "DEMO_CODES"]

#: Wallet codes the demo scans on one key: they match the default routes.
DEMO_CODES = {"a": "286648397128431234", "w": "134567890123456789"}

HELP = """\
keypad: 0-9  Enter  Backspace  Esc=clear  / cancel  * reprint  - X report  + refund
buttons: r=Retry c=Cancel f=Force
scanner: a=Alipay code  w=WeChat code  s=type a code  b=slip's barcode  NFC: t=badge
customer: p=pays  d=declines  e=lets it expire      network: n=cut/restore   q=quit"""

_KEYS = {
    "\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace", "\x1b": "clear",
    "/": "f1", "*": "f2", "-": "f3", "+": "f4",  # the keypad's operator keys
}  # fmt: skip
_BUTTONS = {"r": "retry", "c": "cancel", "f": "force"}
_CUSTOMER = {"p": "pay", "d": "decline", "e": "expire"}


class _Screen:
    """Redraws the whole window: display, last slip, recent events, help."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.events: deque[str] = deque(maxlen=6)
        self.slip: list[str] = []
        self.typing: str | None = None

    def observe(self, name: str, details: dict[str, Any]) -> None:
        if name == "printer:slip":
            self.slip = self._printed_text() or list(details.get("lines", []))
        if name in ("machine:state", "provider:call", "provider:answer", "provider:failed",
                    "terminal:alert", "printer:failed", "journal:record"):  # fmt: skip
            brief = " ".join(f"{k}={v}" for k, v in details.items() if k != "lines")
            self.events.append(f"{name} {brief}"[:100])
        self.draw()

    def _printed_text(self) -> list[str]:
        printed = getattr(self.terminal.device, "printed", None)
        if not printed:
            return []
        last = printed[-1]
        lines = getattr(last, "lines", None) or getattr(
            getattr(last, "parsed", None), "lines", None
        )
        return [str(line) for line in lines] if lines else []

    def draw(self) -> None:
        from hw.display.terminal_view import image_to_text

        image = getattr(self.terminal.device.display, "last_image", None)
        panel = image_to_text(image) if image is not None else ""
        net = "up" if all(link.is_up for link in self.terminal.links) else "DOWN"
        out = [
            "\x1b[H\x1b[2J",
            panel,
            "",
            f"network: {net}   phase: {self.terminal.runtime.state.phase.value}",
        ]
        if self.typing is not None:
            out.append(f"scan> {self.typing}_")
        out += ["", "last slip:", *("  " + line for line in self.slip[-18:]), ""]
        out += ["events:", *("  " + e for e in self.events), "", HELP]
        sys.stdout.write("\r\n".join("\n".join(out).split("\n")))
        sys.stdout.flush()


async def run_interactive(terminal: Terminal) -> None:
    """Run the demo in this terminal window until 'q'."""
    if not sys.stdin.isatty():
        raise TerminalError("the interactive demo needs a terminal; use --headless for scripts")
    screen = _Screen(terminal)
    terminal.runtime.subscribe(screen.observe)
    keys: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    loop.add_reader(fd, lambda: keys.put_nowait(os.read(fd, 1).decode(errors="ignore")))
    runner = asyncio.create_task(terminal.runtime.run())
    try:
        await terminal.runtime.wait_idle()
        screen.draw()
        while (key := await keys.get()) != "q" or screen.typing is not None:
            await _handle_key(terminal, screen, key)
            await terminal.runtime.wait_idle()
            screen.draw()
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, BaseExceptionGroup):
            await runner
        sys.stdout.write("\r\n")


async def _handle_key(terminal: Terminal, screen: _Screen, key: str) -> None:
    device = terminal.device
    if screen.typing is not None:
        if key in ("\r", "\n"):
            device.scanner.scan(screen.typing)
            screen.typing = None
        elif key in ("\x7f", "\x08"):
            screen.typing = screen.typing[:-1]
        elif key == "\x1b":
            screen.typing = None
        else:
            screen.typing += key
        return
    if key.isdigit():
        device.keypad.press(key)
    elif key in _KEYS:
        device.keypad.press(_KEYS[key])
    elif key in _BUTTONS:
        device.buttons.press(_BUTTONS[key])
    elif key in DEMO_CODES:
        device.scanner.scan(DEMO_CODES[key])
    elif key == "s":
        screen.typing = ""
    elif key == "b":
        barcode = device.slip_barcode()
        if barcode is None:
            screen.events.append("no printed slip carries a barcode yet")
        else:
            device.scanner.scan(barcode)
    elif key == "t":
        device.nfc.tap(DEMO_BADGE)
    elif key == "n":
        terminal.set_network(not all(link.is_up for link in terminal.links))
    elif key in _CUSTOMER:
        with contextlib.suppress(TerminalError):
            result = await terminal.customer(_CUSTOMER[key])
            screen.events.append(f"customer {_CUSTOMER[key]}: {result.get('status', result)}")
