"""The SD card image recipe, checked fast: its scripts, its assembly step, the boot test's parts.

The full build and the boot in qemu take a quarter of an hour and more (`make -C image
vm-test`, see README); these tests catch what breaks them without running them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from terminal.config.loader import load_config

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
SHELL_SCRIPTS = [
    IMAGE / "build-base",
    IMAGE / "build-rootfs",
    IMAGE / "build-vm-rootfs",
    IMAGE / "make-image",
    *sorted((REPO / "scripts").glob("*[!.py]")),
    REPO / ".ci" / "run",
]


def _needs(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"not installed here: {', '.join(missing)}")


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_scripts_pass_shellcheck(script: Path) -> None:
    _needs("shellcheck")
    result = subprocess.run(
        ["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_the_python_scripts_compile(tmp_path: Path) -> None:
    for script in (IMAGE / "vm-test", IMAGE / "vm" / "guest.py"):
        compiled = tmp_path / f"{script.name}.pyc"
        written = py_compile.compile(str(script), doraise=True, cfile=str(compiled))
        assert written == str(compiled)
        assert compiled.stat().st_size > 0


def test_package_list_has_each_package_once_and_the_kernel() -> None:
    lines = (IMAGE / "packages.list").read_text(encoding="utf-8").splitlines()
    packages = [line for line in lines if line and not line.startswith("#")]
    assert len(packages) == len(set(packages))
    assert {"linux-image-arm64", "raspi-firmware", "python3-evdev", "systemd"} <= set(packages)


def test_the_boot_tests_config_is_valid_and_uses_the_real_input_parts() -> None:
    config = load_config(IMAGE / "vm" / "payterm.toml")
    assert config.terminal.hardware == "pi"
    assert config.scanner.device == "/dev/payterm/scanner"
    assert config.keypad.device == "/dev/payterm/keypad"
    assert config.providers["sandbox"].url == "http://127.0.0.1:8765"


def test_fstab_keeps_root_read_only_and_binds_the_writable_parts_from_data() -> None:
    rows = [
        line.split()
        for line in (IMAGE / "files" / "fstab").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    by_target = {row[1]: row for row in rows}
    assert "ro" in by_target["/"][3].split(",")
    for target in ("/var/lib/payterm", "/etc/payterm", "/var/lib/systemd", "/var/log"):
        source, _, kind, options = by_target[target][:4]
        assert source.startswith("/data/")
        assert kind == "none"
        assert "bind" in options.split(",")


def _guest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vm_guest", IMAGE / "vm" / "guest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_virtual_devices_type_every_character_of_the_tests_codes() -> None:
    pytest.importorskip("evdev")
    from evdev import ecodes

    guest = _guest()
    assert guest._code("7", keypad=True) == (False, ecodes.KEY_KP7)
    assert guest._code("enter", keypad=True) == (False, ecodes.KEY_KPENTER)
    assert guest._code("7", keypad=False) == (False, ecodes.KEY_7)
    assert guest._code("A", keypad=False) == (True, ecodes.KEY_A)
    assert guest._code(":", keypad=False) == (True, ecodes.KEY_SEMICOLON)


# --- the assembly step, on a tiny root file system ------------------------------------------


@pytest.fixture
def tiny_rootfs(tmp_path: Path) -> Path:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "hostname").write_text("payterm\n")
    (tmp_path / "rootfs.data" / "payterm").mkdir(parents=True)
    (tmp_path / "rootfs.boot").mkdir()
    (tmp_path / "rootfs.boot" / "config.txt").write_text("dtparam=i2c_arm=on\n")
    return rootfs


def test_make_image_lays_out_boot_root_and_data(tiny_rootfs: Path, tmp_path: Path) -> None:
    _needs("mkfs.vfat", "mcopy", "mdir", "mkfs.ext4", "sfdisk", "debugfs")
    image = tmp_path / "payterm.img"
    env = {**os.environ, "PAYTERM_BOOT_MIB": "40", "PAYTERM_DATA_MIB": "8"}
    subprocess.run([str(IMAGE / "make-image"), str(tiny_rootfs), str(image)], env=env,
                   check=True, capture_output=True)  # fmt: skip
    table = json.loads(
        subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, check=True).stdout
    )["partitiontable"]
    assert table["label"] == "dos"
    boot, root, data = table["partitions"]
    assert (boot["type"], boot.get("bootable")) == ("c", True)
    assert boot["start"] == 4 * 2048  # 4 MiB aligned for SD erase blocks
    assert root["start"] == boot["start"] + boot["size"]
    assert data["start"] == root["start"] + root["size"]
    assert data["size"] == 8 * 2048

    listing = subprocess.run(
        ["mdir", "-b", "-i", f"{image}@@{boot['start'] * 512}", "::/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "::/config.txt" in listing
    for part, label, wanted in ((root, "PAYTERM_ROOT", "/etc/hostname"),
                                (data, "PAYTERM_DATA", "/payterm")):  # fmt: skip
        piece = tmp_path / f"{label}.img"
        with image.open("rb") as whole, piece.open("wb") as out:
            whole.seek(part["start"] * 512)
            out.write(whole.read(part["size"] * 512))
        stats = subprocess.run(["debugfs", "-R", f"stat {wanted}", str(piece)],
                               capture_output=True, text=True, check=True)  # fmt: skip
        assert "Inode:" in stats.stdout, stats.stderr
        label_out = subprocess.run(["debugfs", "-R", "stats", str(piece)],
                                   capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert f"Filesystem volume name:   {label}" in label_out
