"""`payterm export` and `payterm import-data`: journal and config off one card, onto another."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from terminal.journal import Journal
from terminal.journal.backup import backup_copy, journal_facts
from terminal.journal.marker import read_marker
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.system import data_export
from terminal.system.data_archive import DataTransferError
from terminal.system.data_export import export_data
from terminal.system.data_import import import_data
from terminal.system.data_import import main as import_main

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
S = PaymentState
TID = "T0001"
CONFIG = """[terminal]
id = "T0001"
hardware = "emulated"
training = true
data_dir = "/var/lib/payterm"
"""


def pay(journal: Journal, state: PaymentState = S.PAID) -> Payment:
    """A payment recorded through NEW and PENDING to ``state`` with the real journal API."""
    seq = journal.next_seq()
    p = Payment(
        order_id=f"{TID}-{journal.epoch}-{seq:06d}", seq=seq, shift=journal.current_shift(),
        flow="mpm", provider="sandbox", amount=Money(1000 + seq, "RUB"),
        created_wall=WALL.isoformat(),
    )  # fmt: skip
    for step in (p, p.with_state(S.PENDING, provider_ref=f"ref-{seq}")):
        journal.record(step, note="", mono=1.0, wall=WALL, wall_synced=True)
    final = p.with_state(state, provider_ref=f"ref-{seq}")
    journal.record(final, note="final", mono=2.0, wall=WALL, wall_synced=True)
    return final


@pytest.fixture
def card(tmp_path: Path) -> dict[str, Path]:
    """An old card: data dir with a journal (two shifts, payments, unsent outbox), config dir."""
    data, etc, boot = tmp_path / "old/data", tmp_path / "old/etc", tmp_path / "old/boot"
    for folder in (data, etc, boot):
        folder.mkdir(parents=True)
    with Journal.open(data / "journal.sqlite3", terminal_id=TID) as journal:
        pay(journal)
        pay(journal, S.FAILED)
        journal.close_shift(wall=WALL)
        pay(journal)
        sent = journal.outbox_pending(1)
        journal.mark_sent([item.id for item in sent], wall=WALL)
    (etc / "payterm.toml").write_text(CONFIG)
    (etc / "secrets.toml").write_text('supervisor_pins = ["987654"]\n')
    (etc / "technician.hash").write_text("$6$secret-technician-hash\n")
    (data / "api-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nsecret-tls-key\n")
    return {"data": data, "etc": etc, "boot": boot}


def export(card: dict[str, Path], now: datetime = NOW) -> Path:
    done = export_data(card["boot"], data_dir=card["data"], config_dir=card["etc"], now=now,
                       software_version="9.9")  # fmt: skip
    return done.path


def test_export_writes_manifest_members_and_no_secret(card: dict[str, Path]) -> None:
    path = export(card)
    assert path.name == "payterm-export-T0001-20260302T100005Z.tar"
    assert [p.name for p in card["boot"].iterdir()] == [path.name]  # no temporary left
    with tarfile.open(path) as tar:
        names = sorted(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names == ["journal.sqlite3", "journal.sqlite3.marker", "manifest.json", "payterm.toml"]
    assert manifest["format"] == 1
    assert manifest["terminal_id"] == TID
    assert manifest["software_version"] == "9.9"
    assert manifest["created_utc"] == "2026-03-02T10:00:05+00:00"
    assert manifest["journal"] == {"payments": 3, "last_number": 3, "outbox_unsent": 2}
    assert set(manifest["members"]) == {"journal.sqlite3", "journal.sqlite3.marker", "payterm.toml"}
    raw = path.read_bytes()
    for secret in (b"987654", b"secret-technician-hash", b"secret-tls-key"):
        assert secret not in raw


def test_import_into_empty_card_continues_numbering_and_outbox(
    card: dict[str, Path], tmp_path: Path
) -> None:
    path = export(card)
    new_data, new_etc = tmp_path / "new/data", tmp_path / "new/etc"
    done = import_data(path, data_dir=new_data, config_dir=new_etc, now=NOW)
    assert done.facts.payments == 3
    assert done.config == new_etc / "payterm.toml"
    assert (new_etc / "payterm.toml").read_text() == CONFIG
    assert (new_data / "journal.sqlite3").stat().st_mode & 0o777 == 0o640
    old_marker = read_marker(card["data"] / "journal.sqlite3")
    assert read_marker(new_data / "journal.sqlite3") == old_marker
    with Journal.open(card["data"] / "journal.sqlite3", terminal_id=TID) as old:
        old_payments = [(p.order_id, p.state, p.amount) for p in old.recent(10)]
        old_epoch = old.epoch
    with Journal.open(new_data / "journal.sqlite3", terminal_id=TID) as new:
        assert [(p.order_id, p.state, p.amount) for p in new.recent(10)] == old_payments
        assert new.epoch == old_epoch == (old_marker.epoch if old_marker else "")
        assert new.next_seq() == 4
        assert new.current_shift() == 2
        assert [item.order_id[-6:] for item in new.outbox_pending()] == ["000002", "000003"]
        assert pay(new).order_id == f"{TID}-{old_epoch}-000004"


def test_import_is_refused_over_payments_unless_replace(
    card: dict[str, Path], tmp_path: Path
) -> None:
    path = export(card)
    data = tmp_path / "other"
    with Journal.open(data / "journal.sqlite3", terminal_id="T0002") as other:
        pay(other)
    with pytest.raises(DataTransferError, match="holds 1 payment.*--replace"):
        import_data(path, data_dir=data, config_dir=tmp_path / "etc")
    assert journal_facts_of(data)["terminal_id"] == "T0002"  # nothing changed
    done = import_data(path, replace=True, data_dir=data, config_dir=tmp_path / "etc", now=NOW)
    assert sorted(p.name for p in done.kept) == [
        "journal.sqlite3.marker.replaced-20260302T100005Z",
        "journal.sqlite3.replaced-20260302T100005Z",
    ]
    assert journal_facts_of(data)["terminal_id"] == TID
    assert journal_facts(data / "journal.sqlite3.replaced-20260302T100005Z").payments == 1


def journal_facts_of(data: Path) -> dict[str, Any]:
    """What the journal in ``data`` says of itself, read from a backup copy (nothing written)."""
    facts = backup_copy(data / "journal.sqlite3", data.parent / f"{data.name}-copy.sqlite3")
    return {"terminal_id": facts.terminal_id, "payments": facts.payments}


def test_import_replaces_an_empty_journal_without_asking(
    card: dict[str, Path], tmp_path: Path
) -> None:
    path = export(card)
    data = tmp_path / "fresh"
    Journal.open(data / "journal.sqlite3", terminal_id=TID).close()  # a first start, no payment
    done = import_data(path, data_dir=data, config_dir=tmp_path / "etc")
    assert done.kept == ()
    assert done.facts.payments == 3


def test_import_is_refused_while_the_terminal_holds_the_journal(
    card: dict[str, Path], tmp_path: Path
) -> None:
    path = export(card)
    data = tmp_path / "running"
    holder = subprocess.Popen(  # a running terminal: another process with the journal open
        [sys.executable, "-c",
         "import sys,time; from terminal.journal import Journal; "
         f"j = Journal.open(__import__('pathlib').Path('{data}/journal.sqlite3'), "
         "terminal_id='T9'); j.recent(1); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(DataTransferError, match="in use by the running terminal"):
            import_data(path, replace=True, data_dir=data, config_dir=tmp_path / "etc")
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_damaged_or_cut_short_export_is_refused(card: dict[str, Path], tmp_path: Path) -> None:
    path = export(card)
    raw = path.read_bytes()
    with tarfile.open(path) as tar:
        spans = [(m.offset, m.offset_data + m.size) for m in tar.getmembers()]
    positions = sorted({p for start, end in spans for p in range(start, end, 97)} | {
        start + 148 for start, _ in spans})  # fmt: skip
    assert len(positions) > 50
    refused = 0
    for n, position in enumerate(positions):
        bad = bytearray(raw)
        bad[position] ^= 0x20
        broken = tmp_path / f"flip{n}.tar"
        broken.write_bytes(bytes(bad))
        data = tmp_path / f"flip{n}"
        with pytest.raises(DataTransferError):
            import_data(broken, data_dir=data, config_dir=tmp_path / f"etc{n}")
        refused += 1
        assert not (data / "journal.sqlite3").exists()
    assert refused == len(positions)
    last_byte = max(end for _, end in spans)
    for cut in (len(raw) // 3, last_byte - 1, 100):
        short = tmp_path / f"cut{cut}.tar"
        short.write_bytes(raw[:cut])
        with pytest.raises(DataTransferError, match="damaged or was cut short"):
            import_data(short, data_dir=tmp_path / f"cut{cut}", config_dir=tmp_path / "etc")


def test_import_refuses_a_config_check_config_refuses(
    card: dict[str, Path], tmp_path: Path
) -> None:
    (card["etc"] / "payterm.toml").write_text(CONFIG.replace("training = true", "training = false"))
    path = export(card)
    err = io.StringIO()
    code = import_main([str(path), "--data-dir", str(tmp_path / "d"), "--config-dir",
                        str(tmp_path / "e")], out=io.StringIO(), err=err)  # fmt: skip
    assert code == 2
    assert "terminal.hardware" in err.getvalue()
    assert "training = true" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not (tmp_path / "d" / "journal.sqlite3").exists()


def test_a_journal_failing_its_integrity_check_is_refused(
    card: dict[str, Path], tmp_path: Path
) -> None:
    """A damaged journal packed with matching checksums: the journal's own check refuses it."""
    path = export(card)
    unpacked = tmp_path / "unpacked"
    with tarfile.open(path) as tar:
        tar.extractall(unpacked, filter="data")
    journal = unpacked / "journal.sqlite3"
    raw = bytearray(journal.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 600] = b"\xff" * 600
    journal.write_bytes(bytes(raw))
    manifest = json.loads((unpacked / "manifest.json").read_text())
    from terminal.system.data_archive import sha256_of

    manifest["members"]["journal.sqlite3"] = {"size": len(raw), "sha256": sha256_of(journal)}
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    repacked = tmp_path / "repacked.tar"
    with tarfile.open(repacked, "w") as tar:
        for name in ("manifest.json", "journal.sqlite3", "journal.sqlite3.marker", "payterm.toml"):
            tar.add(unpacked / name, arcname=name)
    with pytest.raises(DataTransferError, match="damaged"):
        import_data(repacked, data_dir=tmp_path / "d", config_dir=tmp_path / "e")


