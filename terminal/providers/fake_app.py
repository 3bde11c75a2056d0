"""What every loopback fake of a real provider shares: the ledger, control routes, a lying switch.

A fake speaks one provider's wire format (paths, field names, signatures) over a
:class:`~terminal.providers.sandbox.ledger.SandboxLedger`, which keeps the business state:
payments, the customer's actions, charges and refunds. The HTTP server it runs under
(:class:`~terminal.providers.loopback_http.LoopbackHTTPServer`) adds the generic
misbehaviour (slow, 5xx, reset, garbage, lost answer); the fake adds what only it can
do: answer with a wrong signature (``POST /control/signatures {"valid": false}``), and
answer a refund sent again under a refund id it has booked already either with that
refund (``replay``) or with the provider's duplicate-request error (``refuse``), its
lookups showing the refund, or not yet, like a provider still booking it
(``POST /control/refunds {"duplicate": "replay"|"refuse", "visible": bool}``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any, Literal, cast, get_args

from terminal.providers.loopback_http import Request, Response
from terminal.providers.sandbox.ledger import CustomerAction, LedgerRecord, SandboxLedger

__all__ = [
    "FakeProviderApp",
    "control_response",
    "CUSTOMER_ACTIONS",
    "DuplicateRefund",
    "DUPLICATE_REFUNDS",
]

#: How a fake answers a refund whose refund id it has booked already.
DuplicateRefund = Literal["replay", "refuse"]
DUPLICATE_REFUNDS: tuple[str, ...] = get_args(DuplicateRefund)

log = logging.getLogger(__name__)

CUSTOMER_ACTIONS: tuple[str, ...] = get_args(CustomerAction)


def control_response(ledger: SandboxLedger, request: Request) -> Response | None:
    """Answer ``/control/customer`` and ``/control/ledger``; None for any other path."""
    route = request.path.strip("/").split("/")[1:]
    if request.method == "GET" and route == ["ledger"]:
        return Response.json(ledger.snapshot())
    if request.method != "POST" or route != ["customer"]:
        return None
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return Response.json({"error": "bad_request", "message": "body is not JSON"}, 400)
    action = body.get("action") if isinstance(body, dict) else None
    if action not in CUSTOMER_ACTIONS:
        message = f"action must be one of {', '.join(CUSTOMER_ACTIONS)}"
        return Response.json({"error": "bad_request", "message": message}, 400)
    order_id = body.get("order_id")
    if order_id is not None and not isinstance(order_id, str):
        return Response.json({"error": "bad_request", "message": "order_id must be text"}, 400)
    record = ledger.customer(cast(CustomerAction, action), order_id)
    if record is None:
        return Response.json({"error": "no pending payment"}, 404)
    log.info("fake:customer %s order=%s", action, record.order_id)
    return Response.json(record.to_json())


class FakeProviderApp:
    """Base of a provider fake: ``(Request) -> Response`` with the control routes built in.

    Subclasses implement :meth:`handle` for the provider's own paths, read their
    credentials from ``options`` (non-secret settings) and ``secrets``, and sign their
    answers wrongly while :attr:`signatures_valid` is False. Their refund routes ask
    :meth:`refuses_repeat` before booking, and their lookups show payments through
    :meth:`as_seen`, so :attr:`duplicate_refund` and :attr:`refunds_visible` act.
    """

    #: Non-secret settings a demo runs with when the config names none.
    DEMO_OPTIONS: Mapping[str, str] = {}
    #: Secrets a demo runs with when the secrets file names none (never for production).
    DEMO_SECRETS: Mapping[str, str] = {}
    #: Where the requests that charge the customer go (a lost answer is tested there).
    CHARGE_PATHS_PREFIX = "/"
    #: How the provider answers a refund repeated under a booked refund id, as its public
    #: record reads (``replay`` the first refund, or ``refuse`` it as a duplicate).
    DUPLICATE_REFUND: DuplicateRefund = "replay"

    def __init__(
        self,
        ledger: SandboxLedger,
        *,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.ledger = ledger
        self.options = {**self.DEMO_OPTIONS, **(options or {})}
        self.secrets = {**self.DEMO_SECRETS, **(secrets or {})}
        self.signatures_valid = True
        self.duplicate_refund: DuplicateRefund = self.DUPLICATE_REFUND
        self.refunds_visible = True

    async def __call__(self, request: Request) -> Response:
        """Answer one request: control routes here, the provider's own in :meth:`handle`."""
        if request.path.startswith("/control/"):
            if request.method == "POST" and request.path.rstrip("/") == "/control/signatures":
                return self._set_signatures(request)
            if request.method == "POST" and request.path.rstrip("/") == "/control/refunds":
                return self._set_refunds(request)
            answer = control_response(self.ledger, request)
            return answer or Response.json({"error": "not_found"}, 404)
        return await self.handle(request)

    async def handle(self, request: Request) -> Response:
        """Answer a request on the provider's own paths."""
        raise NotImplementedError

    def refuses_repeat(self, refund_id: str) -> bool:
        """True when ``refund_id`` is booked already and repeats are answered as duplicates."""
        if self.duplicate_refund != "refuse":
            return False
        return self.ledger.refund_of(refund_id) is not None

    def as_seen(self, record: LedgerRecord) -> LedgerRecord:
        """``record`` as the provider's lookups show it: refunds hidden while not visible."""
        if self.refunds_visible or not record.refunded_minor:
            return record
        status = "paid" if record.status == "refunded" else record.status
        return dataclasses.replace(record, status=status, refunded_minor=0)

    def _set_refunds(self, request: Request) -> Response:
        try:
            body: Any = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        duplicate = body.get("duplicate", self.duplicate_refund) if isinstance(body, dict) else None
        visible = body.get("visible", self.refunds_visible) if isinstance(body, dict) else None
        if duplicate not in DUPLICATE_REFUNDS or not isinstance(visible, bool):
            message = 'send {"duplicate": "replay" or "refuse", "visible": bool}'
            return Response.json({"error": "bad_request", "message": message}, 400)
        self.duplicate_refund = cast(DuplicateRefund, duplicate)
        self.refunds_visible = visible
        log.warning("fake:refunds duplicate=%s visible=%s", duplicate, visible)
        return Response.json({"duplicate": duplicate, "visible": visible})

    def _set_signatures(self, request: Request) -> Response:
        try:
            body: Any = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("valid"), bool):
            return Response.json({"error": "bad_request", "message": 'send {"valid": bool}'}, 400)
        self.signatures_valid = body["valid"]
        log.warning("fake:signatures %s", "valid" if self.signatures_valid else "WRONG")
        return Response.json({"valid": self.signatures_valid})
