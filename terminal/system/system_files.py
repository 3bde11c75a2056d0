"""The root file system's share of a configuration: host name, Wi-Fi and root's password.

These files live on the root partition (systemd reads them before the data partition is
mounted), so a new root after an update starts without them. Both the import and
``payterm apply-system`` plan them here, from the configuration and the secrets in force
and the technician's password hash, and keep only what would really change a file.
"""

from __future__ import annotations

import dataclasses
import logging

from terminal.config.model import Config, Secrets
from terminal.system.host_settings import (
    WPA_UNIT_TARGET,
    Host,
    hosts_with,
    wlan_network,
    wpa_supplicant_conf,
)
from terminal.system.provision_files import Change, NewFile, NewLink, Removal, only_real
from terminal.system.provision_layout import Layout
from terminal.system.technician import technician_changes

__all__ = ["SystemChanges", "system_changes", "apply_live"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class SystemChanges:
    """The files to change, and what to tell the running system once they are written."""

    changes: tuple[Change, ...]
    hostname: str | None  # set live when it changed
    wifi: bool | None  # Wi-Fi files changed: True now on, False now off


def system_changes(
    layout: Layout, config: Config, secrets: Secrets, technician_hash: str | None
) -> SystemChanges:
    """Every file of the ``[system]`` table and root's password that differs from the root."""
    changes: list[Change] = []
    hostname = _hostname_changes(layout, config, changes)
    wifi = _wifi_changes(layout, config, secrets, changes)
    changes += technician_changes(layout, technician_hash)
    return SystemChanges(tuple(only_real(changes)), hostname, wifi)


def apply_live(planned: SystemChanges, host: Host) -> None:
    """Tell the running system what changed: the host name now, Wi-Fi restarted or stopped."""
    if planned.hostname is not None:
        host.set_hostname(planned.hostname)
    if planned.wifi is not None:
        host.wifi_changed(planned.wifi)


def _hostname_changes(layout: Layout, config: Config, changes: list[Change]) -> str | None:
    """Add /etc/hostname and /etc/hosts for ``system.hostname``; return it if it changed."""
    name = config.system.hostname
    if not name:
        return None
    hostname_file, hosts_file = (
        layout.on_terminal("/etc/hostname"),
        layout.on_terminal("/etc/hosts"),
    )
    hosts = (
        hosts_file.read_text(encoding="utf-8") if hosts_file.exists() else "127.0.0.1\tlocalhost\n"
    )
    changes.append(NewFile(hostname_file, f"{name}\n".encode()))
    changes.append(NewFile(hosts_file, hosts_with(hosts, name).encode("utf-8")))
    old = hostname_file.read_text(encoding="utf-8").strip() if hostname_file.exists() else ""
    return name if old != name else None


def _wifi_changes(
    layout: Layout, config: Config, secrets: Secrets, changes: list[Change]
) -> bool | None:
    """Add the Wi-Fi files (or their removal); return the new state if anything changed."""
    system = config.system
    if secrets.wifi_psk and not system.wifi_ssid:
        log.warning("a Wi-Fi passphrase is set but system.wifi_ssid is empty: no Wi-Fi")
    if system.wifi_ssid:
        conf = wpa_supplicant_conf(system.wifi_country, system.wifi_ssid, secrets.wifi_psk)
        wifi: list[Change] = [
            NewFile(layout.wpa_conf, conf.encode("utf-8"), mode=0o600),
            NewFile(layout.wlan_network, wlan_network().encode("utf-8")),
            NewLink(layout.wpa_enabled, WPA_UNIT_TARGET),
        ]
    else:
        paths = (layout.wpa_conf, layout.wlan_network, layout.wpa_enabled)
        wifi = [Removal(path) for path in paths]
    changes.extend(wifi)
    return bool(system.wifi_ssid) if only_real(wifi) else None
