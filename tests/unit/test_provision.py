"""The boot-partition config import: install, reject, keep the previous, Wi-Fi and host name."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from terminal.config.loader import decode_toml, parse_config
from terminal.system.host_settings import (
    Host,
    RunningHost,
    hosts_with,
    mount_of,
    parse_mountinfo,
    wpa_psk,
    wpa_supplicant_conf,
)
from terminal.system.provision import import_config, main
from terminal.system.provision_files import TMP_SUFFIX
from terminal.system.provision_layout import ERROR_FILE
from terminal.system.provision_outcome import ImportResult, Outcome

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "payterm.example.toml"
UNIT = REPO / "systemd" / "payterm-import.service"

GOOD = """\
# The shop's till.
[terminal]
id = "SHOP1"
training = true
secrets_file = "secrets.toml"
"""
GOOD_SECRETS = '[supervisor]\npins = ["4321"]\n'
OLD = '[terminal]\nid = "OLD1"\ntraining = true\nsecrets_file = "/etc/payterm/secrets.toml"\n'
OLD_SECRETS = '[supervisor]\npins = ["1111"]\n'


class Recorder(Host):
    """A host that records what the import asked of the running system."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def set_hostname(self, name: str) -> None:
        self.calls.append(("hostname", name))

    def wifi_changed(self, enabled: bool) -> None:
        self.calls.append(("wifi", enabled))


class PowerCut(BaseException):
    """The process stops here, as on a power cut: nothing after it runs, nothing is cleaned."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A terminal's root folder: an image's /etc (host name, hosts) and an empty boot partition."""
    (tmp_path / "boot/firmware").mkdir(parents=True)
    (tmp_path / "etc/payterm").mkdir(parents=True)
    (tmp_path / "etc/hostname").write_text("payterm\n")
    (tmp_path / "etc/hosts").write_text(
        "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tpayterm\n"
    )
    return tmp_path


def card(root: Path, config: str | None = None, secrets: str | None = None) -> None:
    """Put files on the boot partition as a technician would (FAT shows them all 0755)."""
    boot = root / "boot/firmware"
    for name, text in (("payterm.toml", config), ("payterm-secrets.toml", secrets)):
        if text is not None:
            (boot / name).write_text(text, encoding="utf-8")
            (boot / name).chmod(0o755)


def installed(root: Path, name: str = "payterm.toml") -> str:
    return (root / "etc/payterm" / name).read_text(encoding="utf-8")


def previous_install(root: Path) -> None:
    """A terminal that imported OLD and OLD_SECRETS earlier."""
    for name, text in (("payterm.toml", OLD), ("secrets.toml", OLD_SECRETS)):
        path = root / "etc/payterm" / name
        path.write_text(text)
        path.chmod(0o640)


def run(root: Path, host: Host | None = None) -> ImportResult:
    return import_config(root, host=host or Recorder())


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


# --- A valid file is installed. ---


def test_valid_import_installs_both_files_private_and_clears_the_card(root: Path) -> None:
    card(root, GOOD, GOOD_SECRETS)
    result = run(root)
    assert result.outcome is Outcome.IMPORTED
    assert result.exit_code == 0
    assert installed(root) == GOOD  # named secrets.toml already: kept as written, comments too
    assert installed(root, "secrets.toml") == GOOD_SECRETS
    assert mode(root / "etc/payterm/payterm.toml") == 0o640
    assert mode(root / "etc/payterm/secrets.toml") == 0o640
    boot = root / "boot/firmware"
    assert sorted(p.name for p in boot.iterdir()) == ["payterm.toml.imported"]
    assert (boot / "payterm.toml.imported").read_text() == GOOD


def test_the_previous_config_and_secrets_are_kept(root: Path) -> None:
    previous_install(root)
    card(root, GOOD, GOOD_SECRETS)
    assert run(root).outcome is Outcome.IMPORTED
    assert installed(root) == GOOD
    assert installed(root, "payterm.toml.previous") == OLD
    assert installed(root, "secrets.toml.previous") == OLD_SECRETS
    assert mode(root / "etc/payterm/payterm.toml.previous") == 0o640


def test_installed_config_is_valid_where_it_is_installed(root: Path) -> None:
    card(root, GOOD, GOOD_SECRETS)
    run(root)
    config = parse_config(decode_toml(installed(root).encode(), source="x"), source="x")
    assert config.terminal.id == "SHOP1"


