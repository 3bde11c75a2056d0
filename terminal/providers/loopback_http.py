"""A small asyncio HTTP/1.1 server for the sandbox and provider fakes, with misbehaviour switches.

It speaks just enough HTTP/1.1 for httpx (:mod:`terminal.providers.http_messages`), with
keep-alive, so one client connection carries many requests. Every request goes to one
async handler ``(Request) -> Response``.

Misbehaviour is switched on with :meth:`LoopbackHTTPServer.set_misbehaviour` (or over
HTTP at ``behaviour_path``) and applies only to requests under ``paths_prefix`` (by
default every path but the ``/control/`` ones, which tests and demos use to steer):

- ``slow``: the handler runs, the answer is held back ``delay_s`` seconds;
- ``error``: HTTP 503 with a text body; the handler does not run;
- ``drop``: the connection is reset without an answer; the handler does not run;
- ``garbage``: HTTP 200 with a body that is not JSON; the handler does not run;
- ``lose_answer``: the handler runs (so its state changes), then the connection is reset
  without the answer.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, get_args

from terminal.providers.http_messages import (
    MAX_LINE_BYTES,
    BadRequest,
    Request,
    Response,
    read_request,
    reset,
    write_response,
)

__all__ = [
    "Request",
    "Response",
    "Handler",
    "Mode",
    "MODES",
    "Misbehaviour",
    "LoopbackHTTPServer",
]

logger = logging.getLogger(__name__)

Mode = Literal["normal", "slow", "error", "drop", "garbage", "lose_answer"]
MODES: tuple[Mode, ...] = get_args(Mode)

GARBAGE_BODY = b"<html><body>502 Bad Gateway</body></html>\x00\xff"


Handler = Callable[[Request], Awaitable[Response]]

#: Paths under this prefix steer the fake (customer actions, behaviour) and never misbehave.
CONTROL_PREFIX = "/control/"


@dataclass(frozen=True, slots=True)
class Misbehaviour:
    """A misbehaviour switch: ``mode`` for the next ``count`` requests (None: until cleared)."""

    mode: Mode = "normal"
    count: int | None = None
    delay_s: float = 0.0
    paths_prefix: str = "/"

    def to_json(self) -> dict[str, object]:
        """Return the switch as a JSON-ready dict."""
        return {
            "mode": self.mode,
            "count": self.count,
            "delay_s": self.delay_s,
            "paths_prefix": self.paths_prefix,
        }


class LoopbackHTTPServer:
    """An HTTP/1.1 server on ``host:port`` (0 picks a free port) serving one async handler.

    Loop-only: every method must be called from the event loop the server runs on.
    ``behaviour_path`` (None to disable) answers ``POST`` with a JSON body
    ``{"mode", "count", "delay_s", "paths_prefix"}`` and ``GET`` with the current switch.
    With ``ssl_context`` (a server-side context) it speaks HTTPS and :attr:`url` says so.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        behaviour_path: str | None = "/control/behaviour",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._handler = handler
        self._ssl_context = ssl_context
        self.host = host
        self._requested_port = port
        self._bound_port = 0
        self.behaviour_path = behaviour_path
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._misbehaviour = Misbehaviour()
        self.connections_accepted = 0  # every TCP connection ever accepted
        self.requests_received = 0  # every request read, misbehaved or not

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> str:
        """Start listening and return the base URL, e.g. ``http://127.0.0.1:40123``."""
        if self._server is not None:
            return self.url
        self._server = await asyncio.start_server(
            self._serve_connection,
            self.host,
            self._requested_port,
            limit=MAX_LINE_BYTES,
            ssl=self._ssl_context,
        )
        self._bound_port = int(self._server.sockets[0].getsockname()[1])
        logger.info("loopback:listening %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Stop listening and close every open connection, keep-alive ones too; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        logger.info("loopback:stopped %s", self.url)

    async def restart(self) -> str:
        """Stop, then listen again on the same port (as a restarted provider would)."""
        port = self._bound_port or self._requested_port
        await self.stop()
        self._requested_port = port
        return await self.start()

    async def __aenter__(self) -> LoopbackHTTPServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- state -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port once started, else the requested one."""
        return self._bound_port or self._requested_port

    @property
    def url(self) -> str:
        """The base URL clients use."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self._ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}"

    @property
    def is_running(self) -> bool:
        """True while the server accepts connections."""
        return self._server is not None

    @property
    def open_connections(self) -> int:
        """How many client connections are open now."""
        return len(self._tasks)

    @property
    def misbehaviour(self) -> Misbehaviour:
        """The switch in force now."""
        return self._misbehaviour

    def set_misbehaviour(
        self,
        mode: Mode,
        *,
        count: int | None = None,
        delay_s: float = 0.0,
        paths_prefix: str = "/",
    ) -> None:
        """Misbehave in ``mode`` for the next ``count`` requests under ``paths_prefix``.

        ``count=None`` keeps misbehaving until :meth:`clear_misbehaviour`; ``"normal"``
        clears. Raises ``ValueError`` for an unknown mode, a count below 1 or a negative delay.
        """
        if mode not in MODES:
            raise ValueError(f"unknown misbehaviour {mode!r}; one of {', '.join(MODES)}")
        if count is not None and count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        if delay_s < 0:
            raise ValueError(f"delay_s must not be negative, not {delay_s}")
        self._misbehaviour = Misbehaviour(mode, count, float(delay_s), paths_prefix)
        logger.info("loopback:misbehaviour %s", self._misbehaviour.to_json())

    def clear_misbehaviour(self) -> None:
        """Behave normally again."""
        self._misbehaviour = Misbehaviour()

    def status(self) -> dict[str, object]:
        """Return a snapshot for self-checks and test reports."""
        return {
            "url": self.url,
            "running": self.is_running,
            "connections_accepted": self.connections_accepted,
            "open_connections": self.open_connections,
            "requests_received": self.requests_received,
            "misbehaviour": self._misbehaviour.to_json(),
        }

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<LoopbackHTTPServer {self.url} {state} mode={self._misbehaviour.mode}>"

    # -- connections -------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections_accepted += 1
        try:
            await self._serve_then_close(reader, writer)
        except asyncio.CancelledError:
            # NOTE: stop() cancels connection tasks, and asyncio's stream protocol logs a
            # cancelled connection task as an error, so those end quietly instead.
            if self._server is not None:
                raise
            task.uncancel()
        finally:
            self._tasks.discard(task)

    async def _serve_then_close(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            if self._server is not None:
                await self._serve_requests(reader, writer)
        except BadRequest as exc:
            with suppress(ConnectionError):
                answer = Response.text(f"{exc}\n", exc.status)
                await write_response(writer, answer, keep_alive=False)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-request
        except Exception:
            logger.exception("loopback:connection failed")
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            request = await read_request(reader)
            if request is None:
                return
            self.requests_received += 1
            if not await self._answer(request, writer):
                return

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; return whether the connection stays open."""
        if self.behaviour_path is not None and request.path == self.behaviour_path:
            response = self._behaviour_endpoint(request)
        else:
            switch = self._take_misbehaviour(request.path)
            if switch.mode in ("drop", "lose_answer"):
                if switch.mode == "lose_answer":
                    await self._call_handler(request)
                reset(writer)
                return False
            response = await self._misbehaved_response(switch, request)
        keep_alive = request.wants_keep_alive
        await write_response(writer, response, keep_alive=keep_alive)
        return keep_alive

    async def _misbehaved_response(self, switch: Misbehaviour, request: Request) -> Response:
        if switch.mode == "error":
            return Response.text("service unavailable\n", 503)
        if switch.mode == "garbage":
            return Response(200, GARBAGE_BODY, "text/html")
        response = await self._call_handler(request)
        if switch.mode == "slow":
            await asyncio.sleep(switch.delay_s)
        return response

    def _take_misbehaviour(self, path: str) -> Misbehaviour:
        """Return the switch that applies to ``path`` and use up one of its count."""
        current = self._misbehaviour
        steering = path.startswith(CONTROL_PREFIX)
        if current.mode == "normal" or steering or not path.startswith(current.paths_prefix):
            return Misbehaviour()
        if current.count is not None:
            left = current.count - 1
            self._misbehaviour = (
                Misbehaviour(current.mode, left, current.delay_s, current.paths_prefix)
                if left
                else Misbehaviour()
            )
        return current

    async def _call_handler(self, request: Request) -> Response:
        try:
            return await self._handler(request)
        except Exception:
            logger.exception("loopback:handler failed on %s %s", request.method, request.path)
            return Response.text("internal server error\n", 500)

    def _behaviour_endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return Response.json(self._misbehaviour.to_json())
        if request.method != "POST":
            return Response.json({"error": "method_not_allowed"}, 405)
        try:
            body = request.json()
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            self.set_misbehaviour(
                body.get("mode", "normal"),
                count=_optional_int(body.get("count")),
                delay_s=float(body.get("delay_s") or 0.0),
                paths_prefix=str(body.get("paths_prefix") or "/"),
            )
        except (ValueError, TypeError) as exc:
            return Response.json({"error": "bad_request", "message": str(exc)}, 400)
        return Response.json(self._misbehaviour.to_json())


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"count must be an integer or null, not {value!r}")
    return value
