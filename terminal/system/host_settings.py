"""The operating system's side of the ``[system]`` table: host name and Wi-Fi files, live changes.

The file contents are pure functions (tested byte for byte); :class:`Host` is what the import
does to the running machine beyond writing files: by default nothing, so tests and image
builds (``--root`` other than ``/``) never touch the machine they run on; :class:`RunningHost`
is the terminal itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "WIFI_INTERFACE",
    "WPA_UNIT_TARGET",
    "wpa_psk",
    "wpa_supplicant_conf",
    "wlan_network",
    "hosts_with",
    "Mount",
    "parse_mountinfo",
    "mount_of",
    "Host",
    "RunningHost",
]

log = logging.getLogger(__name__)

WIFI_INTERFACE = "wlan0"
#: What ``systemctl enable wpa_supplicant@wlan0`` links to on Debian 12.
WPA_UNIT_TARGET = "/lib/systemd/system/wpa_supplicant@.service"
_HEADER = "# Written by payterm's config import from the SD card; replaced at every import.\n"


def wpa_psk(passphrase: str, ssid: str) -> str:
    """Return the 64 hex digits of the WPA key, as ``wpa_passphrase`` computes it.

    A passphrase that already is 64 hex digits is the key itself.
    """
    if re.fullmatch(r"[0-9A-Fa-f]{64}", passphrase):
        return passphrase.lower()
    key = hashlib.pbkdf2_hmac("sha1", passphrase.encode(), ssid.encode("utf-8"), 4096, 32)
    return key.hex()


def _wpa_ssid(ssid: str) -> str:
    """Quoted like wpa_passphrase when plain ASCII; otherwise the hex of its UTF-8 bytes."""
    if re.fullmatch(r"[ -~]+", ssid):
        return f'"{ssid}"'
    return ssid.encode("utf-8").hex()


def wpa_supplicant_conf(country: str, ssid: str, passphrase: str) -> str:
    """Return ``wpa_supplicant-wlan0.conf`` for one network; no passphrase means an open one.

    The passphrase itself is not written, only the key derived from it.
    """
    if passphrase:
        security = f"\tpsk={wpa_psk(passphrase, ssid)}\n"
    else:
        security = "\tkey_mgmt=NONE\n"
    return (
        f"{_HEADER}"
        "ctrl_interface=DIR=/run/wpa_supplicant\n"
        "update_config=0\n"
        f"country={country}\n"
        "\n"
        "network={\n"
        f"\tssid={_wpa_ssid(ssid)}\n"
        f"{security}"
        "}\n"
    )


def wlan_network() -> str:
    """Return the systemd-networkd ``.network`` file: wlan0 takes its address by DHCP."""
    return f"{_HEADER}[Match]\nName={WIFI_INTERFACE}\n\n[Network]\nDHCP=yes\n"


def hosts_with(hosts: str, hostname: str) -> str:
    """Return ``/etc/hosts`` text with its ``127.0.1.1`` line naming ``hostname``."""
    line = f"127.0.1.1\t{hostname}"
    lines = hosts.splitlines()
    found = [i for i, text in enumerate(lines) if re.match(r"\s*127\.0\.1\.1\s", text + " ")]
    if found:
        lines[found[0]] = line
        lines = [text for i, text in enumerate(lines) if i not in found[1:]]
    else:
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of /proc/self/mountinfo: where, which file system, read-only or not."""

    point: Path
    fstype: str
    read_only: bool


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse /proc/self/mountinfo (see proc(5)); later lines are mounts on top of earlier ones."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 6 or not right.split():
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        mounts.append(Mount(Path(point), right.split()[0], "ro" in fields[5].split(",")))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """Return the mount that holds ``path`` (the deepest mount point above it, the last one)."""
    best: Mount | None = None
    for mount in mounts:
        if path == mount.point or mount.point in path.parents:
            if best is None or len(mount.point.parts) >= len(best.point.parts):
                best = mount
    return best


class Host:
    """What the import does to the machine beyond its files: here nothing (tests, image builds)."""

    @contextlib.contextmanager
    def writable(self, paths: Iterable[Path]) -> Iterator[None]:
        """Make the file systems holding ``paths`` writable for the duration of the block."""
        yield

    def set_hostname(self, name: str) -> None:
        """Give the running system the host name ``name`` (the files are written already)."""

    def wifi_changed(self, enabled: bool) -> None:
        """Start, restart or stop the Wi-Fi after its files changed."""


class RunningHost(Host):
    """The terminal itself (``--root /``): remounts, sets the host name, restarts Wi-Fi.

    The root file system is mounted read-only; for the few milliseconds of an install it is
    remounted read-write and then read-only again. An overlay or tmpfs root is refused: what
    is written there would be lost at the next start.
    """

    def __init__(
        self, mountinfo: Path = Path("/proc/self/mountinfo"), *, mount: str = "/usr/bin/mount"
    ) -> None:
        self._mountinfo = mountinfo
        self._mount = mount  # the program that remounts

    @contextlib.contextmanager
    def writable(self, paths: Iterable[Path]) -> Iterator[None]:
        """Remount read-write the read-only file systems holding ``paths``, then read-only."""
        mounts = parse_mountinfo(self._mountinfo.read_text(encoding="utf-8"))
        remounted: list[Path] = []
        try:
            for path in paths:
                mount = mount_of(_existing(path).resolve(), mounts)
                if mount is None:
                    continue
                if mount.fstype in ("overlay", "tmpfs"):
                    raise OSError(
                        f"{path} is on {mount.fstype} ({mount.point}): it would be lost at the "
                        "next start; the root file system must be a read-only ext4 partition"
                    )
                if mount.read_only and mount.point not in remounted:
                    _mount(self._mount, "remount,rw", mount.point)
                    remounted.append(mount.point)
            yield
        finally:
            for point in reversed(remounted):
                _remount_read_only(self._mount, point)

    def set_hostname(self, name: str) -> None:
        """Set the kernel's host name now; /etc/hostname gives it at the next start."""
        try:
            socket.sethostname(name)
        except OSError as exc:
            log.warning("the host name %s takes effect at the next start: %s", name, exc)

    def wifi_changed(self, enabled: bool) -> None:
        """Restart (or stop) wpa_supplicant on wlan0 and have systemd-networkd reread its files."""
        action = "restart" if enabled else "stop"
        _run(["/usr/bin/systemctl", "--no-block", action, f"wpa_supplicant@{WIFI_INTERFACE}"])
        _run(["/usr/bin/networkctl", "reload"])


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mount(program: str, options: str, point: Path) -> None:
    result = subprocess.run(  # noqa: S603 - a fixed program; the mount point comes from the kernel
        [program, "-o", options, str(point)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise OSError(f"mount -o {options} {point} failed: {result.stderr.strip()}")
    log.info("mounted %s %s", point, options.split(",")[-1])


def _remount_read_only(program: str, point: Path) -> None:
    """Read-only again; a file kept open for writing by someone else delays it, so try a while."""
    for attempt in range(5):
        try:
            _mount(program, "remount,ro", point)
            return
        except (OSError, subprocess.TimeoutExpired) as exc:
            if attempt == 4:
                log.error("%s stays writable until the next start: %s", point, exc)
                return
            time.sleep(1)


def _run(argv: list[str]) -> None:
    """Run a system command; a failure is a warning (the files take effect at the next start)."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed programs and arguments
            argv, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s: %s; the change takes effect at the next start", " ".join(argv), exc)
        return
    if result.returncode != 0:
        log.warning(
            "%s failed (%s); the change takes effect at the next start",
            " ".join(argv),
            result.stderr.strip() or f"exit {result.returncode}",
        )
