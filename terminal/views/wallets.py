"""The payment types and wallets in words: the choice list's labels and the slip's line."""

from __future__ import annotations

from collections.abc import Sequence

from terminal.machine.states import QrChoice
from terminal.views.text import Language, t

__all__ = ["wallet_word", "choice_labels", "choice_pages"]

#: The wallets and payment types the terminal knows by name.
_KNOWN = frozenset({"sbp", "webmoney", "wechat", "alipay", "sendy"})
#: A line holds two choices when both fit this many characters (a 128-pixel-wide line).
_LINE_CHARS = 18
#: Lines of choices per page.
_PAGE_LINES = 2


def wallet_word(wallet: str, language: Language) -> str:
    """``wallet`` as the cashier knows it ("sbp" → "SBP" / "СБП"); unknown ones as written."""
    return t(f"type_{wallet}", language) if wallet in _KNOWN else wallet


def choice_labels(choices: Sequence[QrChoice], language: Language) -> list[str]:
    """One label per choice: the wallet's word, or the provider's name when that is ambiguous.

    A provider without a known wallet, or two entries paying with the same wallet (PayMaster
    and WebMoney both SBP), are told apart by the provider's name.
    """
    words = [wallet_word(c.wallet, language) if c.wallet else "" for c in choices]
    return [
        word if word and words.count(word) == 1 else choice.provider
        for word, choice in zip(words, choices, strict=True)
    ]


def choice_pages(labels: Sequence[str]) -> list[list[str]]:
    """``labels`` numbered from 1, in pages of two lines; a line holds two where both fit.

    Two lines of choices and the keys' line are what a 128×64 display shows at its
    smallest legible text; ``0`` turns the page (``terminal.machine.choice``).
    """
    items = [f"{i} {label}" for i, label in enumerate(labels, start=1)]
    lines: list[str] = []
    while items:
        pair = f"{items[0]}  {items[1]}" if len(items) > 1 else ""
        if pair and len(pair) <= _LINE_CHARS:
            lines.append(pair)
            items = items[2:]
        else:
            lines.append(items.pop(0))
    return [lines[i : i + _PAGE_LINES] for i in range(0, len(lines), _PAGE_LINES)]
