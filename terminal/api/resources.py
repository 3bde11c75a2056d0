"""The API's resources as JSON: a payment (with its history), the terminal, the current shift.

The same shapes are sent as Server-Sent Events. A payment made on the keypad is a
resource too (``method: "keypad"``, no reference); an API payment still waiting for the
customer's code has no journal record yet and is told from the API's own.
"""

from __future__ import annotations

from typing import Any

from terminal.config.model import RouteConfig
from terminal.journal.payments import HistoryEntry
from terminal.journal.reports import ReportData
from terminal.journal.shifts import ShiftSummary
from terminal.machine.api_events import ApiOrder
from terminal.machine.routing import route_code
from terminal.payment import Payment, PaymentState, Refund

__all__ = [
    "FINAL_STATES",
    "payment_state",
    "payment_resource",
    "refund_resource",
    "report_resource",
    "shift_resource",
]

#: API states after which nothing more happens to a payment without an administrator.
FINAL_STATES = frozenset(
    {"paid", "declined", "expired", "cancelled", "failed", "voided", "refunded", "abandoned",
     "partially_refunded"}
)  # fmt: skip


def payment_state(payment: Payment | None, order: ApiOrder | None, notes: list[str]) -> str:
    """The payment's state as the API names it.

    The journal's states, plus: ``awaiting_code`` / ``awaiting_choice`` (an API payment
    waiting for the customer or the cashier), ``abandoned`` (cancelled before that), and
    ``refunded`` (a paid payment refunded later by its slip or by the API; ``voided`` is
    a refund right after payment).
    """
    if payment is None:
        if order is not None and order.status == "presenting":
            return "awaiting_choice" if order.method == "choose" else "awaiting_code"
        if order is not None and order.status == "abandoned":
            return "abandoned"
        return "failed"  # reserved and journaled by the API, never sent (a crash between)
    if payment.state is PaymentState.VOIDED and "refunded" in notes:
        return "refunded"
    return payment.state.value


def payment_resource(
    payment: Payment | None,
    order: ApiOrder | None,
    history: list[HistoryEntry],
    routes: tuple[RouteConfig, ...],
    *,
    training: bool,
) -> dict[str, Any]:
    """The whole payment: state, amount, provider and wallet, references, number, history.

    ``training``: the terminal is a training terminal, so the payment took no money and a
    POS must not book it (every resource and event says so, not only ``GET /v1/terminal``).
    """
    assert payment is not None or order is not None
    notes = [entry.note for entry in history]
    state = payment_state(payment, order, notes)
    if payment is not None:
        amount, order_id, seq = payment.amount, payment.order_id, payment.seq
    else:
        assert order is not None
        amount, order_id, seq = order.amount, order.order_id, order.seq
    wallet = (payment.wallet or None) if payment is not None else None
    if wallet is None and payment is not None and payment.flow == "cpm" and payment.code_masked:
        route = route_code(payment.code_masked, routes)
        wallet = route.wallet if route is not None else None
    method = order.method if order is not None else "keypad"
    return {
        "id": order_id,
        "training": training,
        "number": seq,
        "reference": order.reference if order is not None else None,
        "description": (order.description or None) if order is not None else None,
        "method": method,
        "state": state,
        "final": state in FINAL_STATES,
        "amount_minor": amount.amount_minor,
        "currency": amount.currency,
        "flow": payment.flow if payment is not None else None,
        "provider": payment.provider
        if payment is not None
        else (order.provider or None)
        if order is not None
        else None,
        "wallet": wallet,
        "provider_reference": payment.provider_ref if payment is not None else None,
        "code_masked": (payment.code_masked or None) if payment is not None else None,
        "shift": payment.shift if payment is not None else None,
        "forced": payment.forced if payment is not None else False,
        "needs_admin": payment.needs_admin if payment is not None else False,
        "mismatch": payment.mismatch if payment is not None else False,
        "message": (payment.message or None) if payment is not None else None,
        "created_at": payment.created_wall if payment is not None else None,
        "history": [
            {"state": e.state, "note": e.note, "at": e.wall, "clock_synced": e.wall_synced}
            for e in history
        ],
        "refunded_minor": payment.refunded_minor if payment is not None else 0,
        "refundable_minor": _refundable(payment, state),
        "refunds": [refund_resource(r) for r in payment.refunds] if payment is not None else [],
    }


def _refundable(payment: Payment | None, state: str) -> int:
    """What a refund may still give back: only of a payment paid or partly refunded."""
    if payment is None or state not in ("paid", "partially_refunded"):
        return 0
    return payment.refundable_minor


def refund_resource(refund: Refund) -> dict[str, Any]:
    """One refund of a payment: its key, amount, state, shift and times."""
    return {
        "id": refund.key,
        "number": refund.n,
        "amount_minor": refund.amount.amount_minor,
        "currency": refund.amount.currency,
        "state": refund.state,
        "forced": refund.forced,
        "reconciled": refund.reconciled,
        "mismatch": refund.mismatch,
        "shift": refund.shift,
        "requested_at": refund.wall,
        "done_at": refund.done_wall or None,
        "clock_synced": refund.wall_synced,
    }


def shift_resource(summary: ShiftSummary) -> dict[str, Any]:
    """The X report as data: the shift so far, only paid payments summed, forced apart."""
    return {
        "shift": summary.shift,
        "opened_at": summary.opened_wall or None,
        "closed_at": summary.closed_wall,
        "paid": {"count": summary.paid_count, "totals_minor": summary.paid_total},
        "forced": {"count": summary.forced_count, "totals_minor": summary.forced_total},
        "voided": {"count": summary.voided_count},
        "payments": [
            {
                "id": p.order_id,
                "number": p.seq,
                "state": p.state.value,
                "amount_minor": p.amount.amount_minor,
                "currency": p.amount.currency,
                "provider": p.provider,
            }
            for p in summary.payments
        ],
    }


def report_resource(data: ReportData, *, kind: str) -> dict[str, Any]:
    """An X or Z report as data, the same figures its slip prints (``kind``: "x" or "z").

    Per provider and currency: paid, forced, refunded, voided and net (paid + forced -
    refunded); then what is listed by number, and the records not yet synced.
    """
    return {
        "kind": kind,
        "shift": data.shift,
        "opened_at": data.opened_wall or None,
        "closed_at": data.closed_wall,
        "totals": [
            {
                "provider": t.provider,
                "currency": t.currency,
                **{
                    name: {"count": f.count, "minor": f.minor}
                    for name, f in (
                        ("paid", t.paid),
                        ("forced", t.forced),
                        ("refunded", t.refunded),
                        ("voided", t.voided),
                    )
                },
                "net_minor": t.net_minor,
            }
            for t in data.totals
        ],  # fmt: skip
        "forced_not_reconciled": list(data.forced_open),
        "refunds_not_reconciled": list(data.refunds_open),
        "needs_admin": list(data.needs_admin),
        "in_doubt": list(data.in_doubt),
        "unsynced": data.unsynced,
        "transactions": [
            {
                "number": line.seq,
                "at": line.wall,
                "provider": line.provider,
                "kind": line.kind,
                "amount_minor": line.minor,
                "currency": line.currency,
            }
            for line in data.lines
        ],  # fmt: skip
    }
