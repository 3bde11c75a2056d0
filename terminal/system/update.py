"""``payterm update``: install a signed RAUC bundle, try it once, keep it only if it reaches READY.

- ``payterm update FILE``: ``rauc info`` first (the image's key, the image's compatible),
  then ``rauc install`` with its progress, then the trial reboot (``REBOOT_TRYBOOT``): the
  firmware boots the new slot once; a failed or reset trial boots the previous one.
- ``payterm update --from-card``: the one ``*.raucb`` on the boot partition, renamed
  ``.installing`` while it is installed, then ``.installed`` or ``.rejected``, with
  ``payterm-update-result.txt`` beside it saying what happened (run at boot by
  ``payterm-update-card.service``).
- ``payterm update --confirm``: on a trial boot, waits until ``payterm.service`` is active
  (READY), then ``rauc status mark-good booted``; not READY in time → ``mark-bad`` and a plain
  reboot, which boots the previous slot (run at boot by ``payterm-update-confirm.service``).
- ``payterm update --status``: the slots in words.

See docs/updates.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from terminal.errors import TerminalError
from terminal.system import rauc
from terminal.system.data_export import BOOT_DIR
from terminal.system.provision_files import fsync_dir
from terminal.system.provision_layout import WAITING_FOR_CONFIG

__all__ = ["REBOOT_TRYBOOT", "RESULT_FILE", "SERVICE", "install_bundle", "install_from_card",
           "confirm", "describe_status", "build_parser", "main"]  # fmt: skip

#: Reboots so that the firmware tries the newly installed slot once (made by the image).
REBOOT_TRYBOOT = Path("/usr/lib/payterm/reboot-tryboot")
RESULT_FILE = "payterm-update-result.txt"
SERVICE = "payterm.service"
BUNDLE_SUFFIX = ".raucb"
_POLL_S = 2.0  # how often --confirm asks systemd whether the terminal is READY


def install_bundle(
    bundle: Path, *, reboot: bool, out: TextIO, reboot_tryboot: Path = REBOOT_TRYBOOT
) -> str:
    """Check and install ``bundle``, then (``reboot``) try it; the line saying what was done.

    :raises UpdateError: refused (signature, compatible) or the installation failed.
    """
    if not bundle.is_file():
        raise rauc.UpdateError(f"{bundle}: no such file")
    info = rauc.bundle_info(bundle)
    system = rauc.status()
    if info.compatible != system.compatible:
        raise rauc.UpdateError(
            f"{bundle}: refused, it is for {info.compatible!r} and this terminal is "
            f"{system.compatible!r}: use a bundle built for this image (make -C image bundle)"
        )
    print(f"installing version {info.version or '?'} from {bundle}", file=out, flush=True)
    rauc.install(bundle, lambda line: print(line, file=out, flush=True))
    done = f"version {info.version or '?'} installed in the other slot"
    if not reboot:
        return f"{done}; reboot with {reboot_tryboot} to try it"
    return f"{done}; {_try_it(reboot_tryboot)}"


def install_from_card(
    boot: Path = BOOT_DIR, *, out: TextIO, reboot: bool = True,
    reboot_tryboot: Path = REBOOT_TRYBOOT,
) -> str:  # fmt: skip
    """Install the one bundle on the boot partition and leave the result beside it there."""
    bundles = sorted(p for p in boot.glob(f"*{BUNDLE_SUFFIX}") if p.is_file())
    if not bundles:
        raise rauc.UpdateError(f"{boot}: no *{BUNDLE_SUFFIX} update bundle on the card")
    if len(bundles) > 1:
        names = ", ".join(p.name for p in bundles)
        message = (
            f"several update bundles on the card ({names}); nothing was installed. Leave only "
            "the one to install and restart the terminal"
        )
        _result(boot, [message])
        raise rauc.UpdateError(message)
    bundle = bundles[0]
    installing = bundle.with_name(bundle.name + ".installing")
    os.replace(bundle, installing)
    fsync_dir(boot)
    try:
        line = install_bundle(installing, reboot=False, out=out, reboot_tryboot=reboot_tryboot)
    except rauc.UpdateError as exc:
        rejected = bundle.with_name(bundle.name + ".rejected")
        os.replace(installing, rejected)
        said = str(exc).replace(str(installing), bundle.name)
        _result(
            boot,
            [
                f"{bundle.name} was not installed:",
                "",
                said,
                "",
                f"It is renamed {rejected.name}; the terminal runs the version it had.",
            ],
        )
        raise rauc.UpdateError(said) from exc
    os.replace(installing, bundle.with_name(bundle.name + ".installed"))
    _result(
        boot,
        [
            f"{bundle.name}: {line.split(';')[0]}.",
            "",
            "The terminal now restarts into it once; if it does not reach READY within "
            "5 minutes it goes back to the version it had (payterm update --status).",
        ],
    )
    if not reboot:
        return line
    return f"{line.split(';')[0]}; {_try_it(reboot_tryboot)}"


def confirm(
    within_s: float,
    *,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> str:
    """Settle a trial boot: READY within ``within_s`` → mark good; else mark bad and reboot."""
    system = rauc.status()
    booted = system.booted_slot
    if not system.is_trial or booted is None:
        return "not a trial boot: nothing to confirm"
    deadline = monotonic() + within_s
    while True:
        if _is_ready(SERVICE):
            rauc.mark(good=True)
            version = booted.version or "?"
            return f"{booted.name} ({version}) reached READY: kept as the running version"
        if monotonic() >= deadline:
            break
        sleep(_POLL_S)
    rauc.mark(good=False)
    print(
        f"{booted.name} did not reach READY within {within_s:.0f} s: marked bad, rebooting "
        "into the previous version",
        file=out,
        flush=True,
    )
    subprocess.run(["systemctl", "reboot"], check=False)  # noqa: S607 - the system's own
    return f"{booted.name} marked bad; rebooting into the previous version"


def describe_status() -> list[str]:
    """The slots in words, one line each, after which slot booted and which is primary."""
    system = rauc.status()
    booted = system.booted_slot
    lines = [
        f"booted: {booted.name if booted else '?'} (bootname {system.booted or '?'}); "
        f"primary: {system.primary or 'none'}"
        + ("; this is a TRIAL boot, not yet confirmed" if system.is_trial else "")
    ]
    for slot in system.slots:
        version = f"version {slot.version}" if slot.version else "no version recorded"
        when = f", installed {slot.installed}" if slot.installed else ""
        health = f", boot status {slot.boot_status}" if slot.boot_status else ""
        lines.append(f"{slot.name} ({slot.bootname or '-'}): {slot.state}{health}; {version}{when}")
    return lines


def _try_it(reboot_tryboot: Path) -> str:
    if not reboot_tryboot.exists():
        return "reboot to try the new version"
    subprocess.run([str(reboot_tryboot)], check=False)  # noqa: S603 - the image's own script
    return "rebooting to try it once"


def _is_ready(unit: str) -> bool:
    """The terminal is up and working: active (READY sent) and not waiting for a config.

    A version that cannot read the installed configuration still gets "active" (it waits,
    saying why, instead of restarting in a loop); it must not be kept for that.
    """
    done = subprocess.run(  # noqa: S603
        ["systemctl", "show", "-p", "ActiveState", "-p", "StatusText", unit],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    shown = dict(line.partition("=")[::2] for line in done.stdout.splitlines())
    waiting = shown.get("StatusText", "").startswith(WAITING_FOR_CONFIG)
    return shown.get("ActiveState") == "active" and not waiting


def _result(boot: Path, lines: list[str]) -> None:
    """Write payterm-update-result.txt on the card (Windows line ends: it is read on a PC)."""
    with contextlib.suppress(OSError):
        (boot / RESULT_FILE).write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
        fsync_dir(boot)


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``payterm update``."""
    parser = argparse.ArgumentParser(
        prog="payterm update",
        description="Install a signed update bundle (RAUC) and try it once; see docs/updates.md.",
    )
    parser.add_argument("file", nargs="?", type=Path, help="the .raucb bundle to install")
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--from-card",
        action="store_true",
        help="install the one *.raucb on the boot partition (the boot does this)",
    )
    what.add_argument(
        "--confirm",
        action="store_true",
        help="on a trial boot: keep the new version once READY, else go back",
    )
    what.add_argument("--status", action="store_true", help="the slots and their versions")
    parser.add_argument("--no-reboot", action="store_true", help="install, do not reboot")
    parser.add_argument("--boot-dir", type=Path, default=BOOT_DIR, help="default %(default)s")
    parser.add_argument(
        "--within",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="--confirm: how long READY may take (default %(default)s)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """``payterm update``: 0 when done, 2 when refused or failed (the reason on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    modes = sum((args.file is not None, args.from_card, args.confirm, args.status))
    if modes != 1:
        parser.error("give a bundle FILE, or one of --from-card, --confirm, --status")
    try:
        if args.status:
            print("\n".join(describe_status()), file=out)
            return 0
        if args.confirm:
            line = confirm(args.within, out=out)
        elif args.from_card:
            line = install_from_card(args.boot_dir, out=out, reboot=not args.no_reboot)
        else:
            line = install_bundle(args.file, reboot=not args.no_reboot, out=out)
    except (TerminalError, OSError) as exc:
        print(f"payterm update: {exc}", file=err)
        return 2
    print(line, file=out)
    return 0
