"""What the benchmarks read about their own process: memory, disk I/O, CPU time, percentiles."""

from __future__ import annotations

import math
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IoCounters",
    "io_counters",
    "rss_bytes",
    "cpu_seconds",
    "context_switches",
    "percentile",
    "MIB",
    "KIB",
]

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class IoCounters:
    """The counters of /proc/self/io that the benchmarks report, in bytes."""

    wchar: int  # bytes handed to write() and friends, whatever the file system
    write_bytes: int  # bytes of page cache this process dirtied on a block device

    def __sub__(self, other: IoCounters) -> IoCounters:
        return IoCounters(self.wchar - other.wchar, self.write_bytes - other.write_bytes)


def io_counters() -> IoCounters:
    """Read /proc/self/io now."""
    fields: dict[str, int] = {}
    for line in Path("/proc/self/io").read_text(encoding="ascii").splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = int(value)
    return IoCounters(wchar=fields["wchar"], write_bytes=fields["write_bytes"])


def rss_bytes() -> int:
    """This process's resident set size now (VmRSS of /proc/self/status)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KIB
    raise RuntimeError("no VmRSS line in /proc/self/status")


def cpu_seconds() -> float:
    """User plus system CPU seconds used by this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def context_switches() -> int:
    """Voluntary plus involuntary context switches of this process so far: its wake-ups."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` from 0 to 1)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
