"""The doctor's rows about the host: its name and software, its addresses, its Wi-Fi."""

from __future__ import annotations

from terminal.doctor.results import CheckResult, Status
from terminal.system.host_info import HostInfo
from terminal.system.image_info import ImageInfo

__all__ = ["check_host", "software_words"]

_NO_ADDRESS_FIX = (
    "plug in the Ethernet cable (the image takes an address by DHCP), or check the Wi-Fi "
    "settings imported from the card (docs/first-boot.md); providers cannot be reached"
)


def check_host(info: HostInfo, image: ImageInfo | None) -> list[CheckResult]:
    """Rows "host" (name, version, image), "network" (addresses) and "wi-fi"."""
    rows = [
        CheckResult("host", Status.PASS, f"{info.hostname or '?'}: {software_words(info, image)}")
    ]
    first = info.first_ipv4()
    if first is None:
        rows.append(CheckResult("network", Status.WARN, _no_ipv4(info), _NO_ADDRESS_FIX))
    else:
        rows.append(CheckResult("network", Status.PASS, _addresses(info)))
    if info.wifi.state == "absent":
        rows.append(CheckResult("wi-fi", Status.SKIP, "no Wi-Fi interface"))
    else:
        rows.append(CheckResult("wi-fi", Status.PASS, info.wifi.describe()))
    return rows


def software_words(info: HostInfo, image: ImageInfo | None) -> str:
    """ "payterm 0.2.0, image payterm 0.2.0 (20250301-ab12cd3)", or "…, not the payterm image"."""
    on_image = f"image {image.describe()}" if image is not None else "not the payterm image"
    return f"payterm {info.version}, {on_image}"


def _no_ipv4(info: HostInfo) -> str:
    addresses = _addresses(info)
    return f"no IPv4 address (only {addresses})" if addresses else "no address at all"


def _addresses(info: HostInfo) -> str:
    """Every address with its interface, IPv4 first: "eth0 192.168.1.20, eth0 fe80::1"."""
    return ", ".join(info.addresses())
