"""The headless session in this process: what it says when the terminal cannot start."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.demo.builtin import builtin_demo_config
from terminal.demo.headless import run_headless


async def test_ready_is_not_claimed_when_the_runtime_cannot_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = builtin_demo_config(tmp_path)
    async with Terminal(config, FakeClock(), with_network_link=True) as terminal:
        terminal.journal.close()  # the journal is lost: payments in doubt cannot be read

        failed = await run_headless(terminal, stdin=io.StringIO("status\nquit\n"))

    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert failed == 1
    names = [e["event"] for e in events]
    assert "terminal:ready" not in names
    assert names[-1] == "terminal:failed"
    assert events[-1]["message"].startswith("the terminal stopped: ")
    assert "ok" not in names  # no command was taken


async def test_ready_once_started(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with Terminal(builtin_demo_config(tmp_path), FakeClock()) as terminal:
        failed = await run_headless(terminal, stdin=io.StringIO("status\nquit\n"))

    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert failed == 0
    names = [e["event"] for e in events]
    assert names.index("terminal:ready") < names.index("status")
    assert names[-1] == "ok"
