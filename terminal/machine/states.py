"""The machine's state: its phase, the settings it obeys, and the payment in hand."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal

from terminal.config.model import RouteConfig
from terminal.machine.api_events import ApiOrder
from terminal.payment import Payment
from terminal.providers.base import Capabilities
from terminal.system.host_info import HostInfo

__all__ = [
    "Phase",
    "WAITING_FOR_PROVIDER",
    "RESULT_PHASES",
    "Now",
    "QrChoice",
    "Settings",
    "Resumable",
    "Chase",
    "State",
]


class Phase(enum.Enum):
    """Where the terminal stands."""

    IDLE = "idle"  # nothing typed
    AMOUNT = "amount"  # the cashier types the amount
    READY = "ready"  # amount fixed: scan a code or press Enter for a QR
    CREATING = "creating"  # MPM: asking the provider for a QR ("please wait")
    PAYING = "paying"  # CPM: the customer's code is being charged
    WAITING = "waiting"  # polling: QR shown, or the customer confirms in the app
    NO_CONNECTION = "no_connection"  # dialog: Retry / Cancel / Force
    CANCELLING = "cancelling"  # cancel sent, answer awaited
    APPROVAL = "approval"  # a supervisor must approve (PIN or badge)
    VOID_CONFIRM = "void_confirm"  # "void this payment?"
    VOIDING = "voiding"  # refund of a just-paid payment in flight
    REFUND_SCAN = "refund_scan"  # refund: scan (or type) the slip's provider order
    REFUND_AMOUNT = "refund_amount"  # partial refund: type the amount (Enter alone: all left)
    RESOLVING = "resolving"  # after a restart: asking about a payment in doubt
    DONE = "done"  # a result is shown: paid, declined, cancelled…
    FAULT = "fault"  # latched: the journal cannot be written
    PRESENT = "present"  # an API payment: the customer shows their code (or the cashier chooses)
    PAIRING = "pairing"  # a pairing code for a POS is shown
    CHOOSE = "choose"  # several QR payment types: the cashier picks one on the keypad
    INFO = "info"  # the info page: host name, addresses, Wi-Fi, version


#: Phases in which a provider call or poll is under way for the payment in hand.
WAITING_FOR_PROVIDER = frozenset(
    {Phase.CREATING, Phase.PAYING, Phase.WAITING, Phase.CANCELLING, Phase.VOIDING, Phase.RESOLVING}
)
#: Phases that show a finished payment.
RESULT_PHASES = frozenset({Phase.DONE})


@dataclass(frozen=True, slots=True)
class Now:
    """The time an event is handled at: monotonic seconds plus the wall time for records."""

    mono: float
    wall: str = ""  # ISO 8601 UTC
    wall_synced: bool = True


@dataclass(frozen=True, slots=True)
class QrChoice:
    """One payment type the cashier may choose for a QR: a provider and the wallet it pays.

    ``wallet`` is the type's word ("sbp", "webmoney", "wechat", "alipay", "sendy"); for
    Sendy it is the online service sent on the wire; "" when the driver names none.
    """

    provider: str
    wallet: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the machine obeys: taken from the configuration once, at start."""

    terminal_id: str = "T0001"
    epoch: str = "0000"
    currency: str = "RUB"
    max_amount_minor: int = 10_000_000
    qr_mode: Literal[0, 1, 2] = 1
    mpm_provider: str = "sandbox"
    #: The QR payment types offered after Enter, in the order listed (empty: only
    #: ``mpm_provider``, its wallet unknown); ``qr_default`` is the one Enter takes.
    qr_choices: tuple[QrChoice, ...] = ()
    qr_default: int = 0
    providers: dict[str, Capabilities] = field(default_factory=lambda: {"sandbox": Capabilities()})
    routes: tuple[RouteConfig, ...] = ()
    supervisor_pins: frozenset[str] = frozenset()
    supervisor_badges: frozenset[str] = frozenset()
    force_requires_approval: bool = True
    refund_requires_approval: bool = True
    pin_length: int = 4
    max_pin_attempts: int = 3
    result_screen_s: float = 15.0
    void_window_s: float = 120.0
    #: The longest QR payload the display shows legibly (None: no limit); longer ones are
    #: printed instead, even in mode 1.
    screen_qr_max_chars: int | None = None
    #: A training terminal: every screen and slip says so (no real money moves).
    training: bool = False

    def capabilities(self, provider: str) -> Capabilities:
        """The capabilities of ``provider`` (defaults for an unknown name)."""
        return self.providers.get(provider, Capabilities())

    def qr_on_screen(self, payload: str) -> bool:
        """True when ``payload`` is shown as a QR on the display (mode 1 and legible there)."""
        size = len(payload.encode("utf-8"))  # a QR holds bytes: "ё" takes two
        fits = self.screen_qr_max_chars is None or size <= self.screen_qr_max_chars
        return self.qr_mode == 1 and fits

    def qr_on_slip(self, payload: str) -> bool:
        """True when ``payload`` is printed as a QR: mode 0, or mode 1 with a too-small display."""
        return self.qr_mode == 0 or (self.qr_mode == 1 and not self.qr_on_screen(payload))


