"""The ``payterm`` command: config checks and refusals a technician sees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from terminal.cli import main


def test_check_config_refuses_the_example_until_it_is_set_up(capsys) -> None:
    # The example holds the defaults, a training terminal's: it must not take pretend money.
    assert main(["check-config", "config/payterm.example.toml"]) == 2
    err = capsys.readouterr().err
    for key in ("terminal.hardware", "providers.sandbox.driver", "providers.sandbox.url"):
        assert f"config/payterm.example.toml: {key}: " in err
    assert "set [terminal] training = true for a training terminal" in err


def test_check_config_accepts_the_demo_config(capsys) -> None:
    assert main(["check-config", "config/demo.toml"]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_names_the_wrong_key(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "payterm.toml"
    bad.write_text('[terminal]\ncurrency = "RUB"\npoll_interval = 3\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "terminal.poll_interval" in err


def test_run_without_its_config_names_the_file(tmp_path: Path, capsys) -> None:
    # A missing display no longer stops `payterm run` (tests/scenarios/test_service_process.py).
    missing = tmp_path / "payterm.toml"
    assert main(["run", "--config", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "Traceback" not in err


def test_demo_with_a_broken_config_exits_with_the_reason(tmp_path: Path) -> None:
    config = tmp_path / "payterm.toml"
    config.write_text("[payment]\nqr_mode = 5\n")
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "demo", "--headless", "--config", str(config)],
        input="quit\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "payment.qr_mode" in result.stderr
