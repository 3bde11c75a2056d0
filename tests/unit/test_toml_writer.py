"""The TOML writer the configuration import uses: what it writes reads back the same."""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path

import pytest

from terminal.config.toml_writer import toml_document, toml_value

DOCUMENT = {
    "terminal": {"id": "T-0001", "data_dir": "/var/lib/payterm", "result_screen_s": 15.0},
    "payment": {"qr_mode": 1, "force_requires_approval": True},
    "providers": {
        "pay master": {"driver": "paymaster", "options": {"note": 'quote " and \\ back'}}
    },
    "routes": [
        {"wallet": "alipay", "provider": "sandbox", "prefixes": ["25", "26"], "lengths": [16]},
        {"wallet": "wechat", "provider": "sandbox", "lengths": [18]},
    ],
    "dates": {"when": datetime.date(2026, 3, 2), "inline": {"a": 1, "b c": [1.5, -2]}},
    "text": "Привет\tмир\x7f",
}


def test_a_document_reads_back_equal() -> None:
    assert tomllib.loads(toml_document(DOCUMENT)) == DOCUMENT


def test_values_are_written_as_toml() -> None:
    assert toml_value(True) == "true"
    assert toml_value(Path("/etc/payterm")) == '"/etc/payterm"'
    assert toml_value(("25", 26)) == '["25", 26]'
    assert toml_value(float("inf")) == "inf"
    assert tomllib.loads(f"x = {toml_value(float('nan'))}")["x"] != 0.0


def test_a_value_toml_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="no TOML for NoneType"):
        toml_value(None)
