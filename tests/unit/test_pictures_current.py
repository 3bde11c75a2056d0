"""The pictures under docs/pictures/ are what the screens and slips look like today."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "render_pictures.py"
COMMAND = ".venv/bin/python scripts/render_pictures.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_pictures", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_every_picture_matches_a_fresh_render_pixel_for_pixel() -> None:
    problems = _script().stale()

    assert problems == [], (
        "the screens or slips changed but their pictures did not; regenerate them with "
        f"`{COMMAND}` and commit docs/pictures/:\n  " + "\n  ".join(problems)
    )


def test_the_pictures_cover_every_screen_kind_at_both_sizes_and_languages() -> None:
    script = _script()
    names = {path.stem for path in script.FOLDER.glob("*.png")}

    for kind in script.scenes():
        for size in ("128x64", "128x128"):
            for lang in ("en", "ru"):
                assert f"screen-{kind}-{size}-{lang}" in names
    for kind in ("payment", "failure", "not_confirmed", "cancel_failed", "forced", "qr", "void",
                 "mismatch", "recovered", "x_report"):  # fmt: skip
        assert {f"slip-{kind}-en", f"slip-{kind}-ru"} <= names


def test_a_changed_picture_is_reported(tmp_path: Path) -> None:
    script = _script()
    for path in script.FOLDER.glob("*.png"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    victim = tmp_path / "screen-paid-128x64-en.png"
    with Image.open(victim) as image:
        changed = image.copy()
    changed.putpixel((0, 0), 255 - changed.convert("L").getpixel((0, 0)))  # type: ignore[operator]
    changed.save(victim)
    (tmp_path / "screen-gone-128x64-en.png").write_bytes(victim.read_bytes())
    (tmp_path / "slip-payment-en.png").unlink()

    problems = script.stale(tmp_path)

    assert problems == [
        "screen-gone-128x64-en.png is left over",
        "screen-paid-128x64-en.png is out of date",
        "slip-payment-en.png is missing",
    ]
