"""The info page: the machine's transitions (pure), the drawn screen, and the runtime's path."""

from __future__ import annotations

import asyncio
import dataclasses
from functools import partial
from pathlib import Path

import pytest
from luma.core.device import dummy

from hw.display.luma_display import LumaDisplay
from hw.display.render import screen_layout
from hw.display.text_fit import MIN_TEXT_PX
from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.machine import GatherHostInfo, HostInfoGathered, InfoRequested, Phase, State
from terminal.machine.info_events import INFO_REFRESH_S, INFO_SHOWN_S
from terminal.system.host_info import HostInfo, Interface, Wifi
from terminal.system.netinfo import read_host_info
from terminal.views.screens import screen_for
from terminal.views.text import Language
from tests.scenarios.runner import scenario_config
from tests.unit.machine_script import SETTINGS, Expect, fire, key, press, run, scan, typed
from tests.unit.test_netinfo import PI_KERNEL, fake_root

INFO = HostInfo(
    "till-3",
    (
        Interface("eth0", True, ("192.168.1.20",), ("fe80::ba27:ebff:fe12:3456",)),
        Interface("wlan0", True, ("10.0.0.7",)),
    ),
    Wifi("associated", "wlan0", "Shop", -57),
    "1.2.3",
)
OPENED = (0, InfoRequested(), Expect(
    phase=Phase.INFO, timers={"info": INFO_SHOWN_S, "info_refresh": INFO_REFRESH_S},
    check=lambda s: GatherHostInfo() in s.effects,
))  # fmt: skip
GATHERED = (0.2, HostInfoGathered(INFO), Expect(phase=Phase.INFO, state={"host_info": INFO}))


# --- the machine -----------------------------------------------------------------------------


def test_the_info_key_on_the_idle_screen_asks_for_the_facts_and_shows_them() -> None:
    script = run(State(SETTINGS), [OPENED, GATHERED])

    assert script.state.host_info == INFO


def test_the_facts_are_gathered_again_every_few_seconds_while_shown() -> None:
    refresh = (INFO_REFRESH_S, fire("info_refresh"), Expect(
        phase=Phase.INFO, timers={"info_refresh": INFO_REFRESH_S},
        check=lambda s: s.effects.count(GatherHostInfo()) == 1,
    ))  # fmt: skip
    script = run(State(SETTINGS), [OPENED, GATHERED, refresh])

    assert script.state.host_info == INFO  # kept until the next facts arrive


@pytest.mark.parametrize(
    "dismiss",
    [key("5"), key("enter"), key("clear"), press("cancel"), press("retry"), InfoRequested()],
    ids=["digit", "enter", "clear", "cancel", "retry", "info-again"],
)
def test_any_key_or_button_goes_back_to_idle_and_stops_the_timers(dismiss: object) -> None:
    back = (3, dismiss, Expect(phase=Phase.IDLE, state={"host_info": None}))
    script = run(State(SETTINGS), [OPENED, GATHERED, back])

    assert script.timers == {}  # neither the page's timeout nor its refresh is left running


def test_left_untouched_it_goes_back_to_idle() -> None:
    script = run(State(SETTINGS), [OPENED, (INFO_SHOWN_S, fire("info"), Expect(phase=Phase.IDLE))])

    assert "info_refresh" not in script.timers


def test_not_reachable_mid_payment_and_a_scan_on_it_charges_nothing() -> None:
    mid_payment = [
        *typed(0, "1500"),
        (1, InfoRequested(), Expect(phase=Phase.READY, rejected=True)),
    ]
    paying = run(State(SETTINGS), mid_payment)
    assert paying.state.phase is Phase.READY  # the amount stays, no info page
    assert paying.state.host_info is None
    on_page = [OPENED, (1, scan("134567890123456789"), Expect(phase=Phase.INFO, rejected=True,
                                                              calls=()))]  # fmt: skip
    scanned = run(State(SETTINGS), on_page)
    assert scanned.state.phase is Phase.INFO


