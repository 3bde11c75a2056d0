"""A loopback TCP relay between the terminal and its provider that can be cut and restored."""

from __future__ import annotations

import asyncio
import contextlib
import logging

__all__ = ["NetworkLink"]

log = logging.getLogger("payterm.netlink")


class NetworkLink:
    """Relays 127.0.0.1:<port> to a target; while down, connections are cut and refused.

    This is how the demo takes "the network" away from the terminal without touching the
    provider, as a pulled Ethernet cable or a dead uplink would.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.is_up = True

    @property
    def url(self) -> str:
        """The http:// base URL that goes through the link."""
        assert self._server is not None, "link not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> str:
        """Listen on an ephemeral loopback port; returns the link's URL."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self.url

    def set_up(self, up: bool) -> None:
        """Restore (True) or cut (False) the link; cutting drops every open connection."""
        log.warning("network link %s", "up" if up else "down")
        self.is_up = up
        if not up:
            self._drop_all()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def aclose(self) -> None:
        """Stop listening and drop every connection; idempotent."""
        self.is_up = False
        self._drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
