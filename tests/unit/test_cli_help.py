"""The command line says the truth: help in plain words, a version, defaults, --data-dir."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from terminal.cli import build_parser, main
from tests.unit.test_headless_process import run_session

ROOT = Path(__file__).parents[2]
#: reStructuredText that must not reach a terminal: ``literal``, :role:`target`.
RST = re.compile(r"``|:(class|func|mod|meth|data|attr):`")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found: dict[str, argparse.ArgumentParser] = {}
    pending = [("", parser)]
    while pending:
        prefix, current = pending.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    pending.append((f"{prefix}{name} ", sub))
    return found


def test_help_is_plain_text_with_the_exit_status() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "--help"], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0
    assert not RST.search(result.stdout), result.stdout
    assert "The payterm command" in result.stdout
    assert "Exit status" in result.stdout


@pytest.mark.parametrize("command", sorted(set(_subcommands()) - {"import-config"}))
def test_every_subcommand_help_is_plain_and_every_option_explained(command: str) -> None:
    parser = _subcommands()[command]

    text = parser.format_help()

    assert not RST.search(text), text
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or "-h" in action.option_strings:
            continue
        assert action.help, f"payterm {command}: {action.option_strings or action.dest} has no help"


def test_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "--version"], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0
    assert result.stdout.strip() == f"payterm {version('payterm')}"


def test_the_sandbox_ledger_defaults_to_the_state_folder_not_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    args = build_parser().parse_args(["sandbox"])

    assert args.ledger == tmp_path / "state" / "payterm-sandbox" / "ledger.sqlite3"
    assert "ledger.sqlite3" in _subcommands()["sandbox"].format_help()


def test_journal_reads_the_demo_data_with_data_dir_and_no_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_session(
        tmp_path, ["key 4", "key 2", "key enter", "key enter", "customer pay", "advance 3", "quit"]
    )
    assert code == 0

    assert main(["journal", "--data-dir", str(tmp_path), "--json"]) == 0

    payments = json.loads(capsys.readouterr().out)
    assert [(p["state"], p["amount_minor"]) for p in payments] == [("paid", 42)]


def test_journal_without_data_dir_still_reads_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "payterm.toml"

    assert main(["journal", "--config", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_docs_of_doctor_name_only_options_it_has() -> None:
    usage = next(
        line for line in (ROOT / "docs" / "doctor.md").read_text().splitlines()
        if line.startswith("payterm doctor")
    )  # fmt: skip
    documented = set(re.findall(r"--[a-z][a-z-]*", usage))
    known = {o for a in _subcommands()["doctor"]._actions for o in a.option_strings}

    assert documented
    assert documented <= known, documented - known
