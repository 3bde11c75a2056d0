"""Render every screen kind and every slip kind to PNG under docs/pictures/.

    .venv/bin/python scripts/render_pictures.py           # (re)write docs/pictures/*.png
    .venv/bin/python scripts/render_pictures.py --check   # exit 1 when a picture is stale

Screens: what ``terminal.views.screens.screen_for`` makes of one state per screen kind, in
English and Russian, shown by :class:`hw.display.luma_display.LumaDisplay` on luma's ``dummy``
device at 128×64 and 128×128, saved three times enlarged (``screen-<kind>-<size>-<lang>``).
The machine's settings come from a configuration for each display size through
``terminal.app.settings_from``, as on the terminal, so a QR the terminal would print is
pictured printed. ``training_<kind>`` pictures are a training terminal's.

Slips: built by ``build_slip`` / ``build_x_report`` at 32 columns (58 mm), printed by the
emulated printer (python-escpos ``Dummy``); the ESC/POS bytes it sent are parsed back with
:mod:`hw.printer.escpos_text` and drawn at the printer's 203 dpi, one dot per pixel
(``slip-<kind>-<lang>``). So a picture shows what the paper shows: code-page substitutions,
the QR at the module size the printer was told, the barcode, the cut.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from PIL import Image, ImageChops  # noqa: E402

from hw.printer.slip_picture import draw_slip  # noqa: E402
from terminal.app import settings_from  # noqa: E402
from terminal.config.loader import parse_config  # noqa: E402
from terminal.journal.reports import Figure, ProviderTotals, ReportData  # noqa: E402
from terminal.machine import Phase, QrChoice, Settings, State  # noqa: E402
from terminal.machine.api_events import ApiOrder  # noqa: E402
from terminal.money import Money  # noqa: E402
from terminal.payment import Payment, PaymentState, Refund, refund_key  # noqa: E402
from terminal.views.model import Screen, Slip, SlipKind  # noqa: E402
from terminal.views.pairing import build_pairing_slip  # noqa: E402
from terminal.views.reports import build_report, build_x_report  # noqa: E402
from terminal.views.screens import screen_for  # noqa: E402
from terminal.views.slips import build_slip, copy_slip, training_slip  # noqa: E402
from terminal.views.text import Language  # noqa: E402

__all__ = ["FOLDER", "pictures", "screen_pictures", "slip_pictures", "stale", "main"]

FOLDER = REPO / "docs" / "pictures"
COMMAND = ".venv/bin/python scripts/render_pictures.py"
#: The web console's screenshots: taken in Chromium by tests/console (``--console``).
CONSOLE = "console-"
LANGUAGES: tuple[Language, ...] = ("en", "ru")
SIZES = ((128, 64), (128, 128))
SCREEN_ZOOM = 3  # an OLED pixel is small: three image pixels each, edges kept sharp

STATIC_SBP = "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2"
DYNAMIC_SBP = (
    "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K"
    "?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75"
)
WALL = "2026-03-14T12:30:05+00:00"
#: Screen kinds also pictured on a training terminal (``screen-training_<kind>-…``).
TRAINING_KINDS = (
    "idle", "qr", "qr_sbp_dynamic", "no_connection", "paid", "cancel_failed", "present", "pairing",
)  # fmt: skip
#: The API certificate's SHA-256 fingerprint a pairing shows (screen) and prints (slip).
FINGERPRINT = ":".join(f"{b:02X}" for b in bytes.fromhex(
    "3FA27C019BD45E8816C3A0F27D59E4B1C60D8A3E5F1724B9ACE08D6342F1B75A"))  # fmt: skip


def settings(size: tuple[int, int] = (128, 64), *, training: bool = False) -> Settings:
    """The settings a terminal with a display of ``size`` runs with, as the terminal makes them."""
    data = {
        "terminal": {"id": "T0001", "currency": "RUB", "training": training},
        "display": {"width": size[0], "height": size[1]},
    }
    return settings_from(parse_config(data, source="<pictures>"), epoch="0000")


SETTINGS = settings()


# --- screens ----------------------------------------------------------------------------------


def _payment(state: PaymentState = PaymentState.PENDING, **changes: object) -> Payment:
    payment = Payment(
        order_id="T0001-0000-000042",
        seq=42,
        shift=3,
        flow="mpm",
        provider="paymaster",
        amount=Money(150_000, "RUB"),
        state=state,
        provider_ref="PM-7F3A21C9",
        qr_payload=STATIC_SBP,
        wallet="sbp",
        created_wall=WALL,
    )
    return replace(payment, **changes)  # type: ignore[arg-type]


def _refund(n: int, minor: int, **changes: object) -> Refund:
    """The ``n``-th refund of the pictured payment: ``minor`` units, done three days later."""
    refund = Refund(
        key=refund_key("T0001-0000-000042", n), n=n, amount=Money(minor, "RUB"), shift=5,
        state="refunded", provider_ref="PM-7F3A21C9", wall="2026-03-17T16:20:11+00:00",
        done_wall="2026-03-17T16:20:13+00:00",
    )  # fmt: skip
    return replace(refund, **changes)  # type: ignore[arg-type]


def _partly_refunded() -> Payment:
    """The pictured payment with 100.00 of its 1500.00 refunded."""
    return _payment(PaymentState.PARTIALLY_REFUNDED).with_refund(
        _refund(1, 10_000, shift=4, wall=WALL, done_wall=WALL)
    )


def _cpm(state: PaymentState = PaymentState.PENDING) -> Payment:
    return _payment(state, flow="cpm", provider="verystar", qr_payload=None,
                    code_masked="2866**********1234", wallet="alipay")  # fmt: skip


def _api_order() -> ApiOrder:
    """A POS's "show your code" payment, waiting for the customer's code."""
    return ApiOrder(
        order_id="T0001-0000-000042", seq=42, reference="CHECK-8812", method="code",
        description="", amount=Money(150_000, "RUB"), provider="", idempotency_key="k",
        body_hash="h",
    )  # fmt: skip


def scenes(base: Settings | None = None) -> dict[str, State]:
    """One state per screen kind, named for the picture, on a terminal with ``base``."""
    base = base or SETTINGS

    def _waiting(payment: Payment, settings: Settings = base) -> State:
        return State(settings, phase=Phase.WAITING, payment=payment, deadline=118.2)

    def _done(state: PaymentState, **changes: object) -> State:
        return State(base, phase=Phase.DONE, payment=_payment(state, **changes))

    entry = State(base, entry="150000")
    webmoney = tuple(
        QrChoice(f"wm_{kind}", kind) for kind in ("sbp", "webmoney", "wechat", "alipay")
    )
    sendy = tuple(QrChoice("sendy", kind) for kind in ("sendy", "wechat", "alipay"))
    choosing = replace(entry, phase=Phase.CHOOSE)
    return {
        "choose": replace(choosing, settings=replace(base, qr_choices=webmoney)),
        "choose_marked": replace(choosing, settings=replace(base, qr_choices=webmoney), choice="3"),
        "choose_sendy": replace(choosing, settings=replace(base, qr_choices=sendy)),
        "choose_long": replace(
            choosing,
            settings=replace(base, qr_choices=(*webmoney, *sendy, QrChoice("paymaster", "sbp"))),
        ),
        "idle": State(base),
        "amount": replace(entry, phase=Phase.AMOUNT),
        "ready": replace(entry, phase=Phase.READY),
        "creating": replace(entry, phase=Phase.CREATING, payment=_payment(PaymentState.NEW)),
        "paying": replace(entry, phase=Phase.PAYING, payment=_cpm(PaymentState.NEW)),
        "qr": _waiting(_payment()),
        "qr_sbp_dynamic": _waiting(_payment(qr_payload=DYNAMIC_SBP)),
        "qr_printed": _waiting(_payment(), replace(base, qr_mode=0)),
        "sticker": _waiting(_payment(), replace(base, qr_mode=2)),
        "confirm": _waiting(_cpm()),
        "resolving": State(base, phase=Phase.RESOLVING, payment=_payment()),
        "no_connection": State(base, phase=Phase.NO_CONNECTION, payment=_payment()),
        "cancelling": State(base, phase=Phase.CANCELLING, payment=_payment()),
        "approval": State(base, phase=Phase.APPROVAL, payment=_payment(), pin="12"),
        "void_confirm": State(base, phase=Phase.VOID_CONFIRM, payment=_payment(PaymentState.PAID)),
        "voiding": State(base, phase=Phase.VOIDING, payment=_payment(PaymentState.PAID)),
        "paid": replace(_done(PaymentState.PAID), paid_at=0.0),
        "declined": _done(PaymentState.DECLINED),
        "expired": replace(_done(PaymentState.EXPIRED), message="not_paid_in_time"),
        "cancelled": _done(PaymentState.CANCELLED),
        "failed": _done(PaymentState.FAILED),
        "cancel_failed": _done(PaymentState.CANCEL_FAILED, needs_admin=True),
        "forced": _done(PaymentState.FORCED),
        "voided": _done(PaymentState.VOIDED),
        "refund_scan": State(base, phase=Phase.REFUND_SCAN, refunding=True),
        "refund_amount": State(
            base,
            phase=Phase.REFUND_AMOUNT,
            payment=_partly_refunded(),
            refunding=True,
            entry="40000",
        ),
        "approval_refund": State(
            base, phase=Phase.APPROVAL, payment=_payment(PaymentState.PAID), refunding=True
        ),
        "refunding": State(
            base, phase=Phase.VOIDING, payment=_payment(PaymentState.VOIDING), refunding=True
        ),
        "refunded": replace(_done(PaymentState.VOIDED), refunding=True, message="refunded"),
        "fault": State(base, phase=Phase.FAULT, fault="journal: disk full", fault_kind="disk_full"),
        "notice_paper": State(base, printer_problem="paper"),
        "notice_unknown_code": replace(entry, phase=Phase.READY, message="code_unknown"),
        "present": replace(entry, phase=Phase.PRESENT, api_order=_api_order()),
        "pairing": State(
            base, phase=Phase.PAIRING, pairing_code="493021", pairing_fingerprint=FINGERPRINT
        ),
    }


def screens() -> Iterator[tuple[str, Screen, tuple[int, int]]]:
    """(picture name, screen, display size) for every screen kind, size and language."""
    for width, height in SIZES:
        made = scenes(settings((width, height)))
        training = scenes(settings((width, height), training=True))
        named = {**made, **{f"training_{kind}": training[kind] for kind in TRAINING_KINDS}}
        for kind, state in named.items():
            for lang in LANGUAGES:
                name = f"screen-{kind}-{width}x{height}-{lang}"
                yield name, screen_for(state, lang), (width, height)


def screen_pictures() -> dict[str, Image.Image]:
    """Every screen as the display device received it, enlarged."""
    from luma.core.device import dummy

    from hw.display.luma_display import LumaDisplay

    out: dict[str, Image.Image] = {}
    for name, screen, (width, height) in screens():
        device = dummy(width=width, height=height, mode="1")
        display = LumaDisplay(device=device)
        display.show(screen)
        display.flush()  # the frame is pushed by the display's worker
        zoomed = (width * SCREEN_ZOOM, height * SCREEN_ZOOM)
        out[name] = device.image.resize(zoomed, Image.Resampling.NEAREST)
    return out


# --- slips ------------------------------------------------------------------------------------


def slips(lang: Language) -> dict[str, object]:
    """One slip per slip kind, in ``lang``."""
    made = {
        SlipKind.PAYMENT: _payment(PaymentState.PAID),
        SlipKind.FAILURE: _payment(PaymentState.DECLINED, message="insufficient funds"),
        SlipKind.NOT_CONFIRMED: _payment(PaymentState.PENDING),
        SlipKind.CANCEL_FAILED: _payment(
            PaymentState.CANCEL_FAILED, needs_admin=True, message="no connection"
        ),
        SlipKind.FORCED: _payment(PaymentState.FORCED, forced=True),
        SlipKind.QR: _payment(PaymentState.PENDING, qr_payload=DYNAMIC_SBP),
        SlipKind.VOID: _payment(PaymentState.VOIDED),
        SlipKind.REFUND: _payment(PaymentState.REFUNDED).with_refund(_refund(1, 150_000)),
        SlipKind.MISMATCH: _payment(PaymentState.DECLINED, forced=True, mismatch=True),
        SlipKind.RECOVERED: _payment(PaymentState.PAID),
    }
    out: dict[str, object] = {
        kind.value: build_slip(kind, payment, terminal_id="T0001", language=lang)
        for kind, payment in made.items()
    }
    partial = _partly_refunded().with_refund(_refund(2, 40_000))
    out["refund_partial"] = build_slip(SlipKind.REFUND, partial, terminal_id="T0001", language=lang)
    summary = ReportData(
        shift=3, since="", until="", opened_wall="2026-03-14T08:00:00+00:00", closed_wall=None,
        totals=(ProviderTotals("sandbox", "RUB", paid=Figure(41, 6_254_300),
                               forced=Figure(1, 150_000), refunded=Figure(2, 45_000),
                               voided=Figure(2, 30_000)),),
        forced_open=(37,), refunds_open=(), needs_admin=(12,), in_doubt=(), unsynced=3,
    )  # fmt: skip
    out[SlipKind.X_REPORT.value] = build_x_report(
        summary, terminal_id="T0001", printed_wall="2026-03-14T18:45:00+00:00", language=lang
    )
    closed = replace(summary, closed_wall="2026-03-14T21:00:00+00:00")
    out[SlipKind.Z_REPORT.value] = build_report(
        closed, SlipKind.Z_REPORT, terminal_id="T0001",
        printed_wall="2026-03-14T21:00:00+00:00", language=lang,
    )  # fmt: skip
    payment = out[SlipKind.PAYMENT.value]
    assert isinstance(payment, Slip)
    out["training_payment"] = training_slip(payment, lang)  # as a training terminal prints it
    pairing = build_pairing_slip(
        FINGERPRINT, terminal_id="T0001", address="https://192.0.2.10:8443", language=lang
    )
    out[SlipKind.PAIRING.value] = pairing
    out["training_pairing"] = training_slip(pairing, lang)
    out["payment_copy"] = copy_slip(payment, lang)  # the second of printer.copies
    return out


def slip_pictures() -> dict[str, Image.Image]:
    """Every slip kind, as the emulated printer printed it."""
    return asyncio.run(_print_slips())


async def _print_slips() -> dict[str, Image.Image]:
    from hw.emulated import open_emulated_device

    out: dict[str, Image.Image] = {}
    async with open_emulated_device(columns=32) as device:
        for lang in LANGUAGES:
            for kind, slip in slips(lang).items():
                device.escpos.printed.clear()
                await device.printer.print_slip(slip)  # type: ignore[arg-type]
                printed = device.escpos.printed[-1]
                out[f"slip-{kind}-{lang}"] = draw_slip(printed.parsed, printed.raw)
    return out


# --- files ------------------------------------------------------------------------------------


def pictures() -> dict[str, Image.Image]:
    """Every picture, by file stem."""
    return {**screen_pictures(), **slip_pictures()}


def stale(folder: Path = FOLDER) -> list[str]:
    """Names of pictures that are missing, differ from a fresh render, or are left over."""
    fresh = pictures()
    found = {path.stem for path in folder.glob("*.png") if not path.stem.startswith(CONSOLE)}
    problems = [f"{name}.png is left over" for name in sorted(found - set(fresh))]
    for name, image in fresh.items():
        path = folder / f"{name}.png"
        if not path.exists():
            problems.append(f"{name}.png is missing")
            continue
        with Image.open(path) as saved:
            if saved.size != image.size or _differs(saved, image):
                problems.append(f"{name}.png is out of date")
    return problems


def _differs(saved: Image.Image, fresh: Image.Image) -> bool:
    return ImageChops.difference(saved.convert("L"), fresh.convert("L")).getbbox() is not None


def write(folder: Path = FOLDER) -> int:
    """Write every picture to ``folder`` and delete left-over ones; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    fresh = pictures()
    for path in folder.glob("*.png"):
        if path.stem not in fresh and not path.stem.startswith(CONSOLE):
            path.unlink()
    for name, image in fresh.items():
        image.save(folder / f"{name}.png", optimize=True)
    return len(fresh)


def main(argv: list[str] | None = None) -> int:
    """Write the pictures, or with ``--check`` say which are stale (exit 1 if any)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument(
        "--console", action="store_true", help="also take the web console's screenshots"
    )
    args = parser.parse_args(argv)
    if args.console and not args.check:
        return _console_pictures()
    if args.check:
        problems = stale()
        for problem in problems:
            sys.stdout.write(f"{problem}\n")
        if problems:
            sys.stdout.write(f"regenerate with: {COMMAND}\n")
        return 1 if problems else 0
    sys.stdout.write(f"wrote {write()} pictures to {FOLDER.relative_to(REPO)}/\n")
    return 0


def _console_pictures() -> int:
    """Run the console's browser tests with their screenshots kept in docs/pictures/."""
    import os
    import subprocess

    env = {**os.environ, "CONSOLE_PICTURES_DIR": str(FOLDER)}
    pytest = [sys.executable, "-m", "pytest", "-q", "tests/console/test_console_browser.py"]
    return subprocess.run(pytest, cwd=REPO, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
