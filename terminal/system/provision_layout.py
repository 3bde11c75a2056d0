"""The files the configuration import reads and writes: on the card, and on the terminal."""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath

from terminal.system.host_settings import WIFI_INTERFACE

__all__ = [
    "BOOT_CONFIG",
    "BOOT_SECRETS",
    "ERROR_FILE",
    "INSTALL_DIR",
    "INSTALLED_SECRETS",
    "RUN_ERROR",
    "RUN_SSH_ERROR",
    "TECHNICIAN_HASH",
    "Layout",
]

#: The files the technician puts on the card's boot partition, and the note left beside them.
BOOT_CONFIG = "payterm.toml"
BOOT_SECRETS = "payterm-secrets.toml"
#: How payterm.service's status line starts while it waits for a configuration it can use
#: (read by `payterm update --confirm`: such a version is not kept).
WAITING_FOR_CONFIG = "no usable configuration"
ERROR_FILE = "payterm-config-error.txt"
#: Where the terminal reads its configuration (as seen on the terminal, not under ``root``).
INSTALL_DIR = PurePosixPath("/etc/payterm")
INSTALLED_SECRETS = INSTALL_DIR / "secrets.toml"
#: Root's console password hash, kept with the configuration to be set again after an update.
TECHNICIAN_HASH = INSTALL_DIR / "technician.hash"
#: One line, the message, for the terminal to show on its screen; absent when all is well.
RUN_ERROR = PurePosixPath("/run/payterm/config-error")
#: One line, what is wrong with the card's ``ssh`` file, for the screen; absent when nothing.
RUN_SSH_ERROR = PurePosixPath("/run/payterm/ssh-error")


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """Every file the import reads or writes, under ``root`` (``/`` on the terminal)."""

    root: Path
    boot: Path

    @classmethod
    def under(cls, root: Path, boot: Path | None = None) -> Layout:
        """The layout of ``root``; the boot partition is ``<root>/boot/firmware`` unless given."""
        return cls(root, boot if boot is not None else root / "boot/firmware")

    def on_terminal(self, path: PurePosixPath | str) -> Path:
        """The file the terminal knows as the absolute ``path``, under ``root``."""
        return self.root / PurePosixPath(path).relative_to("/")

    @property
    def config(self) -> Path:
        """The installed configuration, ``/etc/payterm/payterm.toml``."""
        return self.on_terminal(INSTALL_DIR / "payterm.toml")

    @property
    def secrets(self) -> Path:
        """The installed secrets file, ``/etc/payterm/secrets.toml``."""
        return self.on_terminal(INSTALLED_SECRETS)

    @property
    def technician_hash(self) -> Path:
        """Root's console password hash, ``/etc/payterm/technician.hash``."""
        return self.on_terminal(TECHNICIAN_HASH)

    @property
    def run_ssh_error(self) -> Path:
        """The card's ``ssh`` file's problem for the screen, ``/run/payterm/ssh-error``."""
        return self.on_terminal(RUN_SSH_ERROR)

    @property
    def run_error(self) -> Path:
        """The message file the terminal shows, ``/run/payterm/config-error``."""
        return self.on_terminal(RUN_ERROR)

    @property
    def wpa_conf(self) -> Path:
        """wpa_supplicant's configuration for wlan0."""
        return self.on_terminal(f"/etc/wpa_supplicant/wpa_supplicant-{WIFI_INTERFACE}.conf")

    @property
    def wlan_network(self) -> Path:
        """systemd-networkd's file for wlan0."""
        return self.on_terminal(f"/etc/systemd/network/30-{WIFI_INTERFACE}.network")

    @property
    def wpa_enabled(self) -> Path:
        """The link that enables ``wpa_supplicant@wlan0.service`` at start."""
        wants = "/etc/systemd/system/multi-user.target.wants"
        return self.on_terminal(f"{wants}/wpa_supplicant@{WIFI_INTERFACE}.service")
