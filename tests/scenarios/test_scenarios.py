"""Every scenario file in this folder, run end to end on the emulated device."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios.runner import run_scenario

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.txt"))


@pytest.mark.usefixtures("no_asyncio_errors")
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario(path: Path, tmp_path: Path) -> None:
    outcome = await run_scenario(path, tmp_path)
    assert outcome.events, "the scenario emitted nothing"
