"""The image's boot-slot backend (image/files/root/usr/lib/payterm/rauc-tryboot), as RAUC calls it.

The program runs as RAUC runs it, a separate process with command-line arguments, on a boot
partition and data folder in a temporary directory; the slots' root file systems are
folders laid out like the image's (kernel and initramfs in /boot, device trees where
Debian's kernel package puts them, the config.txt and cmdline.txt templates).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).parents[2] / "image/files/root/usr/lib/payterm/rauc-tryboot"
TEMPLATES = Path(__file__).parents[2] / "image/files/root/usr/lib/payterm/boot"
SYSTEM_CONF = Path(__file__).parents[2] / "image/files/root/etc/rauc/system.conf"


def make_root(folder: Path, kernel: str) -> Path:
    """A root file system folder with what the backend copies to the boot partition."""
    (folder / "boot").mkdir(parents=True)
    (folder / "boot" / f"vmlinuz-{kernel}").write_bytes(b"kernel " + kernel.encode())
    (folder / "boot" / f"initrd.img-{kernel}").write_bytes(b"initrd " + kernel.encode())
    trees = folder / f"usr/lib/linux-image-{kernel}/broadcom"
    trees.mkdir(parents=True)
    (trees / "bcm2837-rpi-zero-2-w.dtb").write_bytes(b"dtb " + kernel.encode())
    (trees / "bcm2711-rpi-4-b.dtb").write_bytes(b"dtb " + kernel.encode())
    templates = folder / "usr/lib/payterm/boot"
    templates.mkdir(parents=True)
    for name in ("config.txt", "cmdline.txt"):
        (templates / name).write_text((TEMPLATES / name).read_text())
    return folder


class Card:
    """A boot partition and data folder, and the backend run against them."""

    def __init__(self, tmp_path: Path) -> None:
        self.boot = tmp_path / "boot"
        self.boot.mkdir()
        self.state = tmp_path / "state"
        self.cmdline = tmp_path / "cmdline"
        self.cmdline.write_text("console=ttyS1,115200 rauc.slot=A ro\n")
        self.roots = {
            "A": make_root(tmp_path / "root-a", "6.1.0-1-arm64"),
            "B": make_root(tmp_path / "root-b", "6.1.0-2-arm64"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The backend's answer to ``args``."""
        env = dict(os.environ)
        env.update(
            PAYTERM_BOOT_DIR=str(self.boot),
            PAYTERM_RAUC_STATE_DIR=str(self.state),
            PAYTERM_RAUC_SYSTEM_CONF=str(SYSTEM_CONF),
            PAYTERM_PROC_CMDLINE=str(self.cmdline),
            PAYTERM_SLOT_ROOT_A=str(self.roots["A"]),
            PAYTERM_SLOT_ROOT_B=str(self.roots["B"]),
        )
        return subprocess.run(
            [sys.executable, str(BACKEND), *args], env=env, capture_output=True, text=True
        )

    def ok(self, *args: str) -> str:
        """Run ``args``; its output, failing the test when it fails."""
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def boot_into(self, slot: str) -> None:
        """The next boot's kernel command line says ``slot``."""
        self.cmdline.write_text(f"console=ttyS1,115200 rauc.slot={slot} ro\n")


@pytest.fixture
def card(tmp_path: Path) -> Card:
    """A card laid out as the image recipe lays it out: slot A installed and primary."""
    made = Card(tmp_path)
    made.ok("install-boot", "A", str(made.roots["A"]))
    made.ok("commit", "A")
    return made


def test_a_fresh_card_boots_slot_a_with_its_own_root(card: Card) -> None:
    config = (card.boot / "config.txt").read_text()
    cmdline = (card.boot / "slot-a" / "cmdline.txt").read_text()
    assert "os_prefix=slot-a/" in config
    assert "kernel=vmlinuz" in config
    assert "dtparam=i2c_arm_baudrate=400000" in config
    assert "root=PARTUUID=7061796d-02" in cmdline
    assert "rauc.slot=A" in cmdline
    assert " rw" not in f" {cmdline}"
    assert " ro " in f" {cmdline} "
    assert cmdline.count("\n") == 1  # the firmware reads one line
    assert (card.boot / "slot-a" / "vmlinuz").read_bytes() == b"kernel 6.1.0-1-arm64"
    assert (card.boot / "slot-a" / "bcm2837-rpi-zero-2-w.dtb").exists()
    assert card.ok("get-primary") == "A"
    assert not (card.boot / "tryboot.txt").exists()


