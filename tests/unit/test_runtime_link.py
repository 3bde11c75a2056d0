"""How the terminal learns the providers are reachable again: the signs LinkWatch reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

from terminal.clock import FakeClock
from terminal.machine import Event, LinkRestored
from terminal.runtime.link import ROUTE_CHECK_S, LinkWatch, default_route_up

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
DEFAULT_VIA_ETH0 = "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
LAN_ONLY = "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"


def _tables(tmp_path: Path, routes: str, carrier: str | None) -> tuple[Path, Path]:
    route = tmp_path / "route"
    route.write_text(HEADER + routes, encoding="ascii")
    sys_net = tmp_path / "net"
    if carrier is not None:
        (sys_net / "eth0").mkdir(parents=True)
        (sys_net / "eth0" / "carrier").write_text(carrier + "\n", encoding="ascii")
    return route, sys_net


def test_a_default_route_with_carrier_is_up(tmp_path: Path) -> None:
    assert default_route_up(*_tables(tmp_path, DEFAULT_VIA_ETH0 + LAN_ONLY, "1")) is True


def test_a_default_route_whose_cable_is_out_is_down(tmp_path: Path) -> None:
    assert default_route_up(*_tables(tmp_path, DEFAULT_VIA_ETH0, "0")) is False


def test_no_default_route_is_down(tmp_path: Path) -> None:
    assert default_route_up(*_tables(tmp_path, LAN_ONLY, "1")) is False


def test_no_routing_table_is_unknown(tmp_path: Path) -> None:
    assert default_route_up(tmp_path / "missing", tmp_path) is None


class _Fed:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.emitted: list[tuple[str, dict[str, object]]] = []

    def feed(self, event: Event) -> None:
        self.events.append(event)

    def emit(self, name: str, **details: object) -> None:
        self.emitted.append((name, details))


def test_an_answer_after_a_failure_of_the_same_provider_is_the_link_back() -> None:
    fed = _Fed()
    watch = LinkWatch(FakeClock(), feed=fed.feed, emit=fed.emit)
    watch.answered("paymaster")
    assert fed.events == [], "an answer with nothing lost before says nothing"
    watch.failed("paymaster")
    watch.failed("webmoney")
    watch.answered("webmoney")
    watch.answered("webmoney")
    assert fed.events == [LinkRestored("webmoney answered")]
    watch.answered("paymaster")
    assert fed.events[-1] == LinkRestored("paymaster answered")
    assert [name for name, _ in fed.emitted] == ["link:restored", "link:restored"]


async def test_a_default_route_coming_back_is_the_link_back() -> None:
    fed = _Fed()
    clock = FakeClock()
    readings = iter([True, False, None, False, True, True])
    watch = LinkWatch(clock, feed=fed.feed, emit=fed.emit, route_probe=lambda: next(readings))
    task = asyncio.create_task(watch.watch_routes())
    await asyncio.sleep(0)
    for _ in range(5):
        clock.advance(ROUTE_CHECK_S)
        await asyncio.sleep(0)
    task.cancel()
    # Up at start is no news; down, unknown, down, then up: one LinkRestored; up again: none.
    assert fed.events == [LinkRestored("default route up")]
