"""Tests for terminal.config.loader: loading, validation messages, secrets file, demo config."""

from __future__ import annotations

import dataclasses
import datetime
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from terminal.config.loader import (
    DEMO_BADGE,
    DEMO_PIN,
    decode_toml,
    demo_config,
    load_config,
    load_secrets,
    parse_config,
    parse_secrets,
)
from terminal.config.messages import toml_value
from terminal.config.model import (
    Config,
    DisplayConfig,
    PaymentConfig,
    PrinterConfig,
    ProviderConfig,
    RouteConfig,
    Secrets,
    SupervisorConfig,
    SystemConfig,
    TerminalConfig,
)
from terminal.errors import ConfigError, ConfigProblem

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
EXAMPLE = CONFIG_DIR / "payterm.example.toml"
SECRETS_EXAMPLE = CONFIG_DIR / "secrets.example.toml"


def rejected(data: dict[str, Any], key: str) -> str:
    """Parse ``data``, expect a ConfigError about ``key``, and return its message."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test.toml")
    assert caught.value.key == key
    message = str(caught.value)
    assert message.startswith(f"test.toml: {key}: ")
    return message


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def sandbox(**settings: object) -> dict[str, Any]:
    return {"providers": {"sandbox": settings}}


# --- The example files. ---


def test_example_config_loads_as_the_defaults() -> None:
    assert load_config(EXAMPLE) == Config(source=str(EXAMPLE))


def test_example_config_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    tables = [TerminalConfig, PaymentConfig, SupervisorConfig, DisplayConfig, PrinterConfig]
    for table in [*tables, SystemConfig, ProviderConfig, RouteConfig]:
        for field in dataclasses.fields(table):
            pattern = rf"^((# )?{field.name} = |\[.*\.{field.name}\]$)"
            assert re.search(pattern, text, re.MULTILINE), field.name


def test_example_secrets_load(tmp_path: Path) -> None:
    path = write(tmp_path / "secrets.toml", SECRETS_EXAMPLE.read_text(encoding="utf-8"))
    assert load_secrets(path) == Secrets(
        supervisor_pins=("1234",),
        supervisor_badges=("04a1b2c3",),
        provider_keys={"sandbox": "sandbox-key"},
        provider_secrets={"sandbox": {"api_key": "sandbox-key"}},
    )


def test_relative_secrets_path_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "boot"
    folder.mkdir()
    shutil.copy(SECRETS_EXAMPLE, folder / "secrets.toml")
    (folder / "secrets.toml").chmod(0o600)
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        '# secrets_file = "secrets.toml"', 'secrets_file = "secrets.toml"'
    )
    config = load_config(write(folder / "payterm.toml", text))
    assert config.terminal.secrets_file == folder / "secrets.toml"
    assert config.secrets.supervisor_pins == ("1234",)
    assert config.secrets.provider_keys == {"sandbox": "sandbox-key"}


def test_relative_data_dir_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "payterm.toml", '[terminal]\ndata_dir = "state"\n'))
    assert config.terminal.data_dir == tmp_path / "state"


# --- Defaults and accepted values. ---


def test_empty_file_gives_defaults_with_sandbox_provider_and_default_routes() -> None:
    config = parse_config({})
    assert config.providers == {"sandbox": ProviderConfig()}
    assert config.routes == Config().routes
    assert config.secrets == Secrets()


def test_int_is_accepted_where_seconds_are_expected() -> None:
    value = parse_config(sandbox(poll_interval_s=5)).providers["sandbox"].poll_interval_s
    assert value == 5.0
    assert type(value) is float


def test_arrays_become_tuples_and_routes_replace_the_defaults() -> None:
    route = {"wallet": "sendy", "provider": "sandbox", "prefixes": ["SN"], "lengths": [20]}
    config = parse_config({"routes": [route]})
    assert config.routes == (
        RouteConfig(wallet="sendy", provider="sandbox", prefixes=("SN",), lengths=(20,)),
    )


def test_provider_options_are_a_table_of_strings() -> None:
    config = parse_config(sandbox(options={"merchant_id": "42"}))
    assert config.providers["sandbox"].options == {"merchant_id": "42"}


def test_providers_table_replaces_the_default_sandbox() -> None:
    data = {
        "providers": {"pm": {"driver": "paymaster", "url": "https://paymaster.example"}},
        "payment": {"mpm_provider": "pm"},
        "routes": [],
    }
    config = parse_config(data)
    assert list(config.providers) == ["pm"]
    assert config.routes == ()


# --- Validation messages name the key, what is wrong and the fix. ---


def test_unknown_key_suggests_the_close_one() -> None:
    message = rejected(sandbox(poll_intervall_s=3), "providers.sandbox.poll_intervall_s")
    assert "unknown key" in message
    assert "did you mean 'poll_interval_s'?" in message


def test_unknown_table_is_an_error() -> None:
    message = rejected({"termnal": {}}, "termnal")
    assert "did you mean 'terminal'?" in message


def test_secret_in_config_points_to_the_secrets_file() -> None:
    message = rejected({"supervisor": {"pins": ["1234"]}}, "supervisor.pins")
    assert "secrets file" in message


def test_string_for_seconds_names_the_expected_type_with_an_example() -> None:
    message = rejected(sandbox(poll_interval_s="3"), "providers.sandbox.poll_interval_s")
    assert "expected a number of seconds such as 1.0, got the string '3'" in message


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"terminal": {"max_amount_minor": True}}, "terminal.max_amount_minor"),
        (sandbox(read_timeout_s=False), "providers.sandbox.read_timeout_s"),
        ({"supervisor": {"pin_length": 4.0}}, "supervisor.pin_length"),
        ({"payment": {"force_requires_approval": "yes"}}, "payment.force_requires_approval"),
        ({"terminal": {"id": 1}}, "terminal.id"),
        ({"terminal": {"data_dir": 1}}, "terminal.data_dir"),
        (sandbox(options={"merchant_id": 42}), "providers.sandbox.options.merchant_id"),
        (sandbox(options="merchant"), "providers.sandbox.options"),
        ({"payment": "sandbox"}, "payment"),
        ({"providers": {"sandbox": "embedded"}}, "providers.sandbox"),
        ({"routes": {"wallet": "alipay"}}, "routes"),
        ({"routes": ["alipay"]}, "routes[0]"),
    ],
)
def test_wrong_types_are_refused(data: dict[str, Any], key: str) -> None:
    assert "expected " in rejected(data, key)


def test_bool_for_int_names_both() -> None:
    message = rejected({"printer": {"copies": True}}, "printer.copies")
    assert "expected a whole number such as 1, got the boolean true" in message


def test_wrong_type_inside_an_array_names_the_index() -> None:
    routes = [
        {"wallet": "alipay", "provider": "sandbox"},
        {"wallet": "wechat", "provider": "sandbox", "lengths": ["18"]},
    ]
    message = rejected({"routes": routes}, "routes[1].lengths[0]")
    assert "got the string '18'" in message


@pytest.mark.parametrize(
    ("data", "key", "allowed"),
    [
        ({"terminal": {"language": "fr"}}, "terminal.language", '"en", "ru"'),
        ({"terminal": {"hardware": "raspberry"}}, "terminal.hardware", '"emulated", "pi"'),
        ({"payment": {"qr_mode": 3}}, "payment.qr_mode", "0, 1, 2"),
        ({"payment": {"qr_mode": True}}, "payment.qr_mode", "0, 1, 2"),
        ({"payment": {"qr_mode": "1"}}, "payment.qr_mode", "0, 1, 2"),
    ],
)
def test_literal_fields_list_the_allowed_values(
    data: dict[str, Any], key: str, allowed: str
) -> None:
    assert f"must be one of {allowed}" in rejected(data, key)


def test_required_route_key_is_named() -> None:
    message = rejected({"routes": [{"wallet": "alipay"}]}, "routes[0].provider")
    assert 'add provider = "sandbox"' in message


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"terminal": {"currency": "rub"}}, "terminal.currency", "3 upper-case letters"),
        ({"terminal": {"currency": "RUBL"}}, "terminal.currency", "3 upper-case letters"),
        ({"terminal": {"max_amount_minor": 0}}, "terminal.max_amount_minor", "from 1 to "),
        ({"terminal": {"result_screen_s": 0}}, "terminal.result_screen_s", "greater than 0"),
        ({"payment": {"void_window_s": -1.5}}, "payment.void_window_s", "greater than 0"),
        (sandbox(poll_interval_s=0.0), "providers.sandbox.poll_interval_s", "greater than 0"),
        (sandbox(read_timeout_s=float("inf")), "providers.sandbox.read_timeout_s", "finite"),
        (sandbox(technical_error_budget=0), "providers.sandbox.technical_error_budget", "from 1"),
        (sandbox(url="ftp://host"), "providers.sandbox.url", "http:// or https://"),
        (sandbox(url="paymaster.ru"), "providers.sandbox.url", '"embedded"'),
        ({"printer": {"columns": 40}}, "printer.columns", "32, 42, 48"),
        ({"display": {"height": 32}}, "display.height", "height = 64 or height = 128"),
        ({"display": {"width": 256}}, "display.width", "width = 128"),
        ({"supervisor": {"pin_length": 2}}, "supervisor.pin_length", "from 4 to 12"),
        ({"terminal": {"data_dir": ""}}, "terminal.data_dir", "must not be empty"),
        ({"terminal": {"id": "T 1"}}, "terminal.id", "letters, digits"),
        ({"system": {"hostname": "till_1"}}, "system.hostname", "letters, digits and"),
        ({"system": {"hostname": "till-"}}, "system.hostname", 'nor last "-"'),
        ({"system": {"hostname": "t" * 64}}, "system.hostname", "1 to 63"),
        ({"system": {"wifi_country": "Russia"}}, "system.wifi_country", "ISO 3166"),
        ({"system": {"wifi_ssid": "x" * 33, "wifi_country": "RU"}}, "system.wifi_ssid", "32"),
        ({"system": {"wifi_ssid": "a\nb", "wifi_country": "RU"}}, "system.wifi_ssid", "control"),
        ({"system": {"wifi_ssid": "Shop"}}, "system.wifi_country", "required when wifi_ssid"),
    ],
)
def test_semantic_rules(data: dict[str, Any], key: str, fragment: str) -> None:
    assert fragment in rejected(data, key)


def test_system_table_is_accepted() -> None:
    system = {"hostname": "shop1-till2", "wifi_country": "RU", "wifi_ssid": "Кафе 5G"}
    assert parse_config({"system": system}).system == SystemConfig(**system)


@pytest.mark.parametrize("psk", ["12345678", "~" * 63, "a b c d e", "0123abcdEF" * 6 + "abcd"])
def test_wifi_passphrases_that_wpa_accepts(psk: str) -> None:
    assert parse_secrets(f'[wifi]\npsk = "{psk}"\n'.encode()).wifi_psk == psk


@pytest.mark.parametrize("psk", ["1234567", "x" * 64, "x" * 65, "пароль123", "tab\\there"])
def test_wifi_passphrases_refused_without_showing_them(psk: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_secrets(f'[wifi]\npsk = "{psk}"\n'.encode(), source="s.toml")
    assert caught.value.key == "wifi.psk"
    assert "8 to 63 printable ASCII" in str(caught.value)
    assert psk not in str(caught.value)


def test_route_prefix_must_be_digits_or_letters() -> None:
    route = {"wallet": "alipay", "provider": "sandbox", "prefixes": ["25", "2-6"]}
    assert "digits and letters" in rejected({"routes": [route]}, "routes[0].prefixes[1]")


@pytest.mark.parametrize("length", [0, 65])
def test_route_lengths_are_1_to_64(length: int) -> None:
    routes = [
        {"wallet": "alipay", "provider": "sandbox"},
        {"wallet": "wechat", "provider": "sandbox", "lengths": [18, length]},
    ]
    assert "from 1 to 64" in rejected({"routes": routes}, "routes[1].lengths[1]")


def test_mpm_provider_must_be_configured() -> None:
    message = rejected({"payment": {"mpm_provider": "sandbx"}}, "payment.mpm_provider")
    assert "did you mean 'sandbox'?" in message
    assert "[providers.sandbx]" in message


def test_route_provider_must_be_configured() -> None:
    routes = [{"wallet": "alipay", "provider": "verystar"}]
    assert "not configured" in rejected({"routes": routes}, "routes[0].provider")


def test_default_mpm_provider_missing_says_it_is_the_default() -> None:
    message = rejected({"providers": {"pm": {"driver": "paymaster"}}}, "payment.mpm_provider")
    assert "by default" in message
    assert "set payment.mpm_provider" in message


def test_default_routes_name_an_unconfigured_provider() -> None:
    data = {"providers": {"pm": {}}, "payment": {"mpm_provider": "pm"}}
    message = rejected(data, "routes[0].provider")
    assert "[[routes]]" in message


def test_empty_providers_table_is_refused() -> None:
    assert "no provider" in rejected({"providers": {}}, "providers")


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "payterm.toml", '[terminal]\nid = "T1\n')
    with pytest.raises(ConfigError, match=r"line 2, column \d+") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


def test_error_message_includes_the_file_path(tmp_path: Path) -> None:
    path = write(tmp_path / "payterm.toml", "[printer]\ncolumns = 40\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: printer.columns: ")
    assert isinstance(caught.value, ValueError)


# --- Every problem in a file is told at once, in file order. ---


def test_two_bad_keys_in_one_table_are_both_told() -> None:
    data = decode_toml(b'[terminal]\nidd = "T1"\nlanguage = "fr"\n')
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test.toml")
    keys = [problem.key for problem in caught.value.problems]
    assert keys == ["terminal.idd", "terminal.language"]
    assert caught.value.key == "terminal.idd"
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("test.toml: terminal.idd: unknown key 'idd' (did you mean 'id'?)")
    assert lines[1].startswith('test.toml: terminal.language: must be one of "en", "ru"')


def test_three_bad_keys_in_different_tables_are_told_in_file_order() -> None:
    text = (
        '[printer]\ncolumns = 40\n\n[payment]\nmpm_provider = "sandbx"\n\n'
        "[terminal]\nid = 1\n\n[providers.sandbox]\npoll_intervall_s = 3\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(decode_toml(text.encode()), source="test.toml")
    problems = caught.value.problems
    assert [problem.key for problem in problems] == [
        "printer.columns",
        "payment.mpm_provider",
        "terminal.id",
        "providers.sandbox.poll_intervall_s",
    ]
    assert all(isinstance(problem, ConfigProblem) for problem in problems)
    assert "32, 42, 48" in problems[0].message
    assert "did you mean 'sandbox'?" in problems[1].message
    assert "expected a string" in problems[2].message
    assert "did you mean 'poll_interval_s'?" in problems[3].message
    lines = str(caught.value).splitlines()
    assert lines == [f"test.toml: {p.key}: {p.message}" for p in problems]


def test_type_errors_and_rules_in_arrays_are_told_together() -> None:
    routes = [
        {"wallet": "alipay", "provider": "sandbox", "prefixes": ["2-5"]},
        {"wallet": "wechat", "lengths": ["18", 0]},
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config({"routes": routes, "display": {"height": 32}})
    assert [problem.key for problem in caught.value.problems] == [
        "routes[0].prefixes[0]",
        "routes[1].lengths[0]",
        "routes[1].lengths[1]",
        "routes[1].provider",
        "display.height",
    ]


def test_one_problem_has_one_line_and_its_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"printer": {"copies": 0}}, source="test.toml")
    assert caught.value.problems == (
        ConfigProblem("printer.copies", "must be from 1 to 5 (slips of each receipt), got 0"),
    )
    assert str(caught.value) == (
        "test.toml: printer.copies: must be from 1 to 5 (slips of each receipt), got 0"
    )


def test_every_bad_secret_is_told(tmp_path: Path) -> None:
    text = '[supervisor]\npins = ["12a4", "1234"]\nbadge = []\n[wifi]\npsk = "short"\n'
    with pytest.raises(ConfigError) as caught:
        load_secrets(write(tmp_path / "secrets.toml", text))
    keys = [problem.key for problem in caught.value.problems]
    assert keys == ["supervisor.pins[0]", "supervisor.badge", "wifi.psk"]
    assert "12a4" not in str(caught.value)
    assert "short" not in str(caught.value)


# --- Values in messages are written as TOML. ---


@pytest.mark.parametrize(
    "value",
    [True, 1, 0.05, "Привет\tмир\x7f", 'quote " and \\ back', ("25", 26), [1.5, -2],
     {"a": 1, "b c": [1.5, -2]}, datetime.date(2026, 3, 2), float("inf")],
)  # fmt: skip
def test_values_in_messages_read_back_as_toml(value: object) -> None:
    expected = list(value) if isinstance(value, tuple) else value
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == expected


def test_values_in_messages_are_on_one_line() -> None:
    assert toml_value(Path("/etc/payterm")) == '"/etc/payterm"'
    assert toml_value(("25", "26")) == '["25", "26"]'
    assert toml_value({"key": "value"}) == '{ key = "value" }'
    assert toml_value(None) == "None"


# --- The secrets file. ---


def config_with_secrets(folder: Path, secrets: str, *, config: str = "", mode: int = 0o600) -> Path:
    write(folder / "secrets.toml", secrets, mode)
    text = f'[terminal]\nsecrets_file = "secrets.toml"\n{config}'
    return write(folder / "payterm.toml", text, 0o644)


def test_missing_secrets_file_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "payterm.toml", '[terminal]\nsecrets_file = "nope.toml"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "terminal.secrets_file"
    assert "nope.toml" in str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o666])
def test_world_readable_secrets_are_refused_with_the_chmod_to_run(
    tmp_path: Path, mode: int
) -> None:
    path = write(tmp_path / "secrets.toml", 'pins = ["1234"]\n', mode)
    with pytest.raises(ConfigError, match=f"chmod 600 {re.escape(str(path))}"):
        load_secrets(path)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_private_secrets_are_accepted(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "secrets.toml", '[supervisor]\npins = ["1234"]\n', mode)
    assert load_secrets(path).supervisor_pins == ("1234",)


def test_world_readable_secrets_refused_through_load_config(tmp_path: Path) -> None:
    path = config_with_secrets(tmp_path, "[supervisor]\n", mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(path)


def test_unknown_key_in_secrets_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "secrets.toml", '[supervisor]\npin = ["1234"]\n')
    with pytest.raises(ConfigError) as caught:
        load_secrets(path)
    assert caught.value.key == "supervisor.pin"
    assert "did you mean 'pins'?" in str(caught.value)


def test_badges_are_normalised_to_lower_case(tmp_path: Path) -> None:
    path = write(tmp_path / "secrets.toml", '[supervisor]\nbadges = ["04A1B2C3D4E5F6"]\n')
    assert load_secrets(path).supervisor_badges == ("04a1b2c3d4e5f6",)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('pins = ["12a4"]', "supervisor.pins[0]"),
        ('pins = ["1234", 5678]', "supervisor.pins[1]"),
        ('badges = ["f0e1d2c"]', "supervisor.badges[0]"),
        ('badges = ["f0g1d2c3"]', "supervisor.badges[0]"),
    ],
)
def test_bad_pins_and_badges_are_refused_without_showing_them(
    tmp_path: Path, line: str, key: str
) -> None:
    path = write(tmp_path / "secrets.toml", f"[supervisor]\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        load_secrets(path)
    assert caught.value.key == key
    for secret in ("12a4", "5678", "f0e1d2c", "f0g1d2c3"):
        assert secret not in str(caught.value)


def test_pin_must_have_the_configured_length(tmp_path: Path) -> None:
    path = config_with_secrets(
        tmp_path,
        '[supervisor]\npins = ["1234", "123456"]\n',
        config="[supervisor]\npin_length = 6\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "supervisor.pins[0]"
    assert "pin_length is 6" in str(caught.value)


def test_provider_key_must_be_for_a_configured_provider(tmp_path: Path) -> None:
    path = config_with_secrets(tmp_path, '[providers.sandbx]\napi_key = "k"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "providers.sandbx"
    assert "did you mean 'sandbox'?" in str(caught.value)


def test_provider_secrets_are_whatever_the_driver_needs(tmp_path: Path) -> None:
    text = '[providers.sandbox]\napp_secret = "s3cret"\npfx_password = "pw"\n'
    secrets = load_secrets(write(tmp_path / "secrets.toml", text))
    assert secrets.provider_secrets == {"sandbox": {"app_secret": "s3cret", "pfx_password": "pw"}}
    assert secrets.provider_keys == {}
    assert "s3cret" not in repr(secrets)


def test_provider_secrets_must_be_strings(tmp_path: Path) -> None:
    path = write(tmp_path / "secrets.toml", "[providers.sandbox]\napi_key = 12345\n")
    with pytest.raises(ConfigError) as caught:
        load_secrets(path)
    assert caught.value.key.startswith("providers.sandbox")
    assert "12345" not in str(caught.value)


# --- The demo configuration. ---


def test_demo_config_is_valid_and_emulated(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    assert config.terminal.hardware == "emulated"
    assert config.terminal.data_dir == tmp_path
    assert config.secrets.supervisor_pins == (DEMO_PIN,) == ("1234",)
    assert config.secrets.supervisor_badges == (DEMO_BADGE,) == ("04a1b2c3",)
    assert config.payment.mpm_provider in config.providers
    assert dataclasses.replace(config, secrets=Secrets(), terminal=TerminalConfig()) == Config(
        source=config.source
    )


# --- The training guard: pretend parts and providers only on a training terminal. ---

REAL_PROVIDER = {"driver": "paymaster", "url": "https://paymaster.ru"}
#: Each training-only setting alone, on an otherwise real terminal: (file data, key named).
TRAINING_ONLY = {
    "hardware": (
        {"terminal": {"hardware": "emulated"}, "providers": {"pm": REAL_PROVIDER}},
        "terminal.hardware",
    ),
    "driver": (
        {
            "terminal": {"hardware": "pi"},
            "providers": {"pm": {"driver": "sandbox", "url": "http://127.0.0.1:8765"}},
        },
        "providers.pm.driver",
    ),
    "url": (
        {"terminal": {"hardware": "pi"}, "providers": {"pm": {"driver": "paymaster"}}},
        "providers.pm.url",
    ),
}


def _toml(data: dict[str, Any]) -> str:
    import tomli_w

    payment = {"mpm_provider": "pm"}
    routes = [{"wallet": "alipay", "provider": "pm"}]
    return tomli_w.dumps({**data, "payment": payment, "routes": routes})


def _with_training(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` made a training terminal's (whose providers are pretend ones: embedded)."""
    providers = {
        name: {**provider, "url": "embedded"} if provider["driver"] != "sandbox" else provider
        for name, provider in data["providers"].items()
    }
    return {**data, "terminal": {**data["terminal"], "training": True}, "providers": providers}


