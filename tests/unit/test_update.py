"""`payterm update`: fake `rauc` (RAUC 1.8's output) and `systemctl` on PATH; real `rauc info`."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from terminal.system import rauc
from terminal.system.update import RESULT_FILE, confirm, install_bundle, install_from_card, main

FAKE_RAUC = r'''#!PYTHON
"""A stand-in for RAUC 1.8's `rauc` CLI; its slots are kept in $FAKE_RAUC_STATE."""
import json, os, sys
path = os.environ["FAKE_RAUC_STATE"]
state = json.load(open(path))
args = sys.argv[1:]
state["calls"].append(" ".join(args))
def save():
    json.dump(state, open(path, "w"))
def slot_of(bootname):
    return next(n for n, s in state["slots"].items() if s["bootname"] == bootname)
if args[:1] == ["info"]:
    save()
    sys.stderr.write("rauc-Message: 10:00:00.000: Reading bundle: %s\n" % args[-1])
    text = open(args[-1]).read()
    if not text.startswith("SIGNED\n"):
        sys.stderr.write("signature verification failed: Verify error: self-signed certificate\n")
        sys.exit(1)
    manifest = json.loads(text.split("\n", 1)[1])
    print(json.dumps({"compatible": manifest["compatible"], "version": manifest["version"],
                      "description": None, "build": None, "hooks": [], "images": []}))
elif args[:1] == ["install"]:
    manifest = json.loads(open(args[1]).read().split("\n", 1)[1])
    steps = ((0, "Installing"), (40, "Copying image to rootfs.1"), (100, "Installing done."))
    for pct, what in steps:
        print("%3d%% %s" % (pct, what), flush=True)
    if manifest.get("broken_write"):
        print("LastError: Failed to write image", flush=True)
        print("Installing `%s` failed" % args[1], flush=True)
        save(); sys.exit(1)
    other = next(n for n, s in state["slots"].items() if s["bootname"] != state["booted"])
    state["slots"][other]["version"] = manifest["version"]
    state["slots"][other]["broken"] = bool(manifest.get("broken_boot"))
    print("Installing `%s` succeeded" % args[1])
    save()
elif args[:2] == ["status", "--detailed"]:
    save()
    slots = []
    for name, s in sorted(state["slots"].items()):
        booted = s["bootname"] == state["booted"]
        slots.append({name: {"class": "rootfs", "device": "/dev/mmcblk0p" + name[-1],
            "type": "ext4",
            "bootname": s["bootname"], "state": "booted" if booted else "inactive",
            "parent": None, "mountpoint": "/" if booted else None, "boot_status": s["good"],
            "slot_status": {"bundle": {"compatible": "payterm-rpi-arm64", "version": s["version"]},
                            "installed": {"timestamp": "2026-03-02T10:00:00Z", "count": 1},
                            "status": "ok"}}})
    print(json.dumps({"compatible": state["compatible"], "variant": "", "booted": state["booted"],
                      "boot_primary": state["primary"], "slots": slots}))
elif args[:1] == ["status"] and args[1] in ("mark-good", "mark-bad") and args[2] == "booted":
    name = slot_of(state["booted"])
    good = args[1] == "mark-good"
    state["slots"][name]["good"] = "good" if good else "bad"
    if good:
        state["primary"] = name
    save()
    print("rauc status: marked slot %s as %s" % (name, "good" if good else "bad"))
else:
    sys.stderr.write("fake rauc: unknown arguments %r\n" % args)
    sys.exit(2)
'''

FAKE_SYSTEMCTL = r'''#!PYTHON
"""A stand-in for systemctl: is-active reads $FAKE_RAUC_STATE's "service", reboot boots primary."""
import json, os, sys
path = os.environ["FAKE_RAUC_STATE"]
state = json.load(open(path))
args = sys.argv[1:]
state["calls"].append("systemctl " + " ".join(args))
if args[:1] == ["is-active"]:
    state["polls"] += 1
    up = state["service"] if state["polls"] >= state["ready_after_polls"] else "activating"
    slot = next(s for s in state["slots"].values() if s["bootname"] == state["booted"])
    print("failed" if slot.get("broken") else up)
