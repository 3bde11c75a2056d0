"""payterm doctor: every check over the libraries' own fakes, loopback TLS, and the report."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gpiozero.pins.mock import MockFactory
from luma.core.device import dummy

from hw.buttons.gpiozero_buttons import open_gpiozero_buttons
from hw.display.luma_display import LumaDisplay
from hw.emulated import open_emulated_device
from hw.errors import HardwareError
from terminal.config.loader import load_config
from terminal.config.model import (
    ButtonsConfig,
    Config,
    NfcConfig,
    PrinterConfig,
    ProviderConfig,
    ScannerConfig,
    Secrets,
    TerminalConfig,
)
from terminal.doctor.configuration import check_secrets_file
from terminal.doctor.hardware import DoctorHardware, backend_opener, emulated_hardware
from terminal.doctor.network import check_provider
from terminal.doctor.parts import TEST_QR, BackendMissing, check_scanner_scan, split_fix
from terminal.doctor.probes import SystemProbes
from terminal.doctor.prompts import Asker, Prompt
from terminal.doctor.report import commissioning_slip, exit_code, format_json, format_table
from terminal.doctor.results import CheckResult, Status
from terminal.doctor.runner import diagnose, run_doctor, run_doctor_file
from terminal.doctor.system import check_clock, check_disk, check_journal
from terminal.journal import Journal

PART_ROWS = ("display", "printer", "scanner", "keypad", "buttons", "nfc reader")
GB = 1_000_000_000


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def probes(tmp_path: Path) -> SystemProbes:
    """The system as a synchronised Pi with plenty of disk, whatever this machine is."""
    flag = tmp_path / "synchronized"
    flag.touch()
    return SystemProbes(
        timesync_flag=flag, timedatectl=None, disk_usage=lambda _p: (8 * GB, 0, 4 * GB)
    )


def _config(tmp_path: Path, **tables: Any) -> Config:
    terminal = TerminalConfig(
        data_dir=tmp_path / "data",
        hardware=tables.pop("hardware", "emulated"),
        training=tables.pop("training", True),  # the sandbox provider: a training terminal
    )
    return Config(terminal=terminal, **tables)


def _by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def _rows(out: io.StringIO) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in json.loads(out.getvalue())}


def _not_fitted(_cfg: Any) -> Any:
    raise HardwareError("not fitted in this test", device="test")


def _hardware(**openers: Any) -> DoctorHardware:
    parts = {
        name: _not_fitted for name in ("display", "printer", "scanner", "keypad", "buttons", "nfc")
    }
    parts.update(openers)
    return DoctorHardware(**parts)


# --- acceptance -----------------------------------------------------------------------------


async def test_pi_without_hardware_names_each_missing_part_with_its_fix(
    tmp_path: Path, probes: SystemProbes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gpiozero obeys GPIOZERO_PIN_FACTORY: a developer's "mock" would make the buttons pass.
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    config = _config(tmp_path, hardware="pi", nfc=NfcConfig(path="usb"))
    out = io.StringIO()

    code = await run_doctor(
        config,
        out=out,
        as_json=True,
        interactive=True,
        print_slip=True,
        system=probes,
        prompts=io.StringIO(),
    )

    rows = _rows(out)
    assert code == 1
    for part in PART_ROWS:
        assert rows[part]["status"] == "FAIL", rows[part]
        assert rows[part]["detail"]
        assert rows[part]["fix"]
    assert not any(name.startswith(("button ", "scanner scan", "nfc tap")) for name in rows)
    assert rows["commissioning slip"]["status"] == "SKIP"


async def test_pi_table_shows_each_failure_with_its_fix(
    tmp_path: Path, probes: SystemProbes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    config = _config(tmp_path, hardware="pi", nfc=NfcConfig(path="usb"))
    out = io.StringIO()

    code = await run_doctor(
        config, out=out, as_json=False, interactive=False, print_slip=False, system=probes
    )

    table = out.getvalue()
    assert code == 1
    lines = table.splitlines()
    assert lines[0].split() == ["RESULT", "PART", "DETAIL", "FIX"]
    for part in PART_ROWS:
        assert any(line.startswith(f"FAIL    {part} ") for line in lines), part
    assert "/dev/payterm/scanner" in table
    assert lines[-1].endswith("skipped")


async def test_emulated_device_passes_every_check_and_prints_the_slip(
    tmp_path: Path, probes: SystemProbes
) -> None:
    secrets = Secrets(supervisor_badges=("04a1b2c3",))
    config = _config(tmp_path, nfc=NfcConfig(path="usb"), secrets=secrets)
    device = open_emulated_device()
    out, prompts = io.StringIO(), io.StringIO()

    code = await run_doctor(
        config,
        out=out,
        as_json=True,
        interactive=True,
        print_slip=True,
        system=probes,
        hardware=emulated_hardware(config, device=device),
        prompts=prompts,
    )

    rows = _rows(out)
    assert code == 0, out.getvalue()
    for name in (*PART_ROWS, "scanner scan", "keypad key", "nfc tap", "commissioning slip"):
        assert rows[name]["status"] == "PASS", rows[name]
    for button in ("retry", "cancel", "force"):
        assert rows[f"button {button}"]["status"] == "PASS"
    assert "a supervisor badge" in rows["nfc tap"]["detail"]
    assert "press FORCE and hold it 1.5 s" in prompts.getvalue()
    slip = device.printed[-1].text
    assert "C O M M I S S I O N I N G" in slip  # printed large: double width
    assert slip.count("TRAINING - NOT A PAYMENT") == 2  # a training terminal's slip
    assert "button force" in slip
    assert device.is_closed


async def test_emulated_is_the_default_for_hardware_emulated(
    tmp_path: Path, probes: SystemProbes
) -> None:
    out = io.StringIO()

    code = await run_doctor(
        _config(tmp_path),
        out=out,
        as_json=True,
        interactive=False,
        print_slip=False,
        system=probes,
    )

    rows = _rows(out)
    assert code == 0
    # The emulated display is the configured driver, named with the bus it would be on.
    detail = "drew the test screen on emulated ssd1306 on i2c-1 at 0x3C 128x64"
    assert rows["display"]["detail"] == detail
    assert rows["nfc reader"]["status"] == "SKIP"  # nfc.path is empty: none configured
    assert rows["provider sandbox"] == {
        "name": "provider sandbox",
        "status": "SKIP",
        "detail": "embedded sandbox: runs inside the terminal",
        "fix": "",
    }


async def test_emulated_doctor_reports_the_pins_of_the_config(
    tmp_path: Path, probes: SystemProbes
) -> None:
    # The example as shipped is a training set-up until the technician fills it in.
    shipped = (Path(__file__).parents[2] / "config" / "payterm.example.toml").read_text()
    assert shipped.count("\ntraining = false\n") == 1
    file = tmp_path / "payterm.toml"
    file.write_text(shipped.replace("\ntraining = false\n", "\ntraining = true\n"))
    example = load_config(file)
    config = replace(example, terminal=replace(example.terminal, data_dir=tmp_path / "data"))
    out = io.StringIO()

    code = await run_doctor(
        config, out=out, as_json=True, interactive=True, print_slip=False, system=probes
    )

    rows = _rows(out)
    assert code == 0
    assert rows["buttons"]["detail"] == "opened retry GPIO17, cancel GPIO27, force GPIO22"
    assert {rows[f"button {name}"]["status"] for name in ("retry", "cancel", "force")} == {"PASS"}


# --- config and secrets ---------------------------------------------------------------------


def _write_config(tmp_path: Path, secrets_mode: int) -> Path:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[supervisor]\npins = ["1234"]\n')
    secrets.chmod(secrets_mode)
    config = tmp_path / "payterm.toml"
    config.write_text(
        '[terminal]\ndata_dir = "data"\nsecrets_file = "secrets.toml"\nhardware = "emulated"\n'
        "training = true\n"
    )
    return config


async def test_world_readable_secrets_file_fails_with_the_chmod_fix(
    tmp_path: Path, probes: SystemProbes
) -> None:
    path = _write_config(tmp_path, 0o644)
    out = io.StringIO()

    code = await run_doctor_file(
        path, out=out, as_json=True, interactive=False, print_slip=False, system=probes
    )

    rows = _rows(out)
    assert code == 1
    secrets = rows["secrets file"]
    assert secrets["status"] == "FAIL"
    assert "mode 0644: every user on the terminal may read it" in secrets["detail"]
    assert secrets["fix"] == f"run: chmod 600 {tmp_path / 'secrets.toml'}"
    assert rows["config"]["status"] == "FAIL"
    assert "chmod 600" in rows["config"]["detail"]
    assert rows["display"]["status"] == "PASS"  # the rest of the terminal was still checked


async def test_private_secrets_file_passes(tmp_path: Path, probes: SystemProbes) -> None:
    path = _write_config(tmp_path, 0o600)
    out = io.StringIO()

    code = await run_doctor_file(
        path, out=out, as_json=True, interactive=False, print_slip=False, system=probes
    )

    rows = _rows(out)
    assert code == 0
    assert rows["secrets file"]["status"] == "PASS"
    assert rows["config"]["detail"] == f"{path}: 1 provider(s), hardware emulated"


async def test_a_config_that_cannot_load_is_the_only_row(tmp_path: Path) -> None:
    path = tmp_path / "payterm.toml"
    path.write_text("[terminal]\nhardwar = 'pi'\n")
    out = io.StringIO()

    code = await run_doctor_file(path, out=out, as_json=True, interactive=False, print_slip=False)

    rows = json.loads(out.getvalue())
    assert code == 1
    assert [row["name"] for row in rows] == ["config"]
    assert "hardwar" in rows[0]["detail"]
    assert "payterm check-config" in rows[0]["fix"]


def test_missing_secrets_file_fails(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    config = Config(terminal=TerminalConfig(secrets_file=missing))

    result = check_secrets_file(config)

    assert result.status is Status.FAIL
    assert "does not exist" in result.detail
    assert "chmod 600" in result.fix


# --- system checks --------------------------------------------------------------------------


async def test_clock_from_systemd_flag_or_timedatectl(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    tool = tmp_path / "timedatectl"

    async def with_answer(answer: str) -> CheckResult:
        tool.write_text(f"#!/bin/sh\necho {answer}\n")
        tool.chmod(0o755)
        return await check_clock(SystemProbes(timesync_flag=absent, timedatectl=str(tool)))

    assert (await with_answer("yes")).status is Status.PASS
    not_yet = await with_answer("no")
    assert (not_yet.status, not_yet.detail) == (Status.WARN, "not synchronised yet")
    unknown = await check_clock(SystemProbes(timesync_flag=absent, timedatectl=None))
    assert unknown.status is Status.WARN
    assert "cannot tell" in unknown.detail


@pytest.mark.parametrize(
    ("free", "status"),
    [(5_000_000, Status.FAIL), (120_000_000, Status.WARN), (2 * GB, Status.PASS)],
)
def test_disk_free_thresholds(tmp_path: Path, free: int, status: Status) -> None:
    probes = SystemProbes(disk_usage=lambda _p: (8 * GB, 8 * GB - free, free))

    result = check_disk(_config(tmp_path), probes)

    assert result.status is status
    assert str(tmp_path / "data") in result.detail
    assert bool(result.fix) is (status is not Status.PASS)


async def test_journal_missing_is_skipped(tmp_path: Path) -> None:
    result = await check_journal(_config(tmp_path))

    assert result.status is Status.SKIP
    assert "none yet" in result.detail


async def test_journal_integrity_passes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    Journal.open(config.terminal.data_dir / "journal.sqlite3", terminal_id="T0001").close()

    result = await check_journal(config)

    assert result.status is Status.PASS
    assert "integrity ok" in result.detail


async def test_journal_in_use_by_the_terminal_is_skipped_not_failed(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Journal.open(config.terminal.data_dir / "journal.sqlite3", terminal_id="T0001"):
        result = await check_journal(config)

    assert result.status is Status.SKIP
    assert "in use by the running terminal" in result.detail
    assert "systemctl stop payterm" in result.fix


async def test_parts_the_running_terminal_holds_are_skipped_not_opened(
    tmp_path: Path, probes: SystemProbes
) -> None:
    config = _config(tmp_path, hardware="pi")
    opened: list[str] = []

    def opener(part: str) -> Any:
        def open_part(_cfg: Any) -> Any:
            opened.append(part)
            raise HardwareError("busy", device=part)

        return open_part

    hardware = _hardware(**{part: opener(part) for part in ("display", "scanner", "keypad")})
    with Journal.open(config.terminal.data_dir / "journal.sqlite3", terminal_id="T0001"):
        results = _by_name(await diagnose(config, hardware=hardware, system=probes))

    assert opened == []
    for part in ("display", "printer", "scanner", "keypad", "buttons", "nfc reader"):
        assert results[part].status is Status.SKIP, results[part]
        assert "in use by the running terminal" in results[part].detail
        assert "systemctl stop payterm" in results[part].fix
    assert not any(r.status is Status.FAIL for r in results.values())


async def test_damaged_journal_fails(tmp_path: Path) -> None:
    config = _config(tmp_path)
    path = config.terminal.data_dir / "journal.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not an SQLite database at all" * 200)

    result = await check_journal(config)

    assert result.status is Status.FAIL
    assert "never delete it" in result.fix
    # The way out is the journal's own commands, not a backup the terminal never made.
    assert "payterm journal --check" in result.fix
    assert "payterm journal --recover" in result.fix
    assert "docs/journal.md" in result.fix
    assert "backup" not in result.fix


# --- providers over a loopback TLS server ---------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_port(certificate: tuple[Path, Path]) -> AsyncIterator[int]:
    """A TLS server on 127.0.0.1 that completes the handshake and waits for the client to go."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def _trusting(certificate: tuple[Path, Path]) -> SystemProbes:
    def context() -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(certificate[0]))
        return ctx

    return SystemProbes(tls_context=context)


