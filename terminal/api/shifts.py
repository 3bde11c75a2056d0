"""Shifts by API: the X so far, closing the shift through the machine's Z, a closed shift's Z.

Closing is the keypad's ``z_report`` as an event (``ShiftCloseRequested("api")``): the
machine refuses it while a payment is under way (409, with what the terminal is doing),
the journal writes the close before the machine moves to the next shift, and the answer
is the Z report as data, the figures its slip prints.
"""

from __future__ import annotations

from typing import Any

from terminal.api.bodies import CloseShift
from terminal.api.pairing import step_of
from terminal.api.payments import doing
from terminal.api.problems import ApiProblem
from terminal.api.resources import report_resource, shift_resource
from terminal.journal import Journal
from terminal.machine import CloseShift as CloseShiftEffect
from terminal.machine import Phase, ShiftCloseRequested
from terminal.runtime.runtime import Runtime

__all__ = ["Shifts"]


class Shifts:
    """The shift endpoints' logic, on the runtime and the journal."""

    def __init__(self, runtime: Runtime, journal: Journal) -> None:
        self._runtime = runtime
        self._journal = journal

    def current(self) -> dict[str, Any]:
        """The open shift so far (the X report's figures)."""
        return shift_resource(self._journal.shift_summary())

    async def close(self, body: CloseShift) -> dict[str, Any]:
        """Close the open shift through the machine and answer its Z report."""
        state = self._runtime.state
        if body.shift is not None and body.shift != state.shift:
            raise ApiProblem(
                409, "shift_not_current",
                f"shift {body.shift} is not the open shift; shift {state.shift} is open "
                f"(GET /v1/shifts/{body.shift} for a closed one's Z)",
                field="shift", extra={"current_shift": state.shift},
            )  # fmt: skip
        step = await step_of(self._runtime, ShiftCloseRequested("api"))
        closing = [e.shift for e in step.effects if isinstance(e, CloseShiftEffect)]
        phase = self._runtime.state.phase
        if phase is Phase.FAULT:
            raise ApiProblem(
                503, "out_of_service", "the terminal is out of service: its journal cannot be "
                "written; call the administrator", extra={"phase": "fault"},
            )  # fmt: skip
        if not closing:
            raise ApiProblem(
                409, "busy", f"the shift stays open: {doing(phase)}; finish it first",
                extra={"phase": phase.value, "doing": doing(phase),
                       "current_shift": self._runtime.state.shift, "detail": step.rejected},
            )  # fmt: skip
        number = closing[0]
        if self._runtime.state.shift == number:  # the machine moves on only once it is closed
            raise ApiProblem(
                503, "shift_not_closed",
                f"the journal could not write the close of shift {number}: it stays open; "
                "retry, or call the administrator", extra={"current_shift": number},
            )  # fmt: skip
        return self.closed(number)

    def closed(self, number: int, *, detail: bool = False) -> dict[str, Any]:
        """The Z report of the closed shift ``number``; 404 for the open one or one to come.

        ``detail`` lists every payment and refund of it, as a detailed report slip does.
        """
        current = self._journal.current_shift()
        if number >= current:
            what = "is still open: GET /v1/shifts/current" if number == current else "is not yet"
            raise ApiProblem(404, "not_found", f"shift {number} {what}", field="n")
        data = self._journal.report(shift=number, detail=detail)
        return report_resource(data, kind="z")
