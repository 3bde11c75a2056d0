"""Screens drawn by hw.display.render: every shape at both display sizes, QR codes read back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from hw.display import amount_stack, drawing
from hw.display.render import QR_ON_SLIP, format_countdown, qr_fits, render_screen
from terminal.views.model import Screen

SIZES = [(128, 64), (128, 128)]
PAYLOADS = [
    "https://pay.sandbox.invalid/p/AB12CD34EF",
    "https://qr.alipay.com/bax00000000000000000000",
    "weixin://wxpay/bizpayurl?pr=abcdefg",
]
SBP_PAYLOAD = (
    "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2"
    "?type=01&bank=100000000001&sum=10000&cur=RUB&crc=C08B"
)

SHAPES = {
    "title": Screen(name="idle", title="Готов"),
    "amount": Screen(name="amount", title="Сумма", amount="1 234,56 ₽"),
    "hints": Screen(
        name="amount",
        title="Сумма",
        amount="1 234,56 ₽",
        lines=("Enter — оплатить", "F1 — QR на чеке", "Clear — сброс"),
    ),
    "no_amount": Screen(name="wait", title="Подождите", lines=("Создаём счёт…",)),
    "countdown": Screen(name="wait", title="Ожидание", amount="99,00 ₽", countdown_s=42),
    "ok": Screen(name="paid", title="Оплачено", amount="10,00 ₽", tone="ok"),
    "warn": Screen(name="lost", title="Нет связи", lines=("Retry · Cancel",), tone="warn"),
    "error": Screen(
        name="declined",
        title="Отклонено",
        amount="500,00 ₽",
        lines=("Платёж не завершён:", "нет связи с процессингом", "Retry · Cancel · Force"),
        countdown_s=61,
        tone="error",
    ),
    "long": Screen(
        name="long",
        title="Очень длинный заголовок экрана, который не помещается",
        amount="123 456 789,00 ₽",
        lines=("Строка подсказки, которая тоже слишком длинная для экрана",),
    ),
    "qr": Screen(name="qr", title="Оплата по QR", amount="1 234,56 ₽", qr=PAYLOADS[0]),
    "qr_full": Screen(
        name="qr",
        title="Оплата по QR",
        amount="1 234,56 ₽",
        lines=("Сканируйте камерой",),
        qr=PAYLOADS[1],
        countdown_s=299,
    ),
    "qr_sbp": Screen(name="qr", title="СБП", amount="100,00 ₽", qr=SBP_PAYLOAD, countdown_s=9),
    "qr_too_big": Screen(name="qr", title="QR", amount="1,00 ₽", qr="x" * 2000),
}


@pytest.fixture
def png_dir(tmp_path: Path) -> Path:
    return tmp_path


def _save(image: Image.Image, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    image.save(path)
    return path


def _lit_pixels(image: Image.Image) -> int:
    return image.convert("L").histogram()[255]


def _decode_qr(image: Image.Image) -> list[str]:
    # try_invert=False: the code must read as dark modules on light, the way phones expect.
    grey = image.convert("L").resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
    found = zxingcpp.read_barcodes(grey, try_invert=False)
    return [barcode.text for barcode in found]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_renders_to_a_png(shape: str, size: tuple[int, int], png_dir: Path) -> None:
    image = render_screen(SHAPES[shape], size)

    path = _save(image, png_dir, f"{shape}_{size[0]}x{size[1]}")

    assert image.mode == "1"
    assert image.size == size
    assert _lit_pixels(image) > 50
    with Image.open(path) as saved:
        assert saved.size == size


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("payload", [*PAYLOADS, SBP_PAYLOAD])
def test_qr_decodes_back_to_exactly_the_payload(
    payload: str, size: tuple[int, int], png_dir: Path
) -> None:
    screen = Screen(name="qr", title="Оплата", amount="1 234,56 ₽", qr=payload, countdown_s=42)

    image = render_screen(screen, size)
    _save(image, png_dir, "qr")

    # A dynamic SBP link needs version 5: 1 px per module on 128×64, too small to read, so
    # that screen says "QR on the slip" instead of drawing it.
    legible = not (payload == SBP_PAYLOAD and size == (128, 64))
    assert _decode_qr(image) == ([payload] if legible else [])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_short_payloads_get_at_least_two_pixels_per_module(payload: str) -> None:
    assert qr_fits(payload, (128, 64)) >= 2
    assert qr_fits(payload, (128, 128)) >= 3


def test_qr_fits_is_zero_when_the_payload_cannot_fit() -> None:
    assert qr_fits("x" * 2000, (128, 64)) == 0
    assert qr_fits("x" * 5000, (128, 128)) == 0


def test_unfittable_qr_draws_qr_on_slip_instead() -> None:
    too_big = SHAPES["qr_too_big"]
    as_text = Screen(name="qr", title="QR", amount="1,00 ₽", lines=(QR_ON_SLIP,))

    image = render_screen(too_big, (128, 64))

    assert _decode_qr(image) == []
    assert ImageChops.difference(image, render_screen(as_text, (128, 64))).getbbox() is None


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_cyrillic_title_renders_real_glyphs(size: tuple[int, int]) -> None:
    blank = render_screen(Screen(name="t", title=""), size)
    zhe = render_screen(Screen(name="t", title="Ж"), size)
    sha = render_screen(Screen(name="t", title="Ш"), size)

    assert ImageChops.difference(zhe, blank).getbbox() is not None
    # A font without Cyrillic would draw the same missing-glyph box for both letters.
    assert ImageChops.difference(zhe, sha).getbbox() is not None


def test_countdown_changes_the_picture() -> None:
    at_42 = render_screen(SHAPES["countdown"], (128, 64))
    at_41 = render_screen(
        Screen(name="wait", title="Ожидание", amount="99,00 ₽", countdown_s=41), (128, 64)
    )

    assert ImageChops.difference(at_42, at_41).getbbox() is not None


def test_error_tone_inverts_the_header() -> None:
    info = render_screen(Screen(name="x", title="Ошибка"), (128, 64))
    error = render_screen(Screen(name="x", title="Ошибка", tone="error"), (128, 64))

    assert info.getpixel((0, 0)) == 0
    assert error.getpixel((0, 0)) != 0


def test_rendering_is_pure() -> None:
    first = render_screen(SHAPES["qr_full"], (128, 64))
    second = render_screen(SHAPES["qr_full"], (128, 64))

    assert ImageChops.difference(first, second).getbbox() is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(42, "0:42"), (0, "0:00"), (600, "10:00"), (3725, "1:02:05"), (-3, "0:00")],
)
def test_format_countdown(seconds: int, text: str) -> None:
    assert format_countdown(seconds) == text


@pytest.fixture
def fonts_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    drawing.load_font.cache_clear()
    amount_stack._fitted_amount.cache_clear()  # fitted with the fonts loaded before
    monkeypatch.setattr(drawing, "FONT_DIR", tmp_path / "no-fonts")
    # Pillow also looks for a bare file name in the system font folders; use names no system has.
    faces = {face: f"missing-{name}" for face, name in drawing.FACES.items()}
    monkeypatch.setattr(drawing, "FACES", faces)
    yield
    drawing.load_font.cache_clear()
    amount_stack._fitted_amount.cache_clear()


@pytest.mark.usefixtures("fonts_missing")
def test_missing_fonts_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hw.display.drawing"):
        image = render_screen(SHAPES["amount"], (128, 64))

    assert _lit_pixels(image) > 50
    assert any("not found" in record.getMessage() for record in caplog.records)