async def test_provider_host_resolves_and_completes_a_tls_handshake(
    tls_port: int, certificate: tuple[Path, Path]
) -> None:
    provider = ProviderConfig(driver="paymaster", url=f"https://localhost:{tls_port}/api")

    results = await check_provider("paymaster", provider, _trusting(certificate))

    dns, tls = results
    assert (dns.name, dns.status) == ("provider paymaster dns", Status.PASS)
    assert "127.0.0.1" in dns.detail
    assert (tls.name, tls.status) == ("provider paymaster tls", Status.PASS)
    assert f"localhost:{tls_port} TLSv1." in tls.detail
    assert "certificate valid until" in tls.detail


async def test_untrusted_certificate_fails_with_advice(tls_port: int) -> None:
    provider = ProviderConfig(driver="paymaster", url=f"https://localhost:{tls_port}")

    _dns, tls = await check_provider("pm", provider, SystemProbes())

    assert tls.status is Status.FAIL
    assert "certificate not accepted" in tls.detail
    assert "clock" in tls.fix


async def test_refused_connection_fails_with_the_port(certificate: tuple[Path, Path]) -> None:
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on this port any more
    provider = ProviderConfig(driver="webmoney", url=f"https://127.0.0.1:{port}")

    _dns, tls = await check_provider("wm", provider, _trusting(certificate))

    assert tls.status is Status.FAIL
    assert f"port {port}" in tls.fix