def test_secrets_file_is_named_by_the_import_when_the_config_does_not(root: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")  # every table, array of tables, comments
    text = text.replace("training = false", "training = true")  # its defaults are training ones
    card(root, text, GOOD_SECRETS)
    assert run(root).outcome is Outcome.IMPORTED
    data = tomllib.loads(installed(root))
    assert data["terminal"].pop("secrets_file") == "/etc/payterm/secrets.toml"
    assert data == tomllib.loads(text)


def test_a_secrets_file_of_an_earlier_import_stays_in_force(root: Path) -> None:
    previous_install(root)
    card(root, '[terminal]\ntraining = true\nid = "NEW1"\n')
    assert run(root).outcome is Outcome.IMPORTED
    assert tomllib.loads(installed(root))["terminal"] == {
        "id": "NEW1",
        "training": True,
        "secrets_file": "/etc/payterm/secrets.toml",
    }
    assert installed(root, "secrets.toml") == OLD_SECRETS


def test_kept_secrets_are_checked_against_the_new_config(root: Path) -> None:
    previous_install(root)
    card(root, "[supervisor]\npin_length = 6\n")
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "supervisor.pins[0]" in result.message
    assert installed(root) == OLD


def test_secrets_alone_go_with_the_installed_config(root: Path) -> None:
    previous_install(root)
    card(root, secrets='[supervisor]\npins = ["2222"]\n')
    assert run(root).outcome is Outcome.IMPORTED
    assert installed(root, "secrets.toml") == '[supervisor]\npins = ["2222"]\n'
    assert installed(root) == OLD
    assert not (root / "boot/firmware/payterm-secrets.toml").exists()


def test_dry_run_writes_nothing(root: Path) -> None:
    card(root, GOOD, GOOD_SECRETS)
    result = import_config(root, dry_run=True, host=Recorder())
    assert result.outcome is Outcome.IMPORTED
    assert not (root / "etc/payterm/payterm.toml").exists()
    assert (root / "boot/firmware/payterm-secrets.toml").exists()


# --- An invalid file changes nothing on the terminal. ---


def test_invalid_config_keeps_the_previous_one_and_says_which_key(root: Path) -> None:
    previous_install(root)
    card(root, '[display]\naddress = "0x3C"\n', GOOD_SECRETS)
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert result.exit_code == 1
    assert result.message.startswith("payterm.toml: display.address: ")
    assert installed(root) == OLD
    assert installed(root, "secrets.toml") == OLD_SECRETS
    assert not (root / "etc/payterm/payterm.toml.previous").exists()
    boot = root / "boot/firmware"
    assert sorted(p.name for p in boot.iterdir()) == [
        ERROR_FILE,
        "payterm-secrets.toml.rejected",
        "payterm.toml.rejected",
    ]
    note = (boot / ERROR_FILE).read_text(encoding="utf-8")
    assert "payterm.toml: display.address: expected a whole number" in note
    assert "previous configuration stays in force" in note
    screen = (root / "run/payterm/config-error").read_text(encoding="utf-8")
    assert screen == result.message + "\n"
    assert screen.count("\n") == 1


def test_invalid_config_is_logged_as_an_error(root: Path, caplog) -> None:
    card(root, "[terminal]\nid = 5\n")
    run(root)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("terminal.id" in message for message in errors)


def test_invalid_config_without_a_previous_one_says_there_is_none(root: Path) -> None:
    card(root, "[payment]\nqr_mode = 5\n")
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert not (root / "etc/payterm/payterm.toml").exists()
    assert "payment.qr_mode" in (root / "run/payterm/config-error").read_text()
    note = (root / "boot/firmware" / ERROR_FILE).read_text()
    assert "no configuration" in note


def test_toml_syntax_error_is_rejected_with_line_and_column(root: Path) -> None:
    card(root, "[terminal\nid = 1\n")
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "line 1" in result.message


def test_no_file_and_no_config_tells_the_terminal(root: Path) -> None:
    result = run(root)
    assert result.outcome is Outcome.MISSING
    assert result.exit_code == 1
    message = (root / "run/payterm/config-error").read_text()
    assert "put payterm.toml on the SD card" in message


def test_bad_wifi_passphrase_is_rejected_without_showing_it(root: Path) -> None:
    previous_install(root)
    config = '[system]\nwifi_country = "RU"\nwifi_ssid = "Shop"\n'
    card(root, config, '[wifi]\npsk = "short"\n')
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert result.message.startswith("payterm-secrets.toml: wifi.psk: ")
    assert "8 to 63" in result.message
    assert "short" not in result.message
    assert installed(root, "secrets.toml") == OLD_SECRETS
    assert not (root / "etc/wpa_supplicant").exists()


def test_relative_data_dir_is_refused(root: Path) -> None:
    card(root, '[terminal]\ntraining = true\ndata_dir = "state"\n')
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "terminal.data_dir" in result.message


@pytest.mark.parametrize(
    ("data_dir", "words"),
    [
        ("/srv/payterm", "must be /var/lib/payterm or a folder in it"),
        ("/var/lib", "must be /var/lib/payterm or a folder in it"),
        ("/var/lib/payterm/../../../proc", "must be /var/lib/payterm or a folder in it"),
        ("/var/lib/payterm\\u0000x", "NUL"),
    ],
)
def test_a_data_dir_the_service_cannot_write_is_refused(
    root: Path, data_dir: str, words: str
) -> None:
    card(root, f'[terminal]\ndata_dir = "{data_dir}"\n')
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "terminal.data_dir" in result.message
    assert words in result.message
    assert not (root / "etc/payterm/payterm.toml").exists()


def test_a_data_dir_that_is_a_file_on_the_terminal_is_refused(root: Path) -> None:
    (root / "var/lib").mkdir(parents=True)
    (root / "var/lib/payterm").write_text("not a folder")
    card(root, GOOD, GOOD_SECRETS)
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "terminal.data_dir: /var/lib/payterm is a file, not a folder" in result.message
    assert str(root) not in result.message  # the terminal's own path, not the build machine's


def test_a_data_dir_under_a_file_on_the_terminal_is_refused(root: Path) -> None:
    (root / "var").mkdir()
    (root / "var/lib").write_text("not a folder")
    card(root, '[terminal]\ndata_dir = "/var/lib/payterm/shop1"\n')
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "is under /var/lib, which is a file, not a folder" in result.message


def test_a_data_dir_not_made_yet_is_accepted_and_not_made(root: Path) -> None:
    card(root, '[terminal]\ntraining = true\ndata_dir = "/var/lib/payterm/shop1"\n')
    assert run(root).outcome is Outcome.IMPORTED
    assert not (root / "var/lib/payterm").exists()


def test_a_link_in_the_image_is_not_followed_into_the_build_machine(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("build-machine")
    (elsewhere / "payterm").write_text("a file on the build machine, not on the terminal")
    (root / "var").mkdir()
    (root / "var/lib").symlink_to(elsewhere)  # absolute: meant for the terminal's own /
    card(root, GOOD, GOOD_SECRETS)
    assert run(root).outcome is Outcome.IMPORTED


def test_secrets_named_but_absent_are_refused(root: Path) -> None:
    card(root, GOOD)
    result = run(root)
    assert result.outcome is Outcome.REJECTED
    assert "terminal.secrets_file" in result.message
    assert "payterm-secrets.toml" in result.message


# --- Host name and Wi-Fi. ---


WIFI = """\
[terminal]
training = true

[system]
hostname = "shop1-till2"
wifi_country = "RU"
wifi_ssid = "IEEE"
"""


def test_hostname_and_wifi_files_are_written(root: Path) -> None:
    host = Recorder()
    card(root, WIFI, '[wifi]\npsk = "password"\n')
    assert run(root, host).outcome is Outcome.IMPORTED
    etc = root / "etc"
    assert (etc / "hostname").read_text() == "shop1-till2\n"
    assert (etc / "hosts").read_text() == (
        "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tshop1-till2\n"
    )
    conf = etc / "wpa_supplicant/wpa_supplicant-wlan0.conf"
    assert mode(conf) == 0o600
    text = conf.read_text()
    assert "\ncountry=RU\n" in text
    assert '\tssid="IEEE"\n' in text
    # IEEE 802.11i-2004, annex H.4: passphrase "password", SSID "IEEE".
    assert "\tpsk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e\n" in text
    assert "password" not in text
    network = (etc / "systemd/network/30-wlan0.network").read_text()
    assert "Name=wlan0" in network
    assert "DHCP=yes" in network
    link = etc / "systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service"
    assert os.readlink(link) == "/lib/systemd/system/wpa_supplicant@.service"
    assert host.calls == [("hostname", "shop1-till2"), ("wifi", True)]


def test_psk_matches_wpa_passphrase() -> None:
    tool = shutil.which("wpa_passphrase")
    if tool is None:
        pytest.skip("wpa_passphrase is not installed (apt-get install wpasupplicant)")
    out = subprocess.run([tool, "Shop WiFi", "correct horse"], capture_output=True, text=True)
    expected = next(line.split("=", 1)[1] for line in out.stdout.splitlines() if "\tpsk=" in line)
    assert wpa_psk("correct horse", "Shop WiFi") == expected


def test_hex_key_open_network_and_non_ascii_ssid() -> None:
    key = "AB" * 32
    assert f"\tpsk={key.lower()}\n" in wpa_supplicant_conf("DE", "Cafe", key)
    open_network = wpa_supplicant_conf("DE", "Cafe", "")
    assert "\tkey_mgmt=NONE\n" in open_network
    assert "psk" not in open_network
    assert "\tssid=" + "Кафе".encode().hex() + "\n" in wpa_supplicant_conf("RU", "Кафе", "")


def test_hosts_line_is_added_when_missing_and_duplicates_go() -> None:
    assert hosts_with("127.0.0.1 localhost\n", "till") == "127.0.0.1 localhost\n127.0.1.1\ttill\n"
    two = "127.0.1.1 a\n10.0.0.1 printer\n127.0.1.1 b\n"
    assert hosts_with(two, "till") == "127.0.1.1\ttill\n10.0.0.1 printer\n"


def test_empty_ssid_turns_off_the_wifi_of_an_earlier_import(root: Path) -> None:
    card(root, WIFI, '[wifi]\npsk = "password"\n')
    run(root)
    host = Recorder()
    card(root, '[terminal]\ntraining = true\n[system]\nhostname = "shop1-till2"\n')
    assert run(root, host).outcome is Outcome.IMPORTED
    assert not (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").exists()
    assert not (root / "etc/systemd/network/30-wlan0.network").exists()
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert not os.path.lexists(wants / "wpa_supplicant@wlan0.service")
    assert host.calls == [("wifi", False)]  # the host name did not change


def test_empty_hostname_keeps_the_one_the_terminal_has(root: Path) -> None:
    host = Recorder()
    card(root, '[terminal]\ntraining = true\nid = "X1"\n')
    run(root, host)
    assert (root / "etc/hostname").read_text() == "payterm\n"
    assert host.calls == []


# --- Running again, and failures while writing. ---


def test_second_run_has_nothing_to_do(root: Path) -> None:
    card(root, GOOD, GOOD_SECRETS)
    run(root)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    result = run(root)
    assert result.outcome is Outcome.NOTHING
    assert result.exit_code == 0
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_full_disk_leaves_the_previous_config_untouched(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous_install(root)
    card(root, GOOD, GOOD_SECRETS)
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "payterm.toml":  # after secrets.toml was already replaced
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result = run(root)
    assert result.outcome is Outcome.FAILED
    assert result.exit_code == 1
    assert "No space left on device" in result.message
    assert installed(root) == OLD
    assert installed(root, "secrets.toml") == OLD_SECRETS
    assert sorted(p.name for p in (root / "etc/payterm").iterdir()) == [
        "payterm.toml",
        "secrets.toml",
    ]
    boot = root / "boot/firmware"
    assert (boot / "payterm.toml").exists()  # tried again at the next start
    assert (boot / "payterm-secrets.toml").exists()
    assert "could not be installed" in (boot / ERROR_FILE).read_text()
    monkeypatch.setattr(os, "replace", real_replace)
    assert run(root).outcome is Outcome.IMPORTED
    assert installed(root) == GOOD
    assert not (boot / ERROR_FILE).exists()


def test_read_only_config_folder_is_a_clear_failure(root: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; covered by the full-disk test")
    previous_install(root)
    card(root, GOOD, GOOD_SECRETS)
    folder = root / "etc/payterm"
    folder.chmod(0o555)
    try:
        result = run(root)
    finally:
        folder.chmod(0o755)
    assert result.outcome is Outcome.FAILED
    assert "Permission denied" in result.message
    assert installed(root) == OLD


def test_power_cut_mid_install_leaves_old_or_new_never_partial(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous_install(root)
    card(root, GOOD, GOOD_SECRETS)
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "payterm.toml":
            raise PowerCut
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PowerCut):
        run(root)
    monkeypatch.setattr(os, "replace", real_replace)
    assert installed(root) == OLD  # the new one is complete in a temporary file, not in place
    leftover = root / "etc/payterm" / f".payterm.toml{TMP_SUFFIX}"
    assert leftover.read_text() == GOOD
    assert (root / "boot/firmware/payterm.toml").exists()
    # The next start imports the same file again and cleans up.
    assert run(root).outcome is Outcome.IMPORTED
    assert installed(root) == GOOD
    assert installed(root, "secrets.toml") == GOOD_SECRETS
    assert not any(p.name.startswith(".") for p in (root / "etc/payterm").iterdir())


def test_partial_temporary_file_from_a_power_cut_is_ignored_then_removed(root: Path) -> None:
    previous_install(root)
    leftover = root / "etc/payterm" / f".payterm.toml{TMP_SUFFIX}"
    leftover.write_text('[terminal]\nid = "HAL')  # cut mid-write
    assert run(root).outcome is Outcome.NOTHING
    assert installed(root) == OLD
    card(root, GOOD, GOOD_SECRETS)
    assert run(root).outcome is Outcome.IMPORTED
    assert not leftover.exists()


# --- The running system. ---

MOUNTINFO = """\
22 1 179:2 / / ro,relatime shared:1 - ext4 /dev/mmcblk0p2 ro
24 22 179:1 / /boot/firmware rw,relatime shared:2 - vfat /dev/mmcblk0p1 rw,fmask=0177
25 22 179:3 / /var/lib/payterm\\040data rw,noatime shared:3 - ext4 /dev/mmcblk0p3 rw
26 22 0:21 / /run rw,nosuid shared:4 - tmpfs tmpfs rw
"""


def test_mountinfo_names_the_mount_of_each_path() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    root = mount_of(Path("/etc/payterm/payterm.toml"), mounts)
    assert root is not None
    assert (root.point, root.fstype, root.read_only) == (Path("/"), "ext4", True)
    boot = mount_of(Path("/boot/firmware/payterm.toml"), mounts)
    assert boot is not None
    assert (boot.point, boot.read_only) == (Path("/boot/firmware"), False)
    data = mount_of(Path("/var/lib/payterm data/journal.database"), mounts)
    assert data is not None
    assert data.point == Path("/var/lib/payterm data")


def test_an_overlay_root_is_refused_rather_than_written_and_lost(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text("30 1 0:30 / / rw,relatime - overlay overlay rw,lowerdir=/media/root-ro\n")
    with (
        pytest.raises(OSError, match="overlay"),
        RunningHost(info).writable([Path("/etc/payterm/payterm.toml")]),
    ):
        pass


def test_writable_does_nothing_to_file_systems_already_writable(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text("22 1 179:2 / / rw,relatime - ext4 /dev/root rw\n")
    entered = False
    with RunningHost(info).writable([Path("/etc/payterm/payterm.toml")]):
        entered = True
    assert entered


# --- The command and the unit. ---


def test_main_exit_codes(root: Path) -> None:
    card(root, "[terminal]\nid = 5\n")
    assert main(["--root", str(root)]) == 1
    card(root, GOOD, GOOD_SECRETS)
    assert main(["--root", str(root), "--dry-run"]) == 0
    assert (root / "boot/firmware/payterm.toml").exists()
    assert main(["--root", str(root)]) == 0
    assert main(["--root", str(root)]) == 0  # nothing to do


def test_runs_as_a_module_with_a_separate_boot_folder(tmp_path: Path) -> None:
    boot = tmp_path / "card"
    boot.mkdir()
    (boot / "payterm.toml").write_text('[terminal]\nid = "MOD1"\ntraining = true\n')
    result = subprocess.run(
        [sys.executable, "-m", "terminal.system.provision", "--root", str(tmp_path / "root"),
         "--boot", str(boot)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stderr
    assert (tmp_path / "root/etc/payterm/payterm.toml").read_text() == (
        '[terminal]\nid = "MOD1"\ntraining = true\n'
    )


def test_unit_never_blocks_the_terminal() -> None:
    text = UNIT.read_text()
    assert "Type=oneshot" in text
    assert "Before=payterm.service" in text
    assert "WantedBy=payterm.service" in text
    assert "RequiredBy" not in text
    assert "SuccessExitStatus=1" in text
    assert "ExecStart=/opt/payterm/venv/bin/payterm import-config" in text
    assert "ConditionPathExists=|!/etc/payterm/payterm.toml" in text
