"""Figures and how they are shown: one row per figure, its target beside it, OK or MISSED."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Figure",
    "broken",
    "error_figures",
    "not_measured",
    "format_table",
    "figures_to_json",
    "figures_from_json",
    "print_figures",
]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure; with ``limit`` set, the target is ``value <= limit``.

    ``value`` is None when the measurement could not be taken (``note`` says why).
    ``section`` groups rows in the table (the benchmark's number and name).
    """

    section: str
    key: str
    label: str
    value: float | None
    unit: str
    limit: float | None = None
    note: str = ""

    @property
    def status(self) -> str:
        """``OK``, ``MISSED``, ``n/a`` (no value) or empty (no target)."""
        if self.value is None:
            return "n/a"
        if self.limit is None:
            return ""
        return "OK" if self.value <= self.limit else "MISSED"

    @property
    def target(self) -> str:
        """The target as text, e.g. ``<= 5 ms``; empty when there is none."""
        return "" if self.limit is None else f"<= {_number(self.limit)} {self.unit}".rstrip()

    def to_json(self) -> dict[str, Any]:
        """The figure as a JSON-ready dict, with its target text and status."""
        return {**asdict(self), "target": self.target, "status": self.status}


def not_measured(section: str, name: str, why: str) -> Figure:
    """The row of a benchmark that broke before it measured anything (``why`` says how)."""
    return Figure(section, f"{name}_failed", f"{name}: not measured", None, "", note=why)


def broken(figures: Iterable[Figure]) -> list[Figure]:
    """The rows of benchmarks that broke: a broken benchmark makes its command exit 1."""
    return [figure for figure in figures if figure.key.endswith("_failed")]


def error_figures(section: str, errors: Sequence[str]) -> list[Figure]:
    """A row counting the errors the terminal logged during a benchmark; none when none."""
    if not errors:
        return []
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return [
        Figure(section, "errors_logged", "errors logged by the terminal", float(len(errors)), "",
               note=f"first: {errors[0][:300]}{more}")
    ]  # fmt: skip


def figures_to_json(figures: Iterable[Figure]) -> list[dict[str, Any]]:
    """Every figure as a JSON-ready dict."""
    return [figure.to_json() for figure in figures]


def figures_from_json(rows: Iterable[dict[str, Any]]) -> list[Figure]:
    """Figures back from :func:`figures_to_json` rows (extra keys are ignored)."""
    names = Figure.__dataclass_fields__
    return [Figure(**{k: v for k, v in row.items() if k in names}) for row in rows]


def print_figures(figures: Sequence[Figure], *, as_json: bool, **extra: Any) -> None:
    """Print ``figures`` as the table, or as one JSON document (with ``extra`` fields)."""
    if as_json:
        print(json.dumps({**extra, "figures": figures_to_json(figures)}, indent=2))  # noqa: T201
    else:
        print(format_table(figures))  # noqa: T201


def format_table(figures: Sequence[Figure]) -> str:
    """A plain-text table, one section after another, notes under their rows."""
    head = ("figure", "measured", "target", "status")
    rows = [(f.label, _measured(f), f.target, f.status) for f in figures]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(4)]
    widths[0] = min(widths[0], 58)
    lines: list[str] = []
    section = None
    for figure, row in zip(figures, rows, strict=True):
        if figure.section != section:
            section = figure.section
            lines += [
                "",
                f"== {section}",
                _row(head, widths),
                _row(("-" * w for w in widths), widths),
            ]
        lines.append(_row(row, widths))
        if figure.note:
            lines.append(f"     {figure.note}")
    return "\n".join(lines).lstrip("\n")


def _row(cells: Iterable[str], widths: Sequence[int]) -> str:
    label, measured, target, status = cells
    return (
        f"  {label:<{widths[0]}}  {measured:>{widths[1]}}  {target:<{widths[2]}}  {status}"
    ).rstrip()


def _measured(figure: Figure) -> str:
    if figure.value is None:
        return "-"
    return f"{_number(figure.value)} {figure.unit}".rstrip()


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}".replace(",", " ")
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value else "0"