async def test_plain_http_provider_gets_a_tcp_check(tls_port: int) -> None:
    provider = ProviderConfig(driver="sandbox", url=f"http://127.0.0.1:{tls_port}")

    _dns, tcp = await check_provider("lan", provider, SystemProbes())

    assert (tcp.name, tcp.status) == ("provider lan tcp", Status.PASS)
    assert "no TLS" in tcp.detail


# --- parts over the libraries' fakes --------------------------------------------------------


async def test_display_draws_the_test_screen_on_luma_dummy(
    tmp_path: Path, probes: SystemProbes
) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    device = dummy(width=128, height=64, mode="1")
    device.persist = True  # luma: keep the last frame when the display is closed
    hardware = _hardware(display=lambda _cfg: LumaDisplay(device=device))
    config = _config(tmp_path, printer=PrinterConfig(connection="none"))

    results = _by_name(await diagnose(config, hardware=hardware, system=probes))

    assert results["display"].status is Status.PASS
    image = device.image.convert("L")
    decoded = [r.text for r in zxingcpp.read_barcodes(image)]
    assert decoded == [TEST_QR]


async def test_buttons_over_mock_factory_each_press_is_asked_for(
    tmp_path: Path, probes: SystemProbes
) -> None:
    factory = MockFactory()
    cfg = ButtonsConfig(debounce_s=0.0, force_hold_s=0.0)
    pins = {"retry": cfg.retry_pin, "cancel": cfg.cancel_pin, "force": cfg.force_pin}
    # Asked for cancel, the technician presses retry again (ignored: already checked), then
    # cancel, whose wires go to force's pin; force itself never answers.
    order = {"retry": ["retry"], "cancel": ["retry", "force"], "force": []}

    def act(prompt: Prompt) -> None:
        for pressed in order[prompt.button or ""]:
            factory.pin(pins[pressed]).drive_low()
            factory.pin(pins[pressed]).drive_high()

    hardware = replace(
        _hardware(buttons=lambda c: open_gpiozero_buttons(c, pin_factory=factory)),
        act=act,
        prompt_timeout_s=0.05,
    )
    config = _config(tmp_path, buttons=cfg, printer=PrinterConfig(connection="none"))

    try:
        results = _by_name(
            await diagnose(
                config,
                interactive=True,
                hardware=replace(hardware, display=_display_ok),
                system=probes,
                prompts=io.StringIO(),
            )
        )
    finally:
        factory.close()

    assert results["buttons"].status is Status.PASS
    assert results["button retry"].status is Status.PASS
    swapped = results["button cancel"]
    assert swapped.status is Status.FAIL
    assert "FORCE (GPIO22) arrived when CANCEL (GPIO27) was asked" == swapped.detail
    assert "swapped" in swapped.fix
    silent = results["button force"]
    assert silent.status is Status.FAIL
    assert "GPIO22 is header pin 15 (ground: pin 14)" in silent.fix


