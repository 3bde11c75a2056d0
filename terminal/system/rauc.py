"""The system's ``rauc`` command (RAUC 1.8), called and read; payterm never does RAUC's work.

``rauc info --output-format=json FILE`` checks a bundle's signature against the image's
keyring (``/etc/rauc/system.conf``) and says its compatible and version; ``rauc install``
writes it to the other slot, printing its progress (``" 40% Copying image"``);
``rauc status --detailed --output-format=json`` says which slot booted (its bootname), which
is primary, and each slot's state and bundle; ``rauc status mark-good|mark-bad booted``
settles a trial boot. Every failure becomes ``UpdateError`` with RAUC's own words.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from terminal.errors import TerminalError

__all__ = ["RAUC", "UpdateError", "BundleInfo", "Slot", "RaucStatus", "bundle_info",
           "install", "status", "mark"]  # fmt: skip

RAUC = "rauc"


class UpdateError(TerminalError):
    """An update was refused or failed; the message says why, in RAUC's words where it spoke."""


@dataclasses.dataclass(frozen=True, slots=True)
class BundleInfo:
    """What a verified bundle says of itself."""

    compatible: str
    version: str


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """One slot as ``rauc status`` tells it."""

    name: str
    bootname: str
    state: str  # "booted", "active" or "inactive"
    boot_status: str  # "good", "bad" or "" (not bootable)
    version: str  # the bundle installed in it, "" when none is recorded
    installed: str  # when, as RAUC recorded it


@dataclasses.dataclass(frozen=True, slots=True)
class RaucStatus:
    """The system's slots: which booted, which the bootloader takes first."""

    compatible: str
    booted: str  # the bootname of the booted slot ("A")
    primary: str  # the name of the primary slot ("rootfs.0"), "" when none
    slots: tuple[Slot, ...]

    @property
    def booted_slot(self) -> Slot | None:
        """The slot the system runs from."""
        for slot in self.slots:
            if slot.bootname == self.booted or slot.state == "booted":
                return slot
        return None

    @property
    def is_trial(self) -> bool:
        """True on a trial boot: the booted slot is not the one the bootloader takes first."""
        booted = self.booted_slot
        return booted is not None and bool(self.primary) and booted.name != self.primary


def bundle_info(bundle: Path) -> BundleInfo:
    """Verify ``bundle``'s signature with the image's keyring; its compatible and version.

    :raises UpdateError: not a bundle, damaged, or not signed by the image's key.
    """
    done = _run(["info", "--output-format=json", str(bundle)])
    if done.returncode != 0:
        raise UpdateError(
            f"{bundle}: refused, it is not a bundle signed by this image's key (or it is "
            f"damaged): rauc says: {_said(done)}"
        )
    data = _json(done.stdout, "rauc info")
    return BundleInfo(str(data.get("compatible") or ""), str(data.get("version") or ""))


def install(bundle: Path, on_line: Callable[[str], None]) -> None:
    """``rauc install``: each line of its progress to ``on_line``; raises when it fails."""
    try:
        process = subprocess.Popen(  # noqa: S603 - our own arguments
            [RAUC, "install", str(bundle)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    except OSError as exc:
        raise UpdateError(f"rauc cannot be run ({exc}); is this the terminal's image?") from exc
    lines: list[str] = []
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            on_line(lines[-1])
    if process.wait() != 0:
        last = next((line for line in reversed(lines) if line.strip()), "no message")
        raise UpdateError(f"{bundle}: the installation failed: rauc says: {last.strip()}")


def status() -> RaucStatus:
    """The slots as ``rauc status --detailed`` tells them."""
    done = _run(["status", "--detailed", "--output-format=json"])
    if done.returncode != 0:
        raise UpdateError(f"rauc cannot tell the slots' state: {_said(done)}")
    data = _json(done.stdout, "rauc status")
    slots = []
    for entry in data.get("slots") or []:
        for name, fields in dict(entry).items():
            bundle = ((fields.get("slot_status") or {}).get("bundle")) or {}
            installed = ((fields.get("slot_status") or {}).get("installed")) or {}
            slots.append(
                Slot(
                    name=str(name),
                    bootname=str(fields.get("bootname") or ""),
                    state=str(fields.get("state") or ""),
                    boot_status=str(fields.get("boot_status") or ""),
                    version=str(bundle.get("version") or ""),
                    installed=str(installed.get("timestamp") or ""),
                )
            )
    return RaucStatus(
        compatible=str(data.get("compatible") or ""),
        booted=str(data.get("booted") or ""),
        primary=str(data.get("boot_primary") or ""),
        slots=tuple(slots),
    )


def mark(good: bool) -> str:
    """``rauc status mark-good booted`` (or ``mark-bad``); RAUC's answer."""
    done = _run(["status", "mark-good" if good else "mark-bad", "booted"])
    if done.returncode != 0:
        raise UpdateError(f"rauc could not mark the booted slot: {_said(done)}")
    return _said(done)


def _run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 - our own arguments
            [RAUC, *arguments], capture_output=True, text=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpdateError(f"rauc cannot be run ({exc}); is this the terminal's image?") from exc


def _said(done: subprocess.CompletedProcess[str]) -> str:
    """RAUC's last words that are not its informational messages."""
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines()]
    lines = [line for line in lines if line and not line.startswith("rauc-Message")]
    return lines[-1] if lines else f"exit status {done.returncode}"


def _json(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UpdateError(f"{what} answered something that is not JSON: {text[:200]!r}") from exc
    if not isinstance(data, dict):
        raise UpdateError(f"{what} answered {type(data).__name__}, not an object")
    return data
