"""Who may look at the web console, and who may press its keys.

On the emulated device (a training terminal on a laptop) the console is open and live. On
a real terminal it is served only with ``[api] console = true``; each browser signs in
with a paired POS's API key or the secrets file's ``[console] password`` and gets a
session cookie (HttpOnly, SameSite=Strict, Secure over TLS); it may only look unless
``[api] console_remote_keys = true``. Five wrong sign-ins in a row lock sign-in for
30 s. Sessions live in memory: a restarted terminal asks again.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from terminal.api.pairing import Pairings
from terminal.api.problems import ApiProblem

__all__ = ["COOKIE", "SESSION_S", "ConsoleAccess"]

#: The session cookie's name, and how long a session lasts without use.
COOKIE = "payterm_console"
SESSION_S = 12 * 3600.0
_LOCK_AFTER = 5
_LOCK_S = 30.0


@dataclass
class ConsoleAccess:
    """The console's rules for one terminal: open (emulated) or signed in, live or read-only."""

    open: bool  # the emulated device: nobody signs in
    live: bool  # the keys, buttons and scans act
    password: str
    pairings: Pairings | None
    secure: bool  # TLS: the cookie is marked Secure
    _sessions: dict[str, float] = field(default_factory=dict)  # token -> last use (monotonic)
    _wrong: int = 0
    _locked_until: float = 0.0

    def check(self, request: Request) -> None:
        """Let ``request`` look, or raise 401 (sign in first)."""
        if self.open:
            return
        token = request.cookies.get(COOKIE, "")
        now = time.monotonic()
        seen = self._sessions.get(token)
        if seen is None or now - seen > SESSION_S:
            self._sessions.pop(token, None)
            raise ApiProblem(401, "sign_in", "sign in with the console password or an API key")
        self._sessions[token] = now

    def check_live(self, request: Request) -> None:
        """Let ``request`` press keys, or raise 401/403 saying why not."""
        self.check(request)
        if not self.live:
            raise ApiProblem(
                403, "read_only", "this console is read-only: [api] console_remote_keys is off"
            )

    def sign_in(self, password: str, api_key: str) -> str:
        """A new session token for a right password or API key; 401 or 429 otherwise."""
        now = time.monotonic()
        if now < self._locked_until:
            wait = int(self._locked_until - now) + 1
            raise ApiProblem(429, "locked", f"too many wrong sign-ins; try again in {wait} s")
        if not self._right(password, api_key):
            self._wrong += 1
            if self._wrong >= _LOCK_AFTER:
                self._wrong = 0
                self._locked_until = now + _LOCK_S
            raise ApiProblem(401, "wrong_credentials", "wrong password or API key")
        self._wrong = 0
        token = secrets.token_urlsafe(32)
        self._sessions = {t: s for t, s in self._sessions.items() if now - s <= SESSION_S}
        self._sessions[token] = now
        return token

    def sign_out(self, request: Request) -> None:
        """Forget the request's session."""
        self._sessions.pop(request.cookies.get(COOKIE, ""), None)

    def _right(self, password: str, api_key: str) -> bool:
        if password and self.password:
            return hmac.compare_digest(password.encode(), self.password.encode())
        if api_key and self.pairings is not None:
            try:
                self.pairings.authenticate(f"Bearer {api_key}")
            except ApiProblem:
                return False
            return True
        return False
