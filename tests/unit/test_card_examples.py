"""The card's examples: refused unchanged; each provider's block, filled in, is a good config."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from terminal.config.loader import decode_toml, parse_config, parse_secrets
from terminal.config.secrets import check_secrets
from terminal.config.training import check_training
from terminal.errors import ConfigError
from terminal.providers.paymaster.settings import PayMasterSettings
from terminal.providers.pockyt.settings import PockytSettings
from terminal.providers.sendy.settings import SendySettings
from terminal.providers.verystar.settings import VerystarSettings
from terminal.providers.webmoney.settings import WebMoneySettings, agent_key, pfx_password
from terminal.system.provision import main as import_config

REPO = Path(__file__).resolve().parents[2]
CARD = REPO / "config" / "card"
CONFIG = (CARD / "payterm.toml.example").read_text(encoding="utf-8")
SECRETS = (CARD / "payterm-secrets.toml.example").read_text(encoding="utf-8")
PROVIDERS = ("paymaster", "pockyt", "verystar", "webmoney", "sendy")
PLACEHOLDER_MESSAGE = "is still a placeholder of the example (a value in <angle brackets>)"


def uncomment(text: str, block: str) -> str:
    """Remove "# " from each line of the ``# ---- block`` section, as the example says to."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("# ---- "):
            inside = line.startswith(f"# ---- {block}")
        elif inside and line.startswith("# "):
            line = line[2:]
        elif inside and not line.strip():
            inside = False
        out.append(line)
    return "\n".join(out) + "\n"


def fill(text: str, provider: str) -> str:
    """Put a plausible value in place of every <placeholder>, as a technician would."""
    values = {"id": "SHOP1-T2", "mpm_provider": provider, "pins": "4821",
              "url": "https://pay.example.com", "password": "technician-pw-1"}  # fmt: skip

    def value(match: re.Match[str]) -> str:
        return f'{match.group(1)}"{values.get(match.group(2), "10001")}"'

    text = re.sub(r'((\w+) = \[?)"<[^"<>]*>"', value, text)
    return text.replace('pfx_path = "10001"', 'pfx_path = "/etc/payterm/7001.pfx"')


def filled(provider: str) -> tuple[str, str]:
    """The two examples with ``provider``'s blocks uncommented and every placeholder filled."""
    config = fill(uncomment(CONFIG, provider), provider)
    if provider in ("paymaster", "webmoney"):  # no customer codes: no routes, as it says
        config = config.replace("# routes = []", "routes = []")
    return config, fill(uncomment(SECRETS, provider), provider)


def card(root: Path, config: str, secrets: str) -> Path:
    boot = root / "boot/firmware"
    boot.mkdir(parents=True)
    (boot / "payterm.toml").write_text(config, encoding="utf-8")
    (boot / "payterm-secrets.toml").write_text(secrets, encoding="utf-8")
    return boot


def test_the_unchanged_example_is_refused_by_the_real_import_saying_what_to_fill_in(
    tmp_path: Path,
) -> None:
    boot = card(tmp_path, CONFIG, SECRETS)

    assert import_config(["--root", str(tmp_path)]) == 1

    note = (boot / "payterm-config-error.txt").read_text(encoding="utf-8")
    assert f"terminal.id: {PLACEHOLDER_MESSAGE}" in note
    assert f"payment.mpm_provider: {PLACEHOLDER_MESSAGE}" in note
    assert "write the real value in its place, without the brackets" in note
    assert "names the provider" not in note  # the placeholder is told once, by its own rule
    assert not (tmp_path / "etc/payterm/payterm.toml").exists()
    assert (boot / "payterm.toml.rejected").exists()


def test_the_unchanged_secrets_example_is_refused_naming_each_placeholder() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_secrets(SECRETS.encode(), source="payterm-secrets.toml")

    message = str(refused.value)
    assert f"supervisor.pins[0]: {PLACEHOLDER_MESSAGE}" in message
    assert f"technician.password: {PLACEHOLDER_MESSAGE}" in message
    assert "<console password" not in message  # a secret's value is never repeated


def test_the_example_is_a_real_pi_config_with_the_reference_wiring() -> None:
    config, _ = filled("paymaster")
    parsed = parse_config(decode_toml(config.encode(), source="payterm.toml"))

    assert parsed.terminal.hardware == "pi"
    assert parsed.terminal.training is False
    assert (parsed.display.driver, parsed.display.interface, parsed.display.address) == (
        "ssd1306", "i2c", 0x3C)  # fmt: skip
    buttons = parsed.buttons
    assert (buttons.retry_pin, buttons.cancel_pin, buttons.force_pin) == (17, 27, 22)
    assert parsed.scanner.device == "/dev/payterm/scanner"
    assert parsed.keypad.device == "/dev/payterm/keypad"
    assert parsed.printer.connection == "usb"
    for provider in PROVIDERS:
        assert f"# ---- {provider}:" in CONFIG
        assert f"# ---- {provider} ----" in SECRETS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_block_filled_in_passes_check_config(tmp_path: Path, provider: str) -> None:
    config, secrets = filled(provider)
    (tmp_path / "payterm.toml").write_text(config, encoding="utf-8")
    (tmp_path / "secrets.toml").write_text(secrets, encoding="utf-8")
    (tmp_path / "secrets.toml").chmod(0o600)

    result = subprocess.run(
        [sys.executable, "-m", "terminal", "check-config", str(tmp_path / "payterm.toml")],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "OK (1 provider(s), hardware pi)" in result.stdout


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_block_is_what_its_driver_reads(provider: str) -> None:
    config_text, secrets_text = filled(provider)
    config = parse_config(decode_toml(config_text.encode(), source="payterm.toml"))
    secrets = parse_secrets(secrets_text.encode(), source="secrets.toml")
    check_secrets(config, secrets, source="secrets.toml")
    check_training(config)
    entry = config.providers[provider]
    options, own = dict(entry.options), secrets.provider_secrets[provider]

    if provider == "paymaster":
        assert PayMasterSettings.from_config(provider, entry.url, options, own, None).token
    elif provider == "pockyt":
        assert PockytSettings.from_config(provider, options, own).token
    elif provider == "verystar":
        assert VerystarSettings.from_config(provider, entry.url, options, own).app_secret
    elif provider == "webmoney":
        assert WebMoneySettings.from_options(provider, options).payment_type == "sbp"
        assert agent_key(provider, own)
        assert pfx_password(provider, own)
    else:
        assert SendySettings.from_config(provider, options, own).terminal_key
    assert config.payment.mpm_provider == provider
    assert secrets.technician_password == "technician-pw-1"


def test_a_provider_block_left_with_a_placeholder_is_refused_naming_its_option() -> None:
    config = uncomment(CONFIG, "pockyt").replace('"<terminal id>"', '"SHOP1"')
    config = config.replace('"<provider>"', '"pockyt"')

    with pytest.raises(ConfigError) as refused:
        parse_config(decode_toml(config.encode(), source="payterm.toml"), source="payterm.toml")

    assert f"providers.pockyt.options.merchant_no: {PLACEHOLDER_MESSAGE}" in str(refused.value)
