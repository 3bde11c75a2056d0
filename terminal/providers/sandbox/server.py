"""The sandbox provider as a running service: ledger, protocol and loopback HTTP server together."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import TracebackType

from terminal.providers.loopback_http import LoopbackHTTPServer
from terminal.providers.sandbox.app import SandboxApp
from terminal.providers.sandbox.ledger import SandboxLedger

__all__ = ["SandboxServer", "serve"]

logger = logging.getLogger(__name__)


class SandboxServer:
    """The sandbox on ``host:port`` (0 picks a free port) keeping its books in ``ledger_path``.

    Embedded in the terminal it runs on 127.0.0.1 with an ephemeral port: the base URL
    :meth:`start` returns is what the driver is given. Loop-only.
    """

    def __init__(
        self,
        ledger_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
    ) -> None:
        self.ledger_path = ledger_path
        self._host = host
        self._port = port
        self._api_key = api_key
        self._ledger: SandboxLedger | None = None
        self._http: LoopbackHTTPServer | None = None

    async def start(self) -> str:
        """Open the ledger, start serving and return the base URL."""
        if self._http is not None:
            return self._http.url
        ledger = SandboxLedger.open(self.ledger_path)
        http = LoopbackHTTPServer(SandboxApp(ledger, api_key=self._api_key), self._host, self._port)
        try:
            url = await http.start()
        except BaseException:
            ledger.close()
            raise
        self._ledger, self._http = ledger, http
        logger.info("sandbox:listening %s ledger=%s", url, self.ledger_path)
        return url

    async def stop(self) -> None:
        """Stop serving (closing open connections) and close the ledger; idempotent."""
        http, ledger = self._http, self._ledger
        self._http = self._ledger = None
        try:
            if http is not None:
                await http.stop()
        finally:
            if ledger is not None:
                ledger.close()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def http(self) -> LoopbackHTTPServer:
        """The HTTP server (misbehaviour switches, connection counts); only while running."""
        if self._http is None:
            raise RuntimeError("the sandbox is not running")
        return self._http

    @property
    def ledger(self) -> SandboxLedger:
        """The open ledger; only while running."""
        if self._ledger is None:
            raise RuntimeError("the sandbox is not running")
        return self._ledger

    @property
    def url(self) -> str:
        """The base URL the driver uses; only while running."""
        return self.http.url

    def status(self) -> dict[str, object]:
        """Return a snapshot for the self-check."""
        if self._http is None:
            return {"running": False, "ledger": str(self.ledger_path)}
        return {**self._http.status(), "ledger": str(self.ledger_path)}

    def __repr__(self) -> str:
        where = self._http.url if self._http is not None else "stopped"
        return f"<SandboxServer {where} ledger={self.ledger_path}>"


async def serve(host: str, port: int, ledger_path: Path, *, api_key: str | None = None) -> None:
    """Run the sandbox standalone on ``host:port`` until cancelled."""
    async with SandboxServer(ledger_path, host=host, port=port, api_key=api_key) as server:
        auth = "Bearer key required" if api_key else "no key required"
        logger.info("sandbox:serving %s (%s)", server.url, auth)
        await asyncio.get_running_loop().create_future()
