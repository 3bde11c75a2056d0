"""The API's contract as an OpenAPI 3.1 document, served at ``/v1/openapi.json``.

Request bodies come from the pydantic models the server validates with, so the two
cannot drift; ``docs/api/openapi.json`` is this document written out (a test keeps it
current). Links tie a created payment to the operations on it, for stateful testing.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from typing import Any

from terminal import __version__
from terminal.api.bodies import CloseShift, CreatePairing, CreatePayment, CreateRefund

__all__ = ["openapi_document", "document_text"]

_REF = "#/components/schemas/"
_PROBLEM = {"$ref": f"{_REF}Problem"}
_STATES = [
    "awaiting_code", "awaiting_choice", "abandoned", "new", "pending", "paid", "declined",
    "expired", "cancelled", "failed", "cancel_failed", "forced", "voiding", "voided", "refunding",
    "partially_refunded", "refunded",
]  # fmt: skip
_NULL_STR = {"type": ["string", "null"]}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _PROBLEM}},
    }


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


_ERRORS = {
    "400": _problem("malformed request (bad JSON, a header missing or wrong)"),
    "401": _problem("no valid API key"),
    "408": _problem("the request was too slow to arrive"),
    "413": _problem("the body is too large"),
    "415": _problem("the body is not application/json"),
    "422": _problem("the body or a parameter is not valid"),
    "503": _problem("the terminal is out of service or did not answer"),
}
_BUSY = _problem("the terminal is busy, or the payment is not in a state for this")
_NOT_FOUND = _problem("no such payment")
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "present (true) when this answers an earlier request with the same key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_ID_PARAM = {
    "name": "id", "in": "path", "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
    "description": "the payment's id (its order id)",
}  # fmt: skip
_KEY_PARAM = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "description": "a fresh UUID per new request; the same one to retry it",
}  # fmt: skip
_PAYMENT_LINKS = {
    "GetPayment": {"operationId": "getPayment", "parameters": {"id": "$response.body#/id"}},
    "CancelPayment": {"operationId": "cancelPayment", "parameters": {"id": "$response.body#/id"}},
    "RefundPayment": {"operationId": "refundPayment", "parameters": {"id": "$response.body#/id"}},
    "ReprintReceipt": {"operationId": "reprintReceipt",
                       "parameters": {"id": "$response.body#/id"}},
}  # fmt: skip


def _schemas() -> dict[str, Any]:
    step = {
        "type": "object", "additionalProperties": False,
        "required": ["state", "note", "at", "clock_synced"],
        "properties": {"state": {"type": "string"}, "note": {"type": "string"},
                       "at": {"type": "string"}, "clock_synced": {"type": "boolean"}},
    }  # fmt: skip
    payment_props: dict[str, Any] = {
        "id": {"type": "string"},
        "training": {
            "type": "boolean",
            "description": "made on a training terminal: no money moved; never book it",
        },
        "number": {"type": "integer", "description": "the through-number printed on the slip"},
        "reference": _NULL_STR,
        "description": _NULL_STR,
        "method": {"type": "string", "enum": ["qr", "code", "choose", "keypad"]},
        "state": {"type": "string", "enum": _STATES},
        "final": {"type": "boolean", "description": "nothing more will happen to it"},
        "amount_minor": {"type": "integer"},
        "currency": {"type": "string"},
        "flow": {"type": ["string", "null"], "enum": ["mpm", "cpm", None]},
        "provider": _NULL_STR,
        "wallet": _NULL_STR,
        "provider_reference": _NULL_STR,
        "code_masked": _NULL_STR,
        "shift": {"type": ["integer", "null"]},
        "forced": {"type": "boolean"},
        "needs_admin": {"type": "boolean"},
        "mismatch": {"type": "boolean"},
        "message": _NULL_STR,
        "created_at": _NULL_STR,
        "history": {"type": "array", "items": step},
        "refunded_minor": {"type": "integer", "description": "given back by refunds so far"},
        "refundable_minor": {"type": "integer", "description": "what a refund may still give"},
        "refunds": {"type": "array", "items": {"$ref": f"{_REF}Refund"}},
    }
    refund_props: dict[str, Any] = {
        "id": {"type": "string", "description": "the refund's own key, sent to the provider"},
        "number": {"type": "integer", "description": "1 for a payment's first refund"},
        "amount_minor": {"type": "integer"}, "currency": {"type": "string"},
        "state": {"type": "string", "enum": ["requested", "refunded", "refused", "forced"]},
        "forced": {"type": "boolean"}, "reconciled": {"type": "boolean"},
        "mismatch": {"type": "boolean"},
        "shift": {"type": "integer", "description": "the shift it was made in"},
        "requested_at": {"type": "string"}, "done_at": _NULL_STR,
        "clock_synced": {"type": "boolean"},
    }  # fmt: skip
    payment = {
        "type": "object", "additionalProperties": False,
        "required": list(payment_props), "properties": payment_props,
    }  # fmt: skip
    problem = {
        "type": "object",
        "required": ["type", "title", "status", "code", "message", "field"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "code": {"type": "string"},
            "message": {"type": "string"}, "field": _NULL_STR,
        },
    }  # fmt: skip
    nullable_bool = {"type": ["boolean", "null"]}
    terminal = {
        "type": "object",
        "required": ["terminal_id", "training", "version", "phase", "busy", "doing",
                     "payment_in_hand", "screen", "printer", "scanner", "parts", "providers",
                     "sync", "fault"],
        "properties": {
            "terminal_id": {"type": "string"}, "version": {"type": "string"},
            "training": {"type": "boolean", "description": "a training terminal: its "
                         "payments take no money and its slips say NOT A PAYMENT"},
            "phase": {"type": "string"}, "busy": {"type": "boolean"},
            "doing": {"type": "string"}, "payment_in_hand": _NULL_STR,
            "screen": {"type": ["object", "null"]},
            "printer": {"type": "object", "properties": {
                "online": {"type": "boolean"}, "paper": {"type": "boolean"},
                "problem": _NULL_STR}},
            "scanner": {"type": "object", "properties": {"problem": _NULL_STR}},
            "parts": {"type": "object", "additionalProperties": {"type": "string"}},
            "providers": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {
                    "qr": {"type": "boolean"}, "code": {"type": "boolean"},
                    "refund": {"type": "boolean"}, "partial_refund": {"type": "boolean"},
                    "reachable": nullable_bool}}},
            "sync": {"type": "object", "properties": {"records_waiting": {"type": "integer"}}},
            "fault": _NULL_STR,
        },
    }  # fmt: skip
    totals = {"type": "object", "additionalProperties": {"type": "integer"}}
    shift = {
        "type": "object", "required": ["shift", "opened_at", "closed_at", "paid", "forced",
                                       "voided", "payments"],
        "properties": {
            "shift": {"type": "integer"}, "opened_at": _NULL_STR, "closed_at": _NULL_STR,
            "paid": {"type": "object", "properties": {"count": {"type": "integer"},
                                                       "totals_minor": totals}},
            "forced": {"type": "object", "properties": {"count": {"type": "integer"},
                                                         "totals_minor": totals}},
            "voided": {"type": "object", "properties": {"count": {"type": "integer"}}},
            "payments": {"type": "array", "items": {"type": "object"}},
        },
    }  # fmt: skip
    figure = {
        "type": "object", "required": ["count", "minor"],
        "properties": {"count": {"type": "integer"}, "minor": {"type": "integer"}},
    }  # fmt: skip
    numbers = {"type": "array", "items": {"type": "integer"}}
    report_totals = {
        "type": "object",
        "required": ["provider", "currency", "paid", "forced", "refunded", "voided", "net_minor"],
        "properties": {"provider": {"type": "string"}, "currency": {"type": "string"},
                       "paid": figure, "forced": figure, "refunded": figure, "voided": figure,
                       "net_minor": {"type": "integer",
                                     "description": "paid + forced - refunded"}},
    }  # fmt: skip
    report_props: dict[str, Any] = {
        "kind": {"type": "string", "enum": ["z"]}, "shift": {"type": "integer"},
        "opened_at": _NULL_STR, "closed_at": _NULL_STR,
        "totals": {"type": "array", "items": report_totals},
        "forced_not_reconciled": numbers, "refunds_not_reconciled": numbers,
        "needs_admin": numbers, "in_doubt": numbers, "unsynced": {"type": "integer"},
        "transactions": {"type": "array", "items": {"type": "object"}},
    }  # fmt: skip
    paired = {
        "type": "object", "required": ["name", "api_key", "fingerprint"],
        "properties": {"name": {"type": "string"}, "api_key": {"type": "string"},
                       "fingerprint": {"type": "string"}},
    }  # fmt: skip
    schemas: dict[str, Any] = {
        "Payment": payment,
        "PaymentList": {"type": "object", "required": ["payments"],
                        "properties": {"payments": {"type": "array",
                                                    "items": {"$ref": f"{_REF}Payment"}}}},
        "Problem": problem,
        "Terminal": terminal,
        "Shift": shift,
        "Refund": {"type": "object", "additionalProperties": False,
                   "required": list(refund_props), "properties": refund_props},
        "Report": {"type": "object", "additionalProperties": False,
                   "required": list(report_props), "properties": report_props},
        "Paired": paired,
        "Receipt": {"type": "object", "required": ["printing", "payment"], "properties": {
            "printing": {"type": "boolean"}, "payment": {"$ref": f"{_REF}Payment"}}},
    }  # fmt: skip
    for model in (CreatePayment, CreateRefund, CreatePairing, CloseShift):
        schema = model.model_json_schema()
        schema["additionalProperties"] = False
        schemas[model.__name__] = schema
    return schemas


def _body(name: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required,
            "content": {"application/json": {"schema": {"$ref": f"{_REF}{name}"}}}}  # fmt: skip


def _paths() -> dict[str, Any]:
    payment = {"$ref": f"{_REF}Payment"}
    return {
        "/v1/pairings": {"post": {
            "operationId": "pair", "summary": "Pair a POS with the code shown on the terminal",
            "security": [], "requestBody": _body("CreatePairing"),
            "responses": {"201": _json({"$ref": f"{_REF}Paired"}, "paired: the API key, once"),
                          "403": _problem("wrong code, or no code shown"),
                          "409": _problem("a POS of that name is paired already"), **_ERRORS}}},
        "/v1/payments": {
            "post": {
                "operationId": "createPayment", "summary": "Start a payment on the terminal",
                "parameters": [_KEY_PARAM], "requestBody": _body("CreatePayment"),
                "responses": {"201": _json(payment, "the payment", headers=_REPLAYED,
                                           links=_PAYMENT_LINKS),
                              "409": _BUSY, **_ERRORS}},
            "get": {
                "operationId": "listPayments",
                "summary": "The payments with a reference (the lost-answer look-up), or the latest",
                "parameters": [
                    {"name": "reference", "in": "query", "required": False,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                "responses": {"200": _json({"$ref": f"{_REF}PaymentList"}, "newest first"),
                              **_ERRORS}},
        },
        "/v1/payments/last": {"get": {
            "operationId": "lastPayment", "summary": "The newest payment",
            "responses": {"200": _json(payment, "the payment"), "404": _NOT_FOUND, **_ERRORS}}},
        "/v1/payments/{id}": {"get": {
            "operationId": "getPayment", "summary": "One payment, whole",
            "parameters": [_ID_PARAM],
            "responses": {"200": _json(payment, "the payment"), "404": _NOT_FOUND, **_ERRORS}}},
        "/v1/payments/{id}/cancel": {"post": {
            "operationId": "cancelPayment", "summary": "Cancel, as the Cancel button does",
            "parameters": [_ID_PARAM],
            "responses": {"202": _json(payment, "cancel under way; the outcome comes as events"),
                          "404": _NOT_FOUND, "409": _BUSY, **_ERRORS}}},
        "/v1/payments/{id}/refunds": {"post": {
            "operationId": "refundPayment",
            "summary": "Refund a paid payment: all that is left, or a part where the provider "
                       "takes partial refunds (422 says why not, with what is left)",
            "parameters": [_ID_PARAM, _KEY_PARAM],
            "requestBody": _body("CreateRefund", required=False),
            "responses": {"202": _json(payment, "refund under way (or awaiting a supervisor)",
                                       headers=_REPLAYED),
                          "404": _NOT_FOUND, "409": _BUSY, **_ERRORS}}},
        "/v1/payments/{id}/receipt": {"post": {
            "operationId": "reprintReceipt", "summary": "Print the payment's slip again",
            "parameters": [_ID_PARAM],
            "responses": {"202": _json({"$ref": f"{_REF}Receipt"}, "sent to the printer"),
                          "404": _NOT_FOUND, "409": _BUSY, **_ERRORS}}},
        "/v1/terminal": {"get": {
            "operationId": "getTerminal", "summary": "What the terminal is doing, its parts",
            "responses": {"200": _json({"$ref": f"{_REF}Terminal"}, "the terminal"), **_ERRORS}}},
        "/v1/shifts/current": {"get": {
            "operationId": "currentShift", "summary": "The X report as data",
            "responses": {"200": _json({"$ref": f"{_REF}Shift"}, "the shift so far"), **_ERRORS}}},
        "/v1/shifts/current/close": {"post": {
            "operationId": "closeShift",
            "summary": "Close the shift (the Z report), refused while a payment is under way",
            "requestBody": _body("CloseShift", required=False),
            "responses": {"200": _json({"$ref": f"{_REF}Report"}, "closed: its Z report"),
                          "409": _problem("a payment is under way, or that shift is not open"),
                          **_ERRORS}}},
        "/v1/shifts/{n}": {"get": {
            "operationId": "closedShift", "summary": "A closed shift's Z report as data",
            "parameters": [
                {"name": "n", "in": "path", "required": True, "description": "the shift number",
                 "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}},
                {"name": "detail", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["true", "false"]},
                 "description": "list every payment and refund of the shift"}],
            "responses": {"200": _json({"$ref": f"{_REF}Report"}, "its Z report"),
                          "404": _problem("no such closed shift (the open one is current)"),
                          **_ERRORS}}},
        "/v1/events": {"get": {
            "operationId": "events", "summary": "Server-Sent Events; resume with Last-Event-ID",
            "parameters": [{"name": "Last-Event-ID", "in": "header", "required": False,
                            "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}],
            "responses": {"200": {"description": "an event stream",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **_ERRORS}}},
    }  # fmt: skip


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "payterm integrator API",
            "version": __version__,
            "description": "Drive a payterm payment terminal from a POS on the LAN. "
            "See docs/api/README.md for the walkthrough and the lost-answer rule.",
        },
        "servers": [{"url": "https://payterm.local:8443"}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the key POST /v1/pairings answered",
                }
            },
            "schemas": _schemas(),
        },  # fmt: skip
        "paths": _paths(),
    }


def openapi_document(
    *, currency: str | None = None, max_amount_minor: int | None = None,
    providers: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The OpenAPI 3.1 document; a terminal serves it narrowed to what it takes.

    ``currency``, ``max_amount_minor`` and ``providers`` (the configured ones) narrow the
    create body, so a request the document calls valid is one this terminal accepts
    (busy apart). Without them it is the general document kept under ``docs/api/``.
    """
    document = copy.deepcopy(_document())
    create = document["components"]["schemas"]["CreatePayment"]["properties"]
    if currency is not None:
        create["currency"] = {"type": "string", "enum": [currency], "title": "Currency"}
    if max_amount_minor is not None:
        create["amount_minor"]["maximum"] = max_amount_minor
    if providers is not None:
        create["provider"] = {"anyOf": [{"type": "string", "enum": providers}, {"type": "null"}],
                              "default": None, "title": "Provider"}  # fmt: skip
    return document


def document_text() -> str:
    """The general document as ``docs/api/openapi.json`` keeps it."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m terminal.api.openapi > docs/api/openapi.json
    sys.stdout.write(document_text())
