"""The luma display: every driver class at both sizes over luma's noop/dummy, QR read back.

The real luma.oled driver classes (ssd1306, ssd1309, sh1106, sh1107) are built and driven;
the frame each one sends is rebuilt from the bytes it gave the bus and decoded with zxing-cpp.
"""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import segno
import zxingcpp
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory
from luma.core.device import dummy
from luma.core.interface.serial import noop
from PIL import Image, ImageChops

from hw.display.drawing import FONT_DIR
from hw.display.frame_pusher import FramePusher
from hw.display.luma_display import PANEL_SIZES, GpiozeroPins, LumaDisplay, open_luma_display
from hw.display.render import (
    MIN_LEGIBLE_PX_PER_MODULE,
    can_redraw_countdown,
    qr_fits,
    qr_legible,
    render_screen,
)
from hw.errors import DisplayError
from terminal.config.model import DisplayConfig
from terminal.views.model import Screen

SBP_DYNAMIC = (
    "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K"
    "?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75"
)
SBP_STATIC = "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2"
ALIPAY = "https://qr.alipay.com/bax03431ljhokirwl38f00a7"
WECHAT = "weixin://wxpay/bizpayurl?pr=abcdefg"
PAYLOADS = [SBP_DYNAMIC, SBP_STATIC, ALIPAY, WECHAT]

#: Every (driver, width, height) luma.oled drives that payterm supports.
PANELS = [(d, w, h) for d, sizes in PANEL_SIZES.items() for (w, h) in sorted(sizes)]

SCREENS = [
    Screen("idle", "READY", "", ("Enter amount",)),
    Screen("amount", "СУММА", "1 234,56 ₽", ("Введите сумму",)),
    Screen("qr", "ОПЛАТА", "1500.00 RUB", ("Сканируйте QR", "или NFC"), ALIPAY, 119),
    Screen("qr", "PAY", "100000.00 RUB", ("Scan the QR", "or tap NFC"), SBP_DYNAMIC, 61),
    Screen("no_connection", "НЕТ СВЯЗИ", "99.00 RUB", ("Оплата не завершена",), tone="warn"),
    Screen("declined", "DECLINED", "5.00 USD", ("Retry / Cancel / Force",), None, 9, "error"),
    Screen("paid", "ОПЛАЧЕНО", "10.00 RUB", ("Отмена = возврат",), tone="ok"),
]


