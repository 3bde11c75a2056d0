"""Runs a scenario file through the whole terminal on the emulated device (headless commands).

A scenario is a text file of headless demo commands (see README) mixed with checks:

    expect state <phase>              the machine's phase now
    expect screen <name>              the screen now shown
    expect slip <kind>                a slip of that kind was printed since the last such check
    expect journal <state> [flag...]  newest payment's state; flags: forced needs_admin mismatch
    expect charges <n>                the sandbox ledger holds n customer charges in all
    expect refunds <n>                the sandbox ledger holds n refunds in all
    expect ledger <status>            the provider's ledger has the newest order in that status
    expect calls <op> <n>             n provider calls of <op> since the scenario began
    expect alert <code>               an alert with that code was raised
    expect payments <n>               the journal holds n payments
    expect payment <number> <state>   the payment with that through-number is in that state
    expect qr                         the QR is on the display, or printed when too long
    expect screen-line <text>         the screen shows that line (no-screen-line: it does not)
    expect printer-failed <kind>      a slip of that kind could not be printed
    expect title <text>               the screen's title now
    expect slip-line <text>           a printed slip had that line
    disk full                         the journal's database can no longer grow
    disk freed                        it can grow again (the administrator made room)
    journal lost                      the journal can no longer be read or written
    refused <command>                 the command must answer an error (the customer cannot pay)
    refund all                        on a provider with partial refunds, the amount screen is
                                      shown and Enter alone takes all that is left; elsewhere
                                      the whole amount is refunded without it (nothing to do)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.config.model import Config, ProviderConfig, RouteConfig
from terminal.demo.builtin import builtin_demo_config
from terminal.demo.headless import HeadlessSession
from terminal.errors import JournalFull
from terminal.money import Money
from terminal.payment import Payment, PaymentState


@dataclasses.dataclass
class Outcome:
    """Everything a scenario emitted, for checks and failure messages."""

    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    slip_cursor: int = 0

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == name]


def scenario_config(data_dir: Path, header: dict[str, str], driver: str = "sandbox") -> Config:
    """The demo config on ``driver``'s embedded fake, adjusted by ``# set key=value`` lines."""
    config = builtin_demo_config(data_dir)
    if driver != "sandbox":
        config = dataclasses.replace(
            config,
            providers={driver: ProviderConfig(driver=driver)},
            payment=dataclasses.replace(config.payment, mpm_provider=driver),
            routes=(RouteConfig(wallet="any", provider=driver),),
        )
    for key, value in header.items():
        section, _, name = key.partition(".")
        if section == "provider":
            provider = config.providers[driver]
            typed = int(value) if name == "technical_error_budget" else float(value)
            providers = {driver: dataclasses.replace(provider, **{name: typed})}
            config = dataclasses.replace(config, providers=providers)
        else:
            table = getattr(config, section)
            typed = type(getattr(table, name))(value)
            config = dataclasses.replace(
                config, **{section: dataclasses.replace(table, **{name: typed})}
            )
    return config


def scenario_header(path: Path) -> tuple[dict[str, str], list[str], bool]:
    """A scenario's ``# set`` values, ``# needs:`` flows, and whether every driver runs it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    sets = dict(line[len("# set ") :].split("=", 1) for line in lines if line.startswith("# set "))
    needs = [w for line in lines if line.startswith("# needs:") for w in line[8:].split()]
    every = any(line.strip() == "# providers: all" for line in lines)
    return sets, needs, every


async def run_scenario(path: Path, data_dir: Path, driver: str = "sandbox") -> Outcome:
    """Run the scenario at ``path`` on ``driver``; raises AssertionError naming the failing line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header, needs, _ = scenario_header(path)
    outcome = Outcome()
    config = scenario_config(data_dir, header, driver)
    async with Terminal(config, FakeClock(), with_network_link=True) as terminal:
        _skip_unless_capable(terminal, driver, needs)
        session = HeadlessSession(terminal, outcome.events.append)
        import asyncio

        runner = asyncio.create_task(terminal.runtime.run())
        try:
            await terminal.runtime.wait_idle()
            for number, line in enumerate(lines, 1):
                words = line.split()
                if not words or words[0].startswith("#"):
                    continue
                if words[:2] == ["disk", "full"]:
                    _fill_disk(terminal)
                    continue
                if words[:2] == ["disk", "freed"]:
                    _free_disk(terminal)
                    continue
                if words[:2] == ["refund", "all"]:
                    await _refund_all(terminal, session, f"{path.name}:{number}")
                    continue
                if words[:2] == ["journal", "lost"]:
                    terminal.journal.close()  # every later read or write fails
                    continue
                if words[0] == "expect":
                    _check(terminal, outcome, words[1:], f"{path.name}:{number}: {line}")
                    continue
                refused = words[0] == "refused"
                seen = len(outcome.events)
                await session.execute(line.split(None, 1)[1] if refused else line)
                errors = [e for e in outcome.events[seen:] if e["event"] == "error"]
                if refused:
                    assert errors, f"{path.name}:{number}: the command was not refused"
                else:
                    assert not errors, f"{path.name}:{number}: {errors[-1]}"
        finally:
            runner.cancel()
            try:
                await runner
            except (asyncio.CancelledError, BaseExceptionGroup):
                pass
    return outcome


async def _refund_all(terminal: Terminal, session: HeadlessSession, where: str) -> None:
    """Refund all that is left: Enter alone on the amount screen where the provider has one."""
    capabilities = terminal.providers[next(iter(terminal.providers))].capabilities
    phase = terminal.runtime.state.phase.value
    if not capabilities.partial_refund:
        assert phase != "refund_amount", f"{where}: no partial refunds, yet the amount is asked"
        return
    assert phase == "refund_amount", f"{where}: phase is {phase}, not refund_amount"
    assert await session.execute("key enter"), where


