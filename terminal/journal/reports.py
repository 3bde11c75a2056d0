"""What X, Z and period reports are made of, read from the journal with a few grouped queries.

A report covers either shifts (``shift``: one number) or a wall-clock range (``since`` to
``until``, ISO 8601 UTC, ``until`` excluded). Payments are counted in the selection they
were made in; a refund in the one it was made in (its own shift and time), not its
payment's. Per provider, wallet (or payment type) and currency:

- **paid**: payments the provider confirmed (paid, later refunded in part or whole, or a
  refund of them under way), forced ones not among them;
- **forced**: payments a supervisor completed without the provider's word (the ones still
  not reconciled are listed by number);
- **refunded**: refunds done or forced (forced ones not yet reconciled listed by number);
- **voided**: payments voided right after payment (never summed into the net);
- **net** = paid + forced - refunded.

Payments whose cancel failed or that need an administrator, and payments in doubt, are
listed by number; ``unsynced`` is the outbox's count of records no target has yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from terminal.journal.database import Database

__all__ = ["Figure", "ProviderTotals", "ReportData", "ReportLine", "read_report"]

#: Payment states counted as paid (or forced, when the payment was forced).
_TAKEN = ("paid", "partially_refunded", "refunded", "refunding")
#: Payment states still waiting for the provider's word in the cashier's flow.
_IN_DOUBT = ("new", "pending", "voiding", "refunding")


@dataclass(frozen=True, slots=True)
class Figure:
    """A count and the sum of its amounts, in minor units."""

    count: int = 0
    minor: int = 0

    def plus(self, count: int, minor: int) -> Figure:
        """This figure with ``count`` items of ``minor`` units in all added."""
        return Figure(self.count + count, self.minor + minor)


@dataclass(frozen=True, slots=True)
class ProviderTotals:
    """One provider's figures in one currency, for one wallet or payment type ("" for none)."""

    provider: str
    currency: str
    paid: Figure = Figure()
    forced: Figure = Figure()
    refunded: Figure = Figure()
    voided: Figure = Figure()
    wallet: str = ""  # the route's wallet or the cashier's chosen type; "" in older records

    @property
    def net_minor(self) -> int:
        """Paid plus forced minus refunded, in minor units."""
        return self.paid.minor + self.forced.minor - self.refunded.minor


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One transaction of a detailed report: a payment or a refund of one."""

    seq: int
    wall: str
    provider: str
    kind: str  # a payment state, or "refund" / "refund_forced"
    minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report prints, as plain data."""

    shift: int | None
    since: str
    until: str
    opened_wall: str
    closed_wall: str | None
    totals: tuple[ProviderTotals, ...]
    forced_open: tuple[int, ...]  # forced payments not yet reconciled, by number
    refunds_open: tuple[int, ...]  # payments with a forced refund not yet reconciled
    needs_admin: tuple[int, ...]  # cancel failed, or an administrator must check
    in_doubt: tuple[int, ...]
    unsynced: int
    lines: tuple[ReportLine, ...] = field(default=())


def read_report(
    db: Database,
    *,
    shift: int | None = None,
    since: str = "",
    until: str = "",
    detail: bool = False,
    unsynced_limit: int = 10_000,
) -> ReportData:
    """Read a report of ``shift`` or of the range ``since``..``until`` (one of them is given)."""
    if shift is not None:
        where_p, where_r, params = "p.shift = ?", "r.shift = ?", (shift,)
    else:
        where_p = "p.created_wall >= ? AND p.created_wall < ?"
        where_r = "r.wall >= ? AND r.wall < ?"
        params = (since, until)  # type: ignore[assignment]
    totals: dict[tuple[str, str, str], ProviderTotals] = {}
    action = "read a report"
    for row in db.rows(
        action,
        "SELECT provider, wallet, currency, state, forced, count(*), sum(amount_minor) "  # noqa: S608
        f"FROM payments p WHERE {where_p} GROUP BY provider, wallet, currency, state, forced",
        params,
    ):
        provider, wallet, currency, state, forced, count, minor = tuple(row)
        key = (str(provider), str(wallet), str(currency))
        entry = totals.get(key) or _totals(key)
        if state in _TAKEN or state == "forced":
            name = "forced" if forced or state == "forced" else "paid"
        elif state == "voided":
            name = "voided"
        else:
            continue
        totals[key] = _add(entry, name, int(count), int(minor))
    for row in db.rows(
        action,
        "SELECT p.provider, p.wallet, r.currency, count(*), sum(r.amount_minor) "  # noqa: S608
        "FROM refunds r JOIN payments p ON p.seq = r.seq "
        f"WHERE {where_r} AND r.state IN ('refunded', 'forced') "
        "GROUP BY p.provider, p.wallet, r.currency",
        params,
    ):
        key = (str(row[0]), str(row[1]), str(row[2]))
        entry = totals.get(key) or _totals(key)
        totals[key] = _add(entry, "refunded", int(row[3]), int(row[4]))
    lists = _lists(db, where_p, where_r, params)
    shift_row = None
    if shift is not None:
        shift_row = db.one(
            action, "SELECT opened_wall, closed_wall FROM shifts WHERE shift = ?", (shift,)
        )
    unsynced = db.one(
        "count the outbox",
        "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE sent_wall IS NULL AND id > "
        "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_sent_through') LIMIT ?)",
        (unsynced_limit,),
    )
    return ReportData(
        shift=shift,
        since=since,
        until=until,
        opened_wall=str(shift_row[0]) if shift_row is not None else "",
        closed_wall=shift_row[1] if shift_row is not None else None,
        totals=tuple(totals[k] for k in sorted(totals)),
        forced_open=lists["forced_open"],
        refunds_open=lists["refunds_open"],
        needs_admin=lists["needs_admin"],
        in_doubt=lists["in_doubt"],
        unsynced=int(unsynced[0]) if unsynced is not None else 0,
        lines=_lines(db, where_p, where_r, params) if detail else (),
    )