@dataclass(frozen=True, slots=True)
class Resumable:
    """A payment in doubt after a restart, queued with the monotonic time its wait began.

    ``started_at`` is read back from the journal's wall time of its creation (see
    ``terminal.machine.lifetime``), so resuming it never gives the customer a fresh window.
    """

    payment: Payment
    started_at: float


@dataclass(frozen=True, slots=True)
class Chase:
    """An unsettled payment the terminal keeps asking its provider about, in the background.

    Cancel-failed payments are cancelled again, forced and voiding ones queried, until the
    provider's word is final. ``attempts`` counts the calls since the last one that could
    reach the provider (it sets the back-off); ``due`` is the monotonic time of the next
    call, None while one is out.
    """

    payment: Payment
    attempts: int = 0
    due: float | None = 0.0


@dataclass(frozen=True, slots=True)
class State:
    """Everything the machine knows; replaced, never mutated."""

    settings: Settings
    phase: Phase = Phase.IDLE
    now: float = 0.0  # monotonic time of the last event, for countdowns
    #: Wall time of the last event (ISO 8601 UTC) and whether the clock was synchronised,
    #: for the records made from it (a refund's time); like ``now``, not part of equality.
    wall: str = field(default="", compare=False)
    wall_synced: bool = field(default=True, compare=False)
    next_seq: int = 1
    shift: int = 1
    entry: str = ""  # amount digits typed
    payment: Payment | None = None
    code: str = ""  # CPM: the customer's code, in memory only, to re-send after a lost answer
    wallet: str = ""  # CPM: which wallet the code was routed to
    tech_errors: int = 0  # consecutive technical errors
    last_answer_at: float = 0.0  # monotonic time of the last proper answer (or the start)
    deadline: float | None = None  # monotonic time the current wait ends
    retrying: bool = False  # Retry pressed: poll for the invoice's whole lifetime
    started_at: float = 0.0  # monotonic time the payment began
    pin: str = ""
    pin_attempts: int = 0
    return_phase: Phase = Phase.IDLE  # where Cancel leaves the approval dialog to
    message: str = ""  # a short notice key shown on the current screen
    paid_at: float | None = None  # monotonic time the payment in hand was paid (void window)
    queue: tuple[Resumable, ...] = ()  # payments in doubt waiting their turn
    chases: tuple[Chase, ...] = ()  # unsettled payments closed or reconciled in the background
    calls_out: int = 0  # provider calls sent whose answer has not come back yet
    printer_problem: str = ""  # "paper", "offline" or "error" while the printer fails
    part_problem: str = ""  # the latest problem a scanner or keypad reported, "" when none
    resumed: bool = False  # the payment in hand was found in doubt after a restart
    notice_printed: bool = False  # the "not confirmed" slip is out for the payment in hand
    refunding: bool = False  # the payment in hand is refunded by its slip, not voided
    refund_minor: int = 0  # the amount of the refund in hand (0: all that is left)
    forcing_refund: bool = False  # the approval asked for is Force on an unconfirmed refund
    fault: str = ""
    api_order: ApiOrder | None = None  # the API payment waiting for the customer's code
    pairing_code: str = ""  # the code shown while pairing, in memory only
    pairing_fingerprint: str = ""
    pairing_attempts: int = 0
    choice: str = ""  # the payment type's number typed on the choice list ("" = the default)
    choice_page: int = 0  # which four of a longer choice list are shown
    fault_kind: str = ""  # "disk_full" (retried, see recovery.py) or "journal" (latched)
    host_info: HostInfo | None = None  # the info page's facts, once gathered

    def evolve(self, **changes: object) -> State:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def amount_minor(self) -> int:
        """The amount typed so far, in minor units."""
        return int(self.entry) if self.entry else 0
