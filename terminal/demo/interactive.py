"""The interactive demo: the OLED drawn in the terminal window, keys act as the hardware.

The window holds the display, a status line, the last slip beside the latest events, and
the keys' help; :func:`window_needed` says how large it must be (130×52 for a 128×64
display) and the demo refuses a smaller window rather than draw over itself. While it runs,
log lines go to ``demo.log`` in the data folder, warnings also to the events pane, never to
the window, where they would land under the drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import termios
import tty
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from terminal.app import Terminal
from terminal.config.loader import DEMO_BADGE
from terminal.config.model import Config
from terminal.demo.control import act_as_customer, restore_network, set_network, why_stopped
from terminal.errors import TerminalError
from terminal.system.logs import HUMAN_FORMAT

__all__ = [
    "DEMO_CODES",
    "HELP",
    "LOG_FILE",
    "check_window",
    "demo_logging",
    "run_interactive",
    "window_needed",
]

#: Wallet codes the demo scans on one key: they match the default routes.
DEMO_CODES = {"a": "286648397128431234", "w": "134567890123456789"}
#: The log file the interactive demo writes in its data folder.
LOG_FILE = "demo.log"

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
#: What shows in the events pane: the machine, the providers, reconciliation, the network.
_SHOWN = ("machine:state", "provider:", "terminal:alert", "printer:failed", "journal:record",
          "reconcile", "net:", "hardware:problem")  # fmt: skip
_MIN_WIDTH = 130  # the slip (34) beside events wide enough to read, and the help lines
_PANES = 14  # rows of the slip and events panes
_BELOW_PANEL = 1 + _PANES + HELP.count("\n") + 1  # status line, panes, help


def window_needed(config: Config) -> tuple[int, int]:
    """(columns, rows) the demo's window needs for ``config``'s display: 130×52 for 128×64."""
    width, height = config.display.width, config.display.height
    if config.display.rotate in (1, 3):
        width, height = height, width
    panel_rows = (height + 2 + 1) // 2  # half-block rows, with a one-pixel frame
    return max(_MIN_WIDTH, width + 2), panel_rows + _BELOW_PANEL


def _window_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        return None
    return size.columns, size.lines


def check_window(config: Config) -> None:
    """Refuse to start unless stdin and stdout are a terminal window large enough.

    :raises TerminalError: not a terminal, or a window smaller than :func:`window_needed`,
        with the size needed and the size it is.
    """
    size = _window_size()
    if size is None or not sys.stdin.isatty():
        raise TerminalError("the interactive demo needs a terminal; use --headless for scripts")
    need = window_needed(config)
    if size[0] < need[0] or size[1] < need[1]:
        raise TerminalError(_too_small(need, size))


def _too_small(need: tuple[int, int], size: tuple[int, int]) -> str:
    return (
        f"the demo needs a window of at least {need[0]}×{need[1]} characters; this one is "
        f"{size[0]}×{size[1]}: enlarge it (or make the font smaller), or use --headless"
    )


@contextlib.contextmanager
def demo_logging(data_dir: Path) -> Iterator[Path]:
    """While inside, the process's log lines go to ``data_dir/demo.log``, not the window."""
    root = logging.getLogger()
    saved = root.handlers[:]
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOG_FILE
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(HUMAN_FORMAT))
    root.handlers = [handler]
    try:
        yield path
    finally:
        root.handlers = saved
        handler.close()


class _PaneLog(logging.Handler):
    """Puts warnings and errors into the events pane (they are in the log file too)."""

    def __init__(self, screen: _Screen) -> None:
        super().__init__(logging.WARNING)
        self._screen = screen

    def emit(self, record: logging.LogRecord) -> None:
        self._screen.note(f"{record.levelname.lower()}: {record.getMessage()}")


