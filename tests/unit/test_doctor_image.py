"""The doctor on payterm's image and off it: the host's facts, fixes that fit, the disk."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hw.display.luma_wiring import Wiring, display_error
from terminal.config.model import Config, DisplayConfig, TerminalConfig
from terminal.doctor.image_fixes import fit_to_image, fits_the_image
from terminal.doctor.parts import failed_to_open
from terminal.doctor.probes import SystemProbes
from terminal.doctor.report import commissioning_slip
from terminal.doctor.results import CheckResult, Status
from terminal.doctor.runner import diagnose
from terminal.doctor.system import check_disk, disk_status
from terminal.system.image_info import ImageInfo
from terminal.system.netinfo import read_host_info
from tests.unit.test_netinfo import PI_KERNEL, fake_root

IMAGE = ImageInfo("payterm", "0.2.0", "20250301-ab12cd3")
MB = 1_000_000
DATA_PARTITION = 256 * 1024 * 1024  # the image's data partition: 268 MB


def _off_image_rows() -> list[CheckResult]:
    """What the doctor says on any Debian: errors as hw gives them, split into detail and fix."""
    no_bus = display_error(
        FileNotFoundError(2, "No such file"),
        Wiring("i2c", "/dev/i2c-1", address=0x3C),
        DisplayConfig(),
    )
    return [
        failed_to_open("display", no_bus, "check the display's wiring"),
        failed_to_open("buttons", ImportError("no lgpio", name="lgpio"), ""),
        CheckResult("buttons", Status.FAIL, "no GPIO library could be loaded (lgpio: not found)",
                    "on a Raspberry Pi install lgpio (pip install lgpio) into the venv"),
        CheckResult("printer", Status.FAIL, "libusb is missing", "apt install libusb-1.0-0"),
        CheckResult("nfc reader", Status.FAIL, "no PN532 answered on /dev/ttyAMA0",
                    "enable the serial port (raspi-config: serial hardware on)"),
        CheckResult("provider x tls", Status.FAIL, "certificate not accepted",
                    "the CA certificates are old (apt install ca-certificates)"),
    ]  # fmt: skip


def test_on_the_image_no_fix_names_a_tool_it_lacks() -> None:
    rows = _off_image_rows()
    assert not all(fits_the_image(f"{r.detail} {r.fix}") for r in rows)  # as they stand

    fitted = [fit_to_image(row, IMAGE) for row in rows]

    for row in fitted:
        assert fits_the_image(f"{row.detail} {row.fix}"), row
    display, backend, gpio, usb, serial, tls = fitted
    assert "dtparam=i2c_arm=on" in display.fix
    assert "/boot/firmware/config.txt" in display.fix
    assert "display.i2c_port" in display.fix
    assert "re-flash" in backend.fix
    assert gpio.fix.startswith("lgpio is part of the image")
    assert usb.fix.startswith("libusb is part of the image")
    assert "console=ttyS1" in serial.fix
    assert "newer image" in tls.fix
    assert display.detail == "/dev/i2c-1: no I²C bus /dev/i2c-1"


def test_off_the_image_the_fixes_stay_as_they_are() -> None:
    rows = _off_image_rows()

    assert [fit_to_image(row, None) for row in rows] == rows
    assert "raspi-config" in rows[0].fix


async def test_the_doctor_reports_host_addresses_wifi_and_the_image(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "root")
    (root / "etc").mkdir()
    (root / "etc/payterm-image").write_text(
        "NAME=payterm\nVERSION=0.2.0\nBUILD_ID=20250301-ab12cd3\n"
    )
    flag = tmp_path / "synchronized"
    flag.touch()
    probes = SystemProbes(
        timesync_flag=flag, timedatectl=None, disk_usage=lambda _p: (8000 * MB, 0, 4000 * MB),
        root=root, net_kernel=PI_KERNEL,
    )  # fmt: skip
    config = Config(terminal=TerminalConfig(data_dir=tmp_path / "data", training=True))

    results = {r.name: r for r in await diagnose(config, system=probes, print_slip=True)}

    assert results["host"].status is Status.PASS
    assert results["host"].detail.startswith("till-3: payterm ")
    assert results["host"].detail.endswith("image payterm 0.2.0 (20250301-ab12cd3)")
    assert results["network"].detail.startswith("eth0 192.168.1.20, wlan0 10.0.0.7, eth0 fe80::")
    assert results["wi-fi"].detail == 'wlan0 associated "Shop" -57 dBm'


async def test_no_address_is_a_warning_with_the_fix(tmp_path: Path) -> None:
    probes = SystemProbes(
        timedatectl=None, root=fake_root(tmp_path), net_kernel=type(PI_KERNEL)({}, {})
    )
    config = Config(terminal=TerminalConfig(data_dir=tmp_path / "data", training=True))

    network = {r.name: r for r in await diagnose(config, system=probes)}["network"]

    assert network.status is Status.WARN
    assert network.detail.startswith("no IPv4 address (only eth0 fe80::")
    assert "Ethernet cable" in network.fix


def test_the_commissioning_slip_says_how_to_reach_the_terminal(tmp_path: Path) -> None:
    host = read_host_info(fake_root(tmp_path), kernel=PI_KERNEL, version="0.2.0")
    wall = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    rows = [CheckResult("disk", Status.PASS, "200 MB free")]

    slip = commissioning_slip(
        rows, terminal_id="T0042", hardware="pi", wall=wall, host=host, image=IMAGE
    )
    plain = commissioning_slip(rows, terminal_id="T0042", hardware="pi", wall=wall)

    values: dict[str, list[str]] = {}
    label = ""
    for line in slip.lines:  # "label ....... value", or the label, then the value right-aligned
        if line.align == "right":
            values[label][-1] = f"{values[label][-1]} {line.text}".strip()
            continue
        label, _, value = line.text.partition(" ")
        values.setdefault(label, []).append(value.strip())
    assert all(len(line.text) <= 32 for line in slip.lines if not line.large)
    assert values["Host"] == ["till-3"]
    assert values["IP"][:2] == ["eth0 192.168.1.20", "wlan0 10.0.0.7"]
    assert len(values["IP"]) == 4  # and the two IPv6 addresses
    assert values["Wi-Fi"] == ['wlan0 associated "Shop" -57 dBm']
    assert values["Version"] == ["payterm 0.2.0"]
    assert values["Image"] == ["payterm 0.2.0 (20250301-ab12cd3)"]
    assert not any(line.text.startswith(("Host", "IP ")) for line in plain.lines)


@pytest.mark.parametrize(
    ("total", "free", "status"),
    [
        (DATA_PARTITION, 216 * MB, Status.PASS),  # a fresh data partition
        (DATA_PARTITION, 30 * MB, Status.PASS),  # above 10 % (26.8 MB)
        (DATA_PARTITION, 20 * MB, Status.WARN),
        (DATA_PARTITION, 9 * MB, Status.FAIL),
        (32_000 * MB, 2_000 * MB, Status.PASS),  # a large card: 10 % would be 3.2 GB ...
        (32_000 * MB, 150 * MB, Status.WARN),  # ... but the warning starts at 200 MB
        (32_000 * MB, 9 * MB, Status.FAIL),
        (50 * MB, 12 * MB, Status.PASS),  # a tiny file system: never warns above fail
        (50 * MB, 9 * MB, Status.FAIL),
    ],
)
def test_the_disk_warning_is_relative_to_the_file_systems_size(
    total: int, free: int, status: Status
) -> None:
    assert disk_status(total, free) is status


def test_the_disk_check_on_this_machines_temporary_folder(tmp_path: Path) -> None:
    total, _used, free = shutil.disk_usage(tmp_path)
    config = Config(terminal=TerminalConfig(data_dir=tmp_path))

    result = check_disk(config, SystemProbes())

    assert result.status is disk_status(total, free)
    assert str(tmp_path) in result.detail
