"""``payment.qr_providers``: the payment types the cashier chooses from, checked and expanded."""

from __future__ import annotations

from typing import Any

import pytest

from terminal.app import qr_choices_from
from terminal.config.loader import parse_config
from terminal.errors import ConfigError
from terminal.machine import QrChoice


def _wm(kind: str) -> dict[str, Any]:
    return {"driver": "webmoney", "url": "embedded", "options": {"payment_type": kind}}


PROVIDERS = {f"wm_{kind}": _wm(kind) for kind in ("sbp", "webmoney", "wechat", "alipay")}
SENDY_OPTIONS = {"service_wechat": "true", "service_alipay": "true", "online_service": "wechat"}
SENDY = {"driver": "sendy", "url": "embedded", "options": SENDY_OPTIONS}


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return {problem.key: problem.message for problem in caught.value.problems}


def test_webmoneys_four_rows_and_sendys_services_become_the_list() -> None:
    config = parse_config({
        "terminal": {"training": True},
        "payment": {"mpm_provider": "sendy", "qr_providers": [*PROVIDERS, "sendy"]},
        "providers": {**PROVIDERS, "sendy": SENDY}, "routes": [],
    })  # fmt: skip
    choices, default = qr_choices_from(config)
    assert choices == (
        QrChoice("wm_sbp", "sbp"), QrChoice("wm_webmoney", "webmoney"),
        QrChoice("wm_wechat", "wechat"), QrChoice("wm_alipay", "alipay"),
        QrChoice("sendy", "sendy"), QrChoice("sendy", "wechat"), QrChoice("sendy", "alipay"),
    )  # fmt: skip
    assert choices[default] == QrChoice("sendy", "wechat")


def test_without_a_list_the_qr_provider_alone_is_offered() -> None:
    config = parse_config({"payment": {"mpm_provider": "wm_sbp"}, "providers": PROVIDERS,
                           "terminal": {"training": True}, "routes": []})  # fmt: skip
    assert qr_choices_from(config) == ((QrChoice("wm_sbp", "sbp"),), 0)


def test_a_wrong_list_is_told_with_every_key() -> None:
    problems = _problems({
        "payment": {"mpm_provider": "wm_sbp", "qr_providers": ["wm_alipay", "wm_alipay", "wm_sbx"]},
        "providers": PROVIDERS,
    })  # fmt: skip
    assert "twice" in problems["payment.qr_providers[1]"]
    assert "not configured" in problems["payment.qr_providers[2]"]
    assert "did you mean 'wm_sbp'" in problems["payment.qr_providers[2]"]
    assert "payment.qr_providers" in problems["payment.mpm_provider"]


def test_more_types_than_the_keypad_has_digits_is_refused() -> None:
    many = {**PROVIDERS, "sendy": SENDY, "s2": SENDY}
    problems = _problems({"payment": {"mpm_provider": "wm_sbp", "qr_providers": list(many)},
                          "providers": many})  # fmt: skip
    assert problems["payment.qr_providers"] == "offers 10 payment types; the keypad picks at most 9"
