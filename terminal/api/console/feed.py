"""What the web console shows as it happens: the display's frames, the slips, the events.

The frame is the display's own 1-bit image (the luma device's ``last_image``), encoded as a
small PNG once per screen change and numbered; the page is told the number over its event
stream and loads ``/console/frame/<n>.png``, so what it draws is the terminal's frame by
construction. Slips are the emulated printer's pieces of paper (their ESC/POS bytes),
numbered as they are cut. Reading a frame waits for the display's push, so it is done off
the loop; a burst of screen changes is encoded once, as its last frame.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from hw.display.render import render_screen
from terminal.runtime.runtime import Runtime

__all__ = ["KEEPALIVE_S", "ConsoleFeed", "Frame", "SlipRecord"]

log = logging.getLogger("payterm.api")

#: A comment line is sent this often on a quiet console stream.
KEEPALIVE_S = 15.0
#: Events the page's list keeps, and slips it offers.
EVENTS_KEPT = 50
SLIPS_KEPT = 8
#: The runtime's announcements shown in the events list (the same as the demo window's).
SHOWN = ("machine:state", "provider:", "terminal:alert", "printer:", "journal:record",
         "reconcile", "net:", "hardware:problem", "keypad:operator", "api:")  # fmt: skip
#: Announcements after which the page reads the payments, report and status again.
REFRESH = ("journal:record", "printer:", "hardware:problem", "terminal:alert", "net:",
           "link:restored", "machine:state")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of the display as the page loads it."""

    number: int
    png: bytes
    size: tuple[int, int]
    changed_at: float  # time.time() when the terminal showed the screen (for benchmarks)


@dataclass(frozen=True, slots=True)
class SlipRecord:
    """One piece of paper the printer cut off: its number, first line and bytes."""

    number: int
    title: str
    raw: bytes
    parsed: Any  # hw.printer.escpos_text.ParsedSlip


def encode_png(image: Image.Image) -> bytes:
    """``image`` as a 1-bit PNG (a few hundred bytes for a 128×64 screen)."""
    out = io.BytesIO()
    image.convert("1").save(out, format="PNG", optimize=True)
    return out.getvalue()


class ConsoleFeed:
    """Follows the runtime: encodes each new frame, keeps slips and events, wakes streams."""

    def __init__(self, runtime: Runtime, device: Any) -> None:
        self._runtime = runtime
        self._device = device
        self._display = device.display
        self.frame: Frame | None = None
        self.slips: deque[SlipRecord] = deque(maxlen=SLIPS_KEPT)
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self._seen_pieces: deque[Any] = deque(maxlen=64)  # the printed pieces already taken
        self._ids = itertools.count(1)
        self._frames = itertools.count(1)
        self._changed = asyncio.Event()
        self._encoding: asyncio.Task[None] | None = None
        self._dirty = False
        self._changed_at = time.time()
        self._closed = False
        runtime.subscribe(self._observe)
        self._schedule_frame()  # the screen already shown, if any

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _observe(self, name: str, details: dict[str, Any]) -> None:
        if name == "display:screen":
            self._changed_at = time.time()
            self._schedule_frame()
            return
        if name == "printer:slip":
            self._take_slips()
        if name.startswith(SHOWN):
            brief = " ".join(f"{k}={v}" for k, v in details.items() if k != "lines")
            refresh = name.startswith(REFRESH)
            self.events.append({"id": next(self._ids), "name": name, "text": brief,
                                "at": self._runtime.clock_wall(), "refresh": refresh})  # fmt: skip
            self._wake()

    def _take_slips(self) -> None:
        for piece in getattr(self._device, "printed", ()):
            if any(piece is seen for seen in self._seen_pieces):
                continue
            self._seen_pieces.append(piece)
            lines = [line.strip() for line in piece.text.split("\n") if line.strip()]
            title = lines[0] if lines else "slip"
            self.slips.append(SlipRecord(next(self._ids), title, piece.raw, piece.parsed))

    def _schedule_frame(self) -> None:
        self._dirty = True
        if self._encoding is None or self._encoding.done():
            try:
                self._encoding = asyncio.get_running_loop().create_task(self._encode_frames())
            except RuntimeError:  # no loop yet: the first stream asks for the frame
                self._encoding = None

    async def _encode_frames(self) -> None:
        while self._dirty and not self._closed:
            self._dirty = False
            changed_at = self._changed_at
            try:
                image = await asyncio.to_thread(self._current_image)
                png = await asyncio.to_thread(encode_png, image) if image is not None else None
            except Exception:  # the console must never disturb the terminal
                log.exception("console: the display's frame could not be read")
                return
            if png is None:
                continue
            self.frame = Frame(next(self._frames), png, image.size if image else (0, 0),
                               changed_at)  # fmt: skip
            self._wake()

    async def settled(self) -> None:
        """Return once the frame of the screen last shown is encoded."""
        while self._encoding is not None and not self._encoding.done():
            await asyncio.shield(self._encoding)

    def _current_image(self) -> Image.Image | None:
        """The display's frame (waits for its push under way); drawn for a display without."""
        image: Image.Image | None = getattr(self._display, "last_image", None)
        if image is not None:
            return image.copy()
        screen = self._runtime.screen
        return render_screen(screen, self._display.size) if screen is not None else None

    async def stream(self, last_event: int) -> AsyncIterator[str]:
        """SSE: the current frame, the events after ``last_event``, then each change as it comes."""
        yield "retry: 1000\n\n"
        if self.frame is None:
            self._schedule_frame()
        sent_frame = 0
        while not self._closed:
            changed = self._changed
            frame = self.frame
            if frame is not None and frame.number != sent_frame:
                sent_frame = frame.number
                data = {"frame": frame.number, "width": frame.size[0], "height": frame.size[1]}
                yield f"event: screen\ndata: {json.dumps(data)}\n\n"
            for event in [e for e in self.events if e["id"] > last_event]:
                last_event = event["id"]
                text = json.dumps(event, ensure_ascii=False)
                yield f"id: {last_event}\nevent: log\ndata: {text}\n\n"
            try:
                await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
