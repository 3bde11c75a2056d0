"""What the system and network checks look at, gathered so tests can put their own there."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from terminal.clock import TIMESYNC_FLAG
from terminal.system.netinfo import NetKernel

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
    #: Where the host's facts and ``etc/payterm-image`` are read (a fake sysfs/procfs tree).
    root: Path = Path("/")
    net_kernel: NetKernel | None = None  # the IPv4 and SSID ioctls (None: the kernel's)
