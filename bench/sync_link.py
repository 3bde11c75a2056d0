"""The far end of the sync benchmark, in a process of its own: a webhook receiver behind a
loopback proxy that delays each direction by half the round trip and counts the bytes.

Kept out of the terminal's process so the terminal's CPU seconds are its own.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from terminal.providers.loopback_http import LoopbackHTTPServer, Request, Response
from terminal.sync.signing import verify

__all__ = ["Link", "SECRET"]

SECRET = "bench-secret"


class _Counts:
    def __init__(self) -> None:
        self.up = 0
        self.down = 0
        self.records = 0
        self.batches = 0


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, add: Any
) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def later() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(later())
    try:
        while data := await reader.read(65536):
            add(len(data))
            queue.put_nowait((loop.time() + delay_s, data))
    except OSError:
        pass
    queue.put_nowait((0.0, b""))
    await sender


async def _serve(conn: Connection, rtt_s: float) -> None:
    counts = _Counts()

    async def handle(request: Request) -> Response:
        if not verify(SECRET, request.headers.get("payterm-signature", ""), request.body):
            return Response.json({"error": "signature"}, status=401)
        counts.batches += 1
        counts.records += len(json.loads(request.body)["records"])
        return Response.json({"ok": True})

    receiver = LoopbackHTTPServer(handle, behaviour_path=None)
    await receiver.start()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", receiver.port)

        def add_up(n: int) -> None:
            counts.up += n

        def add_down(n: int) -> None:
            counts.down += n

        await asyncio.gather(
            _pipe(reader, up_w, rtt_s / 2, add_up), _pipe(up_r, writer, rtt_s / 2, add_down),
            return_exceptions=True,
        )  # fmt: skip

    proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
    conn.send(int(proxy.sockets[0].getsockname()[1]))
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stats":
            conn.send(dict(vars(counts)))
        elif command == "reset":
            counts.__init__()  # type: ignore[misc]
            conn.send(True)
        else:
            break
    proxy.close()
    await receiver.stop()


def _main(conn: Connection, rtt_s: float) -> None:
    asyncio.run(_serve(conn, rtt_s))


class Link:
    """Starts the far end; ``url`` is the webhook through the delaying proxy."""

    def __init__(self, rtt_s: float) -> None:
        self._conn, child = multiprocessing.get_context("spawn").Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_main, args=(child, rtt_s), daemon=True
        )
        self._proc.start()
        self.url = f"http://127.0.0.1:{self._conn.recv()}/hook"

    def stats(self) -> dict[str, int]:
        """Bytes up and down, batches and records taken since the last reset."""
        self._conn.send("stats")
        return dict(self._conn.recv())

    def reset(self) -> None:
        """Start counting again."""
        self._conn.send("reset")
        self._conn.recv()

    def close(self) -> None:
        """Stop the far end."""
        self._conn.send("stop")
        self._proc.join(10)
