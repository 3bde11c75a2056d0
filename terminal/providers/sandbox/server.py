"""The sandbox provider as a running service: ledger, protocol and loopback HTTP server together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from terminal.providers.loopback_http import Handler, LoopbackHTTPServer
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
        driver: str = "sandbox",
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.ledger_path = ledger_path
        self.driver = driver
        self._host = host
        self._port = port
        self._api_key = api_key
        self._options = options
        self._secrets = secrets
        self._ledger: SandboxLedger | None = None
        self._http: LoopbackHTTPServer | None = None
        self.app: Handler | None = None

    async def start(self) -> str:
        """Open the ledger, start serving and return the base URL."""
        if self._http is not None:
            return self._http.url
        ledger = SandboxLedger.open(self.ledger_path)
        try:
            self.app = self._app(ledger)
        except BaseException:
            ledger.close()
            raise
        http = LoopbackHTTPServer(self.app, self._host, self._port)
        try:
            url = await http.start()
        except BaseException:
            ledger.close()
            raise
        self._ledger, self._http = ledger, http
        logger.info("sandbox:listening %s ledger=%s", url, self.ledger_path)
        return url

    def _app(self, ledger: SandboxLedger) -> Handler:
        """The sandbox's own protocol, or the loopback fake of a real provider's."""
        if self.driver == "sandbox":
            return SandboxApp(ledger, api_key=self._api_key)
        from terminal.providers.fakes import build_fake

        return build_fake(self.driver, ledger, options=self._options, secrets=self._secrets)

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


async def serve(
    host: str,
    port: int,
    ledger_path: Path,
    *,
    api_key: str | None = None,
    driver: str = "sandbox",
    options: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> None:
    """Run the sandbox (or the fake of ``driver``) standalone on ``host:port`` until cancelled."""
    server = SandboxServer(
        ledger_path, host=host, port=port, api_key=api_key, driver=driver,
        options=options, secrets=secrets,
    )  # fmt: skip
    async with server:
        auth = "Bearer key required" if api_key else "no key required"
        logger.info("sandbox:serving %s (%s, %s protocol)", server.url, auth, driver)
        await asyncio.get_running_loop().create_future()
