"""The API's HTTP server: uvicorn in the terminal's own asyncio loop, HTTPS by default.

uvicorn is started without its signal handling (the service owns SIGTERM) and without
access logs (paths are enough to follow a payment; headers, which carry API keys, and
bodies, which carry pairing codes, are never logged). A connection that sends its request
head too slowly is answered 408 and closed; one that sends garbage gets a problem+json
400; at most ``MAX_CONNECTIONS`` are served at once. A second server on a Unix socket in
the data directory, readable by the service's user only, takes the operator's commands
(``payterm pair``, ``payterm pairings``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from terminal.api.problems import PROBLEM_TYPE, ApiProblem

__all__ = ["HEAD_TIMEOUT_S", "MAX_CONNECTIONS", "SOCKET_FILE", "ApiServer"]

log = logging.getLogger("payterm.api")

#: How long a client may take to send its request's line and headers.
HEAD_TIMEOUT_S = 10.0
#: Connections served at once; more are answered 503 (a POS needs a few).
MAX_CONNECTIONS = 200
#: The operator's socket, in the data directory.
SOCKET_FILE = "api.sock"


def _raw_problem(status: int, reason: str, problem: ApiProblem) -> bytes:
    body = json.dumps(problem.body()).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {PROBLEM_TYPE}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on request heads and JSON for garbage."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        """Start the head deadline as soon as the connection is open."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Keep the deadline while a head is incomplete; drop it once a request is in."""
        super().data_received(data)
        if self._waiting_head():
            if self._head_timer is None:
                self._arm()
        elif self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the deadline with the connection."""
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request that is not HTTP/1.1 is told so as problem+json, then closed."""
        problem = ApiProblem(400, "bad_request", "the request is not valid HTTP/1.1")
        self.transport.write(_raw_problem(400, "Bad Request", problem))
        self.transport.close()

    def _waiting_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        if not self._waiting_head() or self.transport.is_closing():
            return
        problem = ApiProblem(
            408, "request_timeout", f"the request head did not arrive within {HEAD_TIMEOUT_S} s"
        )
        self.transport.write(_raw_problem(408, "Request Timeout", problem))
        self.transport.close()


class ApiServer:
    """One uvicorn server for ``app`` on ``host:port`` (TLS with ``cert``) or a Unix socket."""

    def __init__(
        self,
        app: Starlette,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cert: tuple[Path, Path] | None = None,
        uds: Path | None = None,
    ) -> None:
        self._uds = uds
        options: dict[str, Any] = {}
        if cert is not None:
            options = {"ssl_certfile": str(cert[0]), "ssl_keyfile": str(cert[1])}
        if uds is not None:
            options["uds"] = str(uds)
        else:
            options.update(host=host, port=port)
        config = uvicorn.Config(
            app, http=GuardedH11, lifespan="off", access_log=False, log_config=None,
            server_header=False, timeout_keep_alive=30, limit_concurrency=MAX_CONNECTIONS,
            h11_max_incomplete_event_size=16 * 1024, timeout_graceful_shutdown=2,
            ws="none", interface="asgi3", **options,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        """Listen; raise OSError when the address is taken."""
        server = self._server
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        if self._uds is not None and self._uds.exists():
            self._uds.unlink()  # left by a killed run
        await server.startup()
        if server.should_exit:  # uvicorn could not bind (it has logged why)
            raise OSError(f"the API cannot listen on {self._where()}")
        if self._uds is not None:
            os.chmod(self._uds, 0o600)
        else:
            sockets = [s for srv in server.servers for s in (srv.sockets or ())]
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        self._task = asyncio.create_task(server.main_loop())

    async def stop(self) -> None:
        """Stop listening and close the connections (streams end, requests finish)."""
        server = self._server
        server.should_exit = True
        if self._task is not None:
            await self._task
            self._task = None
        if server.started:
            await server.shutdown()
        if self._uds is not None:
            self._uds.unlink(missing_ok=True)

    def _where(self) -> str:
        config = self._server.config
        return str(self._uds) if self._uds is not None else f"{config.host}:{config.port}"