def _display_ok(_cfg: Any) -> Any:
    return LumaDisplay(device=dummy(width=128, height=64, mode="1"))


async def test_scanner_over_an_evdev_event_pipe_reads_the_test_scan(
    tmp_path: Path, probes: SystemProbes
) -> None:
    from hw.input.evdev_scanner import open_evdev_scanner
    from hw.input.event_pipe import EventPipe
    from hw.input.keymaps import typed_events

    pipe = EventPipe(path="/dev/input/pipe")
    cfg = ScannerConfig(device="/dev/input/pipe")

    def act(prompt: Prompt) -> None:
        assert prompt.part == "scanner"
        pipe.send(typed_events("Doc-4006381333931"))

    hardware = DoctorHardware(
        display=_display_ok,
        printer=_not_fitted,
        scanner=lambda c: open_evdev_scanner(c, device=pipe.device),
        keypad=lambda _c: _raise(OSError(2, "No such file or directory", "/dev/payterm/keypad")),
        buttons=lambda _c: _raise(BackendMissing("buttons", "no module gpiozero")),
        nfc=_not_fitted,
        act=act,
    )
    config = _config(tmp_path, scanner=cfg, printer=PrinterConfig(connection="none"))

    try:
        results = _by_name(
            await diagnose(
                config, interactive=True, hardware=hardware, system=probes, prompts=io.StringIO()
            )
        )
    finally:
        pipe.close()

    assert results["scanner"].status is Status.PASS
    assert results["scanner scan"].detail == "read 'Doc-4006381333931' (17 characters)"
    assert results["keypad"].status is Status.FAIL
    assert results["keypad"].fix  # the part's own advice when the error carries none
    assert results["buttons"].detail.startswith("this terminal has no buttons backend installed")
    assert "pip install" in results["buttons"].fix


