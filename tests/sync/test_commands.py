"""``payterm sync status|retry``, ``payterm doctor``'s sync rows, and the config's [sync]."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from terminal.cli import main
from terminal.config.loader import load_config
from terminal.doctor.probes import SystemProbes
from terminal.doctor.results import Status
from terminal.doctor.sync_targets import check_sync_targets
from terminal.errors import ConfigError
from terminal.journal import Journal
from terminal.journal.sync_marks import acknowledge, ensure_targets, park, target_marks
from terminal.providers.loopback_http import Response
from tests.sync.kit import SECRET, WALL, Mosquitto, WebhookReceiver, fill, sync_config


def _files(folder: Path, url: str, secret: str = SECRET) -> Path:
    secrets = folder / "secrets.toml"
    secrets.write_text(f'[sync.pos]\nsecret = "{secret}"\n')
    secrets.chmod(0o600)
    config = folder / "payterm.toml"
    config.write_text(
        f'[terminal]\ndata_dir = "{folder / "data"}"\nsecrets_file = "{secrets}"\n\n'
        f'[[sync.targets]]\nname = "pos"\nkind = "webhook"\nurl = "{url}"\n'
    )
    return config


def test_status_and_retry_of_a_parked_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _files(tmp_path, "https://pos.example/hook")
    with Journal.open(tmp_path / "data" / "journal.sqlite3", terminal_id="T0001") as journal:
        fill(journal, 4)
        ensure_targets(journal.database, ["pos"])
        acknowledge(journal.database, "pos", 2, wall=WALL)
        park(journal.database, "pos", 4, "HTTP 401 Unauthorized", wall=WALL)
        epoch = journal.epoch
    assert main(["sync", "status", "--config", str(config)]) == 1  # parked: exit 1
    out = capsys.readouterr().out
    assert "PARKED (HTTP 401 Unauthorized)" in out
    assert f"last acknowledged: T0001-{epoch}-2" in out
    assert "backlog: 2 records" in out
    assert main(["sync", "retry", "--config", str(config), "--target", "pos"]) == 0
    assert "released: pos" in capsys.readouterr().out
    assert main(["sync", "status", "--config", str(config), "--json"]) == 0
    assert '"parked": false' in capsys.readouterr().out
    assert main(["sync", "retry", "--config", str(config), "--target", "nope"]) == 2


def test_retry_while_the_terminal_runs_leaves_a_request(tmp_path: Path) -> None:
    config = _files(tmp_path, "https://pos.example/hook")
    with Journal.open(tmp_path / "data" / "journal.sqlite3", terminal_id="T0001") as journal:
        ensure_targets(journal.database, ["pos"])
        park(journal.database, "pos", 1, "HTTP 400", wall=WALL)
        assert main(["sync", "retry", "--config", str(config)]) == 0  # the journal is held
        assert (tmp_path / "data" / "sync-retry.request").read_text() == "*\n"
        assert target_marks(journal.database)[0].parked  # the running terminal releases it


def test_a_webhook_target_without_its_secret_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "payterm.toml"
    config.write_text('[[sync.targets]]\nname = "pos"\nkind = "webhook"\nurl = "https://p/h"\n')
    with pytest.raises(ConfigError, match=r"sync.pos.secret.*secret = "):
        load_config(config)


def test_secrets_for_an_unknown_target_are_refused(tmp_path: Path) -> None:
    config = _files(tmp_path, "https://pos.example/hook")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(secrets.read_text() + '[sync.pso]\npassword = "x"\n')
    with pytest.raises(ConfigError, match="no sync target 'pso'.*did you mean"):
        load_config(config)


async def test_doctor_checks_a_webhook_target(tmp_path: Path, receiver: WebhookReceiver) -> None:
    url = await receiver.start()
    good = sync_config(tmp_path, [{"name": "pos", "kind": "webhook", "url": url}],
                       {"pos": {"secret": SECRET}})  # fmt: skip
    rows = await check_sync_targets(good, SystemProbes())
    assert [(r.name, r.status) for r in rows] == [("sync pos dns", Status.PASS),
                                                  ("sync pos auth", Status.PASS)]  # fmt: skip
    bad = dataclasses.replace(good, secrets=dataclasses.replace(
        good.secrets, sync_secrets={"pos": {"secret": "wrong"}}))  # fmt: skip
    rows = await check_sync_targets(bad, SystemProbes())
    assert rows[-1].status is Status.FAIL
    assert "[sync.pos] secret" in rows[-1].fix
    receiver.answers = [Response(503, b"", "text/plain")]
    rows = await check_sync_targets(good, SystemProbes())
    assert rows[-1].status is Status.FAIL
    assert "503" in rows[-1].detail


async def test_doctor_checks_a_broker_with_tls_and_a_password(
    tmp_path: Path, broker: Mosquitto
) -> None:
    from tests.sync.kit import make_certificates

    broker.kill()
    certs = make_certificates(tmp_path)
    secure = Mosquitto(tmp_path / "tls", tls=certs, users={"till": "pw"}).start()
    try:
        target = {"name": "fleet", "kind": "mqtt", "url": secure.url, "username": "till",
                  "ca_file": f"{certs['ca']}.pem", "cert_file": f"{certs['client']}.pem",
                  "key_file": f"{certs['client']}.key"}  # fmt: skip
        config = sync_config(tmp_path, [target], {"fleet": {"password": "pw"}})
        rows = await check_sync_targets(config, SystemProbes())
        assert [r.status for r in rows] == [Status.PASS] * 3, rows
        assert rows[1].name == "sync fleet tls"
        assert "acknowledged" in rows[2].detail
        wrong = sync_config(tmp_path, [target], {"fleet": {"password": "nope"}})
        rows = await check_sync_targets(wrong, SystemProbes())
        assert rows[-1].status is Status.FAIL
        assert "password" in rows[-1].fix
        no_ca = sync_config(tmp_path, [{**target, "ca_file": None}], {"fleet": {"password": "pw"}})
        rows = await check_sync_targets(no_ca, SystemProbes())
        assert rows[1].status is Status.FAIL
        assert "ca_file" in rows[1].fix
    finally:
        secure.kill()
