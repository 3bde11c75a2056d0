"""The status line `systemctl status payterm` shows, worked out from the runtime's summary."""

from __future__ import annotations

from typing import Any

import pytest

from terminal.system.status import OUTBOX_COUNT_LIMIT, status_line


def summary(**changes: Any) -> dict[str, Any]:
    """A Runtime.status() of an idle terminal, with ``changes``."""
    status: dict[str, Any] = {
        "phase": "idle", "order_id": None, "seq": None, "payment_state": None, "next_seq": 1,
        "printer": {"online": True, "paper": True, "detail": ""}, "printer_problem": "",
        "part_problems": {}, "fault": "", "stopping": False,
    }  # fmt: skip
    status.update(changes)
    return status


def test_an_idle_terminal_is_ready() -> None:
    assert status_line(summary()) == "ready"


@pytest.mark.parametrize("phase", ["creating", "waiting", "no_connection", "resolving"])
def test_a_payment_under_way_is_named_by_its_number(phase: str) -> None:
    status = summary(phase=phase, order_id="T0001-ab12-000123", seq=123)
    assert status_line(status) == "payment 000123 in progress"


def test_a_finished_payment_on_screen_is_ready_again() -> None:
    assert status_line(summary(phase="done", order_id="T0001-ab12-000123", seq=123)) == "ready"


@pytest.mark.parametrize(
    ("problem", "words"),
    [("paper", "printer out of paper"), ("offline", "printer offline"), ("error", "printer error")],
)
def test_printer_problems(problem: str, words: str) -> None:
    assert status_line(summary(printer_problem=problem)) == f"ready; {words}"


def test_part_problems_follow_in_the_order_reported() -> None:
    parts = {"display": "display not working", "scanner": "scanner disconnected"}
    status = summary(part_problems=parts, printer_problem="offline")
    assert status_line(status) == (
        "ready; printer offline; display not working; scanner disconnected"
    )


@pytest.mark.parametrize(
    ("pending", "words"),
    [
        (1, "1 record waiting to sync"),
        (3, "3 records waiting to sync"),
        (OUTBOX_COUNT_LIMIT, f"{OUTBOX_COUNT_LIMIT}+ records waiting to sync"),
    ],
)
def test_records_waiting_to_sync(pending: int, words: str) -> None:
    assert status_line(summary(), pending) == f"ready; {words}"


def test_a_fault_puts_the_terminal_out_of_service() -> None:
    status = summary(phase="fault", fault="journal write failed: disk full")
    assert status_line(status) == "out of service: journal write failed: disk full"


def test_stopping() -> None:
    assert status_line(summary(stopping=True), 2) == "stopping; 2 records waiting to sync"


def test_a_training_terminal_says_so_last_on_its_status_line() -> None:
    from terminal.system.status import TRAINING_NOTE

    status = {"phase": "idle", "printer_problem": "paper", "part_problems": {}}
    assert status_line(status, training=True) == f"ready; printer out of paper; {TRAINING_NOTE}"
    assert TRAINING_NOTE.startswith("TRAINING")
    assert "TRAINING" not in status_line(status)
