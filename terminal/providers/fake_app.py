"""What every loopback fake of a real provider shares: the ledger, control routes, a lying switch.

A fake speaks one provider's wire format (paths, field names, signatures) over a
:class:`~terminal.providers.sandbox.ledger.SandboxLedger`, which keeps the business state:
payments, the customer's actions, charges and refunds. The HTTP server it runs under
(:class:`~terminal.providers.loopback_http.LoopbackHTTPServer`) adds the generic
misbehaviour (slow, 5xx, reset, garbage, lost answer); the fake adds the one only it can
do: answer with a wrong signature (``POST /control/signatures {"valid": false}``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, cast, get_args

from terminal.providers.loopback_http import Request, Response
from terminal.providers.sandbox.ledger import CustomerAction, SandboxLedger

__all__ = ["FakeProviderApp", "control_response", "CUSTOMER_ACTIONS"]

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
    answers wrongly while :attr:`signatures_valid` is False.
    """

    #: Non-secret settings a demo runs with when the config names none.
    DEMO_OPTIONS: Mapping[str, str] = {}
    #: Secrets a demo runs with when the secrets file names none (never for production).
    DEMO_SECRETS: Mapping[str, str] = {}
    #: Where the requests that charge the customer go (a lost answer is tested there).
    CHARGE_PATHS_PREFIX = "/"

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

    async def __call__(self, request: Request) -> Response:
        """Answer one request: control routes here, the provider's own in :meth:`handle`."""
        if request.path.startswith("/control/"):
            if request.method == "POST" and request.path.rstrip("/") == "/control/signatures":
                return self._set_signatures(request)
            answer = control_response(self.ledger, request)
            return answer or Response.json({"error": "not_found"}, 404)
        return await self.handle(request)

    async def handle(self, request: Request) -> Response:
        """Answer a request on the provider's own paths."""
        raise NotImplementedError

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
