"""The web console's figures: screen change → drawn in the page, page weight, idle CPU.

    .venv/bin/python -m bench.bench_console            # the table
    .venv/bin/python -m bench.bench_console --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_console --quick    # fewer samples, a shorter idle

The demo terminal runs in this process with its console on 127.0.0.1 (plain HTTP); the
page is opened in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).
Figures:

1. screen change → drawn: from the terminal showing a new screen (a key pressed on the
   emulated keypad) to the page having decoded that frame into its display (p50, p99;
   both ends read the same wall clock).
2. first load: the bytes of every response the page needs to draw itself (page, script,
   style, state, first frame), the event stream's excepted.
3. terminal CPU with one console open and idle, in % of one core.

It exits 0 whatever the figures say; without Chromium or Playwright each row says why.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import cpu_seconds, percentile  # noqa: E402
from bench.report import Figure, not_measured, print_figures  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "web console"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip


async def _measure(samples: int, idle_s: float) -> list[Figure]:
    from dataclasses import replace

    from playwright.async_api import async_playwright

    from terminal.app import Terminal
    from terminal.clock import FakeClock
    from terminal.config.loader import demo_config
    from terminal.config.model import ApiConfig

    folder = Path(tempfile.mkdtemp(prefix="payterm-bench-console-"))
    config = demo_config(folder / "data")
    config = replace(config, api=ApiConfig(enabled=True, host="127.0.0.1", port=0, tls=False))
    try:
        async with Terminal(config, FakeClock(), with_network_link=True) as terminal:
            runner = asyncio.create_task(terminal.runtime.run())
            await terminal.runtime.wait_idle()
            pw = await async_playwright().start()
            context = await pw.chromium.launch_persistent_context(
                str(folder / "profile"), executable_path=str(CHROMIUM), headless=True,
                args=CHROMIUM_ARGS, bypass_csp=True,
            )  # fmt: skip
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                return await _figures(terminal, page, samples, idle_s)
            finally:
                await context.close()
                await pw.stop()
                await terminal.runtime.stop(timeout_s=2)
                await asyncio.gather(runner, return_exceptions=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _figures(terminal: Any, page: Any, samples: int, idle_s: float) -> list[Figure]:
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    await page.goto(f"{terminal.api.url}/console/")
    await page.wait_for_selector("#display[data-frame]")
    await page.wait_for_load_state("networkidle")
    loaded = 0
    for response in responses:
        if not response.url.endswith("/console/stream"):
            loaded += len(await response.body())
    feed = terminal.api.api.console.feed
    keypad = terminal.device.keypad
    delays: list[float] = []
    for i in range(samples):
        keypad.press("1" if i % 2 == 0 else "backspace")  # each press changes the screen
        await terminal.runtime.wait_idle()
        await feed.settled()
        frame = feed.frame
        await page.wait_for_function(
            f"Number(document.getElementById('display').dataset.frame) >= {frame.number}"
        )
        drawn = await page.evaluate("window.payterm.drawn")
        at = next(t for n, t in drawn if n == frame.number)
        delays.append(at - frame.changed_at * 1000)
    await asyncio.sleep(1.0)  # let the last refresh end
    started_cpu, started = cpu_seconds(), time.monotonic()
    await asyncio.sleep(idle_s)
    cpu = (cpu_seconds() - started_cpu) / (time.monotonic() - started) * 100
    return [
        Figure(SECTION, "drawn_p50", "screen change → drawn in the page, p50", percentile(delays, 0.5), "ms"),  # noqa: E501
        Figure(SECTION, "drawn_p99", "screen change → drawn in the page, p99", percentile(delays, 0.99), "ms", limit=100),  # noqa: E501
        Figure(SECTION, "first_load", "first load, bytes transferred", loaded / 1024, "KiB", limit=100),  # noqa: E501
        Figure(SECTION, "idle_cpu", f"terminal CPU, console open and idle ({idle_s:g} s)", cpu, "% core", limit=1),  # noqa: E501
    ]  # fmt: skip


def measure(*, quick: bool) -> list[Figure]:
    """Every figure of this benchmark (a row saying why when it cannot run here)."""
    if not CHROMIUM.exists():
        return [
            not_measured(SECTION, "console", f"{CHROMIUM} is missing (apt-get install chromium)")
        ]  # noqa: E501
    samples, idle_s = (30, 3.0) if quick else (300, 20.0)
    try:
        return asyncio.run(_measure(samples, idle_s))
    except Exception as exc:  # noqa: BLE001 - a broken run is a row that says why
        return [not_measured(SECTION, "console", f"{type(exc).__name__}: {exc}")]


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="fewer samples, a shorter idle")
    args = parser.parse_args(argv)
    print_figures(measure(quick=args.quick), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
