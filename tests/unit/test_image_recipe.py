"""The SD card image recipe, checked fast: its scripts, its assembly step, the boot test's parts.

The full build and the boot in qemu take a quarter of an hour and more (`make -C image
vm-test`, see README); these tests catch what breaks them without running them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import re
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
    IMAGE / "make-keys",
    IMAGE / "make-bundle",
    IMAGE / "files" / "root" / "usr" / "lib" / "payterm" / "grow-data",
    IMAGE / "files" / "root" / "usr" / "lib" / "payterm" / "reboot-tryboot",
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
    backend = IMAGE / "files" / "root" / "usr" / "lib" / "payterm" / "rauc-tryboot"
    for script in (IMAGE / "vm-test", IMAGE / "vm" / "guest.py", backend):
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
    # The root is slot A or B: the kernel's command line names it, read-only.
    assert "/" not in by_target
    cmdline = (IMAGE / "files/root/usr/lib/payterm/boot/cmdline.txt").read_text().split()
    assert "ro" in cmdline
    assert "rw" not in cmdline
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
    """A root file system with just what make-image reads: the boot files and the backend."""
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "hostname").write_text("payterm\n")
    shutil.copytree(IMAGE / "files" / "root" / "etc" / "rauc", rootfs / "etc" / "rauc")
    shutil.copytree(IMAGE / "files" / "root" / "usr" / "lib" / "payterm",
                    rootfs / "usr" / "lib" / "payterm")  # fmt: skip
    (rootfs / "boot").mkdir()
    (rootfs / "boot" / "vmlinuz-6.1.0-9-arm64").write_bytes(b"kernel")
    (rootfs / "boot" / "initrd.img-6.1.0-9-arm64").write_bytes(b"initrd")
    trees = rootfs / "usr" / "lib" / "linux-image-6.1.0-9-arm64" / "broadcom"
    trees.mkdir(parents=True)
    (trees / "bcm2711-rpi-4-b.dtb").write_bytes(b"dtb")
    (tmp_path / "rootfs.data" / "payterm").mkdir(parents=True)
    (tmp_path / "rootfs.boot").mkdir()
    (tmp_path / "rootfs.boot" / "start4.elf").write_bytes(b"firmware")
    return rootfs


def test_make_image_lays_out_boot_two_root_slots_and_data(
    tiny_rootfs: Path, tmp_path: Path
) -> None:
    _needs("mkfs.vfat", "mcopy", "mdir", "mtype", "mkfs.ext4", "sfdisk", "debugfs", "bmaptool")
    image = tmp_path / "payterm.img"
    env = {**os.environ, "PAYTERM_BOOT_MIB": "40", "PAYTERM_DATA_MIB": "8",
           "PAYTERM_SLOT_MIB": "72"}  # fmt: skip
    subprocess.run([str(IMAGE / "make-image"), str(tiny_rootfs), str(image)], env=env,
                   check=True, capture_output=True)  # fmt: skip
    table = json.loads(
        subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, check=True).stdout
    )["partitiontable"]
    assert table["label"] == "dos"
    assert table["id"] == "0x7061796d"  # the roots are PARTUUID=7061796d-02 and -03
    boot, root_a, root_b, data = table["partitions"]
    assert (boot["type"], boot.get("bootable")) == ("c", True)
    assert boot["start"] == 4 * 2048  # 4 MiB aligned for SD erase blocks
    assert root_a["start"] == boot["start"] + boot["size"]
    assert root_b["start"] == root_a["start"] + root_a["size"]
    assert root_b["size"] == root_a["size"] == 72 * 2048
    assert data["start"] == root_b["start"] + root_b["size"]
    assert data["size"] == 8 * 2048  # grown to fill the card at the first boot

    fat = f"{image}@@{boot['start'] * 512}"
    listing = subprocess.run(["mdir", "-b", "-s", "-i", fat, "::/"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    for name in ("config.txt", "start4.elf", "slot-a/vmlinuz", "slot-a/initrd.img",
                 "slot-a/cmdline.txt", "slot-a/bcm2711-rpi-4-b.dtb"):  # fmt: skip
        assert f"::/{name}" in listing
    assert "::/tryboot.txt" not in listing
    config = subprocess.run(["mtype", "-i", fat, "::/config.txt"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "os_prefix=slot-a/" in config
    cmdline = subprocess.run(["mtype", "-i", fat, "::/slot-a/cmdline.txt"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "root=PARTUUID=7061796d-02" in cmdline.split()
    for part, label, wanted in ((root_a, "PAYTERM_ROOT", "/etc/hostname"),
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
    # Slot B is empty on a new card: the bmap leaves it out, so writing the card skips it.
    bmap = (tmp_path / "payterm.img.bmap").read_text()
    assert "<BlockMap>" in bmap
    mapped = re.findall(r"<Range[^>]*>\s*(\d+)(?:-(\d+))?\s*</Range>", bmap)
    assert mapped
    b_first = root_b["start"] * 512 // 4096
    b_last = (root_b["start"] + root_b["size"]) * 512 // 4096 - 1
    for first, last in mapped:
        assert int(last or first) < b_first or int(first) > b_last, (first, last)