def _raise(exc: BaseException) -> Any:
    raise exc


async def test_scan_timeout_fails_with_the_device_to_check(tmp_path: Path) -> None:
    from hw.input.evdev_scanner import open_evdev_scanner
    from hw.input.event_pipe import EventPipe

    pipe = EventPipe(path="/dev/input/pipe")
    scanner = open_evdev_scanner(ScannerConfig(device="/dev/input/pipe"), device=pipe.device)
    asker = Asker(io.StringIO(), timeout_s=0.05)
    try:
        result = await check_scanner_scan(scanner, "/dev/input/pipe", asker)
    finally:
        await scanner.aclose()
        pipe.close()

    assert result.status is Status.FAIL
    assert result.detail == "no scan within 0.05 s"
    assert "scanner.device (/dev/input/pipe)" in result.fix


async def test_nfc_reader_is_probed_over_nfcpys_udp_driver(
    tmp_path: Path, probes: SystemProbes
) -> None:
    pytest.importorskip("nfc", reason="nfcpy is not installed")
    from hw.nfc.frontend import describe_reader
    from hw.nfc.nfcpy_reader import open_nfcpy_reader

    path = f"udp:127.0.0.1:{_free_udp_port()}"
    hardware = _hardware(
        display=_display_ok,
        nfc=open_nfcpy_reader,
        nfc_probe=lambda c: asyncio.to_thread(describe_reader, c.path),
    )
    config = _config(tmp_path, nfc=NfcConfig(path=path), printer=PrinterConfig(connection="none"))

    results = _by_name(await diagnose(config, hardware=hardware, system=probes))

    reader = results["nfc reader"]
    assert reader.status is Status.PASS
    assert reader.detail.startswith("found ")
    assert reader.detail.endswith(f" on {path}")


