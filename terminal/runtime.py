"""The runtime: one asyncio loop that feeds events to the machine and carries out its effects.

All methods are loop-only. Hardware backends hand their input to the loop themselves;
provider calls, printing and timers run as tasks whose results come back as events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hw.base import (
    OPERATOR_KEYS,
    Buttons,
    Display,
    Keypad,
    NfcReader,
    Printer,
    Scanner,
    Signals,
)
from hw.errors import HardwareError, PaperOut, PrinterOffline
from terminal.clock import Clock
from terminal.errors import JournalError, ProviderTechnicalError
from terminal.journal import Journal
from terminal.machine import (
    Alert,
    BadgeTapped,
    ButtonPressed,
    CallProvider,
    CancelTimer,
    CodeScanned,
    Effect,
    Event,
    FindPayment,
    InDoubtFound,
    JournalFailed,
    KeyPressed,
    Now,
    PartReported,
    PaymentLookedUp,
    Phase,
    PrinterReported,
    PrintSlip,
    ProviderAnswered,
    ProviderFailed,
    ReconcileAnswered,
    RecordPayment,
    RefundRequested,
    StartTimer,
    State,
    TimerFired,
    order_of,
    step,
)
from terminal.payment import PaymentState
from terminal.providers.base import PaymentStatus, Provider, ProviderAnswer
from terminal.views.model import Screen, Slip
from terminal.views.reports import build_x_report
from terminal.views.screens import screen_for
from terminal.views.slips import build_slip
from terminal.views.text import Language

__all__ = ["Devices", "Runtime", "Observer", "RECONCILE_INTERVAL_S", "DRAIN_TIMEOUT_S"]

log = logging.getLogger("payterm.runtime")

#: How often forced and cancel-failed payments are asked about again.
RECONCILE_INTERVAL_S = 60.0

#: How long stopping waits for provider calls and slips under way (their results are journaled).
DRAIN_TIMEOUT_S = 15.0

#: Unresolved payments the background reconciliation asks about (NEW and PENDING ones are
#: resolved in the machine itself at start).
RECONCILED_STATES = frozenset(
    {PaymentState.FORCED, PaymentState.CANCEL_FAILED, PaymentState.VOIDING}
)

#: Receives ("namespace:name", details) for everything the terminal does (headless demo, API).
Observer = Callable[[str, dict[str, Any]], None]


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
        operator_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.state = state
        self._journal = journal
        self._providers = providers
        self._devices = devices
        self._clock = clock
        self._language = language
        self._columns = slip_columns
        self._copies = slip_copies
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._screen: Screen | None = None
        self._observers: list[Observer] = []
        self._busy = 0
        self._redraw_due = False
        self._operator_keys = dict(operator_keys or {})  # key name (slash, …) -> function
        self._last_slip: Slip | None = None
        self._reconcile_failures = 0
        self._part_problems: dict[str, str] = {}  # part -> its problem, in the order reported
        self._stopping = False
        self._inputs: list[asyncio.Task[None]] = []  # input pumps and reconciliation
        self._processor: asyncio.Task[None] | None = None

    # --- public ------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> None:
        """Call ``observer`` for every state change, screen, slip, provider call and alert."""
        self._observers.append(observer)

    def feed(self, event: Event) -> None:
        """Queue ``event`` for the machine."""
        self._busy += 1
        self._queue.put_nowait(event)

    @property
    def screen(self) -> Screen | None:
        """The screen last pushed to the display."""
        return self._screen

    def status(self) -> dict[str, Any]:
        """A summary for the self-check, systemd and integrators.

        ``printer_problem`` is "paper", "offline" or "error" since a slip failed ("" once
        one printed); ``part_problems`` maps each part with a problem to it.
        """
        payment = self.state.payment
        return {
            "phase": self.state.phase.value,
            "order_id": payment.order_id if payment else None,
            "seq": payment.seq if payment else None,
            "payment_state": payment.state.value if payment else None,
            "next_seq": self.state.next_seq,
            "printer": _printer_status(self._devices.printer),
            "printer_problem": self.state.printer_problem,
            "part_problems": dict(self._part_problems),
            "fault": self.state.fault,
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
        listened to. Runs until :meth:`stop` (then returns) or until cancelled.
        """
        self._begin()
        pumps = [
            self._pump_keypad(),
            self._pump_problems("display", self._devices.display),
            self._pump_problems("scanner", self._devices.scanner),
            self._pump_problems("keypad", self._devices.keypad),
            self._pump_problems("buttons", self._devices.buttons),
            self._pump(self._devices.scanner.codes(), CodeScanned),
            self._pump(self._devices.buttons.presses(), ButtonPressed),
            self._pump(self._devices.nfc.taps(), BadgeTapped),
            self._reconcile_forever(),
        ]
        async with asyncio.TaskGroup() as group:
            self._inputs = [group.create_task(pump) for pump in pumps]
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
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
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
        for timer in self._timers.values():
            timer.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=DRAIN_TIMEOUT_S)

    # --- the loop -------------------------------------------------------------------------

    def _begin(self) -> None:
        self._show()
        for payment in self._journal.unresolved():
            if payment.state in (PaymentState.NEW, PaymentState.PENDING):
                log.warning("payment %s in doubt after restart: resolving", payment.order_id)
                self._emit("journal:in_doubt", order_id=payment.order_id, state=payment.state.value)
                self.feed(InDoubtFound(payment))

    async def _process_forever(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                self._handle(event)
            finally:
                self._busy -= 1

    def _handle(self, event: Event) -> None:
        now = Now(
            self._clock.monotonic(), self._clock.wall().isoformat(), self._clock.wall_is_synced()
        )
        old = self.state.phase
        result = step(self.state, event, now)
        self.state = result.state
        if result.rejected:
            log.debug("%s", result.rejected)
            self._emit("machine:rejected", reason=result.rejected)
        if result.state.phase is not old:
            log.info("phase %s → %s", old.value, result.state.phase.value)
            self._emit("machine:state", old=old.value, new=result.state.phase.value)
            self._signal(old, result.state)
        self._carry_out(result.effects)
        self._schedule_redraw()

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
        self._show()

    def _carry_out(self, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, RecordPayment) and not self._record(effect):
                return  # write-ahead: nothing after a failed journal write may happen
            if isinstance(effect, CallProvider):
                self._spawn(self._call(effect))
            elif isinstance(effect, StartTimer):
                self._start_timer(effect)
            elif isinstance(effect, CancelTimer):
                self._cancel_timer(effect.name)
            elif isinstance(effect, PrintSlip):
                self._spawn(self._print(effect))
            elif isinstance(effect, Alert):
                log.error("alert %s: %s", effect.code, effect.message)
                self._emit("terminal:alert", code=effect.code, message=effect.message)
            elif isinstance(effect, FindPayment):
                self._find(effect.reference)

    def _find(self, reference: str) -> None:
        try:
            payment = self._journal.find(reference)
        except JournalError as exc:
            log.critical("journal read failed: %s", exc)
            self.feed(JournalFailed(str(exc)))
            return
        self._emit(
            "journal:found", reference=reference, order_id=payment.order_id if payment else None
        )
        self.feed(PaymentLookedUp(reference, payment))

    def _record(self, effect: RecordPayment) -> bool:
        try:
            self._journal.record(
                effect.payment,
                note=effect.note,
                mono=self._clock.monotonic(),
                wall=self._clock.wall(),
                wall_synced=self._clock.wall_is_synced(),
            )
        except JournalError as exc:
            log.critical("journal write failed: %s", exc)
            self._handle(JournalFailed(str(exc)))
            return False
        payment = effect.payment
        # One line per journaled step, for `journalctl -u payterm`: the order id and state.
        log.info(
            "payment %s %s %s via %s: %s", payment.order_id, payment.state.value,
            payment.amount, payment.provider, effect.note,
        )  # fmt: skip
        self._emit(
            "journal:record", order_id=payment.order_id, state=payment.state.value, note=effect.note
        )
        return True

    def _signal(self, old: Phase, state: State) -> None:
        signals = self._devices.signals
        if signals is None:
            return
        if Phase.WAITING in (old, state.phase):
            signals.waiting(state.phase is Phase.WAITING)
        if state.phase is Phase.DONE and state.payment is not None:
            if state.payment.state in (PaymentState.PAID, PaymentState.VOIDED):
                signals.ok()
            elif state.payment.state is not PaymentState.FORCED:
                signals.fail()

    def _show(self) -> None:
        screen = screen_for(self.state, self._language)
        if screen == self._screen:
            return
        self._screen = screen
        try:
            self._devices.display.show(screen)
        except HardwareError as exc:
            log.warning("display: %s", exc)
        self._emit("display:screen", **_screen_dict(screen))

    # --- effects ----------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        self._busy += 1
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._busy -= 1
        if not task.cancelled() and task.exception() is not None:
            log.error("task failed", exc_info=task.exception())

    async def _call(self, effect: CallProvider) -> None:
        order_id = effect.order.order_id
        self._emit("provider:call", op=effect.op, provider=effect.provider, order_id=order_id)
        try:
            answer = await self._invoke(effect)
        except ProviderTechnicalError as exc:
            kind = type(exc).__name__
            log.warning("%s %s %s: %s", effect.provider, effect.op, order_id, exc)
            self._emit(
                "provider:failed", op=effect.op, order_id=order_id, kind=kind, message=str(exc)
            )
            self.feed(ProviderFailed(effect.op, order_id, kind, str(exc)))
            return
        self._emit(
            "provider:answer", op=effect.op, order_id=order_id, status=answer.status.value,
            raw_status=answer.raw_status,
        )  # fmt: skip
        self.feed(ProviderAnswered(effect.op, order_id, answer))

    async def _invoke(self, effect: CallProvider) -> ProviderAnswer:
        provider = self._providers[effect.provider]
        if effect.op == "create":
            return await provider.create_invoice(effect.order)
        if effect.op == "pay":
            return await provider.pay_with_code(effect.order, effect.code)
        if effect.op == "query":
            return await provider.query(effect.order)
        if effect.op == "cancel":
            return await provider.cancel(effect.order)
        assert effect.refund_amount is not None
        return await provider.refund(effect.order, effect.refund_id, effect.refund_amount)

    def _start_timer(self, effect: StartTimer) -> None:
        self._cancel_timer(effect.name)
        if self._stopping:
            return  # nothing new starts while stopping; the journal keeps the payment
        self._timers[effect.name] = asyncio.ensure_future(self._timer(effect))

    def _cancel_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    async def _timer(self, effect: StartTimer) -> None:
        await self._clock.sleep(effect.delay_s)
        self._timers.pop(effect.name, None)
        self.feed(TimerFired(effect.name))

    async def _print(self, effect: PrintSlip) -> None:
        slip = build_slip(
            effect.kind,
            effect.payment,
            terminal_id=self.state.settings.terminal_id,
            language=self._language,
            columns=self._columns,
            copies=self._copies,
        )
        await self._print_slip(slip)

    async def _print_slip(self, slip: Slip) -> None:
        try:
            await self._devices.printer.print_slip(slip)
        except HardwareError as exc:
            problem = _printer_problem(exc)
            level = logging.WARNING if problem != "error" else logging.ERROR
            log.log(level, "slip %s for %s not printed: %s", slip.kind.value, slip.order_id, exc)
            self._emit(
                "printer:failed", kind=slip.kind.value, order_id=slip.order_id, reason=str(exc)
            )
            self.feed(PrinterReported(slip.kind.value, slip.order_id, problem))
            return
        if self.state.printer_problem:
            self.feed(PrinterReported(slip.kind.value, slip.order_id, ""))
        self._last_slip = slip
        self._emit(
            "printer:slip", kind=slip.kind.value, order_id=slip.order_id,
            lines=[line.text for line in slip.lines], qr=slip.qr, barcode=slip.barcode,
        )  # fmt: skip

    # --- input and reconciliation -----------------------------------------------------------

    async def _pump(self, source: Any, make: Callable[[Any], Event]) -> None:
        async for item in source:
            self.feed(make(item))

    async def _pump_problems(self, part: str, device: Any) -> None:
        problems = getattr(device, "problems", None)
        if problems is None:
            return
        async for problem in problems():
            self.report_problem(part, problem)

    def report_problem(self, part: str, problem: str) -> None:
        """Say that ``part`` has ``problem`` ("" once fixed): on the screen and the status."""
        self._emit("hardware:problem", part=part, problem=problem)
        self._part_problems.pop(part, None)
        if problem:
            self._part_problems[part] = problem
        # The screen has one line for parts: a fixed part shows another's that remains.
        remaining = problem or next(reversed(self._part_problems.values()), "")
        self.feed(PartReported(part, remaining))

    async def _pump_keypad(self) -> None:
        async for key in self._devices.keypad.keys():
            function = self._operator_keys.get(OPERATOR_KEYS.get(key, ""))
            if function is None:
                self.feed(KeyPressed(key))
            else:
                self.operate(function)

    def operate(self, function: str) -> None:
        """Carry out an operator key's function: cancel, reprint, x_report or refund."""
        self._emit("keypad:operator", function=function)
        if function == "cancel":
            self.feed(ButtonPressed("cancel"))
        elif function == "refund":
            self.feed(RefundRequested())
        elif function == "reprint" and self._last_slip is not None:
            self._spawn(self._print_slip(self._last_slip))
        elif function == "x_report":
            report = build_x_report(
                self._journal.shift_summary(),
                terminal_id=self.state.settings.terminal_id,
                printed_wall=self._clock.wall().isoformat(),
                language=self._language,
                columns=self._columns,
            )
            self._spawn(self._print_slip(report))
        else:
            log.warning("operator key function %r: nothing to do now", function)

    async def _reconcile_forever(self) -> None:
        while True:
            await self.reconcile_once()
            await self._clock.sleep(RECONCILE_INTERVAL_S)

    async def reconcile_once(self) -> int:
        """Ask providers about forced, cancel-failed and voiding payments; count the answers."""
        answered = 0
        current = self.state.payment.order_id if self.state.payment else None
        for payment in self._journal.unresolved():
            if payment.state not in RECONCILED_STATES:
                continue
            if payment.order_id == current and self.state.phase is not Phase.DONE:
                continue
            provider = self._providers.get(payment.provider)
            if provider is None:
                continue
            try:
                answer = await provider.query(order_of(payment))
            except ProviderTechnicalError as exc:
                self._handle_reconcile_failure(payment.order_id, exc)
                continue
            self._reconcile_failures = 0
            answered += 1
            if answer.status is not PaymentStatus.PENDING:
                self.feed(ReconcileAnswered(payment, answer))
        return answered

    def _handle_reconcile_failure(self, order_id: str, exc: ProviderTechnicalError) -> None:
        # The first failure of a run is a warning; repeats are debug, so a dead link
        # does not fill the SD card with the same line.
        level = logging.WARNING if self._reconcile_failures == 0 else logging.DEBUG
        self._reconcile_failures += 1
        log.log(level, "reconcile %s: %s", order_id, exc)

    def _emit(self, _event: str, /, **details: Any) -> None:
        for observer in self._observers:
            observer(_event, details)


def _screen_dict(screen: Screen) -> dict[str, Any]:
    return {
        "name": screen.name,
        "title": screen.title,
        "amount": screen.amount,
        "lines": list(screen.lines),
        "qr": screen.qr,
        "countdown_s": screen.countdown_s,
    }


def _printer_problem(exc: HardwareError) -> str:
    if isinstance(exc, PaperOut):
        return "paper"
    if isinstance(exc, PrinterOffline):
        return "offline"
    return "error"


def _printer_status(printer: Printer) -> dict[str, Any]:
    status = printer.status()
    return {"online": status.online, "paper": status.paper, "detail": status.detail}