def test_facts_arriving_after_the_page_closed_are_dropped() -> None:
    late = (4, HostInfoGathered(INFO), Expect(phase=Phase.IDLE, rejected=True))
    script = run(State(SETTINGS), [OPENED, (1, key("clear"), Expect(phase=Phase.IDLE)), late])
    assert script.state.phase is Phase.IDLE
    assert script.state.host_info is None  # the late facts were not kept


# --- the screen ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("size", [(128, 64), (128, 128)], ids=["128x64", "128x128"])
def test_the_page_drawn_on_luma_dummy_names_host_and_address(
    lang: Language, size: tuple[int, int]
) -> None:
    screen = screen_for(State(SETTINGS, phase=Phase.INFO, host_info=INFO), lang)
    device = dummy(width=size[0], height=size[1], mode="1")
    display = LumaDisplay(device=device)
    display.show(screen)
    display.flush()
    drawn = screen_layout(screen, size)
    texts = [text.text for text in drawn.texts]

    assert device.image.getbbox() is not None  # the panel got the frame
    assert texts[:2] == ["till-3", "192.168.1.20"]  # the title and, large, the address
    assert any("Shop -57 dBm" in text for text in texts)  # Wi-Fi, even on the small panel
    assert all(text.px >= MIN_TEXT_PX and not text.cut for text in drawn.texts)
    version_line = [text for text in texts if "v1.2.3" in text]
    assert version_line
    assert SETTINGS.terminal_id in version_line[0]
    if size == (128, 128):  # the tall panel has room for the other addresses too
        assert "wlan0 10.0.0.7" in texts


def test_without_an_address_the_page_says_so_and_before_the_facts_it_waits() -> None:
    lonely = dataclasses.replace(INFO, interfaces=(Interface("eth0", False),))
    ru = screen_for(State(SETTINGS, phase=Phase.INFO, host_info=lonely), "ru")
    waiting = screen_for(State(SETTINGS, phase=Phase.INFO), "en")

    assert (ru.amount, ru.lines[0]) == ("", "Нет IP-адреса")
    assert (waiting.title, waiting.lines[0]) == ("INFO", "Please wait")


# --- the runtime, end to end -----------------------------------------------------------------


@pytest.mark.usefixtures("no_asyncio_errors")
async def test_the_info_key_shows_the_facts_read_from_the_system(tmp_path: Path) -> None:
    config = scenario_config(tmp_path / "data", {})
    keys = {**config.keypad.operator_keys, "minus": "info"}  # f3
    config = dataclasses.replace(
        config, keypad=dataclasses.replace(config.keypad, operator_keys=keys)
    )
    root = fake_root(tmp_path / "root")
    clock = FakeClock()
    terminal = Terminal(config, clock, host_info=partial(read_host_info, root, kernel=PI_KERNEL))
    async with terminal:
        runtime = terminal.runtime
        task = asyncio.create_task(runtime.run())
        await runtime.wait_idle()
        terminal.device.keypad.press("f3")
        for _ in range(200):  # the facts are read on a worker thread
            await runtime.wait_idle()
            if runtime.state.host_info is not None:
                break
        screen = runtime.screen
        assert runtime.state.phase is Phase.INFO
        assert screen is not None
        assert (screen.title, screen.amount) == ("till-3", "192.168.1.20")

        (root / "proc/sys/kernel/hostname").write_text("till-4\n")  # renamed meanwhile
        clock.advance(INFO_REFRESH_S)
        for _ in range(200):
            await runtime.wait_idle()
            if runtime.screen is not None and runtime.screen.title == "till-4":
                break
        assert runtime.screen is not None
        assert runtime.screen.title == "till-4"

        terminal.device.keypad.press("clear")
        await runtime.wait_idle()
        assert runtime.state.phase is Phase.IDLE
        await runtime.stop(timeout_s=1.0)
        await task
