"""What the system and network checks look at, gathered so tests can put their own there."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from terminal.clock import TIMESYNC_FLAG

__all__ = ["NETWORK_TIMEOUT_S", "SystemProbes"]

NETWORK_TIMEOUT_S = 5.0  # a provider slower than this to answer a handshake fails payments too


@dataclass(frozen=True, slots=True)
class SystemProbes:
    """What the system checks look at; tests put their own files, tools and TLS trust here."""

    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context
    timesync_flag: Path = TIMESYNC_FLAG
    timedatectl: str | None = field(default_factory=lambda: shutil.which("timedatectl"))
    disk_usage: Callable[[Path], tuple[int, int, int]] = shutil.disk_usage
    network_timeout_s: float = NETWORK_TIMEOUT_S
