"""What the console's buttons do: the keypad, the buttons, the scanner, the badge, the demo.

On the emulated device each action goes through the emulated part (the keypad, the
scanner and its decoder, the gpiozero buttons, the NFC reader), exactly as the demo's keys
do; the customer and the network act on the demo's embedded sandbox and link. On a real
terminal whose config enables remote keys, keys, buttons and scans are fed to the runtime
as the parts' own events would be; a badge tap and the demo's controls are refused there
(a badge is something a supervisor holds, and a real terminal has no sandbox).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from hw.base import KEY_NAMES, OPERATOR_KEYS, ButtonName
from terminal.api.bodies import _Body
from terminal.api.problems import ApiProblem
from terminal.config.loader import DEMO_BADGE
from terminal.errors import TerminalError
from terminal.machine import ButtonPressed, CodeScanned, KeyPressed

__all__ = ["DEMO_CODES", "Action", "SignIn", "act"]

#: The demo's wallet codes, as its window offers them on ``a`` and ``w``.
DEMO_CODES = {"alipay": "286648397128431234", "wechat": "134567890123456789"}
_BUTTONS: tuple[ButtonName, ...] = ("retry", "cancel", "force")
_CUSTOMER = ("pay", "decline", "abandon", "expire")


class Action(_Body):
    """``POST /console/act``: one press, scan or demo action."""

    kind: Literal["key", "button", "scan", "scan-slip", "badge", "customer", "network"]
    value: str = Field(default="", max_length=256)


class SignIn(_Body):
    """``POST /console/session``: the console password, or a paired POS's API key."""

    password: str = Field(default="", max_length=256)
    api_key: str = Field(default="", max_length=256)


async def act(terminal: Any, action: Action, *, emulated: bool) -> dict[str, Any]:
    """Carry ``action`` out; 422 for a value it cannot take, 409 when it cannot act here."""
    kind, value = action.kind, action.value
    if kind == "key":
        if value not in KEY_NAMES:
            raise ApiProblem(422, "invalid_field", f"no key {value!r} on the keypad", field="value")
        _press_key(terminal, value, emulated=emulated)
    elif kind == "button":
        if value not in _BUTTONS:
            raise ApiProblem(422, "invalid_field", "retry, cancel or force", field="value")
        if emulated:
            terminal.device.buttons.press(value)
        else:
            terminal.runtime.feed(ButtonPressed(_BUTTONS[_BUTTONS.index(value)]))
    elif kind == "scan":
        code = DEMO_CODES.get(value, value) if emulated else value
        if not code:
            raise ApiProblem(422, "invalid_field", "type the code to scan", field="value")
        _scan(terminal, code, emulated=emulated)
    elif kind == "scan-slip":
        barcode = _slip_barcode(terminal)
        if barcode is None:
            raise ApiProblem(409, "no_slip", "no printed slip carries a barcode yet")
        _scan(terminal, barcode, emulated=emulated)
        value = barcode
    else:
        if not emulated:
            raise ApiProblem(403, "emulated_only", f"{kind} acts only on the emulated device")
        return await _demo(terminal, kind, value)
    return {"done": kind, "value": value}


def _press_key(terminal: Any, key: str, *, emulated: bool) -> None:
    if emulated:
        terminal.device.keypad.press(key)
        return
    runtime = terminal.runtime
    function = terminal.config.keypad.operator_keys.get(OPERATOR_KEYS.get(key, ""))
    if function is None:
        runtime.feed(KeyPressed(key))
    else:
        runtime.operate(function)


def _scan(terminal: Any, code: str, *, emulated: bool) -> None:
    if emulated:
        terminal.device.scanner.scan(code)
    else:
        terminal.runtime.feed(CodeScanned(code))


def _slip_barcode(terminal: Any) -> str | None:
    finder = getattr(terminal.device, "slip_barcode", None)
    return finder() if finder is not None else None


async def _demo(terminal: Any, kind: str, value: str) -> dict[str, Any]:
    from terminal.demo.control import act_as_customer, restore_network, set_network

    try:
        if kind == "badge":
            if not hasattr(terminal.device.nfc, "tap"):
                raise ApiProblem(409, "no_reader", "this terminal has no NFC reader (nfc.path)")
            terminal.device.nfc.tap(DEMO_BADGE)
            return {"done": kind, "value": DEMO_BADGE}
        if kind == "customer":
            if value not in _CUSTOMER:
                raise ApiProblem(422, "invalid_field", ", ".join(_CUSTOMER), field="value")
            result = await act_as_customer(terminal, value)
            return {"done": kind, "value": value, "sandbox": result.get("status")}
        if value not in ("down", "up"):
            raise ApiProblem(422, "invalid_field", "down or up", field="value")
        if value == "down":
            set_network(terminal, False)
            return {"done": kind, "value": value}
        return {"done": kind, "value": value, **await restore_network(terminal)}
    except TerminalError as exc:
        raise ApiProblem(409, "cannot_act", str(exc)) from exc
