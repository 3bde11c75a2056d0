"""``GET /v1/terminal`` served from its cache and keys checked from memory: never stale.

The status document is built once per change and the paired keys are held in memory, so
that many polling POS machines cost the terminal little; these tests hold that neither
ever answers with what was true before a change.
"""

from __future__ import annotations

from terminal.machine import KeyPressed
from tests.api.conftest import Running


async def test_a_change_shows_on_the_next_poll(running: Running) -> None:
    """A key pressed between two polls shows on the second, without waiting for the cache."""
    key = await running.pair()
    runtime = running.terminal.runtime
    async with running.client(key) as api:
        before = (await api.get("/v1/terminal")).json()
        assert (await api.get("/v1/terminal")).json() == before  # served again, unchanged
        runtime.feed(KeyPressed("7"))
        await runtime.wait_idle()
        after = (await api.get("/v1/terminal")).json()
    assert before["phase"] == "idle"
    assert after["phase"] == "amount"
    assert after["screen"]["amount"] != before["screen"]["amount"]


async def test_a_revoked_key_is_refused_at_once_and_a_new_one_taken(running: Running) -> None:
    """Revoking forgets the key in memory too; a POS paired later is let in at once."""
    first = await running.pair("pos-1")
    async with running.client(first) as api:
        assert (await api.get("/v1/terminal")).status_code == 200
        running.terminal.api.api.pairings.revoke("pos-1")
        assert (await api.get("/v1/terminal")).status_code == 401
    second = await running.pair("pos-2")
    async with running.client(second) as api:
        assert (await api.get("/v1/terminal")).status_code == 200
    async with running.client("ptk_never-paired") as api:
        assert (await api.get("/v1/terminal")).status_code == 401
