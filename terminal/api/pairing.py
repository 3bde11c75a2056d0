"""Pairing a POS: the code on the screen, the API key answered once, the hash kept; auth.

The machine holds the code shown and counts wrong ones (five void it); this module makes
the code and the key, turns the machine's step into an answer, and checks the key of
every other request against the hashes in the journal. Keys and codes are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from terminal.api.bodies import CreatePairing
from terminal.api.problems import ApiProblem
from terminal.journal.api_store import ApiStore, Pairing, key_hash
from terminal.machine import Phase
from terminal.machine.api_events import PairingAttempted, PairingOpened, RecordPairing
from terminal.runtime.runtime import Runtime

__all__ = ["KEY_PREFIX", "Pairings", "step_of"]

log = logging.getLogger("payterm.api")

#: API keys start with this, so one pasted in the wrong place is recognised.
KEY_PREFIX = "ptk_"
#: How long the API waits for the machine to take a request in.
STEP_TIMEOUT_S = 5.0


async def step_of(runtime: Runtime, event: Any) -> Any:
    """Feed ``event`` and return the machine's step; 503 when the terminal does not answer."""
    try:
        return await asyncio.wait_for(runtime.submit(event), STEP_TIMEOUT_S)
    except TimeoutError:
        raise ApiProblem(
            503, "terminal_unavailable", "the terminal did not answer; retry"
        ) from None


class Pairings:
    """Pairing codes, pairings and the check of each request's API key."""

    def __init__(self, runtime: Runtime, store: ApiStore, fingerprint: str) -> None:
        self._runtime = runtime
        self._store = store
        self.fingerprint = fingerprint
        #: Paired key hashes to names, read from the journal when a pairing changes.
        self._keys: dict[str, str] | None = None

    def opening(self) -> PairingOpened:
        """A fresh 6-digit code to show, with the certificate's fingerprint."""
        return PairingOpened(f"{secrets.randbelow(10**6):06d}", self.fingerprint)

    async def open(self) -> dict[str, Any]:
        """Show a pairing code on the terminal now (``payterm pair``); refused when busy."""
        step = await step_of(self._runtime, self.opening())
        if step.rejected:
            raise ApiProblem(
                409, "busy", f"the terminal cannot show a pairing code now ({step.rejected})",
                extra={"phase": self._runtime.state.phase.value},
            )  # fmt: skip
        return {"shown": True, "fingerprint": self.fingerprint, "valid_s": 300}

    async def pair(self, body: CreatePairing) -> dict[str, Any]:
        """Check the code; the right one pairs ``body.name`` and answers its key, once."""
        if any(p.name == body.name for p in self._store.pairings()):
            raise ApiProblem(
                409, "name_taken",
                f"a POS named {body.name!r} is paired already; revoke it first "
                "(payterm pairings revoke NAME) or choose another name",
                field="name",
            )  # fmt: skip
        if self._runtime.state.phase is not Phase.PAIRING:
            raise ApiProblem(
                403, "no_pairing_code",
                "no pairing code is shown; use the terminal's pair function first",
                field="code",
            )  # fmt: skip
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        step = await step_of(self._runtime, PairingAttempted(body.code, body.name, key_hash(key)))
        self._keys = None  # read again: the journal is what says who is paired
        if any(isinstance(effect, RecordPairing) for effect in step.effects):
            if _in_fault(self._runtime):
                raise ApiProblem(503, "out_of_service", "the journal cannot be written")
            return {"name": body.name, "api_key": key, "fingerprint": self.fingerprint}
        void = "void" in step.rejected
        message = "the code is wrong"
        if void:
            message += "; too many wrong codes: it is void, show a new one on the terminal"
        raise ApiProblem(403, "wrong_code", message, field="code")

    def authenticate(self, authorization: str | None) -> str:
        """The name of the POS whose key ``authorization`` ("Bearer …") carries; else 401."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise _unauthorized("send Authorization: Bearer <API key> (pair the POS first)")
        if self._keys is None:
            self._keys = self._store.paired_keys()
        name = self._keys.get(key_hash(key.strip()))
        if name is None:
            raise _unauthorized("the API key is not valid (revoked, or never paired here)")
        return name

    def pairings(self) -> list[Pairing]:
        """Every paired POS."""
        return self._store.pairings()

    def revoke(self, name: str) -> None:
        """Forget ``name``'s key; 404 when no POS of that name is paired."""
        self._keys = None
        if not self._store.revoke(name):
            raise ApiProblem(404, "not_found", f"no POS named {name!r} is paired", field="name")
        log.info("POS %r unpaired", name)


def _in_fault(runtime: Runtime) -> bool:
    return runtime.state.phase is Phase.FAULT


def _unauthorized(message: str) -> ApiProblem:
    return ApiProblem(
        401, "unauthorized", message, field="Authorization",
        headers={"WWW-Authenticate": 'Bearer realm="payterm"'},
    )  # fmt: skip
