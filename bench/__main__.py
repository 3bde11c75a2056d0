"""Run every benchmark in turn and print their figures: ``python -m bench [--quick]``.

    .venv/bin/python -m bench --quick    # every benchmark's short form (CI's smoke test)
    .venv/bin/python -m bench            # every benchmark in full (several minutes)

Each benchmark runs as its own command, as a person would run it, and prints its table.
The exit status is 1 when a benchmark broke (it exited non-zero, printed no figure, or
reported a row it could not measure), and 0 otherwise: a figure that misses its target is
a finding to read, never a failed run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import broken, figures_from_json, format_table

__all__ = ["BENCHMARKS", "main"]

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 1800.0

#: Every benchmark, as the module ``python -m`` runs; each takes ``--quick`` and ``--json``.
BENCHMARKS: tuple[str, ...] = (
    "bench.bench_engine",
    "bench.bench_display",
    "bench.bench_display_stall",
    "bench.bench_input",
    "bench.bench_printer",
    "bench.bench_refund_lookup",
    "bench.bench_reports",
    "bench.bench_paymaster_refunds",
    "bench.bench_reconnect",
    "bench.bench_api",
    "bench.bench_journal_open",
    "bench.bench_sync",
    "bench.bench_console",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one benchmark's run went: ``problem`` is empty when it printed its figures."""

    module: str
    seconds: float
    figures: int
    problem: str


def run_one(module: str, *, quick: bool) -> Outcome:
    """Run ``module`` with ``--json``, print its table, and say whether it broke."""
    command = [sys.executable, "-m", module, "--json", *(["--quick"] if quick else [])]
    sys.stderr.write(f"bench: {' '.join(command[1:])}\n")
    sys.stderr.flush()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome(module, TIMEOUT_S, 0, f"no result within {TIMEOUT_S:.0f} s")
    seconds = time.perf_counter() - started
    try:
        figures = figures_from_json(json.loads(done.stdout)["figures"])
    except (ValueError, KeyError, TypeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(module, seconds, 0, f"exit {done.returncode}, no figures: {tail}")
    print(f"\n##### {module}\n\n{format_table(figures)}")  # noqa: T201
    failed = broken(figures)
    if failed:
        problem = "; ".join(f"{f.label} ({f.note})" for f in failed)
    elif not figures:
        problem = "printed no figure"
    elif done.returncode != 0:
        problem = f"exit {done.returncode}"
    else:
        problem = ""
    return Outcome(module, seconds, len(figures), problem)


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark (or those named); 1 when any of them broke."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's short form")
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help="just these, e.g. bench.bench_input"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    outcomes = [run_one(module, quick=args.quick) for module in args.modules or BENCHMARKS]
    print("\n##### benchmarks run")  # noqa: T201
    for outcome in outcomes:
        verdict = f"BROKEN: {outcome.problem}" if outcome.problem else "ran"
        print(  # noqa: T201
            f"  {outcome.module:<26} {outcome.figures:>3} figures  {outcome.seconds:6.1f} s  "
            f"{verdict}"
        )
    return 1 if any(outcome.problem for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
