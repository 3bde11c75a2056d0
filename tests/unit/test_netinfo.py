"""The host's facts read from a fake sysfs/procfs tree, and from this machine's own kernel."""

from __future__ import annotations

import socket
from pathlib import Path

from terminal.system.host_info import HostInfo, Interface, Wifi
from terminal.system.image_info import read_image_info
from terminal.system.netinfo import NetKernel, read_host_info

IF_INET6 = (
    "fe80000000000000ba27ebfffe123456 02 40 20 80     eth0\n"
    "00000000000000000000000000000001 01 80 10 80       lo\n"
    "2001db80000000000000000000000007 03 40 00 00    wlan0\n"
)
WIRELESS = (
    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
    " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
    " wlan0: 0000   53.  -57.  -256        0      0      0      0      0        0\n"
)


class FakeKernel(NetKernel):
    """The kernel's IPv4 and SSID answers for the interfaces of a fake tree."""

    def __init__(self, ipv4: dict[str, str], ssid: dict[str, str]) -> None:
        self._ipv4, self._ssid = ipv4, ssid

    def ipv4(self, interface: str) -> str | None:
        return self._ipv4.get(interface)

    def ssid(self, interface: str) -> str:
        return self._ssid.get(interface, "")


def fake_root(
    root: Path, *, wlan_state: str = "up", wlan_flags: str = "0x1003", hostname: str = "till-3"
) -> Path:
    """A tree with lo, eth0 and wlan0 as a Pi 4 has them."""
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/hostname").write_text(hostname + "\n")
    (root / "proc/net").mkdir(parents=True)
    (root / "proc/net/if_inet6").write_text(IF_INET6)
    (root / "proc/net/wireless").write_text(WIRELESS)
    for name, state, flags in (
        ("lo", "unknown", "0x9"),
        ("eth0", "up", "0x1003"),
        ("wlan0", wlan_state, wlan_flags),
    ):
        folder = root / "sys/class/net" / name
        folder.mkdir(parents=True)
        (folder / "operstate").write_text(state + "\n")
        (folder / "flags").write_text(flags + "\n")
    (root / "sys/class/net/wlan0/wireless").mkdir()
    return root


PI_KERNEL = FakeKernel({"eth0": "192.168.1.20", "wlan0": "10.0.0.7"}, {"wlan0": "Shop"})


def test_a_pi_with_ethernet_and_wifi(tmp_path: Path) -> None:
    info = read_host_info(fake_root(tmp_path), kernel=PI_KERNEL, version="1.2.3")

    assert info.hostname == "till-3"
    assert [i.name for i in info.interfaces] == ["eth0", "wlan0"]  # never lo
    assert info.interfaces[0] == Interface(
        "eth0", True, ("192.168.1.20",), ("fe80::ba27:ebff:fe12:3456",)
    )
    assert info.interfaces[1].ipv6 == ("2001:db80::7",)
    assert info.wifi == Wifi("associated", "wlan0", "Shop", -57)
    assert info.first_ipv4() == ("eth0", "192.168.1.20")
    assert info.version == "1.2.3"


def test_wifi_switched_on_but_not_joined_and_switched_off(tmp_path: Path) -> None:
    joining = read_host_info(fake_root(tmp_path / "a", wlan_state="dormant"), kernel=PI_KERNEL)
    off = read_host_info(
        fake_root(tmp_path / "b", wlan_state="down", wlan_flags="0x1002"), kernel=PI_KERNEL
    )

    assert joining.wifi == Wifi("up", "wlan0")
    assert off.wifi == Wifi("down", "wlan0")
    assert off.wifi.describe() == "wlan0 down"


def test_the_first_address_is_ethernets_then_wifis() -> None:
    wifi_only = HostInfo("t", (Interface("eth0", False), Interface("wlan0", True, ("10.0.0.7",))))
    other = HostInfo("t", (Interface("usb0", True, ("172.16.0.2",)),))

    assert wifi_only.first_ipv4() == ("wlan0", "10.0.0.7")
    assert other.first_ipv4() == ("usb0", "172.16.0.2")
    assert HostInfo("t").first_ipv4() is None


def test_an_empty_tree_gives_what_it_can(tmp_path: Path) -> None:
    info = read_host_info(tmp_path, kernel=PI_KERNEL, version="1")

    assert info == HostInfo("", (), Wifi("absent"), "1")


def test_this_machines_own_interfaces() -> None:
    kernel = NetKernel()
    info = read_host_info()

    assert kernel.ipv4("lo") == "127.0.0.1"  # the real SIOCGIFADDR ioctl
    assert kernel.ipv4("no-such-if0") is None
    assert kernel.ssid("lo") == ""  # not wireless: the ioctl refuses, no exception
    assert info.hostname == socket.gethostname()
    assert "lo" not in [i.name for i in info.interfaces]
    assert info.version


def test_the_image_file_is_read_like_os_release(tmp_path: Path) -> None:
    assert read_image_info(tmp_path) is None  # not the image
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/payterm-image").write_text(
        '# written by the image recipe\nNAME=payterm\nVERSION="0.2.0"\nBUILD_ID=20250301-ab12cd3\n'
    )

    image = read_image_info(tmp_path)

    assert image is not None
    assert (image.name, image.version, image.build_id) == ("payterm", "0.2.0", "20250301-ab12cd3")
    assert image.describe() == "payterm 0.2.0 (20250301-ab12cd3)"
