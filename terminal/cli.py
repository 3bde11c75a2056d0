"""The payterm command: run the terminal, the demo, the sandbox, or check a config."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from hw.errors import HardwareError
from terminal.clock import Clock, FakeClock, SystemClock
from terminal.config.loader import load_config
from terminal.config.model import Config
from terminal.config.training import check_training
from terminal.demo.builtin import builtin_demo_config
from terminal.errors import ConfigError, TerminalError
from terminal.system.logs import configure_logging

__all__ = [
    "main", "build_parser", "DEFAULT_CONFIG", "EXIT_FAILED", "EXIT_ERROR", "default_demo_dir",
    "default_sandbox_ledger", "version",
]  # fmt: skip

DEFAULT_CONFIG = Path("/etc/payterm/payterm.toml")
#: Exit status when a headless command (or a check) failed.
EXIT_FAILED = 1
#: Exit status when payterm could not do its work at all (bad config, missing part, …).
EXIT_ERROR = 2

_DESCRIPTION = """The payterm command: run the terminal, the demo, the sandbox, or check a config.
Exit status: 0 done, 1 something it checked or ran failed (a headless command, a doctor
check), 2 it could not run (the message on stderr says why), 130 interrupted."""


def _state_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state"))


def default_demo_dir() -> Path:
    """Where the demo keeps its journal and sandbox ledger between runs."""
    return _state_home() / "payterm-demo"


def default_sandbox_ledger() -> Path:
    """Where ``payterm sandbox`` keeps its ledger unless told: never the current folder."""
    return _state_home() / "payterm-sandbox" / "ledger.sqlite3"


def version() -> str:
    """payterm's version: the installed package's, else the source tree's."""
    from terminal.system.version import software_version

    return software_version()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``payterm`` command."""
    parser = argparse.ArgumentParser(
        prog="payterm",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"payterm {version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the terminal (as the service does)")
    run.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"the config file (default: {DEFAULT_CONFIG})",
    )
    run.add_argument(
        "--wait-on-error",
        action="store_true",
        help="with no usable config, show why on the display and wait instead of exiting "
        "(the service does this, so systemd does not restart it in a loop)",
    )

    sub.add_parser(
        "import-config",
        add_help=False,
        help="install payterm.toml from the SD card's boot partition (the boot does this); "
        "--help for its options",
    )

    for name, text in _DATA_COMMANDS.items():
        sub.add_parser(name, add_help=False, help=f"{text}; --help for its options")
    apply_system = sub.add_parser(
        "apply-system",
        help="write the installed host name, Wi-Fi and console password into the root file "
        "system when they differ (every boot does this, for a root new from an update)",
    )
    apply_system.add_argument(
        "--root", type=Path, default=Path("/"), help="the terminal's root folder (default /)"
    )

    demo = sub.add_parser("demo", help="run the terminal on the emulated device")
    demo.add_argument("--config", type=Path, help="a config file (default: built-in demo)")
    demo.add_argument(
        "--data-dir", type=Path, help=f"its journal and ledger (default: {default_demo_dir()})"
    )
    demo.add_argument(
        "--headless",
        action="store_true",
        help="commands on stdin, JSON lines on stdout; exit status 1 if any command failed",
    )
    demo.add_argument("--fake-clock", action="store_true", help="time moves only by 'advance'")
    demo.add_argument("--language", choices=["en", "ru"], help="override terminal.language")
    demo.add_argument("--qr-mode", type=int, choices=[0, 1, 2], help="override payment.qr_mode")

    sandbox = sub.add_parser("sandbox", help="serve the sandbox provider on its own")
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=8765,
        help="port to listen on, 0 for any free one (default: %(default)s)",
    )
    sandbox.add_argument(
        "--ledger",
        type=Path,
        default=default_sandbox_ledger(),
        help="the file that keeps its payments between runs (default: %(default)s)",
    )
    sandbox.add_argument(
        "--api-key",
        default=os.environ.get("PAYTERM_SANDBOX_KEY"),
        help="the Bearer key clients must send (default: $PAYTERM_SANDBOX_KEY; unset: none needed)",
    )
    sandbox.add_argument(
        "--provider",
        default="sandbox",
        help="speak this driver's wire format (sandbox, paymaster, pockyt, verystar, webmoney, "
        "sendy) with its demo credentials (default: %(default)s)",
    )
    sandbox.add_argument(
        "--config", type=Path, help="take --provider's options and secrets from this config"
    )

    sendy = sub.add_parser("sendy-activate", help="activate the terminal with Sendy")
    sendy.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s")
    sendy.add_argument("--provider", default="sendy", help="the [providers.<name>] to activate")
    sendy.add_argument("--terminal-id", required=True, help="issued at registration with Sendy")
    sendy.add_argument("--serial", required=True, help="the serial number chosen for it")
    sendy.add_argument("--code", required=True, help="the activation code from the cabinet")

    doctor = sub.add_parser("doctor", help="check every configured part and print the fix")
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s")
    doctor.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    doctor.add_argument("--interactive", action="store_true", help="ask for a scan, keys, taps")
    doctor.add_argument("--print", action="store_true", help="print a commissioning slip")

    nfc = sub.add_parser("nfc", help="NFC plate: write the cash-register link to a tag")
    nfc_sub = nfc.add_subparsers(dest="nfc_command", required=True)
    write = nfc_sub.add_parser("write-link", help="write a link as an NDEF URI record")
    write.add_argument("url", help="the SBP cash-register link (https://qr.nspk.ru/...)")
    write.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s")
    write.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for a tag (default: %(default)s)",
    )
    write.add_argument("--lock", action="store_true", help="make the tag read-only afterwards")

    check = sub.add_parser("check-config", help="validate a config file and its secrets")
    check.add_argument("config", type=Path, help="the config file to check")

    sync = sub.add_parser("sync", help="records sent upstream: status, retry a parked batch")
    sync_sub = sync.add_subparsers(dest="sync_command", required=True)
    sync_status = sync_sub.add_parser("status", help="per target: last acknowledged, backlog")
    sync_status.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s"
    )
    sync_status.add_argument("--json", action="store_true", help="one JSON list")
    sync_retry = sync_sub.add_parser("retry", help="send a batch a receiver refused again")
    sync_retry.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s"
    )
    sync_retry.add_argument("--target", help="the [[sync.targets]] name (default: every one)")
    fleet = sub.add_parser("fleet", help="the reference receiver of every terminal's records")
    fleet_sub = fleet.add_subparsers(dest="fleet_command", required=True)
    listen = fleet_sub.add_parser("listen", help="store each record once in an SQLite file")
    listen.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
    listen.add_argument("--db", type=Path, required=True, help="the SQLite file to write")
    listen.add_argument(
        "--protocol", choices=["5", "3.1.1"], default="5", help="MQTT version (default 5)"
    )
    listen.add_argument("--client-id", default="payterm-fleet", help="its persistent session")
    listen.add_argument("--username", default="", help="MQTT user name (default: none)")
    listen.add_argument("--password-file", type=Path, help="a file holding the password")
    listen.add_argument("--ca", type=Path, help="TLS: the CA of the broker's certificate")
    listen.add_argument("--cert", type=Path, help="TLS: a client certificate (PEM)")
    listen.add_argument("--key", type=Path, help="TLS: its key")

    journal = sub.add_parser(
        "journal", help="print the last payments of the journal (read-only), check or recover it"
    )
    journal.add_argument(
        "--config",
        type=Path,
        help=f"the terminal's config (default: {DEFAULT_CONFIG}, not read with --data-dir alone)",
    )
    journal.add_argument(
        "--data-dir",
        type=Path,
        help=f"read the journal in this folder instead, e.g. the demo's {default_demo_dir()}",
    )
    journal.add_argument("--last", type=_positive, default=10, help="how many (default 10)")
    journal.add_argument("--json", action="store_true", help="one JSON list instead of a table")

    action = journal.add_mutually_exclusive_group()
    action.add_argument(
        "--check", action="store_true", help="say whether the journal is sound (read-only)"
    )
    action.add_argument(
        "--recover",
        action="store_true",
        help="with the terminal stopped: salvage a damaged journal into a new one, keeping "
        "the damaged files renamed (see docs/journal.md)",
    )

    report = sub.add_parser(
        "report", help="print an X report, a shift's or a time range's report, or close the shift"
    )
    report.add_argument("kind", nargs="?", choices=("x", "z"), default="x",
                        help="x: the open shift (default); z: with the terminal stopped, close "
                        "the shift and print its Z")  # fmt: skip
    report.add_argument("--config", type=Path, help=f"default: {DEFAULT_CONFIG}")
    report.add_argument("--data-dir", type=Path, help="read the journal in this folder instead")
    report.add_argument(
        "--shift", type=_positive, help="the report of shift N (a Z copy if closed)"
    )
    report.add_argument("--from", dest="since", help="ISO date/time (UTC), e.g. 2026-03-01T00:00")
    report.add_argument("--to", dest="until", help="ISO date/time (UTC), excluded")
    report.add_argument("--detail", action="store_true", help="one line per payment and refund")

    # The integrator API: pairing a POS (docs/api/).
    pair = sub.add_parser("pair", help="show a pairing code for a POS on the terminal's display")
    pair.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s")
    pair.add_argument(
        "--data-dir", type=Path, help="the demo's data directory (payterm demo --api)"
    )
    pairings = sub.add_parser("pairings", help="list or revoke the paired POS")
    pairings.add_argument("action", choices=["list", "revoke"], help="list, or revoke NAME")
    pairings.add_argument("name", nargs="?", help="revoke: the POS's name")
    pairings.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s"
    )
    pairings.add_argument("--data-dir", type=Path, help="the demo's data directory")
    demo.add_argument("--api", action="store_true", help="serve the integrator API (loopback)")
    demo.add_argument("--api-port", type=int, default=8443, help="with --api (default 8443)")
    demo.add_argument(
        "--web", action="store_true",
        help="the web console only (http://127.0.0.1:PORT/console/), no drawing in this window",
    )  # fmt: skip
    return parser


#: Commands with a parser of their own (terminal/system/), dispatched before this one's.
_DATA_COMMANDS = {
    "export": "copy the journal and config (no secrets) to the card, a folder or a USB stick",
    "import-data": "install an export's journal and config on this terminal (stopped)",
    "update": "install a signed update bundle and try it once; --status, --confirm",
}


def _data_command(name: str, argv: list[str]) -> int:
    if name == "export":
        from terminal.system.data_export import main as command
    elif name == "import-data":
        from terminal.system.data_import import main as command
    else:
        from terminal.system.update import main as command
    return command(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``payterm`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["import-config"]:
        from terminal.system.provision import main as import_config

        return import_config(arguments[1:])
    if arguments[:1] and arguments[0] in _DATA_COMMANDS:
        configure_logging()
        return _data_command(arguments[0], arguments[1:])
    args = build_parser().parse_args(arguments)
    configure_logging(args.verbose)
    try:
        if args.command == "check-config":
            config = load_config(args.config)
            check_training(config)
            count, hardware = len(config.providers), config.terminal.hardware
            training = ", TRAINING: no real payments" if config.terminal.training else ""
            print(f"{args.config}: OK ({count} provider(s), hardware {hardware}{training})")
            return 0
        if args.command == "apply-system":
            from terminal.system.apply_system import apply_system

            return apply_system(args.root).exit_code
        if args.command == "sandbox":
            return _run_sandbox(args)
        if args.command == "doctor":
            return asyncio.run(_doctor(args))
        if args.command == "nfc":
            return _nfc_write_link(args)
        if args.command == "sendy-activate":
            return asyncio.run(_sendy_activate(args))
        if args.command == "journal":
            return _print_journal(args)
        if args.command == "report":
            return _print_report(args)
        if args.command in ("pair", "pairings"):
            return _pairing(args)
        if args.command == "sync":
            return _sync(args)
        if args.command == "fleet":
            return asyncio.run(_fleet_listen(args))
        if args.command == "demo":
            if args.web:
                return asyncio.run(_demo_web(_demo_config(args), _clock(args)))
            return asyncio.run(_demo(_demo_config(args), _clock(args), headless=args.headless))
        try:
            config = load_config(args.config)
            check_training(config)
        except ConfigError as exc:
            if not args.wait_on_error:
                raise
            return asyncio.run(_hold(str(exc)))
        return asyncio.run(_run(config, _clock(args), wait=args.wait_on_error))
    except (TerminalError, HardwareError) as exc:
        print(f"payterm: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _clock(args: argparse.Namespace) -> Clock:
    if getattr(args, "fake_clock", False):
        # Starts at the host's time, so a restarted demo sees the time that went by.
        return FakeClock(start_wall=datetime.now(UTC))
    # On a laptop running the demo the clock is kept by the host; on the Pi, `payterm run`
    # trusts the wall clock only once systemd-timesyncd says it synchronised.
    return SystemClock(assume_synced=args.command == "demo")


def _demo_config(args: argparse.Namespace) -> Config:
    data_dir = args.data_dir or default_demo_dir()
    config = load_config(args.config) if args.config else builtin_demo_config(data_dir)
    config = replace(config, terminal=replace(config.terminal, training=True))  # by definition
    if args.data_dir:
        config = replace(config, terminal=replace(config.terminal, data_dir=args.data_dir))
    if args.language:
        config = replace(config, terminal=replace(config.terminal, language=args.language))
    if args.qr_mode is not None:
        config = replace(config, payment=replace(config.payment, qr_mode=args.qr_mode))
    if args.api:
        api = replace(config.api, enabled=True, host="127.0.0.1", port=args.api_port)
        config = replace(config, api=api)
    elif not args.headless:  # the web console beside the window (plain HTTP, loopback only)
        api = replace(config.api, enabled=True, host="127.0.0.1", port=args.api_port, tls=False)
        config = replace(config, api=api)
    return config


def _pairing(args: argparse.Namespace) -> int:
    from terminal.api.local import pair_command, pairings_command

    if args.data_dir is not None:
        config = builtin_demo_config(args.data_dir)
        config = replace(config, api=replace(config.api, enabled=True))
    else:
        config = load_config(args.config)
    if args.command == "pair":
        print(pair_command(config))
    elif args.action == "revoke" and not args.name:
        raise ConfigError("name the POS to revoke: payterm pairings revoke NAME")
    else:
        print(pairings_command(config, args.action, args.name))
    return 0


def _announce_api(terminal: object, *, headless: bool) -> None:
    """Say where the demo's API listens and what to pin (a JSON line when headless)."""
    api = getattr(terminal, "api", None)
    if api is None:
        return
    if headless:
        import json

        line = {"event": "api:listening", "url": api.url, "fingerprint": api.fingerprint,
                "socket": str(api.socket)}  # fmt: skip
        print(json.dumps(line), flush=True)
    elif api.fingerprint:
        print(f"API on {api.url}  certificate SHA-256 {api.fingerprint}", file=sys.stderr)
    if not headless and api.api.console is not None:
        print(f"web console: {api.url}/console/", file=sys.stderr, flush=True)


