"""How an import run ends: its result, what it leaves on the card, and what the screen shows.

A good import marks the card's config imported and wipes its secrets; a rejected or
failed one leaves ``payterm-config-error.txt`` on the card, and every run that leaves the
terminal without a good configuration writes the one line the terminal shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import os
from pathlib import Path

from terminal.system.provision_files import fsync_dir, make_dirs
from terminal.system.provision_layout import BOOT_CONFIG, BOOT_SECRETS, ERROR_FILE, Layout

__all__ = [
    "ImportResult",
    "Outcome",
    "clear_card",
    "fail",
    "reject",
    "tell_terminal",
    "tell_ssh",
]

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    """What an import run did."""

    IMPORTED = "imported"  # a new configuration is installed
    NOTHING = "nothing to do"  # no file on the card; the installed configuration stays
    REJECTED = "rejected"  # the file on the card is invalid; the previous one stays
    FAILED = "failed"  # valid, but could not be installed (disk full, read-only); retried later
    MISSING = "missing"  # no file on the card and none installed: the terminal has no config


@dataclasses.dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome of one import run and the message for the log, the screen and the card."""

    outcome: Outcome
    message: str

    @property
    def exit_code(self) -> int:
        """0 when the terminal has a good configuration in force as intended, else 1."""
        return 0 if self.outcome in (Outcome.IMPORTED, Outcome.NOTHING) else 1


def clear_card(layout: Layout, card_config: Path, card_secrets: Path) -> None:
    """Mark the card's config imported, wipe and remove its secrets, drop an old error file.

    The terminal's files are installed already: a failure here is logged, not undone (the
    next start imports the same file again, which changes nothing).
    """
    try:
        if card_config.exists():
            os.replace(card_config, card_config.with_name(BOOT_CONFIG + ".imported"))
        if card_secrets.exists():
            _wipe(card_secrets)
        (layout.boot / ERROR_FILE).unlink(missing_ok=True)
        fsync_dir(layout.boot)
    except OSError as exc:
        log.error("installed, but the card's files could not be renamed or removed: %s", exc)


def _wipe(path: Path) -> None:
    """Overwrite a secret on the FAT partition with zeros before removing it."""
    with contextlib.suppress(OSError), path.open("r+b") as file:
        file.write(bytes(path.stat().st_size))
        file.flush()
        os.fsync(file.fileno())
    path.unlink()
    log.info("%s removed from the card", path.name)


def reject(layout: Layout, error: str, *, dry_run: bool) -> ImportResult:
    """Leave the terminal as it is; rename the card's files and say why, on card and screen."""
    error = " ".join(error.split())
    previous = layout.config.exists()
    stays = (
        "the previous configuration stays in force"
        if previous
        else "the terminal has no configuration and cannot take payments"
    )
    log.error("configuration rejected, %s: %s", stays, error)
    if dry_run:
        return ImportResult(Outcome.REJECTED, error)
    renamed = []
    for name in (BOOT_CONFIG, BOOT_SECRETS):
        path = layout.boot / name
        try:
            if path.exists():
                os.replace(path, path.with_name(name + ".rejected"))
                renamed.append(f"{name} to {name}.rejected")
        except OSError as exc:
            log.error("could not rename %s on the card: %s", path, exc)
    lines = [
        f"payterm did not install {BOOT_CONFIG} from this card:",
        "",
        error,
        "",
        f"Nothing on the terminal was changed: {stays}.",
    ]
    if renamed:
        lines.append(f"This card's files were renamed: {', '.join(renamed)}.")
    lines.append(f"Correct the file, name it {BOOT_CONFIG} again and restart the terminal.")
    _write_card_note(layout, lines)
    tell_terminal(layout, error)
    return ImportResult(Outcome.REJECTED, error)


def fail(layout: Layout, exc: OSError, *, dry_run: bool) -> ImportResult:
    """The files could not be read or installed: nothing changed, the card's files stay put.

    The next start tries again.
    """
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    message = (
        f"{BOOT_CONFIG} could not be installed: {reason}{where}; nothing on the terminal was "
        "changed and the import is tried again at the next start"
    )
    log.error("%s", message)
    if not dry_run:
        lines = [message, "", "Check the terminal's storage (free space, SD card), then restart."]
        _write_card_note(layout, lines)
        tell_terminal(layout, message)
    return ImportResult(Outcome.FAILED, message)


def _write_card_note(layout: Layout, lines: list[str]) -> None:
    """Write payterm-config-error.txt on the card (Windows line ends: it is read on a PC)."""
    try:
        note = layout.boot / ERROR_FILE
        note.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
        fsync_dir(layout.boot)
    except OSError as exc:
        log.error("could not write %s on the card: %s", ERROR_FILE, exc)


def tell_terminal(layout: Layout, message: str) -> None:
    """Write the one-line message the terminal shows on its screen."""
    _write_screen_note(layout.run_error, message)


def tell_ssh(layout: Layout, problem: str | None) -> None:
    """Say on the screen and on the card what is wrong with the card's ``ssh`` file.

    None: nothing is wrong, and the screen's earlier word about it is removed. The card's
    note gets the problem added once (it may already hold a configuration refusal).
    """
    if problem is None:
        with contextlib.suppress(OSError):
            layout.run_ssh_error.unlink(missing_ok=True)
        return
    _write_screen_note(layout.run_ssh_error, problem)
    note = layout.boot / ERROR_FILE
    try:
        old = note.read_bytes().decode("utf-8", errors="replace") if note.is_file() else ""
    except OSError:
        old = ""
    if problem not in old:
        lines = [old.rstrip("\r\n"), ""] if old.strip() else []
        _write_card_note(layout, [*lines, problem])


def _write_screen_note(path: Path, message: str) -> None:
    """Write one line for the terminal's screen, readable by the ``payterm`` user."""
    try:
        make_dirs(path.parent)
        path.write_text(" ".join(message.split()) + "\n", encoding="utf-8")
        path.chmod(0o644)
    except OSError as exc:
        log.error("could not write %s: %s", path, exc)
