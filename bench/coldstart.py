"""Benchmark 2: cold start of the headless demo, and what ``import terminal.app`` drags in.

Cold start is the wall time from spawning ``python -m terminal demo --headless
--fake-clock --data-dir <fresh dir>`` to its ``terminal:ready`` line: interpreter start,
imports, journal and sandbox ledger creation, the emulated device, the first screen.
The import figures come from ``python -X importtime``, with each module's own ("self")
time added to its top-level package.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.report import Figure

__all__ = [
    "SECTION",
    "HARDWARE_LIBRARIES",
    "cold_start_s",
    "imported_hardware",
    "import_times_ms",
    "bytecode_env",
    "run",
]

SECTION = "2. cold start -> ready, imports"
HARDWARE_LIBRARIES = ("gpiozero", "luma", "escpos", "evdev", "nfc")
READY_LIMIT_S = 1.0
FULL_RUNS = 5
QUICK_RUNS = 3
RAW_RUNS = 3  # cold starts with nothing compiled (1 with --quick)
READY_TIMEOUT_S = 30.0
TOP_PACKAGES = 6
#: What a cold start of the demo imports in all: the CLI, the app, the headless demo, and the
#: libraries the emulated device loads when it is opened.
START_IMPORTS = (
    "import terminal.cli, terminal.app, terminal.demo.headless; "
    "import luma.core.device, escpos.printer, gpiozero.pins.mock"
)


def cold_start_s(data_dir: Path, env: dict[str, str]) -> float:
    """Seconds from spawning the headless demo (in ``env``) to its ``terminal:ready`` line."""
    command = [sys.executable, "-m", "terminal", "demo", "--headless", "--fake-clock",
               "--data-dir", str(data_dir)]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: ASYNC220 - not in a coroutine
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env
        )
        try:
            ready = _read_until_ready(process, started)
        finally:
            _stop(process)
        if ready is None:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"the demo never printed terminal:ready; stderr ends:\n{tail}")
    return ready


def imported_hardware(env: dict[str, str], statement: str = "import terminal.app") -> list[str]:
    """The hardware-library modules loaded by running ``statement`` in a fresh interpreter."""
    roots = ", ".join(repr(name) for name in HARDWARE_LIBRARIES)
    code = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ({roots},))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    names: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return names


def import_times_ms(
    statement: str, env: dict[str, str], repeats: int = 3
) -> tuple[float, dict[str, float]]:
    """Total import time of ``statement`` and each top-level package's share (median runs)."""
    totals: list[float] = []
    per_package: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        selves = _self_times_us(out.stderr)
        totals.append(sum(selves.values()) / 1000)
        for name, us in selves.items():
            per_package[name].append(us / 1000)
    medians = {
        name: statistics.median([*v, *[0.0] * (repeats - len(v))])
        for name, v in per_package.items()
    }
    return statistics.median(totals), medians


def bytecode_env(prefix: Path, *, write: bool) -> dict[str, str]:
    """Our environment for a child interpreter, with its bytecode cache under ``prefix``.

    ``write=False`` with an empty ``prefix`` compiles every module from source on each
    start. ``PAYTERM_*`` settings are left out.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PAYTERM_")
        and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    env["PYTHONPYCACHEPREFIX"] = str(prefix)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(quick: bool, out_dir: Path) -> list[Figure]:
    """Benchmark 2: cold starts with and without bytecode, hardware imports, import shares."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="coldstart-", dir=out_dir))
    try:
        cached = bytecode_env(base / "pycache", write=True)
        raw = bytecode_env(base / "pycache-empty", write=False)
        cold_start_s(base / "warm-up", cached)  # fills the bytecode cache
        rows = _start_rows(base, cached, raw, quick)
        rows += _hardware_rows(cached)
        rows += _import_rows("import terminal.app", "app", cached)
        rows += _import_rows(START_IMPORTS, "start", cached)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return rows


# --- rows ------------------------------------------------------------------------------