@pytest.mark.parametrize("setting", TRAINING_ONLY)
def test_each_training_only_setting_is_refused_with_its_key_and_the_fix(setting: str) -> None:
    from terminal.config.training import TRAINING_FIX, check_training

    data, key = TRAINING_ONLY[setting]
    config = parse_config(as_in_the_file(data), source="payterm.toml")  # the file itself is valid

    with pytest.raises(ConfigError) as caught:
        check_training(config)

    assert [problem.key for problem in caught.value.problems] == [key]
    assert str(caught.value).startswith(f"payterm.toml: {key}: ")
    assert "set [terminal] training = true for a training terminal" in str(caught.value)
    if setting != "hardware":
        assert TRAINING_FIX in str(caught.value)
    check_training(parse_config(as_in_the_file(_with_training(data))))  # accepted in training


def as_in_the_file(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the TOML file would hold it (with [payment] and [[routes]] naming pm)."""
    return tomllib.loads(_toml(data))


def test_every_training_only_setting_is_told_at_once() -> None:
    from terminal.config.training import check_training

    with pytest.raises(ConfigError) as caught:
        check_training(parse_config({}, source="payterm.toml"))  # the defaults: all three

    keys = [problem.key for problem in caught.value.problems]
    assert keys == ["terminal.hardware", "providers.sandbox.driver", "providers.sandbox.url"]


def test_a_training_terminal_may_not_talk_to_a_real_provider() -> None:
    from terminal.config.training import check_training

    data = {"terminal": {"hardware": "pi", "training": True}, "providers": {"pm": REAL_PROVIDER}}
    with pytest.raises(ConfigError) as caught:
        check_training(parse_config(as_in_the_file(data)))

    assert caught.value.key == "providers.pm.url"
    assert "NOT A PAYMENT" in str(caught.value)


@pytest.mark.parametrize("setting", TRAINING_ONLY)
def test_check_config_and_run_refuse_it_and_accept_it_in_training(
    setting: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from terminal.cli import main

    data, key = TRAINING_ONLY[setting]
    data = {**data, "terminal": {**data["terminal"], "data_dir": str(tmp_path / "state")}}
    path = write(tmp_path / "payterm.toml", _toml(data))

    assert main(["check-config", str(path)]) == 2
    assert f"{key}: " in capsys.readouterr().err
    assert main(["run", "--config", str(path)]) == 2
    assert f"{key}: " in capsys.readouterr().err
    assert not (tmp_path / "state").exists()  # refused before the journal was opened

    write(path, _toml(_with_training(data)))
    assert main(["check-config", str(path)]) == 0
    assert "TRAINING" in capsys.readouterr().out


@pytest.mark.parametrize("setting", TRAINING_ONLY)
def test_the_first_boot_import_refuses_it_and_keeps_the_previous_config(
    setting: str, tmp_path: Path
) -> None:
    from terminal.system.host_settings import Host
    from terminal.system.provision import import_config
    from terminal.system.provision_outcome import Outcome

    data, key = TRAINING_ONLY[setting]
    boot, installed = tmp_path / "boot/firmware", tmp_path / "etc/payterm/payterm.toml"
    boot.mkdir(parents=True)
    installed.parent.mkdir(parents=True)
    (tmp_path / "etc/hostname").write_text("payterm\n")
    previous = _toml(_with_training(data))
    installed.write_text(previous)

    (boot / "payterm.toml").write_text(_toml(data))
    result = import_config(tmp_path, host=Host())
    assert result.outcome is Outcome.REJECTED
    assert f"payterm.toml: {key}: " in result.message
    assert "set [terminal] training = true" in (boot / "payterm-config-error.txt").read_text()
    assert installed.read_text() == previous

    (boot / "payterm.toml").write_text(_toml(_with_training(data)))
    assert import_config(tmp_path, host=Host()).outcome is Outcome.IMPORTED


async def test_the_terminal_itself_refuses_to_open_without_training(tmp_path: Path) -> None:
    from terminal.app import Terminal
    from terminal.clock import FakeClock

    config = dataclasses.replace(
        parse_config({}), terminal=TerminalConfig(data_dir=tmp_path / "state")
    )
    with pytest.raises(ConfigError) as caught:
        async with Terminal(config, FakeClock()):
            pass
    assert caught.value.key == "terminal.hardware"
    assert not (tmp_path / "state").exists()

    training = dataclasses.replace(config.terminal, training=True)
    async with Terminal(dataclasses.replace(config, terminal=training), FakeClock()) as terminal:
        assert terminal.runtime.state.settings.training


def test_the_demo_is_a_training_terminal(tmp_path: Path) -> None:
    from terminal.config.training import check_training

    assert demo_config(tmp_path).terminal.training
    check_training(demo_config(tmp_path))
    demo_file = load_config(CONFIG_DIR / "demo.toml")
    assert demo_file.terminal.training
    check_training(demo_file)
