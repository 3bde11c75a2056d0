"""What a technician needs to reach the terminal: its name, addresses, Wi-Fi and version.

Plain values only (gathered by :mod:`terminal.system.netinfo`, shown by the info page and
the doctor); nothing here reads the system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HostInfo", "Interface", "WifiState", "Wifi", "WIRED_PREFIXES", "WIRELESS_PREFIXES"]

#: Interface names a technician plugs into or joins: Ethernet and Wi-Fi, old and new names.
WIRED_PREFIXES = ("eth", "en")
WIRELESS_PREFIXES = ("wlan", "wl")

#: absent: no Wi-Fi interface; down: it is off; up: on, not associated with a network;
#: associated: joined a network (``ssid`` says which when it could be read).
WifiState = Literal["absent", "down", "up", "associated"]


@dataclass(frozen=True, slots=True)
class Interface:
    """One network interface (never ``lo``) and the addresses it has."""

    name: str
    up: bool
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Wifi:
    """The Wi-Fi interface's state; ``signal_dbm`` when ``/proc/net/wireless`` gives it."""

    state: WifiState
    interface: str = ""
    ssid: str = ""
    signal_dbm: int | None = None

    def describe(self) -> str:
        """One short line, e.g. ``wlan0 associated "Shop" -57 dBm`` or ``none``."""
        if self.state == "absent":
            return "none"
        words = [self.interface, self.state]
        if self.ssid:
            words.append(f'"{self.ssid}"')
        if self.signal_dbm is not None:
            words.append(f"{self.signal_dbm} dBm")
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class HostInfo:
    """The host name, the interfaces with their addresses, Wi-Fi and the software version."""

    hostname: str
    interfaces: tuple[Interface, ...] = ()
    wifi: Wifi = Wifi("absent")
    version: str = ""

    def first_ipv4(self) -> tuple[str, str] | None:
        """(interface, address) a technician needs first: Ethernet's, then Wi-Fi's, then any."""
        for prefixes in (WIRED_PREFIXES, WIRELESS_PREFIXES, ("",)):
            for interface in self.interfaces:
                if interface.ipv4 and interface.name.startswith(prefixes):
                    return interface.name, interface.ipv4[0]
        return None

    def addresses(self) -> list[str]:
        """Every address as "interface address", IPv4 before IPv6, for the slip and the doctor."""
        found = [f"{i.name} {a}" for i in self.interfaces for a in i.ipv4]
        return found + [f"{i.name} {a}" for i in self.interfaces for a in i.ipv6]
