"""One worker thread that pushes frames to a slow panel, so the event loop never waits for it.

A 128×64 frame takes ≈ 23 ms over I²C at 400 kHz and ≈ 92 ms at the Pi's default 100 kHz;
on the loop's thread that is long enough for a scanner's ≈ 64-event kernel buffer to
overflow. :class:`FramePusher` carries out the newest item posted on its own thread: an
item not yet started when a newer one comes is dropped (the latest frame wins), and the
failure of a push is kept for the loop to collect with :meth:`FramePusher.take_error`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["IDLE_EXIT_S", "FramePusher"]

log = logging.getLogger(__name__)

#: The worker ends after this long with nothing to push; the next post starts it again.
IDLE_EXIT_S = 2.0

T = TypeVar("T")


class FramePusher(Generic[T]):
    """Runs ``push(item)`` on one worker thread for the newest item posted.

    Every method may be called from any thread and returns at once, except :meth:`wait`
    and :meth:`stop`, which wait for the worker. ``push`` runs on the worker only, one
    item at a time, in the order posted (minus the dropped ones).
    """

    def __init__(
        self, push: Callable[[T], None], *, name: str, idle_exit_s: float = IDLE_EXIT_S
    ) -> None:
        self._push = push
        self._name = name
        self._idle_exit_s = idle_exit_s
        self._cond = threading.Condition()
        self._pending: list[T] = []  # at most one: the newest item not yet started
        self._busy = False
        self._error: Exception | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.dropped = 0
        """Items replaced by a newer one (or discarded) before the worker started them."""

    @property
    def busy(self) -> bool:
        """True while an item waits or is being pushed."""
        with self._cond:
            return bool(self._pending) or self._busy

    def post(self, item: T) -> None:
        """Have ``item`` pushed next, instead of any item waiting; RuntimeError once stopped."""
        with self._cond:
            if self._stopped:
                raise RuntimeError(f"{self._name} is stopped")
            if self._pending:
                self.dropped += 1
            self._pending[:] = [item]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def discard(self) -> bool:
        """Drop the item waiting, if any (the push under way goes on); True when one was."""
        with self._cond:
            had = bool(self._pending)
            if had:
                self._pending.clear()
                self.dropped += 1
                self._cond.notify_all()
            return had

    def take_error(self) -> Exception | None:
        """The failure of the latest push that failed since the last call, or None."""
        with self._cond:
            error, self._error = self._error, None
            return error

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until nothing waits or is being pushed; False when ``timeout_s`` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def stop(self, timeout_s: float | None = None) -> bool:
        """Take no more items, let the worker finish what was posted and end; True once it did."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def _run(self) -> None:
        try:
            while (item := self._next()) is not None:
                try:
                    self._push(item[0])
                except Exception as exc:  # noqa: BLE001 - kept for the loop, which reports it
                    with self._cond:
                        self._error = exc
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        finally:
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None
                self._cond.notify_all()

    def _next(self) -> tuple[T] | None:
        """The next item to push (in a 1-tuple), or None when the worker is to end."""
        with self._cond:
            while not self._pending:
                if self._stopped or (not self._cond.wait(self._idle_exit_s) and not self._pending):
                    # Stopped, or idle: end; said under the lock, so a post after this
                    # starts a new worker rather than waiting for this one.
                    if self._thread is threading.current_thread():
                        self._thread = None
                    return None
            self._busy = True
            return (self._pending.pop(),)
