"""A USB stick for ``payterm export --usb``: find exactly one, mount it under /run, unmount it.

A candidate is a partition (or, on a stick formatted without a partition table, the whole
disk) of a block device the kernel calls removable (``/sys/block/<disk>/removable`` is 1)
and whose device sits on the USB bus (an ancestor in ``/sys/devices`` has ``subsystem`` →
``usb``). The SD card, its partitions and loop devices are never candidates. It is mounted
with ``mount -t vfat,exfat,ext4`` (no programs, no device files run from it), written,
flushed with ``sync`` and unmounted before the command ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from terminal.system.data_archive import DataTransferError

__all__ = ["MOUNT_POINT", "UsbPartition", "find_usb_partitions", "the_usb_partition", "mounted"]

#: Where the stick is mounted while the export is written.
MOUNT_POINT = Path("/run/payterm-usb")
_FILE_SYSTEMS = "vfat,exfat,ext4"


@dataclasses.dataclass(frozen=True, slots=True)
class UsbPartition:
    """A partition of a removable USB disk: its device file and the disk's name."""

    device: Path
    disk: str

    def __str__(self) -> str:
        return str(self.device)


def find_usb_partitions(
    sys_root: Path = Path("/sys"), dev: Path = Path("/dev")
) -> list[UsbPartition]:
    """Every partition of a removable USB disk under ``sys_root``, by device name."""
    found: list[UsbPartition] = []
    block = sys_root / "block"
    if not block.is_dir():
        return found
    for disk in sorted(block.iterdir()):
        if not (_is_removable(disk) and _on_usb(disk.resolve())):
            continue
        parts = sorted(p.name for p in disk.iterdir() if (p / "partition").is_file())
        names = parts or ([disk.name] if _has_media(disk) else [])
        found += [UsbPartition(dev / name, disk.name) for name in names]
    return found


def the_usb_partition(sys_root: Path = Path("/sys"), dev: Path = Path("/dev")) -> UsbPartition:
    """The one USB partition plugged in; ``DataTransferError`` when none or several are."""
    found = find_usb_partitions(sys_root, dev)
    if not found:
        raise DataTransferError(
            "no USB stick found: plug one in (FAT32, exFAT or ext4) and run the command again, "
            "or give a folder with --to"
        )
    if len(found) > 1:
        listed = ", ".join(str(p) for p in found)
        raise DataTransferError(
            f"several USB partitions found ({listed}): leave only one stick with one partition "
            "plugged in, or mount the one you mean and give its folder with --to"
        )
    return found[0]


@contextlib.contextmanager
def mounted(partition: UsbPartition, mount_point: Path = MOUNT_POINT) -> Iterator[Path]:
    """Mount ``partition`` at ``mount_point`` for the block; sync and unmount after it.

    :raises DataTransferError: not root, or the partition cannot be mounted.
    """
    if os.geteuid() != 0:
        raise DataTransferError("mounting a USB stick needs root: run it with sudo")
    mount_point.mkdir(mode=0o700, parents=True, exist_ok=True)
    options = "nosuid,nodev,noexec"
    _run(["mount", "-t", _FILE_SYSTEMS, "-o", options, str(partition.device), str(mount_point)],
         f"cannot mount {partition} (FAT32, exFAT or ext4 are read)")  # fmt: skip
    try:
        yield mount_point
    finally:
        subprocess.run(["sync"], check=False)  # noqa: S607 - the system's own tool
        _run(["umount", str(mount_point)], f"cannot unmount {partition}; do not pull it yet")
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def _is_removable(disk: Path) -> bool:
    try:
        return (disk / "removable").read_text().strip() == "1"
    except OSError:
        return False


def _has_media(disk: Path) -> bool:
    try:
        return int((disk / "size").read_text().strip() or 0) > 0
    except (OSError, ValueError):
        return False


def _on_usb(device: Path) -> bool:
    """True when a folder above the device in sysfs is a USB device (``subsystem`` → usb)."""
    for folder in (device, *device.parents):
        link = folder / "subsystem"
        if link.is_symlink() and Path(os.readlink(link)).name == "usb":
            return True
    return False


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise DataTransferError(f"{what}: {command[0]} cannot be run ({exc})") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise DataTransferError(f"{what}: {said[-1] if said else f'exit {done.returncode}'}")
