"""Money as integer minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Money", "MINOR_DIGITS", "minor_digits"]

#: Digits after the decimal point for the currencies the terminal is used with.
MINOR_DIGITS: dict[str, int] = {
    "RUB": 2,
    "USD": 2,
    "EUR": 2,
    "CNY": 2,
    "HKD": 2,
    "KZT": 2,
    "JPY": 0,
    "KRW": 0,
}


def minor_digits(currency: str) -> int:
    """Return how many minor digits ``currency`` has (2 for unknown codes)."""
    return MINOR_DIGITS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money: ``amount_minor`` units of ``currency``'s smallest coin."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError(f"amount_minor must be int, not {type(self.amount_minor).__name__}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"currency must be a 3-letter ISO 4217 code, not {self.currency!r}")

    def major_str(self) -> str:
        """Return the amount as a plain decimal string, e.g. ``"12.50"``."""
        digits = minor_digits(self.currency)
        sign = "-" if self.amount_minor < 0 else ""
        units = abs(self.amount_minor)
        if digits == 0:
            return f"{sign}{units}"
        whole, frac = divmod(units, 10**digits)
        return f"{sign}{whole}.{frac:0{digits}d}"

    def __str__(self) -> str:
        return f"{self.major_str()} {self.currency}"

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal string such as ``"12.5"`` into exact minor units."""
        digits = minor_digits(currency)
        raw = text.strip()
        if not raw or raw.count(".") > 1 or not raw.replace(".", "", 1).isdigit():
            raise ValueError(f"not an amount: {text!r}")
        whole, _, frac = raw.partition(".")
        if len(frac) > digits:
            raise ValueError(f"{text!r} has more than {digits} decimal places for {currency}")
        return cls(int(whole or "0") * 10**digits + int(frac.ljust(digits, "0") or "0"), currency)