async def _demo_web(config: Config, clock: Clock) -> int:
    """The demo with the web console only: runs until Ctrl-C or SIGTERM."""
    import signal

    from terminal.app import Terminal

    async with Terminal(config, clock, with_network_link=True) as terminal:
        _announce_api(terminal, headless=False)
        print("Ctrl-C stops the demo", file=sys.stderr, flush=True)
        runner = asyncio.create_task(terminal.runtime.run())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, runner.cancel)
        try:
            await runner
        except asyncio.CancelledError:
            pass
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await terminal.runtime.stop(timeout_s=2)
    return 0


async def _demo(config: Config, clock: Clock, *, headless: bool) -> int:
    from terminal.app import Terminal

    if headless:
        from terminal.demo.headless import run_headless

        async with Terminal(config, clock, with_network_link=True) as terminal:
            _announce_api(terminal, headless=True)
            failed = await run_headless(terminal)
        return EXIT_FAILED if failed else 0
    from terminal.demo.interactive import check_window, demo_logging, run_interactive

    check_window(config)  # before anything is drawn or opened
    with demo_logging(config.terminal.data_dir):
        async with Terminal(config, clock, with_network_link=True) as terminal:
            _announce_api(terminal, headless=False)
            await run_interactive(terminal)
    return 0


async def _run(config: Config, clock: Clock, *, wait: bool) -> int:
    from terminal.system.sdnotify import Notifier
    from terminal.system.service import serve

    return await serve(config, clock, Notifier(), wait_on_damage=wait)


