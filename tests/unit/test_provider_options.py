"""The options reader every driver shares: blank values are refused, keys are named."""

from __future__ import annotations

import pytest

from terminal.config.model import ProviderConfig
from terminal.errors import ConfigError
from terminal.providers.options import BLANK, DriverOptions
from terminal.providers.registry import build_provider


def test_an_absent_key_takes_its_default_and_values_are_stripped() -> None:
    opts = DriverOptions("pm", {"currency": " RUB "})
    assert opts.currency("currency", default="USD", message="bad {value}") == "RUB"
    assert opts.text("language", "en") == "en"


def test_a_blank_value_is_refused_with_its_key() -> None:
    opts = DriverOptions("pm", {"language": "  "})
    with pytest.raises(ConfigError) as caught:
        opts.text("language", "en")
    assert caught.value.key == "providers.pm.options.language"
    assert BLANK in str(caught.value)


def test_a_blank_required_value_gets_the_drivers_own_message() -> None:
    opts = DriverOptions("pm", {"merchant_id": ""})
    with pytest.raises(ConfigError, match="set merchant_id"):
        opts.required("merchant_id", "set merchant_id to your shop's id")


@pytest.mark.parametrize(
    ("driver", "options", "secrets", "key"),
    [("paymaster", {"merchant_id": "m-1", "test_mode": ""}, {"token": "t"}, "test_mode"),
     ("verystar", {"app_key": " ", "currency": "CNY"}, {"app_secret": "s"}, "app_key"),
     ("sendy", {"terminal_id": "T1", "language": ""}, {}, "language")],
)  # fmt: skip
def test_drivers_refuse_a_blank_option(
    driver: str, options: dict[str, str], secrets: dict[str, str], key: str
) -> None:
    cfg = ProviderConfig(driver=driver, url="https://provider.example", options=options)
    with pytest.raises(ConfigError) as caught:
        build_provider("p", cfg, api_key="k", secrets=secrets)
    assert caught.value.key == f"providers.p.options.{key}"
