"""Who may look and press on a real terminal's console, and the config keys that say so."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from terminal.api.console.access import COOKIE, ConsoleAccess
from terminal.api.problems import ApiProblem
from terminal.config.loader import parse_config
from terminal.config.secrets import parse_secrets
from terminal.errors import ConfigError


def _request(token: str = "") -> Request:
    headers = [(b"cookie", f"{COOKIE}={token}".encode())] if token else []
    return Request({"type": "http", "method": "GET", "path": "/console/state", "headers": headers})


def _access(*, live: bool = False) -> ConsoleAccess:
    return ConsoleAccess(open=False, live=live, password="correct horse", pairings=None,
                         secure=True)  # fmt: skip


def test_a_real_terminal_asks_to_sign_in_then_lets_the_session_look() -> None:
    access = _access()
    with pytest.raises(ApiProblem) as refused:
        access.check(_request())
    assert refused.value.status == 401
    token = access.sign_in("correct horse", "")
    access.check(_request(token))
    with pytest.raises(ApiProblem):
        access.check(_request("forged"))


def test_read_only_unless_remote_keys() -> None:
    access = _access()
    token = access.sign_in("correct horse", "")
    with pytest.raises(ApiProblem) as refused:
        access.check_live(_request(token))
    assert refused.value.status == 403
    assert "console_remote_keys" in refused.value.message
    live = _access(live=True)
    live.check_live(_request(live.sign_in("correct horse", "")))


def test_wrong_passwords_lock_sign_in() -> None:
    access = _access()
    for _ in range(5):
        with pytest.raises(ApiProblem) as wrong:
            access.sign_in("guess", "")
        assert wrong.value.status == 401
    with pytest.raises(ApiProblem) as locked:
        access.sign_in("correct horse", "")
    assert locked.value.status == 429


def test_no_password_configured_lets_no_password_in() -> None:
    access = ConsoleAccess(open=False, live=False, password="", pairings=None, secure=False)
    with pytest.raises(ApiProblem):
        access.sign_in("", "")


def test_signed_out_session_is_refused() -> None:
    access = _access()
    token = access.sign_in("correct horse", "")
    access.sign_out(_request(token))
    with pytest.raises(ApiProblem):
        access.check(_request(token))


def test_remote_keys_without_the_console_is_a_mistake_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="console_remote_keys"):
        parse_config({"terminal": {"training": True},
                      "api": {"enabled": True, "console_remote_keys": True}})  # fmt: skip


def test_console_password_is_read_and_a_short_one_refused() -> None:
    secrets = parse_secrets(b'[console]\npassword = "long enough"\n')
    assert secrets.console_password == "long enough"
    assert "long enough" not in repr(secrets)
    with pytest.raises(ConfigError, match="password"):
        parse_secrets(b'[console]\npassword = "short"\n')