class _Screen:
    """Redraws the whole window: display, status, last slip beside recent events, help."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.events: deque[str] = deque(maxlen=_PANES - 1)
        self.slip: list[str] = []
        self.typing: str | None = None
        self.need = window_needed(terminal.config)
        self.slip_width = terminal.config.printer.columns + 4  # indented, and a gap

    def note(self, text: str) -> None:
        """Add a line to the events pane (drawn with the next frame)."""
        self.events.append(" ".join(text.split()))

    def observe(self, name: str, details: dict[str, Any]) -> None:
        if name == "printer:slip":
            self.slip = self._printed_text() or list(details.get("lines", []))
        if name.startswith(_SHOWN):
            brief = " ".join(f"{k}={v}" for k, v in details.items() if k != "lines")
            self.note(f"{name} {brief}")
        self.draw()

    def _printed_text(self) -> list[str]:
        printed = getattr(self.terminal.device, "printed", None)
        if not printed:
            return []
        return [str(line) for line in printed[-1].lines]

    def frame(self, size: tuple[int, int]) -> list[str]:
        """The window's rows for a window of ``size``: the drawing, or what it needs."""
        if size[0] < self.need[0] or size[1] < self.need[1]:
            return [_too_small(self.need, size)[: size[0]]]
        from hw.display.terminal_view import image_to_text

        image = getattr(self.terminal.device.display, "last_image", None)
        rows = image_to_text(image).split("\n") if image is not None else []
        net = "up" if all(link.is_up for link in self.terminal.links) else "DOWN"
        status = f"network: {net}   phase: {self.terminal.runtime.state.phase.value}"
        if self.typing is not None:
            status += f"   scan> {self.typing}_"
        rows.append(status)
        slip = ["last slip:", *("  " + line for line in self.slip[-(_PANES - 1) :])]
        events = ["events:", *self.events]
        for i in range(_PANES):
            left = slip[i] if i < len(slip) else ""
            right = events[i] if i < len(events) else ""
            rows.append(f"{left[: self.slip_width]:<{self.slip_width}}{right}"[: size[0]])
        rows += HELP.split("\n")
        return rows

    def draw(self) -> None:
        size = _window_size() or self.need
        sys.stdout.write("\x1b[H\x1b[2J" + "\r\n".join(self.frame(size)))
        sys.stdout.flush()


async def run_interactive(terminal: Terminal) -> None:
    """Run the demo in this terminal window until 'q'."""
    check_window(terminal.config)
    screen = _Screen(terminal)
    pane_log = _PaneLog(screen)
    logging.getLogger().addHandler(pane_log)
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
        while (key := await _next_key(keys, runner)) is not None:
            if key == "q" and screen.typing is None:
                break
            await _handle_key(terminal, screen, key)
            await terminal.runtime.wait_idle()
            screen.draw()
    finally:
        logging.getLogger().removeHandler(pane_log)
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        runner.cancel()
        # Its failure, if any, was told already (terminal:failed, the log).
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
        sys.stdout.write("\r\n")
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        raise TerminalError(why_stopped(runner))


async def _next_key(keys: asyncio.Queue[str], runner: asyncio.Task[None]) -> str | None:
    """The next key pressed, or None once the terminal's runtime has stopped."""
    getting = asyncio.ensure_future(keys.get())
    await asyncio.wait({getting, runner}, return_when=asyncio.FIRST_COMPLETED)
    if not getting.done():
        getting.cancel()
        return None
    return getting.result()


async def _handle_key(terminal: Terminal, screen: _Screen, key: str) -> None:
    device = terminal.device
    if screen.typing is not None:
        if key in ("\r", "\n"):
            if screen.typing:
                device.scanner.scan(screen.typing)
            screen.typing = None
        elif key in ("\x7f", "\x08"):
            screen.typing = screen.typing[:-1]
        elif key == "\x1b":
            screen.typing = None
        else:
            screen.typing += key
        return
    try:
        await _act(terminal, screen, key)
    except (TerminalError, ValueError) as exc:
        screen.note(f"cannot: {exc}")


async def _act(terminal: Terminal, screen: _Screen, key: str) -> None:
    device = terminal.device
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
            screen.note("no printed slip carries a barcode yet")
        else:
            device.scanner.scan(barcode)
    elif key == "t":
        device.nfc.tap(DEMO_BADGE)
    elif key == "n":
        await _toggle_network(terminal, screen)
    elif key in _CUSTOMER:
        result = await act_as_customer(terminal, _CUSTOMER[key])
        screen.note(f"customer {_CUSTOMER[key]}: {result.get('status', result)}")


async def _toggle_network(terminal: Terminal, screen: _Screen) -> None:
    if all(link.is_up for link in terminal.links):
        set_network(terminal, False)
        screen.note("network cut between the terminal and the provider")
        return
    screen.note("network restored: reconciling forced and cancel-failed payments")
    screen.draw()
    checked = await restore_network(terminal)
    if checked["waiting"]:
        screen.note(
            f"reconciliation: asked about {checked['waiting']} payment(s), "
            f"{checked['answered']} answered"
        )
    else:
        screen.note("reconciliation: no payment awaits it")
