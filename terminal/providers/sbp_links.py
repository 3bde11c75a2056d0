"""SBP (qr.nspk.ru) links of the real shape, with made-up ids, for the fakes that hand them out."""

from __future__ import annotations

import hashlib
from base64 import b32encode

__all__ = ["DEMO_BANK", "dynamic_link", "static_link", "crc16"]

#: A 12-digit SBP member id no bank has.
DEMO_BANK = "100000000000"


def dynamic_link(seed: str, amount_minor: int, currency: str) -> str:
    """A one-payment SBP link (``type=02``, the sum in kopecks) whose id is made from ``seed``."""
    link = (
        f"https://qr.nspk.ru/AD{_code(seed)}?type=02&bank={DEMO_BANK}"
        f"&sum={amount_minor}&cur={currency}"
    )
    return f"{link}&crc={crc16(link):04X}"


def static_link(seed: str) -> str:
    """A cash-link (sticker) SBP link (``type=01``) whose id is made from ``seed``."""
    link = f"https://qr.nspk.ru/AS{_code(seed)}?type=01&bank={DEMO_BANK}"
    return f"{link}&crc={crc16(link):04X}"


def crc16(text: str) -> int:
    """CRC-16/CCITT-FALSE of ``text``: the four hex digits that end an SBP link."""
    crc = 0xFFFF
    for byte in text.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _code(seed: str) -> str:
    """30 characters of [A-Z2-7] from ``seed``: the rest of a 32-character QRC id."""
    return b32encode(hashlib.sha256(seed.encode()).digest()).decode()[:30]