def test_an_installed_slot_is_tried_once_and_config_txt_still_boots_the_old(card: Card) -> None:
    card.ok("set-state", "B", "bad")  # RAUC marks the target before it writes
    card.ok("set-primary", "B")
    tryboot = (card.boot / "tryboot.txt").read_text()
    assert "os_prefix=slot-b/" in tryboot
    assert "os_prefix=slot-a/" in (card.boot / "config.txt").read_text()
    assert card.ok("get-primary") == "A"
    assert "root=PARTUUID=7061796d-03" in (card.boot / "slot-b" / "cmdline.txt").read_text()
    assert (card.boot / "slot-b" / "initrd.img").read_bytes() == b"initrd 6.1.0-2-arm64"
    assert card.ok("get-state", "B") == "good"


def test_a_trial_slot_that_reached_ready_becomes_the_primary(card: Card) -> None:
    card.ok("set-primary", "B")
    card.boot_into("B")
    card.ok("set-state", "B", "good")  # rauc status mark-good booted
    assert "os_prefix=slot-b/" in (card.boot / "config.txt").read_text()
    assert not (card.boot / "tryboot.txt").exists()
    assert card.ok("get-primary") == "B"
    # The next update goes to A again, and A's old kernel is replaced by the new one.
    card.roots["A"] = card.roots["B"]
    card.run("set-primary", "A")
    assert card.ok("get-primary") == "B"
    assert "os_prefix=slot-a/" in (card.boot / "tryboot.txt").read_text()


def test_a_failed_trial_is_not_tried_again_and_the_old_slot_stays(card: Card) -> None:
    card.ok("set-primary", "B")
    card.boot_into("B")
    card.ok("set-state", "B", "bad")  # rauc status mark-bad booted, then a plain reboot
    assert not (card.boot / "tryboot.txt").exists()
    assert card.ok("get-primary") == "A"
    assert card.ok("get-state", "B") == "bad"
    assert card.ok("get-state", "A") == "good"


def test_good_on_a_slot_that_is_not_booted_changes_nothing(card: Card) -> None:
    card.ok("set-primary", "B")
    card.ok("set-state", "B", "good")  # still booted from A
    assert card.ok("get-primary") == "A"
    assert (card.boot / "tryboot.txt").exists()


def test_set_primary_on_the_running_primary_leaves_its_files_alone(card: Card) -> None:
    before = (card.boot / "slot-a" / "vmlinuz").stat().st_mtime_ns
    card.roots["A"] = card.roots["B"]  # would copy another kernel if it copied at all
    card.ok("set-primary", "A")
    assert (card.boot / "slot-a" / "vmlinuz").stat().st_mtime_ns == before
    assert (card.boot / "slot-a" / "vmlinuz").read_bytes() == b"kernel 6.1.0-1-arm64"


def test_a_root_without_a_kernel_is_refused_and_the_card_is_unchanged(card: Card) -> None:
    for kernel in (card.roots["B"] / "boot").glob("vmlinuz-*"):
        kernel.unlink()
    done = card.run("set-primary", "B")
    assert done.returncode == 1
    assert "has no /boot/vmlinuz-*" in done.stderr
    assert not (card.boot / "tryboot.txt").exists()
    assert not (card.boot / "slot-b").exists()
    assert card.ok("get-primary") == "A"


def test_unknown_slots_and_states_are_refused_in_words(card: Card) -> None:
    unknown = card.run("get-state", "C")
    assert unknown.returncode == 1
    assert "unknown slot 'C'" in unknown.stderr
    wrong = card.run("set-state", "A", "fine")
    assert wrong.returncode == 1
    assert "good or bad" in wrong.stderr
    assert card.run("frobnicate").returncode == 2


def test_a_card_whose_config_txt_names_no_slot_says_so(card: Card) -> None:
    (card.boot / "config.txt").write_text("arm_64bit=1\n")
    done = card.run("get-primary")
    assert done.returncode == 1
    assert "names no os_prefix" in done.stderr
