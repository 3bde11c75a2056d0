"""The web console in a real headless Chromium: payments clicked through, the display checked.

After each step the drawn display is taken from a screenshot of the page, brought back to
the panel's pixels, and compared with the terminal's own frame; a QR on it must decode
(zxing-cpp) to the payment link the terminal shows. With ``CONSOLE_PICTURES_DIR=DIR``
each step's screenshot is kept there as ``console-<step>.png`` (scripts/render_pictures.py
--console does this for docs/pictures/).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from terminal.clock import FakeClock
from tests.console.conftest import Running, browser, browser_missing, console_config

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

SCALE = 4  # the page draws each panel pixel 4×4


class Walk:
    """One browser page on one running terminal, with the checks made after each step."""

    def __init__(self, page: Any, running: Running, shots: Path) -> None:
        self.page, self.running, self.shots = page, running, shots
        self.terminal = running.terminal

    async def click(self, act: str) -> None:
        await self.page.click(f'button[data-act="{act}"]')
        await self.settle()

    async def keys(self, text: str) -> None:
        for key in text:
            await self.click(f"key:{key}")

    async def settle(self) -> None:
        # The click's POST is answered once the part has the press; let the terminal act.
        await self.page.wait_for_load_state()
        await self.terminal.runtime.wait_idle()

    async def advance(self, seconds: float) -> None:
        clock = self.terminal.clock
        assert isinstance(clock, FakeClock)
        target = clock.monotonic() + seconds
        while (due := clock.next_deadline()) is not None and due <= target:
            clock.set(due)
            await self.terminal.runtime.wait_idle()
        clock.set(target)
        await self.terminal.runtime.wait_idle()

    async def check(self, step: str, screen: str, *, qr: bool = False) -> Image.Image:
        """The page shows the terminal's frame of ``screen`` (and its QR decodes)."""
        runtime = self.terminal.runtime
        await runtime.wait_idle()
        assert runtime.screen is not None
        assert runtime.screen.name == screen, runtime.screen
        feed = self.terminal.api.api.console.feed
        await feed.settled()  # the frame is encoded off the loop
        assert feed.frame is not None
        number = feed.frame.number
        await self.page.wait_for_function(
            f"Number(document.getElementById('display').dataset.frame) >= {number}"
        )
        expected = self.terminal.device.display.last_image.convert("1")
        width, height = expected.size
        box = await self.page.locator("#display").bounding_box()
        clip = {"x": round(box["x"]), "y": round(box["y"]),
                "width": width * SCALE, "height": height * SCALE}  # fmt: skip
        shot = Image.open(io.BytesIO(await self.page.screenshot(clip=clip)))
        assert shot.size == (width * SCALE, height * SCALE)
        grey = shot.convert("L")
        lit = [expected.getpixel((x, y)) > 0 for y in range(height) for x in range(width)]
        drawn = [
            grey.getpixel((x * SCALE + SCALE // 2, y * SCALE + SCALE // 2)) > 127
            for y in range(height)
            for x in range(width)
        ]
        wrong = sum(a != b for a, b in zip(lit, drawn, strict=True))
        assert wrong == 0, f"{step}: {wrong} pixels of the page differ from the terminal's frame"
        if qr:
            import zxingcpp

            link = runtime.screen.qr
            assert link
            found = [b.text for b in zxingcpp.read_barcodes(shot.convert("L"))]
            assert found == [link], f"{step}: the QR read {found}, the payment link is {link}"
        await self.page.screenshot(path=str(self.shots / f"console-{step}.png"))
        return shot

    async def text(self, selector: str) -> str:
        return str(await self.page.locator(selector).inner_text())


#: Read at import: the suite's fixtures clear PAYTERM_* variables, not this one.
PICTURES = os.environ.get("CONSOLE_PICTURES_DIR", "")


def _shots(tmp_path: Path) -> Path:
    folder = Path(PICTURES or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _walk(tmp_path: Path, body: Any) -> None:
    from tests.console.conftest import start

    config = console_config(tmp_path / "data")
    clock = FakeClock(start_wall=datetime(2026, 3, 14, 12, 30, tzinfo=UTC))
    async with start(config, clock) as running, browser() as page:
        await page.goto(running.url)
        await page.wait_for_selector("#display[data-frame]")
        await body(Walk(page, running, _shots(tmp_path)))


async def test_qr_payment_then_refund_by_the_slip(tmp_path: Path) -> None:
    async def body(walk: Walk) -> None:
        await walk.check("idle", "idle")
        await walk.keys("15000")
        await walk.click("key:enter")
        await walk.click("key:enter")
        await walk.check("qr", "qr", qr=True)
        link = walk.terminal.runtime.screen.qr
        assert walk.terminal.runtime.state.payment.order_id in await walk.text("#payments")
        await walk.click("customer:pay")
        await walk.advance(5)
        await walk.check("paid", "paid")
        await walk.page.wait_for_selector(".slip img")
        assert "paid" in (await walk.text("#payments")).lower()
        # The slip as drawn: its PNG loads, its bytes download as printed.
        slip = walk.terminal.device.printed[-1]
        async with walk.page.expect_download() as info:
            await walk.page.locator(".slip a").first.click()
        download = await info.value
        assert Path(await download.path()).read_bytes() == slip.raw
        await walk.advance(20)
        await walk.check("idle-after-paid", "idle")
        await walk.click("key:f4")
        await walk.check("refund-scan", "refund_scan")
        await walk.click("scan-slip:")
        # The sandbox refunds in part too: the amount comes first, Enter alone refunds it all.
        await walk.check("refund-amount", "refund_amount")
        await walk.click("key:enter")
        await walk.check("refund-approval", "approval_refund")
        await walk.keys("1234")
        await walk.click("key:enter")
        await walk.check("refunded", "refunded")
        await walk.page.wait_for_function(
            "document.querySelector('#payments tbody').innerText.includes('refunded')"
        )
        assert link  # the QR read earlier was the payment's link

    await _walk(tmp_path, body)


async def test_wallet_code_with_the_network_cut_then_force_with_the_pin(tmp_path: Path) -> None:
    async def body(walk: Walk) -> None:
        await walk.keys("700")
        await walk.click("key:enter")
        await walk.click("network:down")
        await walk.page.wait_for_selector('button[data-act="network:up"]')
        await walk.click("scan:alipay")
        await walk.advance(30)
        await walk.check("no-connection", "no_connection")
        await walk.click("button:force")
        await walk.check("force-approval", "approval")
        await walk.keys("1234")
        await walk.click("key:enter")
        await walk.check("forced", "forced")
        assert "forced" in (await walk.text("#payments")).lower()
        await walk.click("network:up")
        await walk.page.wait_for_selector('button[data-act="network:down"]')
        assert "net" in (await walk.text("#events")) or "reconcile" in await walk.text("#events")

    await _walk(tmp_path, body)


async def test_typed_code_is_scanned_and_bad_input_is_told(tmp_path: Path) -> None:
    async def body(walk: Walk) -> None:
        await walk.page.fill("#scan-text", "x" * 300)  # the field keeps 256 at most
        assert len(await walk.page.input_value("#scan-text")) == 256
        answer = await walk.page.evaluate(
            "fetch('/console/act', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({kind: 'key', value: 'nine'})}).then(r => r.status)"
        )
        assert answer == 422
        await walk.keys("500")
        await walk.click("key:enter")
        await walk.page.fill("#scan-text", "134567890123456789")
        await walk.page.click("#scan-form button")
        await walk.settle()
        payment = walk.terminal.runtime.state.payment
        assert payment is not None
        assert payment.code_masked.startswith("1345")
        assert payment.code_masked.endswith("6789")

    await _walk(tmp_path, body)