def _add(entry: ProviderTotals, name: str, count: int, minor: int) -> ProviderTotals:
    """``entry`` with ``count`` and ``minor`` added to its figure ``name``."""
    figure: Figure = getattr(entry, name)
    values = {
        "paid": entry.paid, "forced": entry.forced,
        "refunded": entry.refunded, "voided": entry.voided,
    }  # fmt: skip
    values[name] = figure.plus(count, minor)
    return ProviderTotals(entry.provider, entry.currency, wallet=entry.wallet, **values)


def _totals(key: tuple[str, str, str]) -> ProviderTotals:
    """Empty figures for (provider, wallet, currency)."""
    provider, wallet, currency = key
    return ProviderTotals(provider, currency, wallet=wallet)


def _lists(
    db: Database, where_p: str, where_r: str, params: tuple[object, ...]
) -> dict[str, tuple[int, ...]]:
    """The payments each report lists by number."""
    action = "read a report's lists"
    doubt = ", ".join(f"'{s}'" for s in _IN_DOUBT)
    rows = db.rows(
        action,
        "SELECT seq, state, needs_admin FROM payments p "  # noqa: S608 - fixed texts
        f"WHERE {where_p} AND (state IN ('forced', 'cancel_failed', {doubt}) OR needs_admin = 1) "
        "ORDER BY seq",
        params,
    )
    forced = tuple(int(r[0]) for r in rows if r[1] == "forced")
    admin = tuple(int(r[0]) for r in rows if r[1] == "cancel_failed" or r[2])
    in_doubt = tuple(int(r[0]) for r in rows if r[1] in _IN_DOUBT)
    open_refunds = db.rows(
        action,
        "SELECT DISTINCT r.seq FROM refunds r "  # noqa: S608
        f"WHERE {where_r} AND r.forced = 1 AND r.reconciled = 0 ORDER BY r.seq",
        params,
    )
    return {
        "forced_open": forced,
        "refunds_open": tuple(int(r[0]) for r in open_refunds),
        "needs_admin": admin,
        "in_doubt": in_doubt,
    }


def _lines(
    db: Database, where_p: str, where_r: str, params: tuple[object, ...]
) -> tuple[ReportLine, ...]:
    """Every payment and refund of the selection, in time order."""
    action = "read a report's transactions"
    payments = db.rows(
        action,
        "SELECT seq, created_wall, provider, CASE WHEN forced = 1 AND state != 'voided' "  # noqa: S608
        "THEN 'forced' ELSE state END, amount_minor, currency "
        f"FROM payments p WHERE {where_p} ORDER BY seq",
        params,
    )
    refunds = db.rows(
        action,
        "SELECT r.seq, r.wall, p.provider, CASE r.state WHEN 'forced' THEN 'refund_forced' "  # noqa: S608
        "WHEN 'refunded' THEN 'refund' ELSE 'refund_' || r.state END, r.amount_minor, r.currency "
        f"FROM refunds r JOIN payments p ON p.seq = r.seq WHERE {where_r} ORDER BY r.id",
        params,
    )
    lines = [ReportLine(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5]))
             for r in (*payments, *refunds)]  # fmt: skip
    return tuple(sorted(lines, key=lambda line: (line.wall, line.seq)))
