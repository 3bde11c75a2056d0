"""Play scripted (time, event) rows through the pure machine and pick apart what came out.

A row is ``(at_s, event, Expect(...))``: the event is handled at monotonic time ``at_s``
and the resulting :class:`Step` must match the expectation. The player also keeps the
timers the machine asked for, so a ``TimerFired`` row must come exactly when its timer is
due (or be expected to be rejected): the tables thereby check the poll cadence too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from terminal.config.model import RouteConfig
from terminal.machine import (
    Alert,
    ButtonPressed,
    CallProvider,
    CancelTimer,
    CodeScanned,
    Effect,
    Event,
    InDoubtFound,
    KeyPressed,
    Phase,
    PrintSlip,
    ProviderAnswered,
    ProviderFailed,
    RecordPayment,
    Settings,
    StartTimer,
    State,
    Step,
    TimerFired,
    step,
)
from terminal.machine.events import ButtonName, Op
from terminal.machine.states import Now, QrChoice
from terminal.money import Money
from terminal.payment import Flow, Payment, PaymentState
from terminal.providers.base import Capabilities, PaymentStatus, ProviderAnswer
from terminal.views.model import SlipKind
from terminal.views.screens import screen_for

__all__ = [
    "WALL_START",
    "Expect",
    "Row",
    "Script",
    "EventSource",
    "now_at",
    "run",
    "effects_of",
    "mismatches",
    "unchanged_but_time",
    "PAYMASTER",
    "WEBMONEY",
    "VERYSTAR",
    "ROUTES",
    "SETTINGS",
    "WECHAT_CODE",
    "ALIPAY_CODE",
    "order_id",
    "key",
    "typed",
    "press",
    "fire",
    "scan",
    "answer",
    "fail",
    "in_doubt",
    "IN_DOUBT_CREATED_S",
    "CHOICES",
    "CHOICE_SETTINGS",
]

#: The wall time at monotonic zero in every script.
WALL_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: When a payment found in doubt at second 0 was created, by default: just before the restart.
IN_DOUBT_CREATED_S = -10.0
#: Timer due times are compared with this slack (float sums of delays).
TIME_SLACK_S = 1e-6

E = TypeVar("E")

# --- the terminal the tables run on ---------------------------------------------------------

#: SBP through PayMaster (002): first poll after 2 s, then every 3 s; a 3-error budget.
PAYMASTER = Capabilities(
    supports_cpm=False,
    poll_interval_s=3.0,
    first_poll_delay_s=2.0,
    invoice_lifetime_s=120.0,
    no_answer_timeout_s=30.0,
    technical_error_budget=3,
)
#: WebMoney (001): polls every 5 s, five consecutive technical errors allowed.
WEBMONEY = Capabilities(
    supports_cpm=False,
    poll_interval_s=5.0,
    first_poll_delay_s=5.0,
    invoice_lifetime_s=180.0,
    no_answer_timeout_s=60.0,
    technical_error_budget=5,
)
#: Alipay / WeChat through Verystar (000): customer-presented codes, confirm within 45 s.
VERYSTAR = Capabilities(
    poll_interval_s=2.0,
    first_poll_delay_s=4.0,
    confirm_timeout_s=45.0,
    no_answer_timeout_s=30.0,
    technical_error_budget=4,
)
ROUTES = (
    RouteConfig("alipay", "verystar", ("25", "26", "27", "28", "29", "30"), tuple(range(16, 25))),
    RouteConfig("wechat", "verystar", ("10", "11", "12", "13", "14", "15"), (18,)),
    RouteConfig("sbp_wallet", "webmoney", ("SBP",), ()),  # a provider that takes no codes
)
SETTINGS = Settings(
    terminal_id="T0042",
    epoch="0007",
    currency="RUB",
    max_amount_minor=1_000_000,
    qr_mode=1,
    mpm_provider="paymaster",
    providers={"paymaster": PAYMASTER, "webmoney": WEBMONEY, "verystar": VERYSTAR},
    routes=ROUTES,
    supervisor_pins=frozenset({"2468"}),
    supervisor_badges=frozenset({"04a1b2c3"}),
    result_screen_s=15.0,
    void_window_s=120.0,
)
WECHAT_CODE = "134567890123456789"  # 18 characters, prefix 13
ALIPAY_CODE = "2812345678901234"  # 16 characters, prefix 28


def order_id(seq: int) -> str:
    """The order id the table terminal gives its attempt number ``seq``."""
    return f"{SETTINGS.terminal_id}-{SETTINGS.epoch}-{seq:06d}"


# --- events, briefly ----------------------------------------------------------------------


def key(name: str) -> KeyPressed:
    """A keypad key."""
    return KeyPressed(name)


def press(button: ButtonName) -> ButtonPressed:
    """One of the Retry, Cancel, Force buttons."""
    return ButtonPressed(button)


def fire(name: str) -> TimerFired:
    """A timer running out."""
    return TimerFired(name)


def scan(code: str) -> CodeScanned:
    """A scanned customer code."""
    return CodeScanned(code)


def answer(
    op: Op,
    status: PaymentStatus,
    seq: int = 1,
    *,
    ref: str | None = None,
    qr: str | None = None,
    message: str = "",
) -> ProviderAnswered:
    """A proper answer to ``op`` about attempt ``seq``."""
    reply = ProviderAnswer(status, status.value, ref, qr, message)
    return ProviderAnswered(op, order_id(seq), reply)


def fail(op: Op, seq: int = 1, kind: str = "ProviderTimeout") -> ProviderFailed:
    """No proper answer to ``op`` about attempt ``seq``."""
    return ProviderFailed(op, order_id(seq), kind, f"{op}: {kind}")


def in_doubt(
    seq: int,
    state: PaymentState = PaymentState.NEW,
    flow: Flow = "mpm",
    *,
    created_s: float = IN_DOUBT_CREATED_S,
    synced: bool = True,
) -> InDoubtFound:
    """A payment of 25.00 the journal held unfinished at start (MPM: PayMaster, CPM: Verystar).

    It was created at script second ``created_s`` by the wall clock (before the restart,
    which is second 0), with that reading's ``synced`` flag.
    """
    provider = "paymaster" if flow == "mpm" else "verystar"
    created = now_at(created_s).wall
    payment = Payment(
        order_id(seq), seq, 1, flow, provider, Money(2500, "RUB"), state,
        created_wall=created, wall_synced=synced,
    )  # fmt: skip
    return InDoubtFound(payment)


def typed(at_s: float, digits: str, *, enter: bool = True) -> list[Row]:
    """Rows typing ``digits`` on the keypad at ``at_s`` (then Enter: the amount is ready)."""
    rows: list[Row] = [(at_s, key(d), Expect(phase=Phase.AMOUNT)) for d in digits]
    if enter:
        rows.append((at_s, key("enter"), Expect(phase=Phase.READY)))
    return rows


@dataclass(frozen=True)
class Expect:
    """What one row must leave behind; ``None`` (or an empty mapping) is "not checked".

    Tuples of effects are exact and in order: ``calls=()`` means "no provider call".
    ``timers`` maps timer names to the StartTimer delay expected among the effects (None:
    that timer is not started); ``state`` and ``fields`` compare attributes of the new
    State and of its payment (None included); ``screen`` is the English screen's
    (name, qr payload).
    """

    phase: Phase | None = None
    payment: PaymentState | None = None
    calls: tuple[str, ...] | None = None
    records: tuple[PaymentState, ...] | None = None
    slips: tuple[SlipKind, ...] | None = None
    alerts: tuple[str, ...] | None = None
    timers: Mapping[str, float | None] = field(default_factory=dict)
    message: str | None = None
    screen: tuple[str, str | None] | None = None
    state: Mapping[str, object] = field(default_factory=dict)
    fields: Mapping[str, object] = field(default_factory=dict)
    rejected: bool = False
    check: Callable[[Step], object] | None = None


EventSource = Event | Callable[["Script"], Event]
Row = tuple[float, EventSource, Expect]


def now_at(at_s: float, *, synced: bool = True) -> Now:
    """The ``Now`` of monotonic second ``at_s`` (wall time moves in step)."""
    wall = (WALL_START + timedelta(seconds=at_s)).isoformat().replace("+00:00", "Z")
    return Now(mono=at_s, wall=wall, wall_synced=synced)


@dataclass
class Script:
    """A machine being played: its current state, every step so far and its running timers."""

    state: State
    steps: list[Step] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timers: dict[str, float] = field(default_factory=dict)  # name → due monotonic time

    def feed(self, at_s: float, source: EventSource, *, expect_rejected: bool = False) -> Step:
        """Handle one event at ``at_s``; a timer event must be due then, unless rejected."""
        event = source(self) if callable(source) else source
        if isinstance(event, TimerFired):
            self._check_timer(at_s, event.name, expect_rejected)
        result = step(self.state, event, now_at(at_s))
        for effect in result.effects:
            if isinstance(effect, StartTimer):
                self.timers[effect.name] = at_s + effect.delay_s
            elif isinstance(effect, CancelTimer):
                self.timers.pop(effect.name, None)
        self.state = result.state
        self.steps.append(result)
        self.events.append(event)
        return result

    def effects(self) -> list[Effect]:
        """Every effect of every step, in order."""
        return [effect for s in self.steps for effect in s.effects]

    def last_payment(self, seq: int | None = None) -> Payment:
        """The payment (attempt ``seq``, or any) most recently written to the journal."""
        records = [
            r.payment
            for r in effects_of(self.steps, RecordPayment)
            if seq is None or r.payment.seq == seq
        ]
        assert records, f"no payment {seq or ''} was recorded yet"
        return records[-1]

    def _check_timer(self, at_s: float, name: str, expect_rejected: bool) -> None:
        due = self.timers.pop(name, None)
        if due is None:
            assert expect_rejected, f"timer {name!r} fired at {at_s} but it was not running"
            return
        assert abs(due - at_s) <= TIME_SLACK_S, f"timer {name!r} fired at {at_s}, due at {due}"


def run(initial: State, rows: Iterable[Row]) -> Script:
    """Play ``rows`` from ``initial``; raise AssertionError at the first row that disagrees."""
    script = Script(initial)
    for index, (at_s, source, expect) in enumerate(rows):
        result = script.feed(at_s, source, expect_rejected=expect.rejected)
        problems = mismatches(result, expect)
        if problems:
            event = script.events[-1]
            detail = "\n  ".join(problems)
            raise AssertionError(f"row {index} (t={at_s}, {event!r}):\n  {detail}")
    return script


def effects_of(steps: Step | Sequence[Step], kind: type[E]) -> list[E]:
    """The effects of type ``kind`` in one step or in a list of steps, in order."""
    step_list = [steps] if isinstance(steps, Step) else steps
    return [e for s in step_list for e in s.effects if isinstance(e, kind)]


def mismatches(result: Step, expect: Expect) -> list[str]:
    """How ``result`` differs from ``expect``, one sentence per difference."""
    found: list[str] = []
    state, payment = result.state, result.state.payment
    if bool(result.rejected) != expect.rejected:
        found.append(f"rejected={result.rejected!r}, expected rejected={expect.rejected}")
    _compare(found, "phase", state.phase, expect.phase)
    _compare(found, "payment state", payment and payment.state, expect.payment)
    _compare(found, "message", state.message, expect.message)
    _compare(found, "calls", _ops(result), expect.calls)
    _compare(found, "records", _recorded(result), expect.records)
    _compare(found, "slips", tuple(e.kind for e in effects_of(result, PrintSlip)), expect.slips)
    _compare(found, "alerts", tuple(e.code for e in effects_of(result, Alert)), expect.alerts)
    # In the mappings None is a value too: ``timers={"poll": None}`` means "not started".
    started = {e.name: e.delay_s for e in effects_of(result, StartTimer)}
    for name, delay in expect.timers.items():
        _compare(found, f"timer {name}", started.get(name), delay, exact=True)
    for name, value in expect.state.items():
        _compare(found, f"state.{name}", getattr(state, name), value, exact=True)
    for name, value in expect.fields.items():
        _compare(found, f"payment.{name}", getattr(payment, name, None), value, exact=True)
    if expect.screen is not None:
        screen = screen_for(state, "en")
        _compare(found, "screen", (screen.name, screen.qr), expect.screen)
    if expect.check is not None:
        try:
            expect.check(result)
        except AssertionError as exc:
            found.append(f"check: {exc}")
    return found


def unchanged_but_time(before: State, after: State) -> bool:
    """True when ``after`` differs from ``before`` in nothing but the event time."""
    return replace(after, now=before.now) == before


def _ops(result: Step) -> tuple[str, ...]:
    return tuple(e.op for e in effects_of(result, CallProvider))


def _recorded(result: Step) -> tuple[PaymentState, ...]:
    return tuple(e.payment.state for e in effects_of(result, RecordPayment))


def _compare(
    found: list[str], what: str, actual: object, expected: object, *, exact: bool = False
) -> None:
    if (exact or expected is not None) and actual != expected:
        found.append(f"{what}: got {actual!r}, expected {expected!r}")


#: WebMoney's four rows as four entries, and Sendy's three online services in one entry.
CHOICES = (
    QrChoice("wm_sbp", "sbp"),
    QrChoice("wm_webmoney", "webmoney"),
    QrChoice("wm_wechat", "wechat"),
    QrChoice("wm_alipay", "alipay"),
)
#: A terminal whose cashier chooses among them; WeChat (3) is the configured default.
CHOICE_SETTINGS = replace(
    SETTINGS,
    mpm_provider="wm_wechat",
    qr_choices=CHOICES,
    qr_default=2,
    providers={**SETTINGS.providers, **{c.provider: WEBMONEY for c in CHOICES}},
)
