"""``payterm apply-system``: put the installed system settings back on the root file system.

After an A/B update the new root slot comes with the image's defaults: host name
``payterm``, no Wi-Fi, root locked. The configuration, its secrets and the technician's
password hash live on the data partition (``/etc/payterm``) and survive; at every start,
before the import and the terminal, ``payterm-system.service`` runs this to write the
``[system]`` table's host name and Wi-Fi and root's password into the root again. It
plans the same files as the import (``system_files``) and writes only when one differs:
a root that already matches is not remounted.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path, PurePosixPath

from terminal.config.loader import decode_toml, load_secrets, parse_config
from terminal.config.model import Config, Secrets
from terminal.errors import ConfigError
from terminal.system.host_settings import Host, RunningHost
from terminal.system.provision_files import install, only_real
from terminal.system.provision_layout import INSTALL_DIR, Layout
from terminal.system.system_files import SystemChanges, apply_live, system_changes
from terminal.system.technician import technician_changes, wanted_hash

__all__ = ["Applied", "apply_system"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Applied:
    """What one run did: how many files it changed, and the problem that stopped it, if any."""

    changed: int
    problem: str = ""

    @property
    def exit_code(self) -> int:
        """0 when the root matches the installed settings, 1 when something stood in the way."""
        return 1 if self.problem else 0


def apply_system(root: Path = Path("/"), *, host: Host | None = None) -> Applied:
    """Make the root's host name, Wi-Fi and root password those of the installed settings.

    ``host`` remounts and tells the running system; by default the real one when ``root``
    is ``/`` and nothing otherwise (tests, image builds). Never raises for a bad file.
    """
    layout = Layout.under(root)
    if host is None:
        host = RunningHost() if root == Path("/") else Host()
    if not layout.config.exists():
        log.info("no installed configuration: the image's defaults stay")
        return Applied(0)
    problem = ""
    try:
        planned = _planned(layout)
    except (ConfigError, OSError) as exc:
        problem = f"the installed configuration cannot be applied: {exc}"
        log.error("%s; only root's password is set", problem)
        try:
            changes = only_real(technician_changes(layout, wanted_hash(layout, None)))
        except OSError as error:
            log.error("root's password cannot be set: %s", error)
            return Applied(0, problem)
        planned = SystemChanges(tuple(changes), None, None)
    if not planned.changes:
        log.info("the root file system already has the installed settings; nothing written")
        return Applied(0, problem)
    try:
        with host.writable([layout.on_terminal("/etc")]):
            install(planned.changes)
    except OSError as exc:
        log.error("the installed settings could not be written: %s", exc)
        return Applied(0, str(exc))
    apply_live(planned, host)
    for change in planned.changes:
        log.info("applied %s", change.path)
    return Applied(len(planned.changes), problem)


def _planned(layout: Layout) -> SystemChanges:
    """The installed configuration and secrets, read and checked; their root files planned."""
    source = str(INSTALL_DIR / "payterm.toml")
    data = decode_toml(layout.config.read_bytes(), source=source)
    config = parse_config(data, source=source)
    return system_changes(layout, config, _secrets(layout, config), wanted_hash(layout, None))


def _secrets(layout: Layout, config: Config) -> Secrets:
    """The secrets file the installed configuration names (under ``root``), or none."""
    named = config.terminal.secrets_file
    if named is None:
        return Secrets()
    return load_secrets(layout.on_terminal(INSTALL_DIR / PurePosixPath(named)))
