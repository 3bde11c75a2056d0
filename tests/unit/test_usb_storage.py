"""`payterm export --usb`: the one removable USB partition, found in a fake sysfs tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.system.data_archive import DataTransferError
from terminal.system.usb_storage import find_usb_partitions, the_usb_partition


def disk(sys_root: Path, name: str, *, usb: bool, removable: bool, parts: int = 1) -> None:
    """A block device under sys_root/devices, linked from sys_root/block, as the kernel has it."""
    bus = "usb1/1-1/1-1:1.0/host0/target0:0:0/0:0:0:0" if usb else "mmc_host/mmc0/mmc0:0001"
    device = sys_root / "devices/platform/soc" / bus / "block" / name
    device.mkdir(parents=True)
    (device / "removable").write_text("1\n" if removable else "0\n")
    (device / "size").write_text("7864320\n")
    for n in range(1, parts + 1):
        (device / f"{name}{n}").mkdir()
        (device / f"{name}{n}" / "partition").write_text(f"{n}\n")
    if usb:
        usb_device = sys_root / "devices/platform/soc/usb1/1-1"
        (sys_root / "bus/usb").mkdir(parents=True, exist_ok=True)
        link = usb_device / "subsystem"
        if not link.is_symlink():
            link.symlink_to("../../../../bus/usb")
    (sys_root / "block").mkdir(exist_ok=True)
    (sys_root / "block" / name).symlink_to(Path("..") / device.relative_to(sys_root))


def test_the_one_usb_stick_is_found_not_the_sd_card(tmp_path: Path) -> None:
    disk(tmp_path, "mmcblk0", usb=False, removable=False, parts=3)
    disk(tmp_path, "sda", usb=True, removable=True)
    found = the_usb_partition(tmp_path, Path("/dev"))
    assert str(found) == "/dev/sda1"
    assert found.disk == "sda"


def test_a_stick_without_a_partition_table_is_its_whole_disk(tmp_path: Path) -> None:
    disk(tmp_path, "sdb", usb=True, removable=True, parts=0)
    assert [str(p) for p in find_usb_partitions(tmp_path)] == ["/dev/sdb"]


def test_a_fixed_usb_disk_and_a_removable_card_reader_slot_are_not_sticks(tmp_path: Path) -> None:
    disk(tmp_path, "sda", usb=True, removable=False)  # a USB SSD
    disk(tmp_path, "mmcblk1", usb=False, removable=True)  # the Pi's own slot
    with pytest.raises(DataTransferError, match="no USB stick found: plug one in"):
        the_usb_partition(tmp_path)


def test_several_partitions_are_refused_by_name(tmp_path: Path) -> None:
    disk(tmp_path, "sda", usb=True, removable=True, parts=2)
    with pytest.raises(
        DataTransferError, match=r"several USB partitions found \(/dev/sda1, /dev/sda2\)"
    ):
        the_usb_partition(tmp_path)
