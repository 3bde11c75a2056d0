"""The terminal's order ids as VeryPay order numbers (``out_sn``): letters and digits only."""

from __future__ import annotations

import re

__all__ = ["out_sn_for", "order_id_from_out_sn", "MAX_OUT_SN_CHARS", "MAX_REFUND_OUT_SN_CHARS"]

MAX_OUT_SN_CHARS = 64  # out_sn is string(64) (Java client)
MAX_REFUND_OUT_SN_CHARS = 100  # refund_out_sn is string(100) (Java client)

_ESCAPE = "Z"
_ESCAPES = {"-": "H", "_": "U", _ESCAPE: _ESCAPE}
_UNESCAPES = {code: char for char, code in _ESCAPES.items()}
_ALNUM = re.compile(r"[A-Za-z0-9]")


def out_sn_for(order_id: str) -> str:
    """The terminal's id as a VeryPay ``out_sn`` (letters and digits only), reversibly.

    Letters and digits stay, except ``Z``; ``-`` becomes ``ZH``, ``_`` ``ZU``, ``Z``
    ``ZZ``, any other character ``ZX`` plus two hex digits per UTF-8 byte. Distinct ids
    always give distinct numbers: ``T0001-c0de-000042`` becomes ``T0001ZHc0deZH000042``.
    """
    out = []
    for char in order_id:
        if char in _ESCAPES:
            out.append(_ESCAPE + _ESCAPES[char])
        elif char.isascii() and _ALNUM.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"{_ESCAPE}X{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def order_id_from_out_sn(out_sn: str) -> str:
    """The terminal's id from an ``out_sn`` made by :func:`out_sn_for`; ValueError if not one."""
    raw = bytearray()
    i = 0
    while i < len(out_sn):
        char = out_sn[i]
        if char != _ESCAPE:
            if not (char.isascii() and _ALNUM.fullmatch(char)):
                raise ValueError(f"{out_sn!r} is not letters and digits")
            raw += char.encode()
            i += 1
            continue
        code = out_sn[i + 1 : i + 2]
        if code in _UNESCAPES:
            raw += _UNESCAPES[code].encode()
            i += 2
        elif code == "X" and re.fullmatch(r"[0-9a-f]{2}", out_sn[i + 2 : i + 4]):
            raw.append(int(out_sn[i + 2 : i + 4], 16))
            i += 4
        else:
            raise ValueError(f"{out_sn!r} has a bad escape at {i}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{out_sn!r} does not decode to text") from exc
