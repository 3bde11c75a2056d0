"""The pairing slip: the API certificate's fingerprint, for the POS to pin; never the code."""

from __future__ import annotations

from terminal.views.model import Slip, SlipKind, SlipLine
from terminal.views.slips import fit, pair_line
from terminal.views.text import Language, t

__all__ = ["build_pairing_slip"]


def build_pairing_slip(
    fingerprint: str, *, terminal_id: str, address: str, language: Language, columns: int = 32
) -> Slip:
    """The slip printed when a pairing code is shown: where the API is and what to pin.

    The fingerprint is printed in groups of four bytes, one group a line, so each line can
    be compared with what the POS shows.
    """
    lang = language
    groups = fingerprint.split(":")
    chunks = [":".join(groups[i : i + 8]) for i in range(0, len(groups), 8)]
    lines: list[SlipLine] = [
        SlipLine(t("slip_pairing", lang), align="center", bold=True, large=True),
        SlipLine("-" * columns),
        *pair_line(t("slip_terminal", lang), terminal_id, columns),
        *pair_line(t("slip_pairing_address", lang), address, columns),
        SlipLine("-" * columns),
        SlipLine(t("slip_pairing_pin", lang), bold=True),
        SlipLine("SHA-256"),
        *(SlipLine(chunk) for chunk in chunks),
    ]
    fitted = tuple(piece for line in lines for piece in fit(line, columns))
    return Slip(SlipKind.PAIRING, "pairing", fitted)
