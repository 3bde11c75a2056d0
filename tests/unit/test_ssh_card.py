"""The card's ``ssh`` file: keys read as sshd reads them; a file no one can log in with, refused."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from terminal.system.provision import main as import_config
from terminal.system.ssh_card import is_public_key, read_key_file

REPO = Path(__file__).resolve().parents[2]
SSH_DROP_IN = REPO / "image/files/root/etc/systemd/system/ssh.service.d/payterm.conf"
IMPORT_UNIT = REPO / "systemd/payterm-import.service"
NO_KEY = "SSH: the file ssh on the card holds no public key, so nobody could log in"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A real ed25519 key pair made by ssh-keygen: (public line, private key file text)."""
    folder = tmp_path_factory.mktemp("keys")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tech@pc", "-f",
         str(folder / "id_ed25519")],
        check=True, timeout=30,
    )  # fmt: skip
    return (folder / "id_ed25519.pub").read_text().strip(), (folder / "id_ed25519").read_text()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A terminal with an installed configuration (so only the ssh file is news)."""
    (tmp_path / "boot/firmware").mkdir(parents=True)
    (tmp_path / "etc/payterm").mkdir(parents=True)
    (tmp_path / "etc/payterm/payterm.toml").write_text("[terminal]\ntraining = true\n")
    return tmp_path


def put_ssh(root: Path, data: bytes, name: str = "ssh") -> Path:
    path = root / "boot/firmware" / name
    path.write_bytes(data)
    return path


def card_note(root: Path) -> bytes:
    return (root / "boot/firmware/payterm-config-error.txt").read_bytes()


def screen_note(root: Path) -> str:
    return (root / "run/payterm/ssh-error").read_text(encoding="utf-8")


def test_a_key_with_a_comment_is_accepted_and_left_in_place(
    root: Path, key_pair: tuple[str, str]
) -> None:
    public, _ = key_pair
    put_ssh(root, f"# the technician's laptop\n{public}\n".encode())

    assert import_config(["--root", str(root)]) == 0

    assert (root / "boot/firmware/ssh").read_text() == f"# the technician's laptop\n{public}\n"
    assert not (root / "boot/firmware/payterm-config-error.txt").exists()
    assert not (root / "run/payterm/ssh-error").exists()


def test_a_windows_file_with_bom_and_crlf_is_accepted_and_the_drop_in_cleans_it(
    root: Path, key_pair: tuple[str, str], tmp_path: Path
) -> None:
    public, _ = key_pair
    put_ssh(root, b"\xef\xbb\xbf" + f"{public}\r\nssh-ed25519 garbage\r\n".encode())

    assert import_config(["--root", str(root)]) == 0
    assert (root / "boot/firmware/ssh").exists()

    # The drop-in's own sed line, run on a copy as ssh.service runs it on authorized_keys.
    keys = tmp_path / "authorized_keys"
    keys.write_bytes((root / "boot/firmware/ssh").read_bytes())
    line = next(
        text for text in SSH_DROP_IN.read_text().splitlines()
        if text.startswith("ExecStartPre=/usr/bin/sed")
    )  # fmt: skip
    argv = shlex.split(line.partition("=")[2])
    assert argv[-1] == "/data/ssh/authorized_keys"
    subprocess.run([*argv[:-1], str(keys)], check=True, timeout=30)
    assert keys.read_bytes() == f"{public}\nssh-ed25519 garbage\n".encode()


@pytest.mark.parametrize(
    "data",
    [b"", b"\r\n\r\n", b"\xef\xbb\xbf\r\n", b"hello\n"],
    ids=["empty", "crlf", "bom", "text"],
)
def test_a_file_without_a_public_key_is_refused_on_the_card_and_the_screen(
    root: Path, data: bytes
) -> None:
    put_ssh(root, data)

    assert import_config(["--root", str(root)]) == 0  # the configuration is not at fault

    assert not (root / "boot/firmware/ssh").exists()  # so the SSH server stays off
    assert (root / "boot/firmware/ssh.rejected").read_bytes() == data
    note = card_note(root)
    assert NO_KEY.encode() in note
    assert b"name it ssh again, or delete it" in note
    assert note.endswith(b"\r\n")
    assert b"\n" not in note.replace(b"\r\n", b"")  # Windows line ends only
    assert screen_note(root).startswith(NO_KEY)
    assert screen_note(root).endswith("delete it\n")


def test_a_private_key_is_refused_and_copied_nowhere(root: Path, key_pair: tuple[str, str]) -> None:
    _, private = key_pair
    put_ssh(root, private.encode())

    assert import_config(["--root", str(root)]) == 0

    assert b"holds a PRIVATE key, which must never leave your computer" in card_note(root)
    assert "Delete ssh.rejected from the card" in screen_note(root)
    holders = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and b"PRIVATE KEY" in path.read_bytes()
    ]
    assert holders == ["boot/firmware/ssh.rejected"]


def test_putty_s_public_key_format_is_refused_saying_where_the_right_line_is(root: Path) -> None:
    put_ssh(root, b'---- BEGIN SSH2 PUBLIC KEY ----\r\nComment: "rsa-key"\r\nAAAAB3Nz\r\n')

    import_config(["--root", str(root)])

    assert "PuTTY's format" in screen_note(root)
    assert "Public key for pasting into OpenSSH authorized_keys file" in screen_note(root)


@pytest.mark.parametrize("name", ["ssh.txt", "ssh.pub", "id_ed25519.pub"])
def test_a_key_saved_under_another_name_is_told_to_be_renamed(
    root: Path, key_pair: tuple[str, str], name: str
) -> None:
    public, _ = key_pair
    put_ssh(root, f"{public}\n".encode(), name)

    import_config(["--root", str(root)])

    assert f"the card holds {name}, but SSH is turned on by a file named exactly ssh" in (
        screen_note(root)
    )
    assert (root / "boot/firmware" / name).exists()  # left for the technician to rename
    import_config(["--root", str(root)])  # a second start tells it once on the card
    assert card_note(root).count(b"SSH: the card holds") == 1


def test_a_fixed_file_clears_the_screen_s_word_about_ssh(
    root: Path, key_pair: tuple[str, str]
) -> None:
    public, _ = key_pair
    put_ssh(root, b"")
    import_config(["--root", str(root)])
    assert (root / "run/payterm/ssh-error").exists()

    put_ssh(root, f"{public}\n".encode())
    import_config(["--root", str(root)])

    assert not (root / "run/payterm/ssh-error").exists()


def test_a_config_refusal_and_an_ssh_problem_are_both_on_the_card(root: Path) -> None:
    (root / "boot/firmware/payterm.toml").write_text("[display]\naddress = '0x3C'\n")
    put_ssh(root, b"")

    assert import_config(["--root", str(root)]) == 1

    note = card_note(root).decode()
    assert "payterm.toml: display.address" in note
    assert NO_KEY in note
    assert "display.address" in (root / "run/payterm/config-error").read_text()


def test_key_lines_are_checked_as_sshd_does(key_pair: tuple[str, str]) -> None:
    public, _ = key_pair
    kind, blob, _comment = public.split()

    assert is_public_key(public)
    assert is_public_key(f'from="10.0.0.0/8",no-pty {public}')  # options before the key
    assert is_public_key(f"{kind} {blob}")  # no comment
    assert not is_public_key(f"ssh-rsa {blob}")  # the blob names its own type
    assert not is_public_key(f"{kind} {blob[:-8]}")  # cut short
    assert not is_public_key(f"ssh-dss {blob}")  # DSA is off in OpenSSH 9
    found = read_key_file(f"{public}\n\nnot a key\n".encode())
    assert found.keys == (public,)
    assert found.other_lines == (3,)


def test_the_import_unit_runs_for_an_ssh_file_and_before_the_ssh_server() -> None:
    text = IMPORT_UNIT.read_text()

    assert "ConditionPathExists=|/boot/firmware/ssh\n" in text
    assert "ConditionPathExists=|/boot/firmware/ssh.txt" in text
    assert "ConditionPathExistsGlob=|/boot/firmware/*.pub" in text
    assert "Before=payterm.service ssh.service" in text
    assert "After=payterm-import.service" in SSH_DROP_IN.read_text()


@pytest.mark.parametrize("kind", ["rsa", "ecdsa", "ed25519"])
def test_every_key_type_ssh_keygen_makes_is_a_public_key(tmp_path: Path, kind: str) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True,
                   timeout=60)  # fmt: skip

    assert is_public_key((tmp_path / "key.pub").read_text().strip())
    assert read_key_file(key.read_bytes()).private_key
