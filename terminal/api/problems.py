"""The API's one error shape: ``application/problem+json`` with a code, a message and the field.

Every failure a client can cause is answered this way, never with a traceback; the
message says what to do, in words an integrator can act on.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["PROBLEM_TYPE", "ApiProblem", "problem_response", "json_response"]

PROBLEM_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """A request the API refuses: its HTTP status, a stable ``code``, a message, the field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The problem document."""
        return {
            "type": f"about:blank#{self.code}",
            "title": self.code.replace("_", " "),
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "field": self.field,
            **self.extra,
        }


def problem_response(problem: ApiProblem) -> Response:
    """The HTTP response for ``problem``."""
    return Response(
        json.dumps(problem.body(), ensure_ascii=False),
        status_code=problem.status,
        media_type=PROBLEM_TYPE,
        headers=problem.headers,
    )


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response (compact, UTF-8)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status_code=status, media_type="application/json", headers=headers)