def test_export_while_the_terminal_writes_is_consistent(card: dict[str, Path]) -> None:
    journal = Journal.open(card["data"] / "journal.sqlite3", terminal_id=TID)
    stop = threading.Event()
    written: list[int] = []

    def keep_paying() -> None:
        while not stop.is_set():
            written.append(pay(journal).seq)

    writer = threading.Thread(target=keep_paying)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        paths = [export(card, now=datetime(2026, 3, 2, 10, 0, n, tzinfo=UTC)) for n in range(5)]
    finally:
        stop.set()
        writer.join()
        journal.close()
    counts = []
    for n, path in enumerate(paths):
        target = card["boot"] / f"in{n}"
        done = import_data(path, data_dir=target, config_dir=card["boot"] / f"etc{n}")
        facts = journal_facts(target / "journal.sqlite3")
        assert facts.payments == facts.last_number == done.facts.payments
        counts.append(facts.payments)
    assert counts == sorted(counts)
    assert counts[-1] > 3
    assert counts[-1] <= 3 + len(written)


def test_export_refusals_in_words(card: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(DataTransferError, match="no such folder"):
        export_data(tmp_path / "nowhere", data_dir=card["data"], config_dir=card["etc"])
    with pytest.raises(DataTransferError, match="no journal here"):
        export_data(card["boot"], data_dir=tmp_path / "empty", config_dir=card["etc"])


@pytest.fixture
def small_mount(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a target too small for the export."""
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_target_too_small_is_refused_before_writing(
    card: dict[str, Path], small_mount: Path
) -> None:
    with Journal.open(card["data"] / "journal.sqlite3", terminal_id=TID) as journal:
        for _ in range(150):
            pay(journal)
    with pytest.raises(DataTransferError, match="not enough room: the export needs"):
        export_data(small_mount, data_dir=card["data"], config_dir=card["etc"])
    assert list(small_mount.iterdir()) == []


def test_a_target_that_fills_up_mid_write_keeps_no_partial_file(
    card: dict[str, Path], small_mount: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Journal.open(card["data"] / "journal.sqlite3", terminal_id=TID) as journal:
        for _ in range(150):
            pay(journal)
    # The file system claims room it does not have (as FAT's free count can be wrong).
    monkeypatch.setattr(
        data_export.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(1 << 40, 0, 1 << 40)
    )  # type: ignore[attr-defined]  # noqa: E501
    with pytest.raises(DataTransferError, match="filled up while the export was written"):
        export_data(small_mount, data_dir=card["data"], config_dir=card["etc"])
    assert list(small_mount.iterdir()) == []


def test_a_read_only_target_is_refused(card: dict[str, Path], small_mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    with pytest.raises(DataTransferError, match="read-only"):
        export_data(small_mount, data_dir=card["data"], config_dir=card["etc"])
