"""Tests for the loopback HTTP server: keep-alive, stop, and every misbehaviour switch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
import pytest

from terminal.providers.loopback_http import LoopbackHTTPServer, Request, Response

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")


class Recorder:
    """A handler that echoes what it got and remembers every request it ran for."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        if request.path == "/v1/boom":
            raise RuntimeError("handler bug")
        return Response.json(
            {
                "method": request.method,
                "path": request.path,
                "params": request.params(),
                "body": request.body.decode(),
            }
        )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def server(recorder: Recorder) -> AsyncIterator[LoopbackHTTPServer]:
    async with LoopbackHTTPServer(recorder) as srv:
        yield srv


@pytest.fixture
async def client(server: LoopbackHTTPServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0, trust_env=False) as c:
        yield c


async def test_start_binds_an_ephemeral_port_and_serves(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    response = await client.post("/v1/echo?a=1&b=two", json={"x": 1})
    assert response.status_code == 200
    assert response.json() == {
        "method": "POST",
        "path": "/v1/echo",
        "params": {"a": "1", "b": "two"},
        "body": '{"x":1}',
    }


async def test_keep_alive_serves_many_requests_on_one_connection(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        assert (await client.get("/v1/ping")).status_code == 200
    assert server.connections_accepted == 1
    assert server.requests_received == 5


async def test_connection_close_is_honoured(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    for _ in range(3):
        response = await client.get("/v1/ping", headers={"Connection": "close"})
        assert response.headers["connection"] == "close"
    assert server.connections_accepted == 3


async def test_handler_failure_answers_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/boom")
    assert response.status_code == 500
    assert (await client.get("/v1/ping")).status_code == 200


@asynccontextmanager
async def raw_connection(
    server: LoopbackHTTPServer,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A bare TCP connection to ``server``, closed however the test ends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def test_malformed_request_line_answers_400(server: LoopbackHTTPServer) -> None:
    async with raw_connection(server) as (reader, writer):
        writer.write(b"NONSENSE\r\n\r\n")
        answer = await reader.read()
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_chunked_request_is_refused(server: LoopbackHTTPServer) -> None:
    async with raw_connection(server) as (reader, writer):
        writer.write(b"POST /v1/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        answer = await reader.read()
    assert answer.startswith(b"HTTP/1.1 501 ")


async def test_stop_closes_idle_keep_alive_connections(
    server: LoopbackHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with raw_connection(server) as (reader, writer):
        writer.write(b"GET /v1/ping HTTP/1.1\r\nHost: a\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"Connection: keep-alive" in head
        assert server.open_connections == 1
        await server.stop()
        assert server.open_connections == 0
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        # the server closed its end (the guard turns a hang into a failure)
        assert await asyncio.wait_for(reader.read(), 10.0) == b""
    assert not server.is_running
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_restart_keeps_the_port(server: LoopbackHTTPServer) -> None:
    port = server.port
    url = await server.restart()
    assert server.port == port
    async with httpx.AsyncClient(base_url=url, trust_env=False) as c:
        assert (await c.get("/v1/ping")).status_code == 200


async def test_error_mode_answers_503_without_running_the_handler(
    server: LoopbackHTTPServer, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    server.set_misbehaviour("error", count=1)
    response = await client.post("/v1/pay", json={})
    assert response.status_code == 503
    assert response.text
    assert recorder.seen == []
    assert (await client.get("/v1/ping")).status_code == 200  # count=1 is used up


async def test_garbage_mode_answers_200_with_a_body_that_is_not_json(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    server.set_misbehaviour("garbage")
    response = await client.get("/v1/ping")
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"."):
        response.json()


async def test_drop_mode_disconnects_without_running_the_handler(
    server: LoopbackHTTPServer, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    server.set_misbehaviour("drop", count=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await client.post("/v1/pay", json={})
    assert recorder.seen == []


async def test_lose_answer_runs_the_handler_then_disconnects(
    server: LoopbackHTTPServer, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    server.set_misbehaviour("lose_answer", count=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await client.post("/v1/pay", json={"n": 1})
    assert [r.path for r in recorder.seen] == ["/v1/pay"]


async def test_slow_mode_holds_the_answer_back(server: LoopbackHTTPServer) -> None:
    server.set_misbehaviour("slow", delay_s=30.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=0.2, trust_env=False) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/v1/ping")


async def test_count_applies_to_the_next_requests_only(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    server.set_misbehaviour("error", count=2)
    statuses = [(await client.get("/v1/ping")).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]


async def test_without_count_misbehaves_until_cleared(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    server.set_misbehaviour("error")
    assert [(await client.get("/v1/ping")).status_code for _ in range(3)] == [503] * 3
    server.clear_misbehaviour()
    assert (await client.get("/v1/ping")).status_code == 200


async def test_paths_outside_the_prefix_behave(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    server.set_misbehaviour("error", count=1)
    assert (await client.get("/control/ledger")).status_code == 200
    assert (await client.get("/v1/ping")).status_code == 503


async def test_behaviour_endpoint_sets_and_reports_the_switch(
    server: LoopbackHTTPServer, client: httpx.AsyncClient
) -> None:
    answer = await client.post("/control/behaviour", json={"mode": "error", "count": 1})
    assert answer.json()["mode"] == "error"
    assert (await client.get("/control/behaviour")).json()["count"] == 1
    assert (await client.get("/v1/ping")).status_code == 503
    assert server.misbehaviour.mode == "normal"


@pytest.mark.parametrize(
    "body",
    [{"mode": "explode"}, {"mode": "error", "count": 0}, {"mode": "slow", "delay_s": -1}, [1]],
)
async def test_behaviour_endpoint_refuses_bad_switches(
    client: httpx.AsyncClient, body: object
) -> None:
    response = await client.post("/control/behaviour", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


async def test_set_misbehaviour_refuses_unknown_modes(server: LoopbackHTTPServer) -> None:
    with pytest.raises(ValueError, match="unknown misbehaviour"):
        server.set_misbehaviour("explode")  # type: ignore[arg-type]
