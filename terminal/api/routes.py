"""The HTTP routes of the integrator API (Starlette): thin, each one a call into the logic.

Every answer is JSON; every refusal problem+json (``problems``), including unknown paths,
wrong methods and anything unexpected, which is logged without the request's body or
headers (they may hold an API key).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from terminal import __version__
from terminal.api.bodies import (
    CloseShift,
    CreatePairing,
    CreatePayment,
    CreateRefund,
    body_hash,
    idempotency_key,
    read_body,
)
from terminal.api.events import EventHub
from terminal.api.pairing import Pairings
from terminal.api.payments import REPLAYED, Payments
from terminal.api.problems import ApiProblem, json_response, problem_response
from terminal.api.shifts import Shifts
from terminal.api.status import TerminalStatus
from terminal.journal import Journal
from terminal.runtime.runtime import Runtime

__all__ = ["Api", "build_app"]

log = logging.getLogger("payterm.api")

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EVENT_ID = re.compile(r"[0-9]{1,18}")
_SHIFT = re.compile(r"[1-9][0-9]{0,8}")

Handler = Callable[[Request], Awaitable[Response]]


class Api:
    """What the routes call: the pairings, the payments, the event hub, the terminal."""

    def __init__(
        self, runtime: Runtime, journal: Journal, payments: Payments, pairings: Pairings,
        hub: EventHub, openapi: dict[str, Any],
    ) -> None:  # fmt: skip
        self.runtime = runtime
        self.journal = journal
        self.payments = payments
        self.pairings = pairings
        self.hub = hub
        self.openapi = openapi
        self.status = TerminalStatus(runtime, journal, hub, __version__)
        self.console: Any = None  # terminal.api.console.Console when the console is served
        self.shifts = Shifts(runtime, journal)


def build_app(api: Api, *, local: bool = False) -> Starlette:
    """The Starlette app; ``local`` adds the operator's routes (only on the Unix socket)."""

    def guarded(handler: Handler, *, auth: bool = True) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if auth and not local:
                    api.pairings.authenticate(request.headers.get("authorization"))
                return await handler(request)
            except ApiProblem as problem:
                return problem_response(problem)
            except Exception:
                log.exception("API %s %s failed", request.method, request.url.path)
                return problem_response(
                    ApiProblem(500, "internal_error", "the terminal could not answer; retry")
                )

        return endpoint

    async def openapi(request: Request) -> Response:
        return json_response(api.openapi)

    async def pair(request: Request) -> Response:
        body = await read_body(request, CreatePairing)
        return json_response(await api.pairings.pair(body), 201)

    async def create_payment(request: Request) -> Response:
        key = idempotency_key(request)
        body = await read_body(request, CreatePayment)
        status, payment, replayed = await api.payments.create(key, body, body_hash(body))
        headers = {REPLAYED: "true"} if replayed else {}
        headers["Location"] = f"/v1/payments/{payment['id']}"
        return json_response(payment, status, headers)

    async def list_payments(request: Request) -> Response:
        query = request.query_params
        unknown = set(query) - {"reference", "limit"}
        if unknown:
            field = sorted(unknown)[0]
            raise ApiProblem(422, "invalid_field", "unknown query parameter", field=field)
        reference = query.get("reference")
        if reference is not None:
            if not 1 <= len(reference) <= 64:
                raise ApiProblem(422, "invalid_field", "1 to 64 characters", field="reference")
            return json_response({"payments": api.payments.by_reference(reference)})
        limit_text = query.get("limit", "20")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise ApiProblem(422, "invalid_field", "a whole number from 1 to 100", field="limit")
        return json_response({"payments": api.payments.recent(int(limit_text))})

    async def last_payment(request: Request) -> Response:
        return json_response(api.payments.last())

    async def get_payment(request: Request) -> Response:
        return json_response(api.payments.get(_path_id(request)))

    async def cancel(request: Request) -> Response:
        return json_response(await api.payments.cancel(_path_id(request)), 202)

    async def refund(request: Request) -> Response:
        order_id = _path_id(request)
        key = idempotency_key(request)
        body = await read_body(request, CreateRefund, optional=True)
        payment, replayed = await api.payments.refund(order_id, key, body, body_hash(body))
        headers = {REPLAYED: "true"} if replayed else {}
        return json_response(payment, 202, headers)

    async def receipt(request: Request) -> Response:
        return json_response(api.payments.receipt(_path_id(request)), 202)

    async def terminal(request: Request) -> Response:
        return Response(api.status.body(), media_type="application/json")

    async def shift(request: Request) -> Response:
        return json_response(api.shifts.current())

    async def close_shift(request: Request) -> Response:
        body = await read_body(request, CloseShift, optional=True)
        return json_response(await api.shifts.close(body))

    async def closed_shift(request: Request) -> Response:
        number = str(request.path_params["n"])
        if not _SHIFT.fullmatch(number):
            raise ApiProblem(404, "not_found", f"no shift {number[:64]!r} here", field="n")
        query = request.query_params
        unknown = set(query) - {"detail"}
        if unknown:
            field = sorted(unknown)[0]
            raise ApiProblem(422, "invalid_field", "unknown query parameter", field=field)
        detail = query.get("detail", "false")
        if detail not in ("true", "false"):
            raise ApiProblem(422, "invalid_field", "true or false", field="detail")
        return json_response(api.shifts.closed(int(number), detail=detail == "true"))

    async def events(request: Request) -> Response:
        last = request.headers.get("last-event-id") or request.query_params.get("after") or ""
        if last and not _EVENT_ID.fullmatch(last):
            raise ApiProblem(
                422, "invalid_field", "an event id (digits) to resume after", field="Last-Event-ID"
            )
        start = int(last) if last else api.runtime.api_store.last_event_id()
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            api.hub.stream(start), media_type="text/event-stream", headers=headers
        )

    async def open_pairing(request: Request) -> Response:
        return json_response(await api.pairings.open(), 201)

    async def list_pairings(request: Request) -> Response:
        pairings = [{"name": p.name, "created_at": p.created_wall} for p in api.pairings.pairings()]
        return json_response({"pairings": pairings})

    async def revoke_pairing(request: Request) -> Response:
        api.pairings.revoke(request.path_params["name"])
        return Response(status_code=204)

    routes: list[BaseRoute] = [
        Route("/v1/openapi.json", guarded(openapi, auth=False), methods=["GET"]),
        Route("/v1/pairings", guarded(pair, auth=False), methods=["POST"]),
        Route("/v1/payments", guarded(create_payment), methods=["POST"]),
        Route("/v1/payments", guarded(list_payments), methods=["GET"]),
        Route("/v1/payments/last", guarded(last_payment), methods=["GET"]),
        Route("/v1/payments/{id}", guarded(get_payment), methods=["GET"]),
        Route("/v1/payments/{id}/cancel", guarded(cancel), methods=["POST"]),
        Route("/v1/payments/{id}/refunds", guarded(refund), methods=["POST"]),
        Route("/v1/payments/{id}/receipt", guarded(receipt), methods=["POST"]),
        Route("/v1/terminal", guarded(terminal), methods=["GET"]),
        Route("/v1/shifts/current", guarded(shift), methods=["GET"]),
        Route("/v1/shifts/current/close", guarded(close_shift), methods=["POST"]),
        Route("/v1/shifts/{n}", guarded(closed_shift), methods=["GET"]),
        Route("/v1/events", guarded(events), methods=["GET"]),
    ]
    if local:
        routes += [
            Route("/local/pairing", guarded(open_pairing), methods=["POST"]),
            Route("/local/pairings", guarded(list_pairings), methods=["GET"]),
            Route("/local/pairings/{name}", guarded(revoke_pairing), methods=["DELETE"]),
        ]
    if api.console is not None and not local:
        from terminal.api.console import console_routes

        routes += console_routes(api.console)
    handlers: dict[Any, Callable[..., Any]] = {HTTPException: _http_problem}
    return Starlette(routes=routes, exception_handlers=handlers)


def _path_id(request: Request) -> str:
    value = str(request.path_params["id"])
    if not _ID.fullmatch(value):
        raise ApiProblem(404, "not_found", f"no payment {value[:64]!r} here", field="id")
    return value


async def _http_problem(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(status, "http_error")
    message = {404: "no such endpoint", 405: "this endpoint does not take that method"}.get(
        status, "the request could not be handled"
    )
    return problem_response(ApiProblem(status, code, message))
