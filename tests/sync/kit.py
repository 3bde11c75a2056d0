"""What the sync tests share: a real Mosquitto on a loopback port, a loopback webhook
receiver that checks signatures, TLS certificates made on the spot, and journal filling."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import getpass
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from terminal.config.loader import parse_config
from terminal.config.model import Config, Secrets
from terminal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.providers.loopback_http import LoopbackHTTPServer, Request, Response
from terminal.sync.fleet_store import RecordStore
from terminal.sync.signing import verify

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
NO_MOSQUITTO = "the mosquitto broker is not installed (apt-get install mosquitto)"
WALL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SECRET = "whsec-test-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fill(journal: Journal, count: int, *, state: PaymentState = PaymentState.PAID) -> list[str]:
    """Record ``count`` finished payments (one outbox item each); their order ids."""
    ids = []
    for _ in range(count):
        seq = journal.next_seq()
        order_id = f"{journal.terminal_id}-{journal.epoch}-{seq:06d}"
        amount, created = Money(100 + seq, "RUB"), WALL.isoformat()
        payment = Payment(order_id, seq, 1, "mpm", "sandbox", amount, PaymentState.NEW,
                          created_wall=created, wall_synced=False)  # fmt: skip
        journal.record(payment, note="created", mono=0.0, wall=WALL, wall_synced=False)
        journal.record(payment.with_state(state, provider_ref=f"SB-{seq}", raw_status="PAID"),
                       note="paid", mono=1.0, wall=WALL, wall_synced=True)  # fmt: skip
        ids.append(order_id)
    return ids


def sync_config(
    data_dir: Path,
    targets: Sequence[dict[str, Any]],
    secrets: dict[str, dict[str, str]],
    **sync: Any,
) -> Config:
    """A config whose [sync] has ``targets``, with the secrets file's [sync.<name>] tables."""
    data = {"terminal": {"data_dir": str(data_dir), "training": True},
            "sync": {"targets": list(targets), "backoff_initial_s": 0.05,
                     "backoff_max_s": 0.2, **sync}}  # fmt: skip
    config = parse_config(data)
    return dataclasses.replace(config, secrets=Secrets(sync_secrets=secrets))


class WebhookReceiver:
    """A POS's webhook on loopback: checks each signature, keeps each record once by id.

    ``answers`` are given (in order) before any batch is taken, e.g. a 503 then normal.
    """

    def __init__(self, store_path: Path, secret: str = SECRET) -> None:
        self.secret = secret
        self.store = RecordStore(store_path)
        self.answers: list[Response] = []
        self.requests: list[Request] = []
        self.bad_signatures = 0
        self.server = LoopbackHTTPServer(self._handle, behaviour_path=None)

    async def start(self) -> str:
        return await self.server.start() + "/hooks/payterm"

    async def stop(self) -> None:
        await self.server.stop()
        self.store.close()

    async def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)
        if not verify(self.secret, request.headers.get("payterm-signature", ""), request.body,
                      now=int(time.time()), tolerance_s=10**9):  # fmt: skip
            self.bad_signatures += 1
            return Response.json({"error": "bad signature"}, status=401)
        self.store.add_batch([json.dumps(record) for record in request.json()["records"]])
        return Response.json({"ok": True})


# --- TLS ---------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, in ``folder``."""
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payterm test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    _write(folder / "ca", ca_key, ca)
    for name, san in (("server", True), ("client", False)):
        key = _key()
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=2)))  # fmt: skip
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)  # fmt: skip
        _write(folder / name, key, builder.sign(ca_key, hashes.SHA256()))
    return {name: folder / name for name in ("ca", "server", "client")}


# --- Mosquitto ---------------------------------------------------------------------------


class Mosquitto:
    """A real Mosquitto broker on a free loopback port, with its own config and persistence."""

    def __init__(self, folder: Path, *, tls: dict[str, Path] | None = None,
                 users: dict[str, str] | None = None) -> None:  # fmt: skip
        assert MOSQUITTO is not None, NO_MOSQUITTO
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 1",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            f"log_dest file {folder}/mosquitto.log",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")
        if users:
            assert MOSQUITTO_PASSWD is not None
            passwords = folder / "passwords"
            passwords.touch(mode=0o600)
            for user, password in users.items():
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), user, password],
                               check=True, capture_output=True)  # fmt: skip
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"cafile {tls['ca']}.pem", f"certfile {tls['server']}.pem",
                      f"keyfile {tls['server']}.key", "require_certificate true"]  # fmt: skip
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        assert MOSQUITTO is not None
        quiet = subprocess.DEVNULL
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=quiet, stderr=quiet)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.folder / "mosquitto.log").read_text(errors="replace")
                raise AssertionError(f"mosquitto exited {self.proc.returncode}: {log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("mosquitto did not start listening")

    def stop(self) -> None:
        """Stop it (SIGTERM: it saves its persistence file)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


async def wait_for(predicate: Any, timeout_s: float = 20.0, what: str = "") -> None:
    """Poll ``predicate()`` until true (a test's patience, not a measured speed)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)
