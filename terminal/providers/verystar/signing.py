"""VeryPay's request and answer signature, as its PHP SDK computes it (getSign / checkSign)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

__all__ = ["signing_string", "sign_params"]

_PHP_SPACE = " \t\n\r\0\x0b"  # what PHP's trim() strips


def signing_string(params: Mapping[str, object]) -> str:
    """The string VeryPay signs: sorted non-empty ``k=v`` joined by ``&``, no URL-encoding.

    ``sign`` (any case, spaces trimmed) and values that are empty after PHP's ``trim`` are
    left out; keys sort by byte value (PHP ``ksort(SORT_STRING)``); values are written as
    PHP writes them in a string (``true`` as ``1``, ``false``/``null`` dropped, ``1.0``
    as ``1``, a nested array as ``Array``).
    """
    pairs = []
    for key, value in params.items():
        text = _php_text(value)
        if key.strip(_PHP_SPACE).lower() == "sign" or not text.strip(_PHP_SPACE):
            continue
        pairs.append((key, text))
    pairs.sort(key=lambda pair: pair[0].encode("utf-8"))
    return "&".join(f"{key}={text}" for key, text in pairs)


def sign_params(params: Mapping[str, object], app_secret: str) -> str:
    """``md5(signing_string(params) + app_secret)``, lowercase hex: the secret goes last, bare."""
    digest = hashlib.md5(  # noqa: S324 - the provider's protocol, not our choice
        (signing_string(params) + app_secret).encode("utf-8"), usedforsecurity=False
    )
    return digest.hexdigest()


def _php_text(value: object) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dict | list | tuple):
        return "Array"
    return str(value)
