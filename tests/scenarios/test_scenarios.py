"""Every scenario file in this folder, run end to end on the emulated device."""

from __future__ import annotations

from pathlib import Path

import pytest

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
