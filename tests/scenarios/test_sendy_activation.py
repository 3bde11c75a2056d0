"""A technician activates the terminal with Sendy from the command line: three tries per code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from terminal.providers.sendy.fake import SendyFake
from tests.scenarios.test_standalone_sandbox import start_sandbox


def _activate(config: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "terminal", "sendy-activate", "--config", str(config),
         "--terminal-id", "SENDY-DEMO-0001", "--serial", "PI-0001", "--code", code],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def test_activation_counts_tries_and_keeps_the_key_private(tmp_path: Path) -> None:
    sandbox, url = start_sandbox(tmp_path / "ledger.sqlite3", "sendy")
    try:
        state = tmp_path / "sendy-state.json"
        config = tmp_path / "payterm.toml"
        config.write_text(
            f'[terminal]\ndata_dir = "{tmp_path}"\n\n[payment]\nmpm_provider = "sendy"\n\n'
            f'[providers.sendy]\ndriver = "sendy"\nurl = "{url}"\n\n'
            f'[providers.sendy.options]\nstate_path = "{state}"\napi_root = "/v1/"\n'
            '[[routes]]\nwallet = "sendy"\nprovider = "sendy"\n'
        )
        wrong = _activate(config, "0000-WRONG")
        assert wrong.returncode == 1, wrong.stderr
        assert "1 used, 2 left" in wrong.stdout
        right = _activate(config, SendyFake.DEMO_ACTIVATION_CODE)
        assert right.returncode == 0, right.stdout + right.stderr
        assert state.stat().st_mode & 0o077 == 0, "the terminal key is readable by others"
        for _ in range(2):
            _activate(config, "0000-WRONG")
        fourth = _activate(config, "0000-WRONG")
        assert fourth.returncode == 1
        assert "0 left" in fourth.stdout
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=10)
        assert sandbox.stderr is not None
        sandbox.stderr.close()