def _start_rows(
    base: Path, cached: dict[str, str], raw: dict[str, str], quick: bool
) -> list[Figure]:
    runs, raw_runs = (QUICK_RUNS, 1) if quick else (FULL_RUNS, RAW_RUNS)
    times = [cold_start_s(base / f"run{i}", cached) for i in range(runs)]
    raw_times = [cold_start_s(base / f"raw{i}", raw) for i in range(raw_runs)]
    spread = f"median of {runs}: " + ", ".join(f"{t:.3f}" for t in times) + " s"
    return [
        Figure(SECTION, "cold_start_ready_s", "spawn -> terminal:ready (bytecode cached)",
               statistics.median(times), "s", READY_LIMIT_S, spread + "; fresh data dir each"),
        Figure(SECTION, "interpreter_start_s", "  of which bare interpreter start",
               _interpreter_start_s(cached), "s", note="python -c pass, median of 5"),
        Figure(SECTION, "cold_start_uncompiled_s", "spawn -> terminal:ready, nothing compiled",
               statistics.median(raw_times), "s",
               note=f"median of {raw_runs}; every module compiled from source, as on a first "
               "boot without .pyc files (PYTHONDONTWRITEBYTECODE=1, empty cache)"),
    ]  # fmt: skip


def _hardware_rows(env: dict[str, str]) -> list[Figure]:
    loaded = imported_hardware(env)
    roots = sorted({name.split(".")[0] for name in loaded})
    listed = ", ".join(HARDWARE_LIBRARIES)
    note = f"none of {listed}" if not loaded else "loaded: " + ", ".join(roots)
    return [
        Figure(SECTION, "hardware_libraries_imported",
               "hardware libraries loaded by import terminal.app", float(len(roots)), "", 0.0,
               note),
    ]  # fmt: skip


def _import_rows(statement: str, key: str, env: dict[str, str]) -> list[Figure]:
    total, shares = import_times_ms(statement, env)
    rows = [Figure(SECTION, f"import_{key}_total_ms", f"import time: {_short(statement)}",
                   total, "ms", note="sum of -X importtime self times, bytecode cached, "
                   "median of 3")]  # fmt: skip
    ranked = sorted(shares.items(), key=lambda item: item[1], reverse=True)[:TOP_PACKAGES]
    for name, ms in ranked:
        rows.append(
            Figure(SECTION, f"import_{key}_{name}_ms", f"  {name}", ms, "ms",
                   note=f"{100 * ms / total:.0f}% of the total" if total else "")
        )  # fmt: skip
    return rows


def _short(statement: str) -> str:
    return statement if len(statement) <= 40 else "demo start set (app + device libraries)"


# --- helpers -------------------------------------------------------------------------------


def _self_times_us(stderr: str) -> dict[str, float]:
    """Each top-level package's summed self time, from ``-X importtime`` output."""
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|", 2)
        totals[name.strip().split(".")[0]] += float(self_us)
    return dict(totals)


def _read_until_ready(process: subprocess.Popen[bytes], started: float) -> float | None:
    """Seconds to the ``terminal:ready`` line, or None if the demo exits or takes too long."""
    assert process.stdout is not None
    fd, pending = process.stdout.fileno(), b""
    while (left := started + READY_TIMEOUT_S - time.perf_counter()) > 0:
        readable, _, _ = select.select([fd], [], [], left)
        chunk = os.read(fd, 65536) if readable else b""
        if readable and not chunk:
            return None  # the demo closed its output: it has exited
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if any(_is_ready(line) for line in lines):
            return time.perf_counter() - started
    return None


def _is_ready(line: bytes) -> bool:
    if b"terminal:ready" not in line:
        return False
    try:
        return bool(json.loads(line).get("event") == "terminal:ready")
    except ValueError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        if process.stdin is not None:
            process.stdin.write(b"quit\n")
            process.stdin.close()
        process.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def _interpreter_start_s(env: dict[str, str]) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)
