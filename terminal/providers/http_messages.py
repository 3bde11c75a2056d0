"""HTTP/1.1 messages of the loopback server: requests read from a stream, answers written to it.

Just enough HTTP/1.1 for httpx: a request line, headers, a ``Content-Length`` body (no
chunked bodies), and keep-alive. Anything else is a :class:`BadRequest`.
"""

from __future__ import annotations

import asyncio
import http
import json
import socket
import struct
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "Request",
    "Response",
    "BadRequest",
    "read_request",
    "write_response",
    "reset",
    "MAX_LINE_BYTES",
]

MAX_LINE_BYTES = 16 * 1024  # a request line or header longer than this is refused
MAX_HEADERS = 100
MAX_BODY_BYTES = 1024 * 1024  # provider requests are small JSON documents


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request; header names are lower-case, ``path`` is still percent-encoded."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    http_version: str = "HTTP/1.1"

    def params(self) -> dict[str, str]:
        """Return the query string's parameters (the last one wins on repeats)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        """Decode the body as JSON; raises ``ValueError`` when it is not."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def wants_keep_alive(self) -> bool:
        """True when the client asked to keep the connection open after this request."""
        connection = self.headers.get("connection", "").lower()
        if self.http_version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, data: object, status: int = 200) -> Response:
        """Build a JSON answer."""
        return cls(status, json.dumps(data, separators=(",", ":")).encode("utf-8"))

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        """Build a plain-text answer."""
        return cls(status, text.encode("utf-8"), "text/plain; charset=utf-8")


class BadRequest(Exception):
    """The bytes on the connection are not a request this server understands."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None when the client closed the connection between requests."""
    line = await _read_line(reader)
    while line == b"\r\n":  # stray empty lines before a request are allowed
        line = await _read_line(reader)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("malformed request line")
    method, target, version = parts
    headers = await _read_headers(reader)
    if "transfer-encoding" in headers:
        raise BadRequest("chunked request bodies are not supported", 501)
    body = await reader.readexactly(_content_length(headers))
    path, _, query = target.partition("?")
    return Request(method.upper(), path, query, headers, body, version)


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readline()
    except ValueError as exc:  # the stream's limit was overrun
        raise BadRequest("line too long", 431) from exc


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = await _read_line(reader)
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name.strip():
            raise BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    raise BadRequest("too many headers", 431)


def _content_length(headers: Mapping[str, str]) -> int:
    raw = headers.get("content-length", "0")
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest("bad Content-Length")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise BadRequest("request body too large", 413)
    return length


async def write_response(
    writer: asyncio.StreamWriter, response: Response, *, keep_alive: bool
) -> None:
    """Write ``response`` and say whether the connection stays open after it."""
    try:
        reason = http.HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in response.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    writer.write(head + response.body)
    await writer.drain()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP reset, so the client sees it dropped mid-request."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
