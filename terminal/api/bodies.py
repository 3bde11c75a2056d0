"""Request bodies: read within limits, parsed as JSON, validated strictly; unknown fields refused.

Each refusal is an :class:`ApiProblem` naming the field at fault: a body too large (413),
not JSON (415 for another content type, 400 for bad JSON), too slow to arrive (408), or
not of the documented shape (422).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.requests import ClientDisconnect, Request

from terminal.api.problems import ApiProblem

__all__ = [
    "MAX_BODY_BYTES",
    "BODY_TIMEOUT_S",
    "CreatePayment",
    "CreateRefund",
    "CloseShift",
    "CreatePairing",
    "read_body",
    "idempotency_key",
    "body_hash",
]

#: The largest body any request may have; the documented ones are far smaller.
MAX_BODY_BYTES = 8 * 1024
#: How long a body may take to arrive once the headers are in.
BODY_TIMEOUT_S = 10.0
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _whole(value: object) -> object:
    """JSON has one kind of number: 1500.0 is the whole number 1500 (1500.5 is refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: Minor units: a whole number (true, "15" and 15.5 are refused).
_Minor = Annotated[int, Field(ge=1, le=10**12), BeforeValidator(_whole)]

_Text = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CreatePayment(_Body):
    """``POST /v1/payments``."""

    amount_minor: _Minor
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    reference: _Text
    method: Literal["qr", "code", "choose"]
    provider: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] | None = None
    description: Annotated[str, Field(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None


class CreateRefund(_Body):
    """``POST /v1/payments/{id}/refunds``: the whole amount when ``amount_minor`` is left out."""

    amount_minor: _Minor | None = None


class CloseShift(_Body):
    """``POST /v1/shifts/current/close``: ``shift``, when given, must be the open shift's number.

    A POS that retries a close after a lost answer sends the number it meant to close, so
    the retry is refused (409) instead of closing the next, empty shift.
    """

    shift: Annotated[int, Field(ge=1, le=10**9), BeforeValidator(_whole)] | None = None


class CreatePairing(_Body):
    """``POST /v1/pairings``: the code on the terminal's screen and the POS's name."""

    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")]


_M = TypeVar("_M", bound=_Body)


async def read_body(request: Request, model: type[_M], *, optional: bool = False) -> _M:
    """The request's body as ``model``; an empty body is ``model()`` when ``optional``."""
    raw = await _read_limited(request)
    if not raw.strip() and optional:
        return model()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiProblem(
            415, "unsupported_media_type",
            f"the body must be application/json, got {media or 'no content type'}",
            field="Content-Type",
        )  # fmt: skip
    try:
        data: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "malformed_json", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        message = _message(error)
        raise ApiProblem(422, "invalid_field", message, field=field) from None


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field; remove it"
    if error["type"] == "missing":
        return "required"
    return str(error["msg"])


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiProblem(413, "body_too_large", f"the body may be {MAX_BODY_BYTES} bytes at most")
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ApiProblem(
                    413, "body_too_large", f"the body may be {MAX_BODY_BYTES} bytes at most"
                )
            chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), BODY_TIMEOUT_S)
    except TimeoutError:
        raise ApiProblem(
            408, "body_timeout", f"the body did not arrive within {BODY_TIMEOUT_S:.0f} s",
            headers={"Connection": "close"},
        ) from None  # fmt: skip
    except ClientDisconnect:
        raise ApiProblem(400, "client_disconnected", "the connection closed mid-body") from None
    return b"".join(chunks)


def idempotency_key(request: Request) -> str:
    """The request's ``Idempotency-Key`` header: required, 1 to 255 visible ASCII characters."""
    key = request.headers.get("idempotency-key")
    if key is None:
        raise ApiProblem(
            400, "idempotency_key_required",
            "send an Idempotency-Key header (a fresh UUID per new request; the same one to retry)",
            field="Idempotency-Key",
        )  # fmt: skip
    if not _KEY.fullmatch(key):
        raise ApiProblem(
            400, "invalid_idempotency_key",
            "the Idempotency-Key must be 1 to 255 visible ASCII characters",
            field="Idempotency-Key",
        )  # fmt: skip
    return key


def body_hash(body: BaseModel) -> str:
    """A hash of what the body asks for, so a retry is told from another request."""
    canonical = json.dumps(body.model_dump(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
