"""Run the engine benchmarks and print their figures beside the targets (never fails on them).

    .venv/bin/python -m bench.bench_engine            # everything, 3 to 5 minutes
    .venv/bin/python -m bench.bench_engine --quick    # a short run, under a minute
    .venv/bin/python -m bench.bench_engine --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_engine --only latency

Each benchmark runs in a child interpreter of its own, so one's memory, CPU time and I/O
never count in another's figures. The timing-sensitive ones run alone; the long memory
soak shares the two cores with the idle and printer-paper runs, which measure their own
process only. The exit status is 0 whatever the figures say, and 1 when a benchmark broke.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import (  # noqa: E402
    Figure,
    broken,
    figures_from_json,
    figures_to_json,
    format_table,
    not_measured,
)

__all__ = ["main", "BENCHES", "LANES"]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "out"
CHILD_TIMEOUT_S = 900.0

#: The benchmarks by name, with the section title a failed run is reported under.
BENCHES: dict[str, str] = {
    "latency": "1. scan -> provider request",
    "coldstart": "2. cold start -> ready, imports",
    "soak": "3./4. memory and disk over many payments",
    "idle": "5. idle",
    "paper": "3. emulated printer's kept slips",
}
#: What runs when: each step's lanes run side by side, each lane's benchmarks in turn.
LANES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("latency",),),
    (("coldstart",),),
    (("soak",), ("idle", "paper")),
)
#: The order of sections in the printed table.
ORDER = ("latency", "coldstart", "soak", "paper", "idle")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks asked for and print the figures; 1 when one broke, else 0."""
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    if args.only and len(args.only) == 1:
        figures = _run_here(args.only[0], args.quick, args.out)
    else:
        figures = _run_children(args.only or list(ORDER), args.quick, args.out)
    _print(figures, args.json, args.quick, time.perf_counter() - started)
    return 1 if broken(figures) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench_engine", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), help="run just these")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="scratch folder on disk")
    return parser


# --- one benchmark, in this process ----------------------------------------------------------


def _run_here(name: str, quick: bool, out: Path) -> list[Figure]:
    try:
        return _runner(name)(quick, out)
    except Exception as exc:  # noqa: BLE001 - a failed benchmark is a row, not a crash
        return [_failed(name, f"{type(exc).__name__}: {exc}")]


def _runner(name: str) -> Callable[[bool, Path], list[Figure]]:
    if name == "coldstart":
        from bench import coldstart

        return coldstart.run
    coroutine = _coroutine(name)
    return lambda quick, out: asyncio.run(coroutine(quick, out))


def _coroutine(name: str) -> Callable[[bool, Path], Coroutine[Any, Any, list[Figure]]]:
    if name == "latency":
        from bench import latency

        return latency.run
    if name == "idle":
        from bench import idle

        return idle.run
    from bench import soak

    return soak.run_retention if name == "paper" else soak.run


# --- several benchmarks, each in a child -------------------------------------------------------


def _run_children(names: Sequence[str], quick: bool, out: Path) -> list[Figure]:
    wanted = set(names)
    results: dict[str, list[Figure]] = {}
    for step in LANES:
        lanes = [[n for n in lane if n in wanted] for lane in step]
        lanes = [lane for lane in lanes if lane]
        with ThreadPoolExecutor(max_workers=max(1, len(lanes))) as pool:
            for lane_results in pool.map(lambda lane: _run_lane(lane, quick, out), lanes):
                results.update(lane_results)
    ordered = [figure for name in ORDER if name in results for figure in results[name]]
    return sorted(ordered, key=lambda figure: figure.section[:2])  # stable: keeps row order


def _run_lane(lane: Sequence[str], quick: bool, out: Path) -> dict[str, list[Figure]]:
    return {name: _run_child(name, quick, out) for name in lane}


def _run_child(name: str, quick: bool, out: Path) -> list[Figure]:
    command = [sys.executable, "-m", "bench.bench_engine", "--only", name, "--json",
               "--out", str(out), *(["--quick"] if quick else [])]  # fmt: skip
    sys.stderr.write(f"bench: running {name}{' (quick)' if quick else ''} ...\n")
    sys.stderr.flush()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYTERM_")}
    try:
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return [_failed(name, f"no result within {CHILD_TIMEOUT_S:.0f} s")]
    try:
        document: dict[str, Any] = json.loads(done.stdout)
        return figures_from_json(document["figures"])
    except (ValueError, KeyError, TypeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [_failed(name, f"exit {done.returncode}: {tail}")]


def _failed(name: str, why: str) -> Figure:
    return not_measured(BENCHES[name], name, why)


# --- output -------------------------------------------------------------------------------------


def _print(figures: list[Figure], as_json: bool, quick: bool, elapsed_s: float) -> None:
    if as_json:
        document = {
            "quick": quick,
            "elapsed_s": round(elapsed_s, 1),
            "python": sys.version.split()[0],
            "figures": figures_to_json(figures),
        }
        print(json.dumps(document, indent=1))
        return
    print(format_table(figures))
    targeted = [f for f in figures if f.limit is not None or f.value is None]
    print("\n" + format_table([_summary_row(f) for f in targeted]))
    met = sum(f.status == "OK" for f in targeted)
    print(f"\n{met} of {len(targeted)} targets met; {elapsed_s:.0f} s"
          f"{' (quick run)' if quick else ''}")  # fmt: skip


def _summary_row(figure: Figure) -> Figure:
    return Figure("summary: figures with a target", figure.key, figure.label.strip(),
                  figure.value, figure.unit, figure.limit)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
