"""Where the event loop's stalls come from: each callback timed, each thread's CPU counted.

:class:`LoopWatch` does what asyncio's debug mode does for ``slow_callback_duration`` (time
every callback the loop runs) without debug mode's cost (a stack captured at every
``call_soon``, which would slow the very terminal being measured): while it is installed,
``asyncio.Handle._run`` is timed in wall and thread CPU time, and every callback that held
the loop for at least :data:`KEEP_MS` is kept with the name of what ran (a task's coroutine,
or the function). A stall is then explained by the callbacks that ran during it:

* a callback that ran long on CPU is loop work: the fix is to move it off the loop;
* a callback whose wall time is far above its CPU time, or no callback at all, means the loop
  waited for the interpreter's lock (a worker thread was running Python), for a CPU (other
  processes), or in a blocking system call (an fsync).

:func:`thread_cpu` reads every thread's CPU time from ``/proc/self/task`` by thread name, so
the worker threads' share (display, printer, journal) shows beside the loop's.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KEEP_MS",
    "Callback",
    "LoopWatch",
    "Stall",
    "explain",
    "runq_wait_ms",
    "thread_cpu",
    "thread_cpu_used",
]

#: Callbacks shorter than this are not kept (they cannot explain a stall worth reading).
KEEP_MS = 0.5
_BENCH_DIR = str(Path(__file__).resolve().parent)


@dataclass(frozen=True, slots=True)
class Callback:
    """One callback the loop ran: when (perf_counter seconds), for how long, and what."""

    start: float
    end: float
    cpu_ms: float
    name: str
    bench: bool  # the benchmark's own code, not the terminal's

    @property
    def wall_ms(self) -> float:
        """How long it held the loop, in milliseconds."""
        return (self.end - self.start) * 1000


@dataclass(frozen=True, slots=True)
class Stall:
    """A late wake-up of the probe, the callbacks that ran while it waited, and how long the
    loop's thread waited for a CPU meanwhile (the kernel's run-queue wait)."""

    late_ms: float
    callbacks: tuple[Callback, ...]
    runq_ms: float = 0.0

    @property
    def cause(self) -> str:
        """What kept the loop: ``<kind>: <detail>``.

        ``loop work`` (or ``bench work``): one callback held the loop for most of the stall,
        mostly on CPU. ``loop blocked``: one callback held it, mostly off CPU (a blocking
        call such as an fsync, or the interpreter's lock taken by a thread while it ran).
        ``waited``: no callback held it that long; the loop could not get the interpreter's
        lock (a worker thread running Python). ``no CPU``: for most of the stall the loop's
        thread was runnable but the kernel ran something else (another process, the noise
        of a shared machine, or a worker thread of the terminal on every free core).
        """
        longest = max(self.callbacks, key=lambda c: c.wall_ms, default=None)
        if self.runq_ms >= self.late_ms / 2:
            return "no CPU: the kernel ran other threads or processes (the loop's was runnable)"
        if longest is None or longest.wall_ms < self.late_ms / 2:
            return "waited: for the interpreter lock (a thread) or a CPU, between callbacks"
        if longest.cpu_ms >= longest.wall_ms / 2:
            return f"{'bench' if longest.bench else 'loop'} work: {longest.name}"
        return f"{'bench' if longest.bench else 'loop'} blocked: {longest.name}"


class LoopWatch:
    """Times every callback of every asyncio loop in this process while installed (``with``)."""

    def __init__(self) -> None:
        self.on = False
        self.callbacks: list[Callback] = []
        self._original: Any = None

    def __enter__(self) -> LoopWatch:
        original = asyncio.events.Handle._run
        self._original = original
        watch = self

        def timed_run(handle: asyncio.Handle) -> None:
            if not watch.on:
                return original(handle)  # type: ignore[no-any-return]
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(handle)  # type: ignore[no-any-return]
            finally:
                end = time.perf_counter()
                if (end - start) * 1000 >= KEEP_MS:
                    name, bench = _describe(handle)
                    cpu_ms = (time.thread_time() - cpu) * 1000
                    watch.callbacks.append(Callback(start, end, cpu_ms, name, bench))

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def during(self, start: float, end: float) -> tuple[Callback, ...]:
        """The callbacks kept that overlap ``start`` to ``end`` (perf_counter seconds)."""
        return tuple(c for c in self.callbacks if c.end > start and c.start < end)

    def longest(self, *, bench: bool = False) -> Callback | None:
        """The kept callback that held the loop longest (the terminal's, or the bench's)."""
        return max((c for c in self.callbacks if c.bench is bench), key=lambda c: c.wall_ms,
                   default=None)  # fmt: skip


def _describe(handle: asyncio.Handle) -> tuple[str, bool]:
    """What a handle runs (a task's coroutine, or a function), and whether it is the bench's."""
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro: Any = owner.get_coro()
        code = getattr(coro, "cr_code", None)
        name = getattr(coro, "__qualname__", repr(coro))
        return f"task {name}", code is not None and code.co_filename.startswith(_BENCH_DIR)
    func = getattr(callback, "__func__", callback)
    code = getattr(func, "__code__", None)
    name = getattr(func, "__qualname__", repr(func))
    return name, code is not None and code.co_filename.startswith(_BENCH_DIR)


def explain(
    wakes: list[tuple[float, float, float]], watch: LoopWatch, over_ms: float
) -> list[Stall]:
    """The probe's wake-ups (due, woke, run-queue wait in ms) more than ``over_ms`` late,
    each with its callbacks, longest first."""
    stalls = []
    for due, woke, runq_ms in wakes:
        late_ms = (woke - due) * 1000
        if late_ms > over_ms:
            stalls.append(Stall(late_ms, watch.during(due, woke), runq_ms))
    return sorted(stalls, key=lambda s: -s.late_ms)


def runq_wait_ms() -> float:
    """Milliseconds the calling thread has waited for a CPU so far (0 without schedstat)."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) each live thread of this process used so far, with its name.

    Keyed by the thread's native id; the name is Python's (``MainThread``,
    ``payterm-display``, ``asyncio_0``…), which the kernel's ``comm`` does not carry.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue  # ended meanwhile, or no /proc
        fields = stat.rsplit(")", 1)[1].split()
        found[thread.native_id] = (thread.name, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def thread_cpu_used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds used between two :func:`thread_cpu` readings, summed by kind of thread.

    ``asyncio_3`` and ``asyncio_0`` count as ``asyncio``. A thread that ended between the
    readings is not counted (the process's total from ``getrusage`` still has it).
    """
    used: dict[str, float] = {}
    for native_id, (name, seconds) in after.items():
        kind = _thread_kind(name)
        used[kind] = used.get(kind, 0.0) + seconds - before.get(native_id, (name, 0.0))[1]
    return used


def _thread_kind(name: str) -> str:
    """``asyncio_3`` → ``asyncio``: worker threads of one pool counted together."""
    head, _, tail = name.rpartition("_")
    return head if head and tail.isdigit() else name
