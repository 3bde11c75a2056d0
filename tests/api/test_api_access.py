"""TLS with the pinned certificate, pairing, keys, and bad input: each a clear JSON error."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from pathlib import Path

import httpx
import pytest

import terminal.api.server as server_module
from tests.api.conftest import Running, api_config, start
from tests.api.helpers import body


def _peer_fingerprint(url: str, context: ssl.SSLContext) -> str:
    host, port = url.removeprefix("https://").split(":")
    import socket

    with socket.create_connection((host, int(port))) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


async def test_tls_certificate_is_pinned_by_the_fingerprint_shown(running: Running) -> None:
    """The certificate the server presents has the fingerprint on the screen and the slip."""
    api = running.terminal.api
    assert isinstance(running.tls, ssl.SSLContext)
    seen = await asyncio.to_thread(_peer_fingerprint, running.url, running.tls)
    assert seen == api.fingerprint
    slips: list[list[str]] = []
    running.terminal.runtime.subscribe(
        lambda name, d: slips.append(d["lines"]) if name == "printer:slip" else None
    )
    await api.api.pairings.open()
    await running.terminal.runtime.wait_idle()
    screen = running.terminal.runtime.screen
    assert screen is not None
    assert api.fingerprint.replace(":", "")[:8] in " ".join(screen.lines)
    printed = "".join(slips[-1])
    assert api.fingerprint.replace(":", "") in printed.replace(":", "")
    # Another certificate (an impostor's) is refused by a client that pins this one.
    async with httpx.AsyncClient(verify=ssl.create_default_context(), trust_env=False) as other:
        with pytest.raises(httpx.ConnectError):
            await other.get(f"{running.url}/v1/terminal")


async def test_the_certificate_is_kept_across_restarts(tmp_path: Path) -> None:
    """The certificate is made at the first start and the same one is served after."""
    async with start(api_config(tmp_path)) as first:
        fingerprint = first.terminal.api.fingerprint
    async with start(api_config(tmp_path)) as second:
        assert second.terminal.api.fingerprint == fingerprint
    assert (tmp_path / "api-key.pem").stat().st_mode & 0o077 == 0


async def test_pairing_answers_the_key_once_and_keeps_only_its_hash(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """The key works, is never stored or logged in clear; revoked, it is refused."""
    caplog.set_level(logging.DEBUG)
    key = await running.pair("till-1")
    code_lines = [r.getMessage() for r in caplog.records]
    async with running.client(key) as api:
        assert (await api.get("/v1/terminal")).status_code == 200
    journal = running.terminal.journal.path
    raw = b"".join(p.read_bytes() for p in journal.parent.glob("journal.sqlite3*"))
    assert key.encode() not in raw
    assert hashlib.sha256(key.encode()).hexdigest().encode() in raw
    assert not [line for line in code_lines if key in line]
    names = [p.name for p in running.terminal.api.api.pairings.pairings()]
    assert names == ["till-1"]
    running.terminal.api.api.pairings.revoke("till-1")
    async with running.client(key) as api:
        refused = await api.get("/v1/terminal")
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"


async def test_five_wrong_codes_void_the_code(running: Running) -> None:
    """Brute force: the fifth wrong code voids it; the right one is then refused too."""
    await running.terminal.api.api.pairings.open()
    await running.terminal.runtime.wait_idle()
    screen = running.terminal.runtime.screen
    assert screen is not None
    code = screen.amount.replace(" ", "")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    async with running.client() as api:
        for attempt in range(5):
            answer = await api.post("/v1/pairings", json={"code": wrong, "name": "x"})
            assert answer.status_code == 403, attempt
            assert answer.json()["field"] == "code"
        assert "void" in answer.json()["message"]
        late = await api.post("/v1/pairings", json={"code": code, "name": "x"})
    assert late.status_code == 403
    assert running.terminal.runtime.state.phase.value == "idle"
    assert running.terminal.api.api.pairings.pairings() == []


async def test_a_thousand_bad_keys_change_nothing(running: Running) -> None:
    """Each bad key gets a 401 problem; no payment is made, the terminal stays idle."""
    async with running.client() as api:
        for n in range(1000):
            answer = await api.post(
                "/v1/payments", json=body(), headers={"Authorization": f"Bearer ptk_bad{n}",
                                                      "Idempotency-Key": f"k{n}"},
            )  # fmt: skip
            assert answer.status_code == 401
            assert answer.headers["content-type"] == "application/problem+json"
        plain = await api.get("/v1/payments/last")
        assert plain.status_code == 401
    assert running.terminal.journal.recent(5) == []
    assert running.terminal.runtime.state.phase.value == "idle"


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "malformed_json"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "malformed_json"),
        (b"amount=1", {"content-type": "application/x-www-form-urlencoded"}, 415,
         "unsupported_media_type"),
        (b"x" * 9000, {"content-type": "application/json"}, 413, "body_too_large"),
        (b'{"amount_minor": "15", "currency": "RUB", "reference": "r", "method": "qr"}',
         {"content-type": "application/json"}, 422, "invalid_field"),
        (b'{"amount_minor": 15, "currency": "RUB", "reference": "r", "method": "qr", "x": 1}',
         {"content-type": "application/json"}, 422, "invalid_field"),
        (b'{"amount_minor": 15, "currency": "USD", "reference": "r", "method": "qr"}',
         {"content-type": "application/json"}, 422, "invalid_field"),
    ],
)  # fmt: skip
async def test_bad_bodies_get_a_clear_json_error(
    running: Running, content: bytes, headers: dict[str, str], status: int, code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Garbage, oversized, wrong type, wrong fields: a problem naming why; nothing changes."""
    key = await running.pair()
    async with running.client(key) as api:
        answer = await api.post(
            "/v1/payments", content=content, headers={**headers, "Idempotency-Key": "b"}
        )
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert answer.json()["message"]
    assert running.terminal.journal.recent(5) == []
    assert "Traceback" not in caplog.text


async def test_garbage_on_the_wire_and_slow_heads_are_answered_and_closed(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes that are not HTTP get a 400 problem; a head held open gets a 408 and is closed."""
    monkeypatch.setattr(server_module, "HEAD_TIMEOUT_S", 0.3)
    assert isinstance(running.tls, ssl.SSLContext)
    host, port = running.url.removeprefix("https://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), ssl=running.tls)
    writer.write(b"\x00\x01garbage garbage\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"code": "bad_request"' in answer
    writer.close()
    reader, writer = await asyncio.open_connection(host, int(port), ssl=running.tls)
    writer.write(b"GET /v1/terminal HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    answer = await asyncio.wait_for(reader.read(), 5)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"request_timeout" in answer
    writer.close()
    key = await running.pair()
    async with running.client(key) as api:
        assert (await api.get("/v1/terminal")).status_code == 200


async def test_unknown_paths_and_methods_are_problems(running: Running) -> None:
    """404 and 405 in the one error shape; the contract is served."""
    key = await running.pair()
    async with running.client(key) as api:
        missing = await api.get("/v1/nothing")
        wrong = await api.delete("/v1/terminal")
        contract = await api.get("/v1/openapi.json")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert contract.json()["openapi"] == "3.1.0"


async def test_plain_http_on_loopback_by_config(tmp_path: Path) -> None:
    """tls = false serves plain HTTP (allowed on loopback), with the same API."""
    async with start(api_config(tmp_path, tls=False)) as plain:
        assert plain.url.startswith("http://127.0.0.1:")
        assert plain.terminal.api.fingerprint == ""
        async with plain.client() as api:
            assert (await api.get("/v1/terminal")).status_code == 401