class PanelBus:
    """A luma serial interface that keeps what a driver sends, to rebuild the panel's RAM.

    All four drivers write a frame as pages of 8 rows, left to right, bit 0 the top row;
    the last ``width × height / 8`` data bytes are therefore the last frame.
    """

    def __init__(self) -> None:
        self.commands: list[int] = []
        self.data_bytes = bytearray()

    def command(self, *cmd: int) -> None:
        self.commands.extend(cmd)

    def data(self, data: Any) -> None:
        self.data_bytes.extend(data)

    def cleanup(self) -> None:
        self.commands.append(-1)

    def panel(self, width: int, height: int) -> Image.Image:
        frame = self.data_bytes[-width * height // 8 :]
        image = Image.new("1", (width, height), 0)
        pixels = image.load()
        assert pixels is not None
        for page in range(height // 8):
            for x in range(width):
                byte = frame[page * width + x]
                for bit in range(8):
                    pixels[x, page * 8 + bit] = 1 if byte >> bit & 1 else 0
        return image


class FailingBus:
    """An smbus2-compatible bus whose writes fail with ``fail_errno`` once it is set."""

    def __init__(self, fail_errno: int | None = None) -> None:
        self.fail_errno = fail_errno
        self.writes = 0

    def write_i2c_block_data(self, address: int, register: int, data: list[int]) -> None:
        if self.fail_errno is not None:
            raise OSError(self.fail_errno, os.strerror(self.fail_errno))
        self.writes += 1

    def close(self) -> None:
        return None


def _cfg(driver: str = "ssd1306", width: int = 128, height: int = 64, **more: Any) -> DisplayConfig:
    return DisplayConfig(driver=driver, width=width, height=height, **more)  # type: ignore[arg-type]


def _physical(driver: str, width: int, height: int) -> tuple[int, int]:
    # A 128×64 SH1107 is the chip's 64×128 mode turned a quarter.
    return (height, width) if driver == "sh1107" and width > height else (width, height)


def _decode(image: Image.Image) -> list[str]:
    grey = image.convert("L").resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
    return [found.text for found in zxingcpp.read_barcodes(grey, try_invert=False)]


def _same(a: Image.Image, b: Image.Image) -> bool:
    return (
        a.size == b.size and ImageChops.difference(a.convert("1"), b.convert("1")).getbbox() is None
    )


# --- every driver, every size -------------------------------------------------------------


@pytest.mark.parametrize(("driver", "width", "height"), PANELS)
@pytest.mark.parametrize("index", range(len(SCREENS)))
def test_every_driver_sends_every_screen_as_drawn(
    driver: str, width: int, height: int, index: int, tmp_path: Path
) -> None:
    bus = PanelBus()
    display = open_luma_display(_cfg(driver, width, height), serial_interface=bus)
    screen = SCREENS[index]

    display.show(screen)
    display.flush()

    assert display.size == (width, height)
    frame = display.last_image
    assert frame is not None
    assert _same(frame, render_screen(screen, (width, height)))
    panel = bus.panel(*_physical(driver, width, height))
    panel.save(tmp_path / f"{driver}-{width}x{height}-{index}.png")
    upright = panel if panel.size == frame.size else panel.rotate(90, expand=True)
    assert _same(upright, frame)


@pytest.mark.parametrize(("driver", "width", "height"), PANELS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_qr_decodes_from_the_bytes_the_driver_sent(
    driver: str, width: int, height: int, payload: str, tmp_path: Path
) -> None:
    bus = PanelBus()
    display = open_luma_display(_cfg(driver, width, height), serial_interface=bus)

    display.show(Screen("qr", "ОПЛАТА", "1 234,56 ₽", ("Сканируйте QR",), payload, 42))
    display.flush()
    panel = bus.panel(*_physical(driver, width, height))
    panel.save(tmp_path / "panel.png")

    if qr_legible(payload, (width, height)):
        assert _decode(panel) == [payload]
    else:
        assert (payload, height) == (SBP_DYNAMIC, 64)
        assert _decode(panel) == []
        lines = ("QR-код на чеке", "Сканируйте QR")
        text_only = Screen("qr", "ОПЛАТА", "1 234,56 ₽", lines, countdown_s=42)
        assert _same(display.last_image, render_screen(text_only, (width, height)))  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_qr_decodes_on_the_luma_dummy_at_both_sizes(payload: str) -> None:
    for size in [(128, 64), (128, 128)]:
        device = dummy(width=size[0], height=size[1], mode="1")
        display = LumaDisplay(device=device)
        display.show(Screen("qr", "PAY", "1.00 RUB", (), payload, 5))
        display.flush()
        expected = [payload] if qr_legible(payload, size) else []
        assert _decode(device.image) == expected


@pytest.mark.parametrize("driver", ["ssd1306", "ssd1309"])
def test_a_driver_that_cannot_drive_the_size_names_the_ones_that_can(driver: str) -> None:
    with pytest.raises(DisplayError, match="set display.driver to one of \\['sh1106', 'sh1107'\\]"):
        open_luma_display(_cfg(driver, 128, 128), serial_interface=noop())


def test_contrast_comes_from_the_config() -> None:
    bus = PanelBus()
    open_luma_display(_cfg(contrast=42), serial_interface=bus)

    # SETCONTRAST (0x81) is sent at start-up with luma's default, then with ours.
    levels = [bus.commands[i + 1] for i, c in enumerate(bus.commands[:-1]) if c == 0x81]
    assert levels[-1] == 42


def test_contrast_out_of_range_is_refused() -> None:
    with pytest.raises(DisplayError, match="display.contrast must be 0 to 255"):
        open_luma_display(_cfg(contrast=300), serial_interface=noop())


@pytest.mark.parametrize(("driver", "height"), [("ssd1306", 64), ("sh1106", 128), ("sh1107", 128)])
def test_rotation_comes_from_the_config(driver: str, height: int) -> None:
    bus = PanelBus()
    display = open_luma_display(_cfg(driver, 128, height, rotate=2), serial_interface=bus)
    screen = SCREENS[2]

    display.show(screen)
    display.flush()

    drawn = render_screen(screen, (128, height))
    assert _same(bus.panel(128, height), drawn.rotate(180))


def test_a_128x64_sh1107_is_a_turned_64x128_panel() -> None:
    bus = PanelBus()
    display = open_luma_display(_cfg("sh1107", 128, 64), serial_interface=bus)
    display.show(SCREENS[2])
    display.flush()

    assert display.size == (128, 64)
    assert bus.panel(64, 128).size == (64, 128)
    assert _decode(bus.panel(64, 128)) == [ALIPAY]


# --- I2C and SPI ----------------------------------------------------------------------------


def test_i2c_over_a_bus_object_builds_and_draws() -> None:
    bus = FailingBus()
    display = open_luma_display(_cfg(), bus=bus)
    started = bus.writes
    display.show(SCREENS[0])
    display.flush()

    assert bus.writes - started == 1 + 1024 // 32  # the address window, then 32-byte blocks
    assert "i2c-1 at 0x3C" in repr(display)


@pytest.mark.parametrize(
    ("code", "address", "words"),
    [
        (errno.EREMOTEIO, 0x3C, "no display answered on i2c-1 at 0x3C: check SDA→GPIO2, "
                                "SCL→GPIO3, or set display.address = 0x3D"),
        (errno.EIO, 0x3D, "no display answered on i2c-1 at 0x3D: check SDA→GPIO2, "
                          "SCL→GPIO3, or set display.address = 0x3C"),
        (errno.ENXIO, 0x3C, "no display answered on i2c-1 at 0x3C"),
        (errno.EACCES, 0x3C, "permission denied on /dev/i2c-1: add the terminal's user to "
                             "the i2c group"),
        (errno.ENOENT, 0x3C, "no I²C bus /dev/i2c-1: enable I²C"),
    ],
)  # fmt: skip
def test_i2c_failures_say_what_to_do(code: int, address: int, words: str) -> None:
    with pytest.raises(DisplayError) as caught:
        open_luma_display(_cfg(address=address), bus=FailingBus(code))

    assert words in str(caught.value)
    assert caught.value.device == "/dev/i2c-1"
    assert caught.value.__cause__ is not None


@pytest.mark.skipif(os.path.exists("/dev/i2c-7"), reason="this machine has an I2C bus 7")
def test_a_missing_i2c_bus_says_how_to_enable_it() -> None:
    with pytest.raises(DisplayError, match="no I²C bus /dev/i2c-7: enable I²C") as caught:
        open_luma_display(_cfg(i2c_port=7))

    assert type(caught.value.__cause__).__name__ == "DeviceNotFoundError"


def test_a_display_that_stops_answering_raises_and_is_drawn_whole_again() -> None:
    bus = FailingBus()
    display = open_luma_display(_cfg(), bus=bus)
    display.show(SCREENS[2])
    display.flush()

    bus.fail_errno = errno.EREMOTEIO
    display.show(SCREENS[3])  # returns at once: the push fails on the worker
    with pytest.raises(DisplayError, match="no display answered on i2c-1 at 0x3C"):
        display.flush()
    assert display.last_screen == SCREENS[2]

    bus.fail_errno = None
    display.show(SCREENS[3])  # it never reached the panel: asked again, it is sent again
    display.flush()
    assert display.last_screen == SCREENS[3]
    assert display.status()["frames"] == {"full": 2, "countdown": 0, "skipped": 0}


async def test_spi_drives_dc_and_reset_through_gpiozero() -> None:
    factory = MockFactory()
    cfg = _cfg(interface="spi", gpio_dc=24, gpio_rst=25)
    display = open_luma_display(cfg, spi=noop(), pin_factory=factory)
    dc, reset = factory.pin(24), factory.pin(25)

    display.show(SCREENS[0])
    display.flush()

    assert reset.state  # luma pulsed RESET low, then left it high
    assert [s.state for s in reset.states][-2:] == [False, True]
    assert {s.state for s in dc.states} == {False, True}  # commands low, data high
    assert dc.state  # the last thing sent was frame data
    assert "spidev0.0 (D/C GPIO24, RESET GPIO25)" in repr(display)

    await display.aclose()
    DigitalOutputDevice(24, pin_factory=factory).close()  # the pins were released
    factory.close()


@pytest.mark.skipif(importlib.util.find_spec("spidev") is not None, reason="spidev is installed")
def test_spi_without_spidev_says_what_to_install() -> None:
    factory = MockFactory()
    cfg = _cfg(interface="spi")
    with pytest.raises(DisplayError, match="needs the Python package spidev: pip install spidev"):
        open_luma_display(cfg, pin_factory=factory)
    DigitalOutputDevice(24, pin_factory=factory).close()  # released after the failure
    factory.close()


def test_gpiozero_pins_only_make_outputs() -> None:
    pins = GpiozeroPins(pin_factory=MockFactory())
    with pytest.raises(ValueError, match="only outputs"):
        pins.setup(5, GpiozeroPins.IN)
    pins.close()


# --- redraw on change, countdown-only updates ---------------------------------------------


def _tick(screen: Screen, seconds: int) -> Screen:
    return Screen(screen.name, screen.title, screen.amount, screen.lines, screen.qr, seconds,
                  screen.tone)  # fmt: skip


COUNTDOWN_SCREENS = [
    SCREENS[2],  # QR beside the text (128×64) or above it (128×128)
    SCREENS[3],  # long SBP link: QR on the slip (128×64) or the QR filling the panel (128×128)
    SCREENS[5],  # inverted header
    _tick(SCREENS[1], 30),  # plain header
]


@pytest.mark.parametrize("size", [(128, 64), (128, 128)], ids=["128x64", "128x128"])
@pytest.mark.parametrize("index", range(len(COUNTDOWN_SCREENS)))
def test_countdown_ticks_redraw_only_the_countdown_and_match_a_full_render(
    size: tuple[int, int], index: int
) -> None:
    device = dummy(width=size[0], height=size[1], mode="1")
    display = LumaDisplay(device=device)
    base = COUNTDOWN_SCREENS[index]
    seconds = [*range(125, 95, -1), *range(12, -1, -1), 605, 604, 600, 599]

    for second in seconds:
        display.show(_tick(base, second))
        display.flush()
        assert _same(device.image, render_screen(_tick(base, second), size)), second

    frames = display.status()["frames"]
    # Full frames: the first, and each change in the number of digits (10:05 → 10:04 is not).
    assert frames == {"full": 3, "countdown": len(seconds) - 3, "skipped": 0}


def test_the_same_screen_is_not_sent_twice() -> None:
    bus = PanelBus()
    display = open_luma_display(_cfg(), serial_interface=bus)
    display.show(SCREENS[1])
    display.flush()
    sent = len(bus.data_bytes)

    display.show(Screen("amount", "СУММА", "1 234,56 ₽", ("Введите сумму",)))
    display.flush()

    assert len(bus.data_bytes) == sent
    assert display.status()["frames"] == {"full": 1, "countdown": 0, "skipped": 1}


def test_only_a_countdown_change_of_the_same_width_is_a_countdown_redraw() -> None:
    base = SCREENS[2]
    assert can_redraw_countdown(_tick(base, 59), _tick(base, 58))
    assert not can_redraw_countdown(_tick(base, 600), _tick(base, 599))
    assert not can_redraw_countdown(_tick(base, 59), Screen("qr", "X", qr=ALIPAY, countdown_s=58))
    assert not can_redraw_countdown(_tick(base, 59), _tick(base, None))  # type: ignore[arg-type]


async def test_close_is_idempotent_and_a_closed_display_refuses_to_draw() -> None:
    bus = PanelBus()
    display = open_luma_display(_cfg(), serial_interface=bus)
    display.show(SCREENS[0])

    await display.aclose()
    await display.aclose()

    assert bus.commands.count(-1) == 1  # luma's cleanup ran once (blank, off, bus closed)
    assert "closed" in repr(display)
    assert display.status()["closed"] is True
    with pytest.raises(DisplayError, match="closed"):
        display.show(SCREENS[1])


# --- QR legibility and fonts --------------------------------------------------------------


@pytest.mark.parametrize("payload", [SBP_STATIC, ALIPAY, WECHAT])
def test_short_links_get_two_pixels_per_module_on_128x64(payload: str) -> None:
    assert qr_fits(payload, (128, 64)) == MIN_LEGIBLE_PX_PER_MODULE
    assert qr_fits(payload, (128, 128)) == 3


def test_a_dynamic_sbp_link_is_printed_on_128x64_and_shown_on_128x128() -> None:
    assert qr_fits(SBP_DYNAMIC, (128, 64)) == 1
    assert not qr_legible(SBP_DYNAMIC, (128, 64))
    assert qr_fits(SBP_DYNAMIC, (128, 128)) == 3
    assert qr_legible(SBP_DYNAMIC, (128, 128))


def test_upper_casing_an_sbp_link_gains_error_correction_not_module_size() -> None:
    upper_static = "HTTPS://QR.NSPK.RU/AS1000670LSS7DN18SJQDNP4B05KLJL2"
    assert segno.make(upper_static, error="m", micro=False).mode == "alphanumeric"
    assert segno.make(upper_static, error="m", micro=False).version == 3
    assert segno.make(SBP_STATIC, error="m", micro=False, boost_error=False).version == 4
    # The query keeps lower-case names and ?=& that alphanumeric mode lacks: bytes it stays.
    upper_dynamic = SBP_DYNAMIC.replace("https://qr.nspk.ru", "HTTPS://QR.NSPK.RU")
    assert segno.make(upper_dynamic, error="l", micro=False).mode == "byte"
    assert segno.make(upper_dynamic, error="l", micro=False).version == 5


def test_the_bundled_fonts_and_their_licence_ship_with_hw() -> None:
    names = {path.name for path in FONT_DIR.iterdir()}
    assert {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "LICENSE"} <= names
    assert "Bitstream Vera" in (FONT_DIR / "LICENSE").read_text()


# --- frames pushed off the loop: one worker, the latest frame wins --------------------------


class HeldBus(PanelBus):
    """A panel bus that can be held mid-frame, as a slow I²C bus is, and notes its threads."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self.threads: set[int] = set()
        self.frames = 0
        self.sent: list[Image.Image] = []  # each frame as the panel showed it

    def hold(self) -> None:
        self.release.clear()
        self.entered.clear()

    def data(self, data: Any) -> None:
        self.threads.add(threading.get_ident())
        self.entered.set()
        assert self.release.wait(10), "the test never released the bus"
        super().data(data)
        self.frames += 1
        self.sent.append(self.panel(128, 64))


def _held_display() -> tuple[LumaDisplay, HeldBus]:
    bus = HeldBus()
    display = open_luma_display(_cfg(), serial_interface=bus)
    bus.frames = 0  # luma blanked the panel as it opened it
    bus.threads.clear()
    bus.sent.clear()
    return display, bus


def test_show_returns_while_the_bus_is_still_busy_and_the_push_is_on_another_thread() -> None:
    display, bus = _held_display()
    bus.hold()

    display.show(SCREENS[0])  # returns although the bus cannot take the frame yet

    assert bus.entered.wait(10)
    assert display.status()["pushing"] is True
    assert bus.frames == 0
    bus.release.set()
    display.flush()
    assert bus.frames == 1
    assert bus.threads
    assert threading.get_ident() not in bus.threads
    assert _same(bus.panel(128, 64), render_screen(SCREENS[0], (128, 64)))


def test_the_latest_frame_wins_while_the_bus_is_busy() -> None:
    display, bus = _held_display()
    bus.hold()
    display.show(SCREENS[0])
    assert bus.entered.wait(10)  # SCREENS[0] is on the bus

    for screen in SCREENS[1:5]:
        display.show(screen)
    bus.release.set()
    display.flush()

    assert bus.frames == 2  # SCREENS[0], then only the newest
    assert display.last_screen == SCREENS[4]
    assert _same(bus.panel(128, 64), render_screen(SCREENS[4], (128, 64)))
    assert display.status()["frames_dropped"] == 3
    assert display.status()["frames"] == {"full": 2, "countdown": 0, "skipped": 0}


def test_countdown_redraws_stay_right_when_ticks_are_dropped() -> None:
    display, bus = _held_display()
    base = COUNTDOWN_SCREENS[0]
    display.show(_tick(base, 59))
    display.flush()
    bus.hold()
    display.show(_tick(base, 58))
    assert bus.entered.wait(10)
    for second in range(57, 49, -1):
        display.show(_tick(base, second))
    bus.release.set()
    display.flush()

    assert _same(bus.panel(128, 64), render_screen(_tick(base, 50), (128, 64)))
    assert display.status()["frames"] == {"full": 1, "countdown": 2, "skipped": 0}


def test_a_failed_push_is_raised_by_the_next_show_which_is_still_pushed() -> None:
    bus = FailingBus()
    display = open_luma_display(_cfg(), bus=bus)
    bus.fail_errno = errno.EREMOTEIO
    display.show(SCREENS[0])
    assert display.last_screen is None  # waits for the push, which failed

    bus.fail_errno = None
    with pytest.raises(DisplayError, match="no display answered on i2c-1 at 0x3C"):
        display.show(SCREENS[1])
    display.flush()  # the failure was reported once
    assert display.last_screen == SCREENS[1]


def test_the_runtime_logs_a_failed_push_as_it_always_did(caplog: pytest.LogCaptureFixture) -> None:
    from terminal.machine import Phase, Settings, State
    from terminal.runtime.screen import ScreenUpdater

    bus = FailingBus()
    display = open_luma_display(_cfg(), bus=bus)
    bus.fail_errno = errno.EREMOTEIO
    updater = ScreenUpdater(display, language="en", emit=lambda *args, **details: None)
    state = State(Settings())
    updater.show(state)
    assert display.last_screen is None  # the first push failed on the worker
    with caplog.at_level(logging.WARNING, "payterm.runtime"):
        updater.show(state.evolve(phase=Phase.AMOUNT, entry="5"))
    assert "display: /dev/i2c-1: no display answered on i2c-1 at 0x3C" in caplog.text


async def test_close_lets_the_push_under_way_finish_drops_the_waiting_one_then_blanks() -> None:
    display, bus = _held_display()
    display.show(SCREENS[0])
    display.flush()
    bus.hold()
    display.show(SCREENS[1])
    assert bus.entered.wait(10)  # SCREENS[1] is on the bus
    display.show(SCREENS[2])  # waiting: dropped by the close

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    closing = asyncio.create_task(display.aclose())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not closing.done()  # it waits for the push under way...
    assert ticks >= 10  # ...without holding the loop up
    bus.release.set()
    await closing
    ticker.cancel()

    # SCREENS[0], SCREENS[1], then the blank frame of luma's cleanup: SCREENS[2] never.
    drawn = [render_screen(SCREENS[i], (128, 64)) for i in range(3)]
    assert len(bus.sent) == 3
    assert _same(bus.sent[0], drawn[0])
    assert _same(bus.sent[1], drawn[1])
    assert bus.sent[2].getbbox() is None
    assert bus.commands[-1] == -1  # then the bus was closed
    assert display.status()["frames_dropped"] == 1
    with pytest.raises(DisplayError, match="closed"):
        display.show(SCREENS[3])


def test_the_worker_ends_when_idle_and_comes_back_for_the_next_frame() -> None:
    pushed: list[int] = []
    pusher: FramePusher[int] = FramePusher(pushed.append, name="test-pusher", idle_exit_s=0.01)
    pusher.post(1)
    assert pusher.wait(10)
    for _ in range(1000):
        if not any(t.name == "test-pusher" for t in threading.enumerate()):
            break
        threading.Event().wait(0.01)
    assert not any(t.name == "test-pusher" for t in threading.enumerate())
    pusher.post(2)
    assert pusher.wait(10)
    assert pushed == [1, 2]
    assert pusher.stop(10)
    with pytest.raises(RuntimeError, match="stopped"):
        pusher.post(3)