def _skip_unless_capable(terminal: Terminal, driver: str, needs: list[str]) -> None:
    capabilities = terminal.providers[next(iter(terminal.providers))].capabilities
    for flow in needs:
        if not getattr(capabilities, f"supports_{flow}"):
            pytest.skip(f"{driver} has no {flow}")


def _fill_disk(terminal: Terminal) -> None:
    """Fill the journal through its own API until the database cannot grow: a full SD card."""
    journal, clock = terminal.journal, terminal.clock
    conn = journal._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    # Paid fillers (with an outbox item) first, then smaller new ones (without), so no room
    # is left even for a payment's first, smallest record.
    for state, seqs in ((PaymentState.PAID, range(100_000, 101_000)),
                        (PaymentState.NEW, range(101_000, 102_000))):  # fmt: skip
        for seq in seqs:
            filler = Payment(
                order_id=f"FILL-{seq}", seq=seq, shift=1, flow="mpm", provider="sandbox",
                amount=Money(1, "RUB"), state=state, created_wall="2026-01-01T00:00:00",
            )  # fmt: skip
            try:
                journal.record(filler, note="filler", mono=0.0, wall=clock.wall(),
                               wall_synced=True)  # fmt: skip
            except JournalFull:
                break
        else:
            raise AssertionError("the journal never filled up")
    # The pages of the payments under way too, so their next step cannot fit in either.
    for payment in journal.unresolved():
        for n in range(10_000):
            step = payment.with_state(payment.state, message=f"filler {n}")
            try:
                journal.record(step, note="filler", mono=0.0, wall=clock.wall(), wall_synced=True)
            except JournalFull:
                break


def _free_disk(terminal: Terminal) -> None:
    """Let the journal's database grow again, as when an administrator deletes other files."""
    conn = terminal.journal._conn
    assert conn is not None
    conn.execute("PRAGMA max_page_count = 1073741823")


def _check(terminal: Terminal, outcome: Outcome, words: list[str], where: str) -> None:
    what, args = words[0], words[1:]
    runtime = terminal.runtime
    if what == "state":
        assert runtime.state.phase.value == args[0], (
            f"{where}: phase is {runtime.state.phase.value}"
        )
    elif what == "screen":
        name = runtime.screen.name if runtime.screen else None
        assert name == args[0], f"{where}: screen is {name} ({runtime.screen})"
    elif what == "slip":
        slips = outcome.of("printer:slip")
        fresh = slips[outcome.slip_cursor :]
        kinds = [s["kind"] for s in fresh]
        assert args[0] in kinds, f"{where}: slips printed since last check: {kinds}"
        outcome.slip_cursor = len(slips)
    elif what == "journal":
        newest = terminal.journal.recent(1)
        assert newest, f"{where}: journal is empty"
        payment = newest[0]
        assert payment.state.value == args[0], f"{where}: newest payment is {payment}"
        for flag in args[1:]:
            assert getattr(payment, flag), f"{where}: {flag} not set on {payment}"
    elif what == "payment":
        found = terminal.journal.find(f"{int(args[0]):06d}")
        assert found is not None, f"{where}: no payment {args[0]}"
        assert found.state.value == args[1], f"{where}: payment is {found}"
    elif what == "charges":
        charges = next(iter(terminal.sandboxes.values())).ledger.charges()
        assert charges == int(args[0]), f"{where}: sandbox counted {charges} charges"
    elif what == "refunds":
        refunds = next(iter(terminal.sandboxes.values())).ledger.refunds()
        assert len(refunds) == int(args[0]), f"{where}: sandbox holds {len(refunds)} refunds"
    elif what == "ledger":
        records = next(iter(terminal.sandboxes.values())).ledger.payments()
        assert records, f"{where}: the provider's ledger is empty"
        assert records[-1].status == args[0], f"{where}: the provider has {records[-1]}"
    elif what == "calls":
        calls = [e for e in outcome.of("provider:call") if e["op"] == args[0]]
        assert len(calls) == int(args[1]), f"{where}: {len(calls)} {args[0]} calls"
    elif what == "alert":
        codes = [e["code"] for e in outcome.of("terminal:alert")]
        assert args[0] in codes, f"{where}: alerts were {codes}"
    elif what == "qr":
        # The QR reached the customer: on the display, or on a slip when too long for it.
        name = runtime.screen.name if runtime.screen else None
        printed = [e for e in outcome.of("printer:slip") if e["kind"] == "qr"]
        assert name == "qr" or (name == "qr_printed" and printed), f"{where}: screen {name}"
    elif what in ("screen-line", "no-screen-line"):
        lines = list(runtime.screen.lines) if runtime.screen else []
        shown = " ".join(args) in lines
        assert shown == (what == "screen-line"), f"{where}: screen lines are {lines}"
    elif what == "printer-failed":
        kinds = [e["kind"] for e in outcome.of("printer:failed")]
        assert args[0] in kinds, f"{where}: printer failures were {kinds}"
    elif what == "title":
        title = runtime.screen.title if runtime.screen else None
        assert title == " ".join(args), f"{where}: title is {title!r}"
    elif what == "slip-line":
        texts = [line for e in outcome.of("printer:slip") for line in e["lines"]]
        assert " ".join(args) in texts, f"{where}: slip lines were {texts}"
    elif what == "payments":
        count = len(terminal.journal.recent(1000))
        assert count == int(args[0]), f"{where}: journal holds {count} payments"
    else:
        raise AssertionError(f"{where}: unknown check {what!r}")
