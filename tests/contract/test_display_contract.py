"""The Display contract, run against every backend.

Always: the emulated device's display (luma's ``dummy``) at both sizes, and
:func:`open_luma_display` building the real luma.oled driver classes over luma's ``noop``
interface. With ``PAYTERM_HW_TEST=1`` also the real panel configured in the ``[display]``
table of ``PAYTERM_CONFIG`` (default /etc/payterm/payterm.toml): watch it while the test runs.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

from hw.base import Display
from hw.display.luma_display import open_luma_display
from hw.emulated import open_emulated_device
from hw.errors import DisplayError
from terminal.config.model import DisplayConfig
from terminal.views.model import Screen

# Read at import: the autouse clean_environ fixture removes PAYTERM_* before each test.
HW_TEST = os.environ.get("PAYTERM_HW_TEST") == "1"
HW_CONFIG = Path(os.environ.get("PAYTERM_CONFIG", "/etc/payterm/payterm.toml"))
HW_LOCK = Path(tempfile.gettempdir()) / "payterm-hw-test.lock"

SBP = (
    "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K"
    "?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75"
)
SCREENS = [
    Screen("idle", "READY", "", ("Enter amount",)),
    Screen("amount", "СУММА", "1 234,56 ₽", ("Введите сумму",)),
    Screen("qr", "ОПЛАТА", "1500.00 RUB", ("Сканируйте QR", "или NFC"),
           "https://qr.alipay.com/bax03431ljhokirwl38f00a7", 119),
    Screen("qr", "PAY", "1.00 RUB", ("Scan the QR",), SBP, 61),
    Screen("no_connection", "НЕТ СВЯЗИ", "99.00 RUB", ("Повтор/Отмена/Провести",), tone="warn"),
    Screen("declined", "DECLINED", "5.00 USD", (), None, 9, "error"),
    Screen("paid", "ОПЛАЧЕНО", "10.00 RUB", ("Отмена = возврат",), tone="ok"),
]  # fmt: skip


Opened = tuple[Display, Callable[[], Awaitable[None]]]  # the display, and what closes it all


def _emulated(size: tuple[int, int]) -> Callable[[], Opened]:
    def opened() -> Opened:
        device = open_emulated_device(display_size=size)
        return device.display, device.aclose

    return opened


def _luma_noop(driver: str, height: int) -> Callable[[], Opened]:
    from luma.core.interface.serial import noop

    cfg = DisplayConfig(driver=driver, height=height)  # type: ignore[arg-type]

    def opened() -> Opened:
        display = open_luma_display(cfg, serial_interface=noop())
        return display, display.aclose

    return opened


def _real() -> Opened:
    from terminal.config.loader import load_config

    display = open_luma_display(load_config(HW_CONFIG).display)
    return display, display.aclose


BACKENDS: dict[str, Callable[[], Opened]] = {
    "emulated-128x64": _emulated((128, 64)),
    "emulated-128x128": _emulated((128, 128)),
    "ssd1306-noop-128x64": _luma_noop("ssd1306", 64),
    "sh1106-noop-128x128": _luma_noop("sh1106", 128),
    "sh1107-noop-128x128": _luma_noop("sh1107", 128),
    "real": _real,
}


@contextmanager
def _hw_lock() -> Iterator[None]:
    """One test run at a time on the real hardware."""
    with HW_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(params=list(BACKENDS))
async def display(request: pytest.FixtureRequest) -> AsyncIterator[Display]:
    name: str = request.param
    if name == "real" and not HW_TEST:
        pytest.skip("real display: set PAYTERM_HW_TEST=1 on a Pi with the panel wired")
    with _hw_lock() if name == "real" else nullcontext():
        part, close = BACKENDS[name]()
        try:
            yield part
        finally:
            await close()


async def test_size_is_one_the_screens_are_drawn_for(display: Display) -> None:
    assert display.size in ((128, 64), (128, 128))


async def test_every_screen_shape_is_shown(display: Display) -> None:
    for screen in SCREENS:
        display.show(screen)
        display.show(screen)  # the same screen again: nothing to do, no error
        assert getattr(display, "last_screen", screen) == screen


async def test_a_countdown_runs_down(display: Display) -> None:
    for seconds in range(65, 50, -1):
        screen = Screen("qr", "PAY", "1.00 RUB", (), SCREENS[2].qr, seconds)
        display.show(screen)
        assert getattr(display, "last_screen", screen) == screen


async def test_close_is_idempotent_and_then_show_raises(display: Display) -> None:
    display.show(SCREENS[0])

    await display.aclose()
    await display.aclose()

    with pytest.raises(DisplayError):
        display.show(SCREENS[1])


async def test_status_and_repr_tell_open_from_closed(display: Display) -> None:
    status = getattr(display, "status", None)
    assert status is not None
    assert status()["closed"] is False
    assert "open" in repr(display)

    await display.aclose()

    assert status()["closed"] is True
    assert "closed" in repr(display)
