"""Choosing the QR payment type: the numbered list after Enter when several are configured.

With one payment type Enter on the ready screen asks for the QR at once, as always. With
several (``payment.qr_providers``; Sendy adds one per online service switched on) Enter
shows them numbered; a digit marks one, Enter takes the marked one (the configured
default when none is marked), Backspace unmarks, ``0`` shows the next page of a longer
list, Clear or Cancel go back to the amount. A scan is still taken there: the customer
may show a code after all. The integrator API's ``choose`` payments offer the same list.
"""

from __future__ import annotations

from terminal.machine.common import DIGITS, Step, reject
from terminal.machine.entry import _start_cpm, _start_mpm, ready_key
from terminal.machine.events import ButtonPressed, CodeScanned, KeyPressed
from terminal.machine.routing import strip_symbology
from terminal.machine.states import Now, Phase, QrChoice, Settings, State

__all__ = [
    "PAGE_SIZE",
    "qr_choices",
    "picked",
    "wallet_for",
    "edit_choice",
    "ready_enter",
    "ready_key_or_choose",
    "choose_key",
    "choose_button",
    "choose_scan",
]

#: More choices than this may not fit one page of the list (two lines of two): ``0`` pages on.
PAGE_SIZE = 2


def qr_choices(state: State) -> tuple[QrChoice, ...]:
    """The payment types offered now: the configured ones that make a QR.

    An API payment that names its provider is offered only that provider's types.
    """
    s = state.settings
    listed = s.qr_choices or (QrChoice(s.mpm_provider),)
    order = state.api_order
    if order is not None and order.provider:
        listed = tuple(c for c in listed if c.provider == order.provider) or (
            QrChoice(order.provider, wallet_for(s, order.provider)),
        )
    return tuple(c for c in listed if s.capabilities(c.provider).supports_mpm)


def picked(state: State, choices: tuple[QrChoice, ...]) -> QrChoice:
    """The choice Enter takes: the one whose number is typed, else the configured default."""
    if state.choice:
        return choices[int(state.choice) - 1]
    s = state.settings
    if 0 <= s.qr_default < len(s.qr_choices) and s.qr_choices[s.qr_default] in choices:
        return s.qr_choices[s.qr_default]
    return choices[0]


def wallet_for(settings: Settings, provider: str) -> str:
    """The wallet a QR of ``provider`` pays with when no one chose: its default type."""
    listed = settings.qr_choices
    if 0 <= settings.qr_default < len(listed) and listed[settings.qr_default].provider == provider:
        return listed[settings.qr_default].wallet
    return next((c.wallet for c in listed if c.provider == provider), "")


def edit_choice(state: State, key: str, choices: tuple[QrChoice, ...]) -> Step | None:
    """Apply a digit, ``0`` or Backspace to the choice list; None for any other key.

    Backspace with nothing marked is left to the caller (None).
    """
    if key in DIGITS and key != "0":
        if int(key) > len(choices):
            return Step(state.evolve(message="no_such_type"))
        return Step(state.evolve(choice=key, message=""))
    if key == "0" and len(choices) > PAGE_SIZE:
        # The view lays the pages out and shows page ``choice_page`` modulo their number.
        return Step(state.evolve(choice_page=state.choice_page + 1, message=""))
    if key == "backspace" and state.choice:
        return Step(state.evolve(choice="", message=""))
    return None


def ready_enter(state: State, now: Now) -> Step:
    """Enter on the ready screen: the QR at once with one payment type, else the list."""
    choices = qr_choices(state)
    if not choices:
        return Step(state.evolve(message="no_mpm"))
    if len(choices) == 1:
        return _start_mpm(state, now, choices[0])
    return Step(state.evolve(phase=Phase.CHOOSE, choice="", choice_page=0, message=""))


def ready_key_or_choose(state: State, event: KeyPressed, now: Now) -> Step:
    """The ready screen's keys: Enter goes through the choice; the others edit the amount."""
    if event.key == "enter":
        return ready_enter(state, now)
    return ready_key(state, event, now)


def choose_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Mark a type by its number, page on with 0, Enter to ask for that QR, Clear to go back."""
    choices = qr_choices(state)
    if event.key == "enter":
        if not choices:
            return Step(state.evolve(message="no_mpm"))
        return _start_mpm(state, now, picked(state, choices))
    edited = edit_choice(state, event.key, choices)
    if edited is not None:
        return edited
    if event.key in ("backspace", "clear"):
        return _back_to_amount(state)
    return reject(state, event)


def choose_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel goes back to the amount."""
    if event.button != "cancel":
        return reject(state, event)
    return _back_to_amount(state)


def choose_scan(state: State, event: CodeScanned, now: Now) -> Step:
    """The customer showed a code after all: pay the amount with it."""
    return _start_cpm(state, strip_symbology(event.code), now)


def _back_to_amount(state: State) -> Step:
    return Step(state.evolve(phase=Phase.AMOUNT, choice="", choice_page=0, message=""))
