"""Training marks on every screen and slip, the text-fit rules, the QR decision shared with
the terminal: each checked on the very frames and bytes the terminal produces."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import zxingcpp
from PIL import Image

from hw.display.canvas import overlaps
from hw.display.render import qr_legible, render_screen, screen_layout
from hw.display.text_fit import MIN_TEXT_PX
from hw.emulated import open_emulated_device
from terminal.app import Terminal, settings_from
from terminal.clock import FakeClock
from terminal.config.loader import demo_config, parse_config
from terminal.demo.headless import HeadlessSession
from terminal.machine import Phase, State
from terminal.payment import PaymentState
from terminal.views.model import Screen, SlipKind
from terminal.views.screens import screen_for
from terminal.views.slips import build_slip, training_slip
from terminal.views.text import TEXT, Language, t

REPO = Path(__file__).resolve().parents[2]
SIZES = [(128, 64), (128, 128)]
LANGUAGES: tuple[Language, ...] = ("en", "ru")


def _pictures() -> ModuleType:
    """scripts/render_pictures.py: one state per screen kind, made as the terminal makes them."""
    path = REPO / "scripts" / "render_pictures.py"
    spec = importlib.util.spec_from_file_location("render_pictures", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


PICTURES = _pictures()


def _screens(training: bool) -> list[tuple[str, Screen, tuple[int, int]]]:
    out = []
    for size in SIZES:
        for kind, state in PICTURES.scenes(PICTURES.settings(size, training=training)).items():
            for lang in LANGUAGES:
                out.append((f"{kind}-{size[0]}x{size[1]}-{lang}", screen_for(state, lang), size))
    return out


TRAINING_SCREENS = _screens(training=True)
ALL_SCREENS = _screens(training=False) + TRAINING_SCREENS


def _decoded(image: Image.Image) -> list[str]:
    big = image.convert("L").resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
    return [result.text for result in zxingcpp.read_barcodes(big)]


# --- Every screen of a training terminal carries the mark. ---


@pytest.mark.parametrize("phase", list(Phase), ids=lambda phase: phase.value)
def test_every_phase_of_a_training_terminal_has_the_mark(phase: Phase) -> None:
    settings = PICTURES.settings(training=True)
    payment = PICTURES._payment(PaymentState.PENDING)
    state = State(settings, phase=phase, payment=payment, entry="100", fault="disk full")
    for lang in LANGUAGES:
        assert screen_for(state, lang).mark == TEXT["training_mark"][LANGUAGES.index(lang)]
        real = dataclasses.replace(state, settings=PICTURES.settings(training=False))
        assert screen_for(real, lang).mark == ""


@pytest.mark.parametrize(
    ("name", "screen", "size"), TRAINING_SCREENS, ids=[n for n, *_ in TRAINING_SCREENS]
)
def test_the_mark_is_drawn_and_hides_neither_the_amount_nor_the_qr(
    name: str, screen: Screen, size: tuple[int, int]
) -> None:
    image, drawn = render_screen(screen, size), screen_layout(screen, size)

    marks = drawn.of("mark")
    assert [mark.text for mark in marks] == [screen.mark], name
    tag = drawn.boxes["mark"]
    assert min(tag[:2]) >= 0
    assert tag[2] <= size[0]
    assert tag[3] <= size[1]
    inside = image.crop(tag).convert("L")
    lit = sum(
        1 for x in range(inside.width) for y in range(inside.height) if inside.getpixel((x, y))
    )
    assert 0 < lit < tag_area(tag), "an inverted tag: a box with its word in it"
    for text in drawn.texts:
        if text.role != "mark":
            assert not overlaps(text.box, tag), f"{name}: the mark covers {text.text!r}"
    if screen.amount:
        assert "".join(t.text for t in drawn.of("amount")).replace(" ", "") == (
            screen.amount.replace(" ", "")
        )
    if "qr" in drawn.boxes:
        assert not overlaps(drawn.boxes["qr"], tag)
        assert _decoded(image) == [screen.qr]


def tag_area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


# --- The text-fit rules, on every screen either way. ---


@pytest.mark.parametrize(("name", "screen", "size"), ALL_SCREENS, ids=[n for n, *_ in ALL_SCREENS])
def test_text_is_never_below_the_minimum_size_nor_broken_inside_a_word(
    name: str, screen: Screen, size: tuple[int, int]
) -> None:
    drawn = screen_layout(screen, size)
    sources = [screen.title, *screen.lines, screen.mark]
    words = {word for source in sources for word in source.split()}
    for text in drawn.texts:
        assert text.px >= MIN_TEXT_PX, f"{name}: {text.text!r} at {text.px} px"
        assert not text.cut, f"{name}: {text.text!r} was cut short"
        if text.role in ("title", "hint", "mark"):
            assert set(text.text.split()) <= words | {t("qr_on_slip", "en"), "QR-код", "на",
                                                      "чеке", "QR", "on", "the", "slip"}, (
                f"{name}: {text.text!r} is not whole words"
            )  # fmt: skip
    titles = " ".join(text.text for text in drawn.of("title"))
    full_height_qr = "qr" in drawn.boxes and not titles  # the card takes all but one row
    assert titles == screen.title or full_height_qr, f"{name}: the state word is not whole"


def test_a_long_hint_wraps_between_words_instead_of_shrinking() -> None:
    screen = Screen("cancel_failed", "ОТМЕНА НЕ ПРОШЛА", "1500.00 RUB",
                    ("Обратитесь к администратору",), tone="error")  # fmt: skip
    hints = screen_layout(screen, (128, 64)).of("hint")
    assert [hint.text for hint in hints] == ["Обратитесь к", "администратору"]
    assert min(hint.px for hint in hints) >= MIN_TEXT_PX


def test_the_tall_panel_gives_the_amount_its_height() -> None:
    screen = Screen("wait", "Пожалуйста, подождите", "1500.00 RUB")
    wide = screen_layout(screen, (128, 64))
    tall = screen_layout(screen, (128, 128))
    assert max(text.px for text in tall.of("amount")) > 1.4 * max(t.px for t in wide.of("amount"))
    assert [text.text for text in tall.of("title")] == ["Пожалуйста,", "подождите"]


def test_the_warning_sign_is_drawn_not_typed() -> None:
    drawn = screen_layout(Screen("no_connection", "НЕТ СВЯЗИ", tone="warn"), (128, 64))
    assert "sign" in drawn.boxes
    assert not any("!" in text.text for text in drawn.texts)


# --- The QR the screen shows is the one the terminal decided to show. ---

CYRILLIC_LINK = "https://пример.рф/оплата?id="


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("training", [False, True])
def test_the_terminal_and_the_display_agree_on_which_qr_is_shown(
    size: tuple[int, int], training: bool
) -> None:
    data = {"terminal": {"training": training}, "display": {"width": size[0], "height": size[1]}}
    settings = settings_from(parse_config(data), epoch="0000")
    limit = settings.screen_qr_max_chars
    assert limit is not None
    assert limit > 40
    for payload in [
        *("https://qr.nspk.ru/" + "A" * n for n in range(limit - 30, limit + 10)),
        *(CYRILLIC_LINK + "ж" * n for n in range(0, limit // 2, 3)),
    ]:
        shown = settings.qr_on_screen(payload)
        if shown:  # what the machine shows, the display can draw legibly
            assert qr_legible(payload, size, marked=training), payload
        state = State(settings, phase=Phase.WAITING, payment=PICTURES._payment(qr_payload=payload))
        screen = screen_for(state, "en")
        assert (screen.qr is not None) == shown
        assert (screen.name == "qr_printed") == (not shown)


def test_the_pictures_show_the_long_sbp_qr_printed_on_the_small_panel() -> None:
    shown = {name: screen for name, screen, _ in PICTURES.screens()}
    small, tall = (
        shown["screen-qr_sbp_dynamic-128x64-en"],
        shown["screen-qr_sbp_dynamic-128x128-en"],
    )
    assert (small.name, small.qr) == ("qr_printed", None)  # as the terminal does: printed
    assert tall.qr == PICTURES.DYNAMIC_SBP
    assert _decoded(render_screen(tall, (128, 128))) == [PICTURES.DYNAMIC_SBP]


# --- Every slip of a training terminal says it is no payment. ---


@pytest.mark.parametrize("kind", [k for k in SlipKind if k is not SlipKind.X_REPORT])
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_slip_printed_in_training_says_it(kind: SlipKind, lang: Language) -> None:
    payment = PICTURES._payment(PaymentState.PAID, qr_payload=PICTURES.DYNAMIC_SBP)
    slip = training_slip(build_slip(kind, payment, terminal_id="T1", language=lang), lang)
    words = {"en": "TRAINING - NOT A PAYMENT", "ru": "УЧЕБНЫЙ РЕЖИМ - НЕ ПЛАТЁЖ"}[lang]
    async with open_emulated_device(columns=32) as device:
        await device.printer.print_slip(slip)
        rows = device.printed[-1].text.splitlines()
    text_rows = [row for row in rows if row.strip()]
    assert words in text_rows[0], rows  # first
    assert words in text_rows[-2], rows  # and last, before the cut
    assert sum(words in row for row in rows) == 2


async def test_a_training_terminal_marks_every_slip_it_prints(tmp_path: Path) -> None:
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        session = HeadlessSession(terminal, lambda event: None)
        runner = asyncio.create_task(terminal.runtime.run())
        try:
            await terminal.runtime.wait_idle()
            for command in ("key 5", "key 0", "key 0", "key enter", "scan 28763443825664394",
                            "customer pay", "advance 10", "key f3"):  # fmt: skip
                await session.execute(command)
            await terminal.runtime.wait_idle()
        finally:
            runner.cancel()
        printed = list(terminal.device.printed)
    assert printed, "nothing was printed"
    for piece in printed:
        rows = piece.text.splitlines()
        assert sum("TRAINING - NOT A PAYMENT" in row for row in rows) == 2, piece.text
