"""SIGKILL between an API create and the provider's answer: after the restart, charged once."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx

from terminal.providers.sandbox.ledger import SandboxLedger
from tests.api.helpers import body
from tests.scenarios.headless_process import HeadlessProcess
from tests.scenarios.test_kill_restart import _wait_for_ledger_rows


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pair(terminal: HeadlessProcess, data_dir: Path, url: str, tls: ssl.SSLContext) -> str:
    local = httpx.Client(transport=httpx.HTTPTransport(uds=str(data_dir / "api.sock")),
                         base_url="http://payterm")  # fmt: skip
    with local:
        assert local.post("/local/pairing").status_code == 201
    screen = [e for e in [terminal.send("screen"), *terminal.events] if e["event"] == "screen"][-1]
    code = screen["amount"].replace(" ", "")
    with httpx.Client(base_url=url, verify=tls, trust_env=False) as api:
        answer = api.post("/v1/pairings", json={"code": code, "name": "pos"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["api_key"])


def test_killed_between_create_and_answer_is_found_by_reference(tmp_path: Path) -> None:
    """The POS lost its answer; ``GET ?reference=`` after the restart finds it, paid once."""
    port = _free_port()
    extra = ["--api", "--api-port", str(port)]
    first = HeadlessProcess(tmp_path, extra)
    listening = next(e for e in first.events if e["event"] == "api:listening")
    url = listening["url"]
    tls = ssl.create_default_context(cafile=str(tmp_path / "api-cert.pem"))
    key = _pair(first, tmp_path, url, tls)
    first.send("sandbox slow")  # the sandbox takes the invoice but holds its answer back
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "lost-1"}
    with httpx.Client(base_url=url, verify=tls, trust_env=False, headers=headers) as api:
        created = api.post("/v1/payments", json=body("ORDER-77"))
    assert created.status_code == 201
    first.read_until("provider:call", op="create")
    _wait_for_ledger_rows(tmp_path / "sandbox-sandbox.sqlite3")
    first.kill()

    second = HeadlessProcess(tmp_path, extra)
    second.send("customer pay")
    second.send("advance 3")
    second.send("wait")
    with httpx.Client(base_url=url, verify=tls, trust_env=False, headers=headers) as api:
        found = api.get("/v1/payments", params={"reference": "ORDER-77"}).json()["payments"]
        replay = api.post("/v1/payments", json=body("ORDER-77"))
    second.quit()
    assert [(p["id"], p["state"]) for p in found] == [(created.json()["id"], "paid")]
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["state"] == "paid"
    calls = [e["op"] for e in second.events if e["event"] == "provider:call"]
    assert "create" not in calls, "a payment in doubt is never created again"
    ledger = SandboxLedger.open(tmp_path / "sandbox-sandbox.sqlite3")
    try:
        assert ledger.charges() == 1
        assert len(ledger.payments()) == 1
    finally:
        ledger.close()
