"""The runtime's loop: events go to the machine one at a time, and each effect is carried out.

All methods are loop-only. Hardware backends hand their input to the loop themselves;
provider calls, printing and timers run as tasks whose results come back as events.
Each kind of effect is carried out by a module of its own; the order they are carried
out in, and the write-ahead rule, are here in :meth:`Runtime._carry_out`.

Nothing slow runs on the loop's thread: a journal record is committed on the journal's
worker thread and awaited (the next effect, and the next event, wait for it; input,
screens and answers do not), frames are drawn and pushed by the display's worker, slips
printed by the printer's.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from hw.base import Buttons, Display, Keypad, NfcReader, Printer, Scanner, Signals
from terminal.clock import Clock
from terminal.errors import JournalError
from terminal.journal import Journal
from terminal.journal.api_store import ApiStore
from terminal.machine import (
    Alert,
    BackgroundCall,
    BadgeTapped,
    ButtonPressed,
    CallProvider,
    CancelTimer,
    CheckJournal,
    CloseShift,
    Effect,
    Event,
    FindPayment,
    GatherHostInfo,
    HostInfoGathered,
    InfoRequested,
    Now,
    PartReported,
    PrintSlip,
    RecordPayment,
    RefundRequested,
    ShiftCloseFailed,
    ShiftCloseRequested,
    StartTimer,
    State,
    step,
)
from terminal.machine.api_events import (
    PairingOpened,
    PrintPairingSlip,
    RecordApiOrder,
    RecordPairing,
)
from terminal.machine.common import Step
from terminal.payment import Payment, PaymentState
from terminal.providers.base import Provider
from terminal.runtime.api_effects import ApiEffects, reprint_kind
from terminal.runtime.inputs import PartProblems, pump, pump_keypad, pump_problems, scan_event
from terminal.runtime.journaling import JournalEffects
from terminal.runtime.link import LinkWatch
from terminal.runtime.observers import Observer, Observers
from terminal.runtime.printing import SlipPrinting, printer_status
from terminal.runtime.provider_calls import ProviderCalls
from terminal.runtime.reconciliation import Reconciler
from terminal.runtime.screen import ScreenUpdater, signal_change
from terminal.runtime.timers import Timers
from terminal.system.host_info import HostInfo
from terminal.system.netinfo import read_host_info
from terminal.views.model import Screen, SlipKind
from terminal.views.text import Language

__all__ = ["DRAIN_TIMEOUT_S", "SWITCH_INTERVAL_S", "Devices", "Runtime"]

log = logging.getLogger("payterm.runtime")

#: How long stopping waits for provider calls and slips under way (their results are journaled).
DRAIN_TIMEOUT_S = 15.0
#: How long a thread running Python (the display's drawing, the printer's) may keep the
#: interpreter's lock while the loop waits for it; Python's default is 5 ms, the loop's
#: whole stall budget.
SWITCH_INTERVAL_S = 0.0005


@dataclass(frozen=True, slots=True)
class Devices:
    """The hardware parts the runtime drives."""

    display: Display
    printer: Printer
    scanner: Scanner
    keypad: Keypad
    buttons: Buttons
    nfc: NfcReader
    signals: Signals | None = None


class Runtime:
    """Carries the machine's effects out and feeds their results back as events."""

    def __init__(
        self,
        *,
        state: State,
        journal: Journal,
        providers: Mapping[str, Provider],
        devices: Devices,
        clock: Clock,
        language: Language = "en",
        slip_columns: int = 32,
        slip_copies: int = 1,
        detailed_report: bool = False,
        operator_keys: Mapping[str, str] | None = None,
        route_probe: Callable[[], bool | None] | None = None,
        unsynced: Callable[[], int] | None = None,
        host_info: Callable[[], HostInfo] = read_host_info,
    ) -> None:
        self.state = state
        self._journal = journal
        self._devices = devices
        self._clock = clock
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy = 0
        self._redraw_due = False
        self._operator_keys = dict(operator_keys or {})  # key name (slash, …) -> function
        self._stopping = False
        self._inputs: list[asyncio.Task[None]] = []  # input pumps and the route watch
        self._processor: asyncio.Task[None] | None = None
        self._observers = Observers()
        emit = self._observers.emit
        self._screen = ScreenUpdater(devices.display, language=language, emit=emit)
        self._journaling = JournalEffects(journal, clock, feed=self.feed, emit=emit)
        probe = route_probe or (lambda: None)
        self._link = LinkWatch(clock, feed=self.feed, emit=emit, route_probe=probe)
        self._watch_routes = route_probe is not None
        self._calls = ProviderCalls(providers, feed=self.feed, emit=emit, link=self._link)
        self._timers = Timers(clock, feed=self.feed)
        self._printing = SlipPrinting(
            devices.printer, state_of=self._current_state, language=language,
            columns=slip_columns, copies=slip_copies, feed=self.feed, emit=emit,
        )  # fmt: skip
        self._reconciler = Reconciler(providers, feed=self.feed, emit=emit, link=self._link)
        self._problems = PartProblems()
        self.api_store = ApiStore(journal.database)
        self.api_effects = ApiEffects(
            self.api_store, clock, emit=emit, terminal_id=lambda: self.state.settings.terminal_id,
            language=language, columns=slip_columns,
        )  # fmt: skip
        self._answers: dict[int, tuple[Event, asyncio.Future[Step]]] = {}
        #: Makes the event that shows a pairing code (set by the integrator API when it runs).
        self.pairing_source: Callable[[], PairingOpened] | None = None
        self._detailed_report = detailed_report  # reports list every transaction
        self._unsynced = unsynced  # records not yet synced, for the X report (None: no sync)
        self._alongside: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._host_info = host_info  # reads the info page's facts (files and ioctls: a thread)

    # --- public ------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> None:
        """Call ``observer`` for every state change, screen, slip, provider call and alert."""
        self._observers.subscribe(observer)

    def feed(self, event: Event) -> None:
        """Queue ``event`` for the machine."""
        self._busy += 1
        self._queue.put_nowait(event)

    def submit(self, event: Event) -> asyncio.Future[Step]:
        """Queue ``event``; the future gets the machine's step for it once it is handled.

        The integrator API learns what the machine decided this way, never by deciding.
        """
        answer: asyncio.Future[Step] = asyncio.get_running_loop().create_future()
        self._answers[id(event)] = (event, answer)
        self.feed(event)
        return answer

    def clock_wall(self) -> str:
        """The wall time now, ISO 8601, as the journal records it."""
        return self._clock.wall().isoformat()

    def reprint(self, payment: Payment) -> None:
        """Print ``payment``'s slip again (the slip its state calls for)."""
        self._spawn(self._printing.print_effect(PrintSlip(reprint_kind(payment), payment)))

    def run_alongside(self, task: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``task()`` while the runtime runs, stopped with the input (e.g. the sync task).

        It must never raise: a failure of it would stop the terminal.
        """
        self._alongside.append(task)

    def announce(self, _event: str, /, **details: Any) -> None:
        """Tell the observers about something a part alongside the runtime did."""
        self._observers.emit(_event, **details)

    def set_sync_late(self, late: bool) -> None:
        """Show (or take away) the display's small mark for records overdue upstream."""
        if self._screen.sync_late != late:
            self._screen.sync_late = late
            self._schedule_redraw()

    @property
    def screen(self) -> Screen | None:
        """The screen last pushed to the display."""
        return self._screen.current

    def status(self) -> dict[str, Any]:
        """A summary for the self-check, systemd and integrators.

        ``printer_problem`` is "paper", "offline" or "error" since a slip failed ("" once
        one printed); ``part_problems`` maps each part with a problem to it;
        ``cancelling_in_background`` lists the orders whose cancel failed and that are
        still being closed with their provider.
        """
        payment = self.state.payment
        cancelling = [
            c.payment.order_id
            for c in self.state.chases
            if c.payment.state is PaymentState.CANCEL_FAILED
        ]
        return {
            "phase": self.state.phase.value,
            "order_id": payment.order_id if payment else None,
            "seq": payment.seq if payment else None,
            "payment_state": payment.state.value if payment else None,
            "next_seq": self.state.next_seq,
            "printer": printer_status(self._devices.printer),
            "printer_problem": self.state.printer_problem,
            "part_problems": self._problems.as_dict(),
            "fault": self.state.fault,
            "cancelling_in_background": cancelling,
            "stopping": self._stopping,
        }

    async def wait_idle(self) -> None:
        """Return once no event is queued and no provider call, slip or input is under way."""
        calm = 0
        while calm < 3:
            await asyncio.sleep(0.002)
            calm = calm + 1 if self._busy == 0 else 0

    async def run(self, on_started: Callable[[], None] | None = None) -> None:
        """Start: resolve payments in doubt, listen to the hardware, process events.

        ``on_started`` is called once the payments in doubt are queued and every input is
        listened to. Runs until :meth:`stop` (then returns) or until cancelled. While it
        runs, the interpreter hands its lock between threads every :data:`SWITCH_INTERVAL_S`.
        """
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
        try:
            await self._run(on_started)
        finally:
            sys.setswitchinterval(switch_interval)

    async def _run(self, on_started: Callable[[], None] | None) -> None:
        self._screen.show(self.state)
        self._journaling.queue_in_doubt()
        devices = self._devices
        pumps = [
            pump_keypad(devices.keypad, self._operator_keys, feed=self.feed, operate=self.operate),
            pump_problems("display", devices.display, self.report_problem),
            pump_problems("scanner", devices.scanner, self.report_problem),
            pump_problems("keypad", devices.keypad, self.report_problem),
            pump_problems("buttons", devices.buttons, self.report_problem),
            pump(devices.scanner.codes(), scan_event, self.feed),
            pump(devices.buttons.presses(), ButtonPressed, self.feed),
            pump(devices.nfc.taps(), BadgeTapped, self.feed),
            *(task() for task in self._alongside),
        ]
        if self._watch_routes:
            pumps.append(self._link.watch_routes())
        async with asyncio.TaskGroup() as group:
            self._inputs = [group.create_task(task) for task in pumps]
            self._processor = group.create_task(self._process_forever())
            if on_started is not None:
                on_started()

    async def stop(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Stop taking input and end :meth:`run` once the calls under way are answered.

        Input and reconciliation stop and no timer fires any more (no new poll starts);
        provider calls and slips under way get up to ``timeout_s`` to finish while their
        results still go through the machine, so they are journaled. A payment left
        unfinished stays NEW or PENDING in the journal and is resolved at the next start.
        """
        self._stopping = True
        for task in self._inputs:
            task.cancel()
        self._timers.stop()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._busy > 0 and self._processor is not None and not self._processor.done():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.warning(
                    "stopping with %d provider call(s) or slip(s) unfinished", len(self._tasks)
                )
                break
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=left)
            await asyncio.sleep(0.01)  # let the machine take the results in
        if self._processor is not None:
            self._processor.cancel()

    async def aclose(self) -> None:
        """Stop timers and wait for calls under way to finish (their results are journaled)."""
        self._timers.cancel_all()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=DRAIN_TIMEOUT_S)
        self._journaling.close()

    def report_problem(self, part: str, problem: str) -> None:
        """Say that ``part`` has ``problem`` ("" once fixed): on the screen and the status."""
        self._observers.emit("hardware:problem", part=part, problem=problem)
        self.feed(PartReported(part, self._problems.update(part, problem)))

    def operate(self, function: str) -> None:
        """Carry out an operator key's function (see ``OPERATOR_FUNCTIONS``)."""
        self._observers.emit("keypad:operator", function=function)
        if function == "cancel":
            self.feed(ButtonPressed("cancel"))
        elif function == "refund":
            self.feed(RefundRequested())
        elif function == "z_report":
            self.feed(ShiftCloseRequested("keypad"))
        elif function == "previous_report":
            self._print_previous_shift()
        elif function == "reprint" and self._printing.last_slip is not None:
            self._spawn(self._printing.print_slip(self._printing.last_slip))
        elif function == "info":
            self.feed(InfoRequested())
        elif function == "pair" and self.pairing_source is not None:
            self.feed(self.pairing_source())
        elif function == "x_report":
            report = self._printing.x_report(
                self._journal.report(detail=self._detailed_report),
                printed_wall=self._clock.wall().isoformat(),
                cancelling=self._journal.cancelling_in_background(),
                unsynced=self._unsynced() if self._unsynced is not None else None,
            )
            self._spawn(self._printing.print_slip(report))
        else:
            log.warning("operator key function %r: nothing to do now", function)

    def link_restored(self, source: str) -> None:
        """Say the path to the providers is back: unsettled payments are settled at once."""
        self._link.restore(source)

    async def reconcile_once(self) -> int:
        """Ask about every unsettled payment now; return once done, with the answers counted.

        Forced and voiding payments are queried, cancel-failed ones cancelled again.
        """
        before = self._reconciler.answers
        self._link.restore("asked")
        await self.wait_idle()
        return self._reconciler.answers - before

    # --- the loop -------------------------------------------------------------------------

    def _current_state(self) -> State:
        return self.state

    async def _process_forever(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._handle(event)
            finally:
                self._busy -= 1

    async def _handle(self, event: Event) -> None:
        now = Now(
            self._clock.monotonic(), self._clock.wall().isoformat(), self._clock.wall_is_synced()
        )
        old = self.state.phase
        result = step(self.state, event, now)
        self.state = result.state
        if result.rejected:
            log.debug("%s", result.rejected)
            self._observers.emit("machine:rejected", reason=result.rejected)
        if result.state.phase is not old:
            log.info("phase %s → %s", old.value, result.state.phase.value)
            self._observers.emit("machine:state", old=old.value, new=result.state.phase.value)
            signal_change(self._devices.signals, old, result.state)
        await self._carry_out(result.effects)
        waiting = self._answers.pop(id(event), None)
        if waiting is not None and waiting[0] is event and not waiting[1].done():
            waiting[1].set_result(result)
        self._schedule_redraw()

    async def _carry_out(self, effects: tuple[Effect, ...]) -> None:
        """Carry ``effects`` out in order; a record is awaited before the next effect starts."""
        for effect in effects:
            if isinstance(effect, RecordPayment):
                failed = await self._journaling.record(effect)
                if failed is not None:
                    await self._handle(failed)
                    return  # write-ahead: nothing after a failed journal write may happen
            if isinstance(effect, RecordApiOrder | RecordPairing):
                failed = self.api_effects.record(effect)
                if failed is not None:
                    await self._handle(failed)
                    return  # write-ahead, as for a payment's record
            if isinstance(effect, CallProvider):
                self._spawn(self._calls.call(effect))
            elif isinstance(effect, BackgroundCall):
                self._spawn(self._reconciler.call(effect))
            elif isinstance(effect, StartTimer):
                self._timers.start(effect)
            elif isinstance(effect, CancelTimer):
                self._timers.cancel(effect.name)
            elif isinstance(effect, PrintSlip):
                self._spawn(self._printing.print_effect(effect))
            elif isinstance(effect, Alert):
                log.error("alert %s: %s", effect.code, effect.message)
                self._observers.emit("terminal:alert", code=effect.code, message=effect.message)
            elif isinstance(effect, FindPayment):
                self._journaling.find(effect.reference)
            elif isinstance(effect, PrintPairingSlip):
                self._spawn(self._printing.print_slip(self.api_effects.pairing_slip(effect)))
            elif isinstance(effect, CheckJournal):
                self._journaling.check()
            elif isinstance(effect, GatherHostInfo):
                self._spawn(self._gather_host_info())
            elif isinstance(effect, CloseShift):
                outcome = await self._journaling.close_shift(effect)
                await self._handle(outcome)  # at once: no payment takes the old shift
                if isinstance(outcome, ShiftCloseFailed):
                    return  # write-ahead: nothing is printed of a shift still open
                self._print_z(effect)

    def _print_z(self, effect: CloseShift) -> None:
        """Print the Z report of the shift the journal has just closed."""
        wall = self._clock.wall()
        try:
            data = self._journal.report(shift=effect.shift, detail=self._detailed_report)
        except JournalError as exc:
            log.error("shift %d closed, its Z report not read: %s", effect.shift, exc)
            self._observers.emit("terminal:alert", code="z_unread", message=str(exc))
            return
        unsynced = self._unsynced() if self._unsynced is not None else None
        slip = self._printing.report(
            data, SlipKind.Z_REPORT, printed_wall=wall.isoformat(), unsynced=unsynced
        )
        self._spawn(self._printing.print_slip(slip))

    def _print_previous_shift(self) -> None:
        """The previous (closed) shift's Z report, printed again as a copy."""
        previous = self._journal.current_shift() - 1
        if previous < 1:
            log.warning("no previous shift to print")
            return
        data = self._journal.report(shift=previous, detail=self._detailed_report)
        slip = self._printing.report(
            data, SlipKind.Z_REPORT, printed_wall=self._clock.wall().isoformat(), copy=True
        )
        self._spawn(self._printing.print_slip(slip))

    async def _gather_host_info(self) -> None:
        """Read the host's facts off the loop and bring them to the machine."""
        try:
            info = await asyncio.to_thread(self._host_info)
        except Exception:  # noqa: BLE001 - the page then says nothing; never stop the terminal
            log.exception("info page: the host's facts could not be read")
            return
        self.feed(HostInfoGathered(info))

    def _schedule_redraw(self) -> None:
        # The redraw runs after the tasks just spawned have taken their first step, so a
        # provider request is on the wire before a slow display (I2C: ~25 ms) is drawn.
        if not self._redraw_due:
            self._redraw_due = True
            self._busy += 1
            asyncio.get_running_loop().call_soon(self._redraw)

    def _redraw(self) -> None:
        self._redraw_due = False
        self._busy -= 1
        self._screen.show(self.state)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._busy += 1
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._busy -= 1
        if not task.cancelled() and task.exception() is not None:
            log.error("task failed", exc_info=task.exception())