def _free_udp_port() -> int:
    import socket

    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        try:
            socket.getservbyport(port)  # nfcpy's udp driver takes a port with a name for a name
        except OSError:
            return port
    pytest.skip("no loopback UDP port without a service name")


async def test_missing_backend_module_is_named(tmp_path: Path, probes: SystemProbes) -> None:
    opener = backend_opener("printer", "hw.no_such_printer_backend", "open_it")
    hardware = _hardware(display=_display_ok, printer=opener)

    results = _by_name(await diagnose(_config(tmp_path), hardware=hardware, system=probes))

    printer = results["printer"]
    assert printer.status is Status.FAIL
    assert printer.detail.startswith("this terminal has no printer backend installed")
    assert "hw.no_such_printer_backend" in printer.detail


async def test_missing_factory_in_a_module_is_named(tmp_path: Path, probes: SystemProbes) -> None:
    opener = backend_opener("display", "hw.display.luma_display", "open_no_such_display")
    hardware = _hardware(display=opener)
    config = _config(tmp_path, printer=PrinterConfig(connection="none"))

    results = _by_name(await diagnose(config, hardware=hardware, system=probes))

    assert results["display"].detail.startswith("this terminal has no display backend installed")


async def test_paper_out_and_offline_printers_fail(tmp_path: Path, probes: SystemProbes) -> None:
    device = open_emulated_device()
    device.escpos.paper = False
    hardware = emulated_hardware(_config(tmp_path), device=device)

    results = _by_name(
        await diagnose(_config(tmp_path), print_slip=True, hardware=hardware, system=probes)
    )

    assert results["printer"].status is Status.FAIL
    assert "paper" in results["printer"].detail
    assert "load a paper roll" in results["printer"].fix
    assert results["commissioning slip"].status is Status.SKIP


# --- report ---------------------------------------------------------------------------------

RESULTS = [
    CheckResult("config", Status.PASS, "/etc/payterm/payterm.toml: 2 provider(s), hardware pi"),
    CheckResult(
        "display",
        Status.FAIL,
        "/dev/i2c-1: no display answered on i2c-1 at 0x3C",
        "check SDA→GPIO2, SCL→GPIO3, or set display.address = 0x3D",
    ),
    CheckResult("clock", Status.WARN, "not synchronised yet", "check the network"),
    CheckResult("nfc reader", Status.SKIP, "none configured (nfc.path is empty)"),
]


