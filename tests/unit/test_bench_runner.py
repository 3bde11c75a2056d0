"""The benchmark runner tells a broken benchmark from a missed target (CI runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import __main__ as runner
from bench.report import Figure, broken, figures_to_json, not_measured

SECTION = "9. example"


def test_a_missed_target_is_not_broken() -> None:
    missed = Figure(SECTION, "p99", "p99", 30.0, "ms", limit=20.0)
    assert missed.status == "MISSED"
    assert broken([missed]) == []


def test_a_benchmark_that_could_not_measure_is_broken() -> None:
    row = not_measured(SECTION, "soak", "TypeError: unsupported operand")
    assert broken([Figure(SECTION, "rss", "RSS", 60.0, "MiB"), row]) == [row]
    assert row.status == "n/a"


def _fake_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    (tmp_path / "fakebench.py").write_text(body)
    monkeypatch.setattr(runner, "REPO", tmp_path)
    return "fakebench"


def test_runner_reports_a_broken_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = figures_to_json([not_measured(SECTION, "soak", "TypeError: boom")])
    body = f"import json\nprint(json.dumps({{'figures': {rows!r}}}))\n"
    outcome = runner.run_one(_fake_benchmark(tmp_path, monkeypatch, body), quick=True)
    assert outcome.figures == 1
    assert "soak: not measured (TypeError: boom)" in outcome.problem


def test_runner_reports_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "raise SystemExit('no such option: --quick')\n"
    outcome = runner.run_one(_fake_benchmark(tmp_path, monkeypatch, body), quick=True)
    assert outcome.figures == 0
    assert outcome.problem.startswith("exit 1, no figures: no such option: --quick")


def test_runner_passes_a_benchmark_that_printed_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = figures_to_json([Figure(SECTION, "p99", "scan p99", 3.0, "ms", limit=20.0)])
    body = f"import json\nprint(json.dumps({{'figures': {rows!r}}}))\n"
    outcome = runner.run_one(_fake_benchmark(tmp_path, monkeypatch, body), quick=True)
    assert (outcome.figures, outcome.problem) == (1, "")
    assert "scan p99" in capsys.readouterr().out


def test_every_benchmark_takes_quick_and_json() -> None:
    for module in runner.BENCHMARKS:
        source = Path(runner.REPO, *module.split(".")).with_suffix(".py").read_text()
        assert '"--quick"' in source, module
        assert '"--json"' in source, module