elif args[:1] == ["show"]:
    state["polls"] += 1
    up = state["service"] if state["polls"] >= state["ready_after_polls"] else "activating"
    slot = next(s for s in state["slots"].values() if s["bootname"] == state["booted"])
    print("ActiveState=" + ("failed" if slot.get("broken") else up))
    print("StatusText=" + state.get("status_text", "ready"))
elif args[:1] == ["reboot"]:
    state["booted"] = state["slots"][state["primary"]]["bootname"]
json.dump(state, open(path, "w"))
'''

TRYBOOT = r'''#!PYTHON
"""A stand-in for /usr/lib/payterm/reboot-tryboot: the next boot is the other slot, once."""
import json, os
path = os.environ["FAKE_RAUC_STATE"]
state = json.load(open(path))
state["calls"].append("reboot-tryboot")
state["booted"] = "B" if state["booted"] == "A" else "A"
json.dump(state, open(path, "w"))
'''


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The fakes on PATH, two slots (A booted and primary, version 1.0), and the state file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = shutil.which("python3") or "/usr/bin/python3"
    for name, text in (("rauc", FAKE_RAUC), ("systemctl", FAKE_SYSTEMCTL), ("tryboot", TRYBOOT)):
        script = bin_dir / name
        script.write_text(text.replace("PYTHON", python))
        script.chmod(0o755)
    state = {
        "compatible": "payterm-rpi-arm64", "booted": "A", "primary": "rootfs.0",
        "slots": {"rootfs.0": {"bootname": "A", "good": "good", "version": "1.0"},
                  "rootfs.1": {"bootname": "B", "good": "good", "version": "0.9"}},
        "calls": [], "service": "active", "polls": 0, "ready_after_polls": 2,
    }  # fmt: skip
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    monkeypatch.setenv("FAKE_RAUC_STATE", str(state_file))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    boot = tmp_path / "boot"
    boot.mkdir()
    return {"state": state_file, "tryboot": bin_dir / "tryboot", "boot": boot, "tmp": tmp_path}


def read_state(system: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(system["state"].read_text()))


def bundle(
    folder: Path, name: str = "payterm-2.0.raucb", *, signed: bool = True, **kw: Any
) -> Path:
    manifest = {"compatible": "payterm-rpi-arm64", "version": "2.0", **kw}
    path = folder / name
    path.write_text(("SIGNED\n" if signed else "") + json.dumps(manifest))
    return path


def test_update_installs_shows_progress_and_tries_it_once(system: dict[str, Any]) -> None:
    out = io.StringIO()
    line = install_bundle(bundle(system["tmp"]), reboot=True, out=out,
                          reboot_tryboot=system["tryboot"])  # fmt: skip
    assert " 40% Copying image to rootfs.1" in out.getvalue()
    assert line == "version 2.0 installed in the other slot; rebooting to try it once"
    state = read_state(system)
    assert state["calls"][0].startswith("info --output-format=json")
    assert state["booted"] == "B"
    assert state["primary"] == "rootfs.0"  # only a trial until confirmed
    assert (
        confirm(60, out=out, sleep=lambda _: None)
        == "rootfs.1 (2.0) reached READY: kept as the running version"
    )
    state = read_state(system)
    assert state["primary"] == "rootfs.1"
    assert "status mark-good booted" in state["calls"]


def test_a_broken_update_falls_back_to_the_previous_version(system: dict[str, Any]) -> None:
    out = io.StringIO()
    install_bundle(bundle(system["tmp"], broken_boot=True), reboot=True, out=out,
                   reboot_tryboot=system["tryboot"])  # fmt: skip
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    line = confirm(10, out=out, sleep=sleep, monotonic=lambda: clock[0])
    assert line == "rootfs.1 marked bad; rebooting into the previous version"
    state = read_state(system)
    assert state["slots"]["rootfs.1"]["good"] == "bad"
    assert "systemctl reboot" in state["calls"]
    assert state["booted"] == "A"  # the firmware booted the previous slot
    assert state["primary"] == "rootfs.0"
    assert "did not reach READY within 10 s" in out.getvalue()


def test_a_version_that_cannot_use_the_config_is_not_kept(system: dict[str, Any]) -> None:
    out = io.StringIO()
    install_bundle(bundle(system["tmp"]), reboot=True, out=out, reboot_tryboot=system["tryboot"])
    state = read_state(system)
    state["status_text"] = "no usable configuration: payterm.toml: display.adress: unknown key"
    system["state"].write_text(json.dumps(state))
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    line = confirm(10, out=out, sleep=sleep, monotonic=lambda: clock[0])
    assert line == "rootfs.1 marked bad; rebooting into the previous version"
    assert read_state(system)["slots"]["rootfs.1"]["good"] == "bad"


def test_confirm_outside_a_trial_boot_does_nothing(system: dict[str, Any]) -> None:
    assert confirm(60, out=io.StringIO()) == "not a trial boot: nothing to confirm"
    assert not any(
        call.startswith(("status mark", "systemctl")) for call in read_state(system)["calls"]
    )


def test_unsigned_and_incompatible_bundles_are_refused(system: dict[str, Any]) -> None:
    with pytest.raises(
        rauc.UpdateError, match="not a bundle signed by this image's key.*self-signed"
    ):
        install_bundle(bundle(system["tmp"], signed=False), reboot=True, out=io.StringIO())
    with pytest.raises(
        rauc.UpdateError, match="it is for 'payterm-x86' and this terminal is 'payterm-rpi-arm64'"
    ):
        install_bundle(
            bundle(system["tmp"], compatible="payterm-x86"), reboot=True, out=io.StringIO()
        )
    assert not any(call.startswith("install") for call in read_state(system)["calls"])


def test_a_failed_installation_says_raucs_words(system: dict[str, Any]) -> None:
    with pytest.raises(
        rauc.UpdateError, match="the installation failed: rauc says: Installing .* failed"
    ):
        install_bundle(bundle(system["tmp"], broken_write=True), reboot=True, out=io.StringIO())


def test_from_card_installs_and_leaves_the_result_on_the_card(system: dict[str, Any]) -> None:
    boot = system["boot"]
    bundle(boot)
    line = install_from_card(boot, out=io.StringIO(), reboot_tryboot=system["tryboot"])
    assert line == "version 2.0 installed in the other slot; rebooting to try it once"
    assert sorted(p.name for p in boot.iterdir()) == ["payterm-2.0.raucb.installed", RESULT_FILE]
    note = (boot / RESULT_FILE).read_bytes()
    assert b"\r\n" in note
    assert b"payterm-2.0.raucb: version 2.0 installed in the other slot." in note
    assert read_state(system)["booted"] == "B"


def test_from_card_rejects_a_bad_bundle_and_keeps_the_version(system: dict[str, Any]) -> None:
    boot = system["boot"]
    bundle(boot, signed=False)
    with pytest.raises(rauc.UpdateError, match="payterm-2.0.raucb: refused"):
        install_from_card(boot, out=io.StringIO(), reboot_tryboot=system["tryboot"])
    assert sorted(p.name for p in boot.iterdir()) == ["payterm-2.0.raucb.rejected", RESULT_FILE]
    assert "the terminal runs the version it had" in (boot / RESULT_FILE).read_text()
    assert read_state(system)["booted"] == "A"


def test_from_card_refuses_several_bundles(system: dict[str, Any]) -> None:
    boot = system["boot"]
    bundle(boot, "a.raucb")
    bundle(boot, "b.raucb")
    err = io.StringIO()
    assert main(["--from-card", "--boot-dir", str(boot)], out=io.StringIO(), err=err) == 2
    assert (
        "several update bundles on the card (a.raucb, b.raucb); nothing was installed"
        in err.getvalue()
    )
    assert sorted(p.name for p in boot.iterdir()) == ["a.raucb", "b.raucb", RESULT_FILE]


def test_update_without_the_tryboot_script_says_reboot(system: dict[str, Any]) -> None:
    out = io.StringIO()
    assert main([str(bundle(system["tmp"]))], out=out, err=io.StringIO()) == 0
    assert out.getvalue().endswith("installed in the other slot; reboot to try the new version\n")


def test_status_in_words(system: dict[str, Any]) -> None:
    out = io.StringIO()
    assert main(["--status"], out=out, err=io.StringIO()) == 0
    assert out.getvalue().splitlines() == [
        "booted: rootfs.0 (bootname A); primary: rootfs.0",
        "rootfs.0 (A): booted, boot status good; version 1.0, installed 2026-03-02T10:00:00Z",
        "rootfs.1 (B): inactive, boot status good; version 0.9, installed 2026-03-02T10:00:00Z",
    ]


def test_a_missing_rauc_is_said_in_words(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    err = io.StringIO()
    assert main(["--status"], out=io.StringIO(), err=err) == 2
    assert "rauc cannot be run" in err.getvalue()


# -- the real rauc (Debian's 1.8): a bundle signed with a throw-away key ------------------


@pytest.fixture
def real_rauc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keyring, a system.conf naming it, and `rauc` on PATH reading that system.conf."""
    if shutil.which("rauc", path="/usr/bin:/usr/sbin") is None or shutil.which("openssl") is None:
        pytest.skip("rauc or openssl is not installed here")
    for who in ("image", "stranger"):
        key, cert = tmp_path / f"{who}.key", tmp_path / f"{who}.pem"
        command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                   "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={who}"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
    conf = tmp_path / "system.conf"
    conf.write_text(
        textwrap.dedent(f"""\
        [system]
        compatible=payterm-rpi-arm64
        bootloader=noop

        [keyring]
        path={tmp_path / "image.pem"}

        [slot.rootfs.0]
        device={tmp_path / "slot0"}
        bootname=A
        """)
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "rauc").write_text(f'#!/bin/sh\nexec /usr/bin/rauc --conf={conf} "$@"\n')
    (bin_dir / "rauc").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def real_bundle(folder: Path, signer: str) -> Path:
    content = folder / f"content-{signer}"
    content.mkdir()
    (content / "rootfs.img").write_bytes(os.urandom(20000))
    (content / "manifest.raucm").write_text(
        "[update]\ncompatible=payterm-rpi-arm64\nversion=2.0\n\n[bundle]\nformat=verity\n\n"
        "[image.rootfs]\nfilename=rootfs.img\n"
    )
    out = folder / f"{signer}.raucb"
    done = subprocess.run(["/usr/bin/rauc", "bundle", f"--cert={folder / f'{signer}.pem'}",
                           f"--key={folder / f'{signer}.key'}", str(content), str(out)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"rauc bundle does not work here: {done.stderr.strip()}")
    return out


def test_real_rauc_info_reads_a_bundle_signed_by_the_image_key(real_rauc: Path) -> None:
    info = rauc.bundle_info(real_bundle(real_rauc, "image"))
    assert info == rauc.BundleInfo("payterm-rpi-arm64", "2.0")


def test_real_rauc_info_refuses_a_bundle_signed_by_another_key(real_rauc: Path) -> None:
    with pytest.raises(
        rauc.UpdateError, match="not a bundle signed by this image's key.*signature"
    ):
        rauc.bundle_info(real_bundle(real_rauc, "stranger"))


def test_the_units_run_the_commands_the_image_enables() -> None:
    units = Path(__file__).parents[2] / "systemd"
    card = (units / "payterm-update-card.service").read_text()
    assert "ExecStart=/opt/payterm/venv/bin/payterm update --from-card\n" in card
    assert "ConditionPathExistsGlob=/boot/firmware/*.raucb\n" in card
    assert "Before=payterm.service" in card
    confirm_unit = (units / "payterm-update-confirm.service").read_text()
    assert "ExecStart=/opt/payterm/venv/bin/payterm update --confirm --within 300\n" in confirm_unit
    assert "After=payterm.service" in confirm_unit
