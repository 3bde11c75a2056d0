"""The fake clock wakes sleepers in order; money stays exact."""

from __future__ import annotations

import asyncio

import pytest

from terminal.clock import FakeClock
from terminal.money import Money


async def test_fake_clock_wakes_only_due_sleepers() -> None:
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("a", 3)), asyncio.create_task(sleeper("b", 5))]
    await asyncio.sleep(0)
    assert clock.next_deadline() == clock.monotonic() + 3
    clock.advance(4)
    await asyncio.sleep(0)
    assert woke == ["a"]
    clock.advance(1)
    await asyncio.gather(*tasks)
    assert woke == ["a", "b"]
    assert clock.next_deadline() is None


def test_wall_time_moves_with_the_fake_clock() -> None:
    clock = FakeClock()
    before = clock.wall()
    clock.advance(90)
    assert (clock.wall() - before).total_seconds() == 90
    assert clock.wall().tzinfo is not None


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.5", "RUB", 1250), ("0.01", "USD", 1), ("7", "JPY", 7), ("100", "RUB", 10000)],
)
def test_money_parses_exactly(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text", ["", "1.234", "abc", "1.2.3", "-1"])
def test_money_refuses_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match="amount|decimal"):
        Money.parse(text, "RUB")


def test_money_refuses_floats_and_bad_currencies() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "RUB")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(1, "rub")
    assert str(Money(12550, "RUB")) == "125.50 RUB"
    assert Money(-5, "USD").major_str() == "-0.05"
