"""``payterm demo --headless`` as a user drives it: commands on a child process's stdin.

Each command ends with exactly one ok or one error in words; the exit status is 1 when any
command failed; a command that cannot act on this setup says why instead of answering ok.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.scenarios.test_standalone_sandbox import start_sandbox

#: What Python says when it is let through instead of a message in words.
PYTHON_SPEAK = ("could not convert", "invalid literal", "Traceback", "expected one argument")


def run_session(
    data_dir: Path, commands: list[str], *extra: str, timeout: float = 60
) -> tuple[int, list[dict[str, Any]]]:
    """Run one headless session to its end; its exit status and every JSON line it wrote."""
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "demo", "--headless", "--fake-clock",
         "--data-dir", str(data_dir), *extra],
        input="".join(f"{c}\n" for c in commands), capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def answers(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(event, command) of each ok and error, in order."""
    return [(e["event"], e["command"]) for e in events if e["event"] in ("ok", "error")]


def test_every_command_ends_in_one_answer_and_errors_make_the_exit_status_1(
    tmp_path: Path,
) -> None:
    commands = [
        "customer pay", "advance -5", "advance abc", "advance 0", "advance nan",
        "journal x", "journal 0", "journal 1 2", "sandbox bogus", "sandbox error 0",
        "printer jam", "press ok", "key", "bogus", "key 5", "wait", "quit",
    ]  # fmt: skip
    code, events = run_session(tmp_path, commands)

    assert code == 1
    assert answers(events) == [
        *(("error", c) for c in commands[:-3]),
        ("ok", "key 5"),
        ("ok", "wait"),
        ("ok", "quit"),
    ]
    errors = [e for e in events if e["event"] == "error"]
    for error in errors:
        assert error["message"], error
        assert not any(words in error["message"] for words in PYTHON_SPEAK), error
    by_command = {e["command"]: e["message"] for e in errors}
    assert "no pending payment" in by_command["customer pay"]
    assert "above 0" in by_command["advance -5"]
    assert "number of seconds" in by_command["advance abc"]
    assert "whole number" in by_command["journal x"]
    # The failed customer action is not reported as done.
    assert not [e for e in events if e["event"] == "customer:acted"]


def test_a_clean_session_exits_0_and_quit_answers_ok(tmp_path: Path) -> None:
    code, events = run_session(
        tmp_path, ["key 1", "key 0", "key 0", "key enter", "key enter", "customer pay",
                   "advance 3", "journal 1", "quit"],
    )  # fmt: skip

    assert code == 0
    assert answers(events)[-1] == ("ok", "quit")
    assert all(kind == "ok" for kind, _ in answers(events))
    assert [e["state"] for e in events if e["event"] == "journal:payment"] == ["paid"]


def test_end_of_input_without_quit_ends_the_session(tmp_path: Path) -> None:
    code, events = run_session(tmp_path, ["key 1"])

    assert code == 0
    assert answers(events) == [("ok", "key 1")]


def test_advance_is_bounded_and_an_hour_is_quick(tmp_path: Path) -> None:
    code, events = run_session(tmp_path, ["advance 1e7", "advance 3600", "quit"], timeout=30)

    assert code == 1
    assert answers(events) == [("error", "advance 1e7"), ("ok", "advance 3600"), ("ok", "quit")]
    refused = next(e for e in events if e["event"] == "error")
    assert "at most 3600" in refused["message"]


def test_advance_without_the_fake_clock_says_what_it_needs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "demo", "--headless", "--data-dir", str(tmp_path)],
        input="advance 5\nquit\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    events = [json.loads(line) for line in result.stdout.splitlines()]

    assert result.returncode == 1
    error = next(e for e in events if e["event"] == "error")
    assert "--fake-clock" in error["message"]


def test_no_nfc_reader_in_the_config_is_an_error_in_words(tmp_path: Path) -> None:
    config = tmp_path / "payterm.toml"
    config.write_text(f'[terminal]\ndata_dir = "{tmp_path / "data"}"\n')

    code, events = run_session(tmp_path, ["nfc 04a1b2c3", "quit"], "--config", str(config))

    assert code == 1
    error = next(e for e in events if e["event"] == "error")
    assert "nfc.path" in error["message"]


def test_with_a_standalone_sandbox_net_says_why_and_sandbox_acts(tmp_path: Path) -> None:
    sandbox, url = start_sandbox(tmp_path / "ledger.sqlite3")
    try:
        config = tmp_path / "payterm.toml"
        config.write_text(
            f'[terminal]\ndata_dir = "{tmp_path / "data"}"\n\n'
            f'[providers.sandbox]\ndriver = "sandbox"\nurl = "{url}"\n'
        )
        code, events = run_session(
            tmp_path, ["net down", "net up", "sandbox error 2", "quit"], "--config", str(config)
        )
        behaviour = httpx.get(f"{url}/control/behaviour", timeout=5).json()
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=10)
        assert sandbox.stderr is not None
        sandbox.stderr.close()

    assert code == 1
    assert answers(events) == [
        ("error", "net down"), ("error", "net up"), ("ok", "sandbox error 2"), ("ok", "quit"),
    ]  # fmt: skip
    net = next(e for e in events if e["event"] == "error")
    assert "embedded" in net["message"]
    assert url in net["message"]
    assert not [e for e in events if e["event"] == "net:changed"]
    # The standalone sandbox really was switched, over its control endpoint.
    assert behaviour["mode"] == "error"
    assert behaviour["count"] == 2


def test_sandbox_and_net_act_on_the_embedded_sandbox(tmp_path: Path) -> None:
    code, events = run_session(
        tmp_path, ["sandbox drop 1", "net down", "net up", "quit"],
    )  # fmt: skip

    assert code == 0
    assert [e["up"] for e in events if e["event"] == "net:changed"] == [False, True]
    reconciled = next(e for e in events if e["event"] == "net:reconciled")
    assert reconciled == {"event": "net:reconciled", "waiting": 0, "answered": 0}
    behaviour = next(e for e in events if e["event"] == "sandbox:behaviour")
    assert behaviour["mode"] == "drop"
    assert behaviour["count"] == 1
