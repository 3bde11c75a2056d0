"""The info page's event and effect values: asked for, the facts gathered, and the asking.

The machine never reads the system: showing the page asks the runtime to gather the host's
facts (``GatherHostInfo``), and they come back as ``HostInfoGathered``.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.system.host_info import HostInfo

__all__ = ["INFO_SHOWN_S", "INFO_REFRESH_S", "InfoRequested", "HostInfoGathered", "GatherHostInfo"]

#: How long the info page stays up untouched before the idle screen comes back.
INFO_SHOWN_S = 60.0
#: How often the facts are gathered again while the page is shown (a cable plugged in,
#: an address from DHCP, Wi-Fi joining are seen within this).
INFO_REFRESH_S = 5.0


@dataclass(frozen=True, slots=True)
class InfoRequested:
    """The operator key with the ``info`` function was pressed."""


@dataclass(frozen=True, slots=True)
class HostInfoGathered:
    """The host's facts, gathered at the runtime's asking."""

    info: HostInfo


@dataclass(frozen=True, slots=True)
class GatherHostInfo:
    """Read the host name, addresses, Wi-Fi and version; they come back as HostInfoGathered."""
