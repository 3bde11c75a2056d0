"""The technician's console password: hashed by openssl, set as root's in /etc/shadow, kept."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from terminal.config.loader import parse_secrets
from terminal.errors import ConfigError
from terminal.system.provision import main as import_config
from terminal.system.technician import hash_password, root_password, verify_password

CONFIG = '[terminal]\nid = "SHOP1"\ntraining = true\nsecrets_file = "secrets.toml"\n'
PASSWORD = "correct-horse-9"
#: An image's /etc/shadow: root locked, the service's user without a password.
SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\npayterm:!:19000::::::\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A terminal's root with the image's /etc/shadow (0640) and an empty boot partition."""
    (tmp_path / "boot/firmware").mkdir(parents=True)
    (tmp_path / "etc/payterm").mkdir(parents=True)
    (tmp_path / "etc/shadow").write_text(SHADOW)
    (tmp_path / "etc/shadow").chmod(0o640)
    return tmp_path


def import_secrets(root: Path, secrets: str) -> int:
    """Put the config and ``secrets`` on the card and run the real import."""
    (root / "boot/firmware/payterm.toml").write_text(CONFIG)
    (root / "boot/firmware/payterm-secrets.toml").write_text(secrets)
    return import_config(["--root", str(root)])


def shadow_fields(root: Path, user: str = "root") -> list[str]:
    """``user``'s line of the root's /etc/shadow, split into its fields."""
    for line in (root / "etc/shadow").read_text().splitlines():
        if line.split(":")[0] == user:
            return line.split(":")
    raise AssertionError(f"no {user} in shadow")


def openssl_hash(password: str, salt: str) -> str:
    """The hash openssl itself makes of ``password`` with ``salt``, to check ours against."""
    result = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
        input=password, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return result.stdout.strip()


def test_the_password_becomes_root_s_hash_and_is_never_written(root: Path) -> None:
    assert import_secrets(root, f'[technician]\npassword = "{PASSWORD}"\n') == 0

    fields = shadow_fields(root)
    hashed = fields[1]
    assert hashed.startswith("$6$")
    assert openssl_hash(PASSWORD, hashed.split("$")[2]) == hashed  # the tool verifies it
    assert fields[2] != "0"  # no forced change of password at log-in
    assert fields[3:] == ["0", "99999", "7", "", "", ""]
    assert shadow_fields(root, "payterm") == ["payterm", "!", "19000", "", "", "", "", "", ""]
    assert (root / "etc/shadow").stat().st_mode & 0o777 == 0o640
    kept = root / "etc/payterm/technician.hash"
    assert kept.read_text() == f"{hashed}\n"
    assert kept.stat().st_mode & 0o777 == 0o600
    holders = [p for p in root.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert holders == []  # the card's secrets are wiped; the password is nowhere


def test_the_same_password_again_keeps_the_hash_and_shadow_as_they_are(root: Path) -> None:
    import_secrets(root, f'[technician]\npassword = "{PASSWORD}"\n')
    first = (root / "etc/shadow").read_text()
    os.utime(root / "etc/shadow", (1, 1))

    assert import_secrets(root, f'[technician]\npassword = "{PASSWORD}"\n') == 0

    assert (root / "etc/shadow").read_text() == first
    assert (root / "etc/shadow").stat().st_mtime == 1


def test_a_new_password_replaces_the_hash(root: Path) -> None:
    import_secrets(root, f'[technician]\npassword = "{PASSWORD}"\n')
    old = shadow_fields(root)[1]

    import_secrets(root, '[technician]\npassword = "another-one-42"\n')

    new = shadow_fields(root)[1]
    assert new != old
    assert verify_password("another-one-42", new)
    assert not verify_password(PASSWORD, new)


def test_secrets_without_the_password_lock_root_again(root: Path) -> None:
    import_secrets(root, f'[technician]\npassword = "{PASSWORD}"\n')

    assert import_secrets(root, '[supervisor]\npins = ["4321"]\n') == 0

    assert shadow_fields(root)[1] == "*"
    assert not (root / "etc/payterm/technician.hash").exists()


def test_a_config_alone_keeps_the_installed_password(root: Path) -> None:
    import_secrets(root, f'[technician]\npassword = "{PASSWORD}"\n')
    hashed = shadow_fields(root)[1]

    (root / "boot/firmware/payterm.toml").write_text(CONFIG.replace("SHOP1", "SHOP2"))
    assert import_config(["--root", str(root)]) == 0

    assert shadow_fields(root)[1] == hashed


def test_no_password_leaves_a_locked_root_untouched(root: Path) -> None:
    os.utime(root / "etc/shadow", (1, 1))

    assert import_secrets(root, '[supervisor]\npins = ["4321"]\n') == 0

    assert (root / "etc/shadow").read_text() == SHADOW
    assert (root / "etc/shadow").stat().st_mtime == 1


@pytest.mark.parametrize(
    ("password", "said"),
    [("short1234", "this one has 9 characters"), ("пароль-очень-длинный", "not ASCII"),
     ("tab\there-and-more", "printable ASCII")],
)  # fmt: skip
def test_an_unusable_password_is_refused_without_showing_it(password: str, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_secrets(f'[technician]\npassword = "{password}"\n'.encode(), source="s.toml")

    message = str(refused.value)
    assert "technician.password: must be 10 to 128 printable ASCII characters" in message
    assert said in message
    assert "to keep root locked, remove the line" in message
    assert password not in message


def test_a_refused_password_changes_nothing_on_the_terminal(root: Path) -> None:
    assert import_secrets(root, '[technician]\npassword = "short"\n') == 1

    assert (root / "etc/shadow").read_text() == SHADOW
    note = (root / "boot/firmware/payterm-config-error.txt").read_text()
    assert "technician.password" in note
    assert "short" not in note.replace("shortly", "")


def test_without_openssl_the_import_fails_and_is_tried_again(root: Path, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot be hashed"):
        hash_password(PASSWORD, openssl=str(tmp_path / "no-openssl"))


def test_root_s_field_is_read_from_shadow_text() -> None:
    assert root_password(SHADOW) == "*"
    assert root_password("daemon:*:1::::::\n") is None