async def _hold(problem: str) -> int:
    from terminal.system.sdnotify import Notifier
    from terminal.system.service import hold

    return await hold(problem, Notifier())


def _print_journal(args: argparse.Namespace) -> int:
    from terminal.app import JOURNAL_FILE
    from terminal.journal.listing import payments_json, payments_table, read_last_payments

    config = _journal_config(args)
    path = (args.data_dir or config.terminal.data_dir) / JOURNAL_FILE
    if args.check or args.recover:
        from terminal.journal.listing import check_journal, recover_journal

        run = recover_journal if args.recover else check_journal
        return run(path, terminal_id=config.terminal.id, as_json=args.json, out=sys.stdout)
    payments = read_last_payments(path, terminal_id=config.terminal.id, last=args.last)
    print(payments_json(payments) if args.json else payments_table(payments))
    return 0


def _print_report(args: argparse.Namespace) -> int:
    """``payterm report``: the report's slip as text on stdout (read from a snapshot)."""
    from datetime import UTC, datetime

    from terminal.app import JOURNAL_FILE
    from terminal.journal.journal import Journal
    from terminal.journal.listing import journal_snapshot
    from terminal.views.model import SlipKind
    from terminal.views.reports import build_report

    config = _journal_config(args)
    path = (args.data_dir or config.terminal.data_dir) / JOURNAL_FILE
    if (args.since is None) != (args.until is None):
        print("payterm report: --from and --to go together", file=sys.stderr)
        return 2
    if args.kind == "z" and (args.shift or args.since):
        print("payterm report z closes the open shift: no --shift or --from", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    kind, copy = SlipKind.X_REPORT, False
    if args.kind == "z":
        from terminal.journal.recovery import in_use

        if in_use(path):
            print(
                "payterm report z: the terminal is running and holds the journal; close the "
                "shift with its Z key (keypad) instead, or stop it first",
                file=sys.stderr,
            )
            return 2
        with Journal.open(path, terminal_id=config.terminal.id, create=False) as journal:
            data = journal.close_shift_report(wall=now, detail=args.detail)
        kind = SlipKind.Z_REPORT
    else:
        with journal_snapshot(path, terminal_id=config.terminal.id) as journal:
            if args.since:
                since, until = _iso(args.since), _iso(args.until)
                data = journal.report(since=since, until=until, detail=args.detail)
                kind = SlipKind.PERIOD_REPORT
            else:
                data = journal.report(shift=args.shift, detail=args.detail)
                if data.closed_wall:
                    kind, copy = SlipKind.Z_REPORT, True
                elif args.shift:
                    kind = SlipKind.PERIOD_REPORT
    slip = build_report(
        data, kind, terminal_id=config.terminal.id, printed_wall=now.isoformat(),
        language=config.terminal.language, columns=config.printer.columns, copy=copy,
    )  # fmt: skip
    print("\n".join(line.text for line in slip.lines))
    return 0


def _iso(text: str) -> str:
    """A date/time typed on the command line, as the journal's UTC ISO text."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(f"payterm report: {text!r} is not an ISO date/time") from exc
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _journal_config(args: argparse.Namespace) -> Config:
    """The config ``journal`` reads: the file given, else the default file unless --data-dir."""
    if args.config is None and args.data_dir is not None:
        return Config()
    return load_config(args.config or DEFAULT_CONFIG)


def _sync(args: argparse.Namespace) -> int:
    from terminal.sync.commands import format_report, retry_parked, sync_report

    config = load_config(args.config)
    if args.sync_command == "retry":
        print(retry_parked(config, args.target))
        return 0
    reports = sync_report(config)
    print(format_report(reports, as_json=args.json))
    return 1 if any(report.parked for report in reports) else 0


async def _fleet_listen(args: argparse.Namespace) -> int:
    import signal

    from terminal.sync.fleet import listen
    from terminal.sync.mqtt_link import Broker

    password = ""
    if args.password_file is not None:
        password = args.password_file.read_text(encoding="utf-8").strip()
    broker = Broker(
        args.broker, protocol=args.protocol, username=args.username, password=password,
        ca_file=args.ca, cert_file=args.cert, key_file=args.key,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await listen(broker, args.db, client_id=args.client_id, stop=stop)


async def _sendy_activate(args: argparse.Namespace) -> int:
    from terminal.providers.registry import build_client
    from terminal.providers.sendy.driver import activate

    config = load_config(args.config)
    pcfg = config.providers.get(args.provider)
    if pcfg is None or pcfg.driver != "sendy":
        raise ConfigError("no Sendy provider of that name", key=f"providers.{args.provider}")
    default_state = config.terminal.data_dir / f"sendy-{args.provider}.json"
    state_path = Path(pcfg.options.get("state_path", default_state))
    async with build_client(pcfg) as client:
        result = await activate(
            client, pcfg.url, terminal_id=args.terminal_id, serial_number=args.serial,
            activation_code=args.code, state_path=state_path, provider=args.provider,
            **({"api_root": pcfg.options["api_root"]} if "api_root" in pcfg.options else {}),
        )  # fmt: skip
    if result.warning:
        print(f"warning: {result.warning}")
    print(result.message)
    print(f"attempts with this code: {result.attempts_used} used, {result.attempts_left} left")
    return 0 if result.activated else 1


async def _doctor(args: argparse.Namespace) -> int:
    from terminal.doctor.runner import run_doctor_file

    return await run_doctor_file(
        args.config, out=sys.stdout, as_json=args.json, interactive=args.interactive,
        print_slip=args.print,
    )  # fmt: skip


def _nfc_write_link(args: argparse.Namespace) -> int:
    from hw.nfc.ndef_link import write_link

    config = load_config(args.config)
    if not config.nfc.path:
        raise ConfigError('no NFC reader configured; set it, e.g. path = "usb"', key="nfc.path")
    try:
        written = write_link(config.nfc.path, args.url, timeout_s=args.timeout, lock=args.lock)
    except ValueError as exc:
        raise ConfigError(str(exc), key="url") from exc
    lock = ", locked" if written.locked else ""
    print(f"wrote {written.url} to tag {written.uid} ({written.size_bytes} bytes{lock})")
    return 0


def _run_sandbox(args: argparse.Namespace) -> int:
    from terminal.providers.sandbox.server import serve

    driver, options, secrets = args.provider, {}, {}
    if args.config is not None:
        config = load_config(args.config)
        if args.provider not in config.providers:
            known = ", ".join(config.providers)
            raise ConfigError(f"no [providers.{args.provider}] here; configured: {known}")
        pcfg = config.providers[args.provider]
        driver, options = pcfg.driver, dict(pcfg.options)
        secrets = dict(config.secrets.provider_secrets.get(args.provider, {}))
    asyncio.run(
        serve(
            args.host,
            args.port,
            args.ledger,
            api_key=args.api_key,
            driver=driver,
            options=options,
            secrets=secrets,
        )  # fmt: skip
    )
    return 0
