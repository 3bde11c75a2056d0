"""Every scenario file in this folder, run end to end on the emulated device."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.config.loader import demo_config
from terminal.demo.headless import HeadlessSession
from tests.contract.kit import DRIVERS
from tests.scenarios.runner import run_scenario, scenario_header

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.txt"))
RUNS = [
    (path, driver)
    for path in SCENARIOS
    for driver in (DRIVERS if scenario_header(path)[2] else ("sandbox",))
]


@pytest.mark.usefixtures("no_asyncio_errors")
@pytest.mark.parametrize(
    ("path", "driver"), RUNS, ids=[f"{p.stem}-{d}" if d != "sandbox" else p.stem for p, d in RUNS]
)
async def test_scenario(path: Path, driver: str, tmp_path: Path) -> None:
    outcome = await run_scenario(path, tmp_path, driver)
    assert outcome.events, "the scenario emitted nothing"


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_scan_slip_before_any_slip_is_a_clear_error(tmp_path: Path) -> None:
    written: list[dict[str, object]] = []
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        session = HeadlessSession(terminal, written.append)
        assert await session.execute("scan-slip")
    errors = [event for event in written if event["event"] == "error"]
    assert errors == [{"event": "error", "command": "scan-slip",
                       "message": "no printed slip carries a barcode yet"}]  # fmt: skip
