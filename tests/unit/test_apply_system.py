"""``payterm apply-system``: a root new from an update gets the installed settings back, once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from terminal.system.apply_system import apply_system
from terminal.system.host_settings import RunningHost, wpa_psk
from terminal.system.technician import hash_password, verify_password

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd/payterm-system.service"
INSTALLED = """\
[terminal]
id = "SHOP1"
training = true
secrets_file = "/etc/payterm/secrets.toml"

[system]
hostname = "shop1-till2"
wifi_country = "RU"
wifi_ssid = "Shop WiFi"
"""
PASSWORD = "correct-horse-9"
IMAGE_SHADOW = "root:*:19000:0:99999:7:::\npayterm:!:19000::::::\n"


@pytest.fixture(scope="module")
def technician_hash() -> str:
    """The hash an earlier import kept (made once: openssl takes a moment)."""
    return hash_password(PASSWORD)


@pytest.fixture
def root(tmp_path: Path, technician_hash: str) -> Path:
    """A new root slot with the image's defaults, and the data partition's /etc/payterm."""
    root = tmp_path / "root"
    etc = root / "etc"
    (etc / "payterm").mkdir(parents=True)
    (etc / "hostname").write_text("payterm\n")
    (etc / "hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tpayterm\n")
    (etc / "shadow").write_text(IMAGE_SHADOW)
    (etc / "shadow").chmod(0o640)
    (etc / "payterm/payterm.toml").write_text(INSTALLED)
    (etc / "payterm/secrets.toml").write_text('[wifi]\npsk = "shop password"\n')
    (etc / "payterm/secrets.toml").chmod(0o640)
    (etc / "payterm/technician.hash").write_text(f"{technician_hash}\n")
    (etc / "payterm/technician.hash").chmod(0o600)
    return root


@pytest.fixture
def running(tmp_path: Path, root: Path) -> tuple[RunningHost, Path]:
    """The running terminal's host over a read-only root, with a stand-in ``mount`` that logs."""
    log = tmp_path / "mount.log"
    mount = tmp_path / "mount"
    mount.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    mount.chmod(0o755)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"25 1 179:2 / {root} ro,relatime shared:1 - ext4 /dev/mmcblk0p2 ro\n")
    return RunningHost(mountinfo, mount=str(mount)), log


def mtimes(root: Path) -> dict[str, float]:
    return {
        str(path.relative_to(root)): path.lstat().st_mtime
        for path in root.rglob("*")
        if not path.is_dir()
    }


def test_a_new_root_gets_the_host_name_wifi_and_root_password_back(
    root: Path, technician_hash: str
) -> None:
    applied = apply_system(root)

    assert applied.exit_code == 0
    assert applied.changed == 6  # hostname, hosts, wpa conf, network file, wpa link, shadow
    etc = root / "etc"
    assert (etc / "hostname").read_text() == "shop1-till2\n"
    assert "127.0.1.1\tshop1-till2" in (etc / "hosts").read_text()
    wpa = (etc / "wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
    assert f"psk={wpa_psk('shop password', 'Shop WiFi')}" in wpa
    assert "shop password" not in wpa
    assert "Name=wlan0" in (etc / "systemd/network/30-wlan0.network").read_text()
    link = etc / "systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service"
    assert os.readlink(link) == "/lib/systemd/system/wpa_supplicant@.service"
    shadow_root = (etc / "shadow").read_text().splitlines()[0].split(":")
    assert shadow_root[1] == technician_hash
    assert verify_password(PASSWORD, shadow_root[1])
    assert (etc / "shadow").read_text().splitlines()[1] == "payterm:!:19000::::::"


def test_a_root_that_already_matches_is_not_written_nor_remounted(
    root: Path, running: tuple[RunningHost, Path]
) -> None:
    apply_system(root)
    for path in root.rglob("*"):
        if not path.is_dir():
            os.utime(path, (1, 1), follow_symlinks=False)
    before = mtimes(root)
    host, mount_log = running

    applied = apply_system(root, host=host)

    assert applied.changed == 0
    assert applied.exit_code == 0
    assert mtimes(root) == before
    assert not mount_log.exists()  # mount was never called


def test_a_differing_root_is_remounted_read_write_for_the_write_only(
    root: Path, running: tuple[RunningHost, Path]
) -> None:
    (root / "etc/payterm/payterm.toml").write_text(
        '[terminal]\ntraining = true\nsecrets_file = "/etc/payterm/secrets.toml"\n'
    )
    host, mount_log = running

    applied = apply_system(root, host=host)

    assert applied.changed == 1  # root's password alone (no host name, Wi-Fi off already)
    assert mount_log.read_text() == f"-o remount,rw {root}\n-o remount,ro {root}\n"


def test_without_a_kept_hash_a_password_set_earlier_is_locked(root: Path) -> None:
    (root / "etc/shadow").write_text(IMAGE_SHADOW.replace("root:*:", "root:$6$ab$cd:"))
    (root / "etc/payterm/technician.hash").unlink()

    apply_system(root)

    assert (root / "etc/shadow").read_text().startswith("root:*:")


def test_a_config_the_new_software_refuses_still_gets_root_s_password(
    root: Path, technician_hash: str
) -> None:
    (root / "etc/payterm/payterm.toml").write_text("[terminal]\nno_such_key = 1\n")

    applied = apply_system(root)

    assert applied.exit_code == 1
    assert "terminal.no_such_key" in applied.problem
    assert (root / "etc/shadow").read_text().startswith(f"root:{technician_hash}:")
    assert (root / "etc/hostname").read_text() == "payterm\n"


def test_without_an_installed_configuration_nothing_happens(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()

    assert apply_system(tmp_path).changed == 0


def test_the_command_runs_on_a_root_folder(root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "apply-system", "--root", str(root)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert (root / "etc/hostname").read_text() == "shop1-till2\n"


def test_the_unit_runs_at_every_boot_before_the_import_and_the_terminal() -> None:
    text = UNIT.read_text()

    assert "Type=oneshot" in text
    assert "ExecStart=/opt/payterm/venv/bin/payterm apply-system\n" in text
    assert "RequiresMountsFor=/data /etc/payterm" in text
    assert "Before=payterm-import.service payterm.service" in text
    assert "After=local-fs.target" in text
    assert "SuccessExitStatus=1" in text
    assert "WantedBy=multi-user.target" in text
    assert "After=payterm-system.service" in (REPO / "systemd/payterm-import.service").read_text()