def test_table_is_fixed_width_and_keeps_every_word() -> None:
    table = format_table(RESULTS, width=80)

    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[-1] == "1 passed, 1 failed, 1 warning(s), 1 skipped"
    status_column = {line[:6].strip() for line in lines[2:-1]} - {""}
    assert status_column == {"PASS", "FAIL", "WARN", "SKIP"}
    words = " ".join(table.split())
    for word in "SDA→GPIO2, SCL→GPIO3, or set display.address = 0x3D".split():
        assert word in words


def test_json_is_a_list_of_objects() -> None:
    rows = json.loads(format_json(RESULTS))

    assert rows[1] == {
        "name": "display",
        "status": "FAIL",
        "detail": "/dev/i2c-1: no display answered on i2c-1 at 0x3C",
        "fix": "check SDA→GPIO2, SCL→GPIO3, or set display.address = 0x3D",
    }


def test_exit_code_is_non_zero_only_on_a_failure() -> None:
    assert exit_code(RESULTS) == 1
    assert exit_code([r for r in RESULTS if r.status is not Status.FAIL]) == 0


def test_commissioning_slip_lists_every_result_within_the_paper() -> None:
    wall = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

    slip = commissioning_slip(RESULTS, terminal_id="T0042", hardware="pi", wall=wall, columns=32)

    text = "\n".join(line.text for line in slip.lines)
    assert all(len(line.text) <= (16 if line.large else 32) for line in slip.lines)
    assert "T0042" in text
    assert "2025-03-01 09:30 UTC" in text
    for result in RESULTS:
        assert result.name in text
    assert "SDA->GPIO2" in text  # the printer's code page has no arrow
    assert slip.order_id == "doctor-20250301093000"


@pytest.mark.parametrize(
    ("message", "detail", "fix"),
    [
        (
            "/dev/i2c-1: no display answered on i2c-1 at 0x3C: check SDA→GPIO2, SCL→GPIO3",
            "/dev/i2c-1: no display answered on i2c-1 at 0x3C",
            "check SDA→GPIO2, SCL→GPIO3",
        ),
        (
            "/dev/payterm/scanner: no scanner there; is it plugged in? Check the udev rule",
            "/dev/payterm/scanner: no scanner there",
            "is it plugged in? Check the udev rule",
        ),
        ("the NFC reader failed: timeout", "the NFC reader failed: timeout", ""),
    ],
)
def test_split_fix(message: str, detail: str, fix: str) -> None:
    assert split_fix(message) == (detail, fix)


def test_importing_the_doctor_loads_no_hardware_library() -> None:
    code = (
        "import sys, terminal.doctor\n"
        "libs = ('gpiozero', 'luma', 'escpos', 'evdev', 'nfc')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in libs)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYTERM_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == ""


async def test_a_pretend_terminal_not_set_up_for_training_fails_the_config_check(
    tmp_path: Path, probes: SystemProbes
) -> None:
    out = io.StringIO()

    code = await run_doctor(
        _config(tmp_path, training=False), out=out, as_json=True, interactive=False,
        print_slip=False, system=probes,
    )  # fmt: skip

    rows = _rows(out)
    assert code == 1
    assert rows["config"]["status"] == "FAIL"
    assert "terminal.hardware: " in rows["config"]["detail"]
    assert "set [terminal] training = true" in rows["config"]["detail"]
    assert rows["training"]["status"] == "PASS"


async def test_a_training_terminal_is_told_by_the_doctor(
    tmp_path: Path, probes: SystemProbes
) -> None:
    out = io.StringIO()

    await run_doctor(
        _config(tmp_path), out=out, as_json=True, interactive=False, print_slip=False,
        system=probes,
    )  # fmt: skip

    training = _rows(out)["training"]
    assert training["status"] == "WARN"
    assert "TRAINING" in training["detail"]
    assert "training = false" in training["fix"]
