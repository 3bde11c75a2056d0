"""A row of the doctor's report, and how a check that breaks becomes a FAIL row."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CheckResult", "Status", "REPORT_FIX", "guard", "guard_many", "awaitable_check"]

log = logging.getLogger(__name__)

#: The fix of a check that failed in itself.
REPORT_FIX = "run payterm -v doctor and send the log with the report"


class Status(enum.StrEnum):
    """How a check went: FAIL makes the doctor exit non-zero; WARN and SKIP do not."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the report: what was checked, how it went, and the fix in words."""

    name: str
    status: Status
    detail: str
    fix: str = ""


async def guard(name: str, check: Awaitable[CheckResult]) -> CheckResult:
    """Run one check; an exception it did not expect is a FAIL row, not the end of the run."""
    try:
        return await check
    except Exception as exc:
        log.exception("doctor:%s check failed unexpectedly", name)
        return CheckResult(name, Status.FAIL, f"the check itself failed: {exc!r}", REPORT_FIX)


async def guard_many(name: str, check: Awaitable[list[CheckResult]]) -> list[CheckResult]:
    """Run a check that gives several rows; an exception it did not expect is one FAIL row."""
    try:
        return await check
    except Exception as exc:
        log.exception("doctor:%s check failed unexpectedly", name)
        return [CheckResult(name, Status.FAIL, f"the check itself failed: {exc!r}", REPORT_FIX)]


async def awaitable_check(func: Callable[..., CheckResult], *args: Any) -> CheckResult:
    """Run a synchronous check as an awaitable, for :func:`guard`."""
    return func(*args)
