"""Reads the host's name, addresses and Wi-Fi state from the kernel (Linux only).

Files under ``root`` (``/`` on a terminal; a folder laid out the same way in tests):
``proc/sys/kernel/hostname``, ``sys/class/net/<name>/{operstate,flags,wireless}``,
``proc/net/if_inet6`` (every IPv6 address with its interface) and ``proc/net/wireless``
(the signal of an associated Wi-Fi interface). Linux gives no file listing an interface's
IPv4 address, nor the SSID: those two are asked of the kernel through a socket ioctl
(``SIOCGIFADDR``: the interface's primary IPv4 address, the one ``ip`` lists first;
``SIOCGIWESSID``: the network a Wi-Fi interface has joined), behind :class:`NetKernel`,
which tests replace. Nothing here raises for a missing file: what cannot be read is left
out.
"""

from __future__ import annotations

import ctypes
import fcntl
import ipaddress
import logging
import socket
import struct
from pathlib import Path

from terminal.system.host_info import WIRELESS_PREFIXES, HostInfo, Interface, Wifi
from terminal.system.version import software_version

__all__ = ["NetKernel", "read_host_info"]

log = logging.getLogger(__name__)

_SIOCGIFADDR = 0x8915
_SIOCGIWESSID = 0x8B1B
_IFNAMSIZ = 16
_ESSID_MAX = 32
_IFF_UP = 0x1


class NetKernel:
    """The two questions only the kernel answers (IPv4 address, SSID), asked by ioctl."""

    def ipv4(self, interface: str) -> str | None:
        """The primary IPv4 address of ``interface``; None when it has none."""
        request = struct.pack("16s16x", interface.encode()[: _IFNAMSIZ - 1])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
        except OSError:  # EADDRNOTAVAIL: no address; ENODEV: gone meanwhile
            return None
        return socket.inet_ntoa(answer[20:24])  # ifr_addr: family, port, then the address

    def ssid(self, interface: str) -> str:
        """The SSID ``interface`` has joined; "" when none or it cannot be told."""
        essid = ctypes.create_string_buffer(_ESSID_MAX + 1)
        request = bytearray(
            struct.pack("16sPHH", interface.encode()[: _IFNAMSIZ - 1], ctypes.addressof(essid),
                        _ESSID_MAX + 1, 0)
        )  # fmt: skip
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                fcntl.ioctl(sock.fileno(), _SIOCGIWESSID, request)
        except OSError:  # EOPNOTSUPP: not wireless; no wireless extensions in the kernel
            return ""
        return essid.value.decode("utf-8", errors="replace")


def read_host_info(
    root: Path = Path("/"), *, kernel: NetKernel | None = None, version: str | None = None
) -> HostInfo:
    """The host's name, its interfaces (not ``lo``) with their addresses, Wi-Fi, version."""
    kernel = kernel or NetKernel()
    ipv6 = _ipv6_by_interface(root / "proc/net/if_inet6")
    interfaces = []
    for name in _interface_names(root / "sys/class/net"):
        address = kernel.ipv4(name)
        up = _is_up(root / "sys/class/net" / name)
        interfaces.append(Interface(name, up, (address,) if address else (), ipv6.get(name, ())))
    return HostInfo(
        hostname=_read(root / "proc/sys/kernel/hostname"),
        interfaces=tuple(interfaces),
        wifi=_wifi(root, interfaces, kernel),
        version=software_version() if version is None else version,
    )


def _interface_names(sys_net: Path) -> list[str]:
    try:
        names = sorted(entry.name for entry in sys_net.iterdir())
    except OSError:
        return []
    return [name for name in names if name != "lo"]


def _is_up(folder: Path) -> bool:
    """Up with a link: operstate "up"; an interface that cannot tell ("unknown"): flags."""
    operstate = _read(folder / "operstate")
    if operstate != "unknown":
        return operstate == "up"
    return _admin_up(folder)


def _admin_up(folder: Path) -> bool:
    """The interface is switched on (IFF_UP in its flags), link or not."""
    try:
        return bool(int(_read(folder / "flags"), 16) & _IFF_UP)
    except ValueError:
        return False


def _ipv6_by_interface(if_inet6: Path) -> dict[str, tuple[str, ...]]:
    """``/proc/net/if_inet6``: address (32 hex digits), index, prefix, scope, flags, name."""
    found: dict[str, list[str]] = {}
    for row in _read(if_inet6).splitlines():
        fields = row.split()
        if len(fields) != 6 or fields[5] == "lo":
            continue
        try:
            address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
        except ValueError:
            continue
        found.setdefault(fields[5], []).append(str(address))
    return {name: tuple(addresses) for name, addresses in found.items()}


def _wifi(root: Path, interfaces: list[Interface], kernel: NetKernel) -> Wifi:
    wireless = [i for i in interfaces if _is_wireless(root / "sys/class/net" / i.name)]
    if not wireless:
        return Wifi("absent")
    interface = wireless[0]
    if not interface.up:
        switched_on = _admin_up(root / "sys/class/net" / interface.name)
        return Wifi("up" if switched_on else "down", interface.name)
    signal = _signal_dbm(root / "proc/net/wireless", interface.name)
    return Wifi("associated", interface.name, kernel.ssid(interface.name), signal)


def _is_wireless(folder: Path) -> bool:
    if (folder / "wireless").exists() or (folder / "phy80211").exists():
        return True
    return folder.name.startswith(WIRELESS_PREFIXES)


def _signal_dbm(proc_wireless: Path, interface: str) -> int | None:
    """The level column of ``interface``'s row in ``/proc/net/wireless`` ("-57." → -57)."""
    for row in _read(proc_wireless).splitlines()[2:]:
        name, _, rest = row.partition(":")
        fields = rest.split()
        if name.strip() != interface or len(fields) < 3:
            continue
        try:
            level = int(float(fields[2]))
        except ValueError:
            return None
        return level if level < 0 else None  # 0 and above: a relative value, not dBm
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
