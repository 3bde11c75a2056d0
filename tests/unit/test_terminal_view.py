"""hw.display.terminal_view: frames as half-block text, and a phone can read the QR off it."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image, ImageChops

from hw.display.render import render_screen
from hw.display.terminal_view import image_to_text, text_to_image
from terminal.views.model import Screen

PAYLOAD = "https://pay.sandbox.invalid/p/AB12CD34EF"


def _image(rows: list[str]) -> Image.Image:
    image = Image.new("1", (len(rows[0]), len(rows)), 0)
    for y, row in enumerate(rows):
        for x, char in enumerate(row):
            image.putpixel((x, y), 1 if char == "#" else 0)
    return image


def test_two_pixel_rows_make_one_text_row() -> None:
    image = _image(["#.#.", "##.."])

    assert image_to_text(image, frame=False) == "█▄▀ "


def test_frame_is_a_lit_ring() -> None:
    text = image_to_text(_image(["..", ".."]))

    assert text.split("\n") == ["█▀▀█", "█▄▄█"]


def test_odd_height_is_padded_dark() -> None:
    text = image_to_text(_image(["##", "##", "##"]), frame=False)

    assert text.split("\n") == ["██", "▀▀"]


@pytest.mark.parametrize("ansi", [False, True])
def test_text_reads_back_to_the_same_pixels(ansi: bool) -> None:
    image = render_screen(Screen(name="x", title="Сумма", amount="12,00 ₽"), (128, 64))

    back = text_to_image(image_to_text(image, frame=False, ansi=ansi))

    assert back.size == image.size
    assert ImageChops.difference(back, image).getbbox() is None


def test_ansi_forces_white_on_black() -> None:
    text = image_to_text(_image(["#", "."]), frame=False, ansi=True)

    assert text == "\x1b[97;40m▀\x1b[0m"


@pytest.mark.parametrize("size", [(128, 64), (128, 128)], ids=["128x64", "128x128"])
def test_qr_in_the_terminal_reads_dark_on_light(size: tuple[int, int]) -> None:
    screen = Screen(name="qr", title="Оплата", amount="1,00 ₽", qr=PAYLOAD, countdown_s=42)
    text = image_to_text(render_screen(screen, size))

    # As a terminal shows it (glyph light, background dark), each pixel a few screen pixels.
    shown = text_to_image(text).convert("L")
    shown = shown.resize((shown.width * 6, shown.height * 6), Image.Resampling.NEAREST)
    found = zxingcpp.read_barcodes(shown, try_invert=False)

    assert [barcode.text for barcode in found] == [PAYLOAD]
