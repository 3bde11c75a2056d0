"""Values the terminal can hold: every number has a range, every path a place, every secret a value.

A value refused here would otherwise pass ``payterm check-config`` and fail later: at the
journal (an amount beyond 64 bits), at start (a NUL byte in a path, a data folder that is
a file), or at the provider (an empty key).
"""

from __future__ import annotations

import dataclasses
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from terminal import cli
from terminal.config.limits import AMOUNT_CEILING_MINOR, INT_LIMITS, SECONDS_LIMITS
from terminal.config.loader import decode_toml, load_config, parse_config, parse_secrets
from terminal.config.model import (
    Config,
    DisplayConfig,
    RouteConfig,
    SyncTargetConfig,
    TerminalConfig,
)
from terminal.config.rules import FIELD_RULES, SECONDS
from terminal.config.validation import validate
from terminal.errors import ConfigError
from terminal.journal import Journal
from terminal.money import Money
from terminal.payment import Payment

#: The display's width and height: told by a check of the whole table (the sizes drawn for).
SIZES = {(DisplayConfig, "width"), (DisplayConfig, "height")}
#: Buttons on pins of their own, away from the ones each range test sets.
APART = {"buttons": {"retry_pin": 5, "cancel_pin": 6, "force_pin": 13}}


def rejected(data: dict[str, Any], key: str) -> str:
    """Parse ``data``; expect a ConfigError naming ``key``; return its message."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test.toml")
    assert [p.key for p in caught.value.problems] == [key], caught.value
    return caught.value.problems[0].message


def toml_rejected(text: str, key: str) -> str:
    return rejected(decode_toml(text.encode()), key)


#: Model classes written as arrays of tables ([[sync.targets]]), tested on their own.
ARRAY_TABLES = (SyncTargetConfig, RouteConfig)


def table_of(cls: type) -> str:
    """The TOML table a model dataclass is written as: [terminal], [providers.sandbox]."""
    for field in dataclasses.fields(Config):
        hint = get_type_hints(Config)[field.name]
        if hint is cls:
            return field.name
        if get_origin(hint) is dict and get_args(hint)[1] is cls:
            return f"{field.name}.sandbox"
    raise AssertionError(cls)


def data_at(table: str, name: str, value: object) -> dict[str, Any]:
    head, _, sub = table.partition(".")
    inner = {**APART.get(table, {}), name: value}
    return {head: {sub: inner}} if sub else {head: inner}


def model_fields() -> list[tuple[type, str, Any]]:
    """Every (table, field, type) of the configuration's model, however deep."""
    found: list[tuple[type, str, Any]] = []
    todo: list[type] = [Config]
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for name, hint in get_type_hints(cls).items():
            found.append((cls, name, hint))
            todo += [a for a in (hint, *get_args(hint)) if dataclasses.is_dataclass(a)]  # type: ignore[misc]
    return found


def plain(hint: Any) -> Any:
    if get_origin(hint) in (Union, types.UnionType):
        return next(a for a in get_args(hint) if a is not type(None))
    return hint


# --- Every number has a range. ---


def test_every_whole_number_in_the_model_has_a_range_or_a_choice() -> None:
    unbounded = [
        f"{cls.__name__}.{name}"
        for cls, name, hint in model_fields()
        if (plain(hint) is int or (get_origin(hint) is tuple and get_args(hint)[0] is int))
        and (cls, name) not in FIELD_RULES
        and (cls, name) not in SIZES
        and get_origin(plain(hint)) is not Literal
    ]
    assert unbounded == []


def test_every_float_in_the_model_is_a_time_in_seconds() -> None:
    floats = [(cls, name) for cls, name, hint in model_fields() if plain(hint) is float]
    assert floats
    assert all(name.endswith("_s") for _, name in floats)
    assert set(SECONDS_LIMITS) <= set(floats)


@pytest.mark.parametrize(("where", "limit"), INT_LIMITS.items(), ids=lambda v: str(v))
def test_each_whole_number_is_refused_outside_its_range(
    where: tuple[type, str], limit: Any
) -> None:
    cls, name = where
    table = table_of(cls)
    key = f"{table}.{name}"
    for bad in (int(limit.high) + 1, int(limit.low) - 1):
        message = rejected(data_at(table, name, bad), key)
        assert f"from {int(limit.low)} to {int(limit.high)} ({limit.why}), got {bad}" in message
    for good in (int(limit.low), int(limit.high)):
        parse_config(data_at(table, name, good))


def test_the_issue_amount_is_refused_naming_the_largest_allowed() -> None:
    message = toml_rejected(
        "[terminal]\nmax_amount_minor = 100000000000000000000000000000\n",
        "terminal.max_amount_minor",
    )
    assert "from 1 to 100000000000" in message
    assert "got 100000000000000000000000000000" in message


def test_the_largest_amount_allowed_is_stored_exactly_by_the_journal(tmp_path: Path) -> None:
    assert AMOUNT_CEILING_MINOR < 2**53 < 2**63  # exact in SQLite, and as a JSON double
    config = parse_config({"terminal": {"max_amount_minor": AMOUNT_CEILING_MINOR}})
    largest = config.terminal.max_amount_minor
    with Journal.open(tmp_path / "journal.database", terminal_id="T0001") as journal:
        payment = Payment(
            order_id=f"T0001-{journal.epoch}-000001", seq=1, shift=1, flow="mpm",
            provider="sandbox", amount=Money(largest, "RUB"), created_wall="2026-03-01T09:30:00",
        )  # fmt: skip
        journal.record(payment, note="intent", mono=1.0, wall=datetime.now(UTC), wall_synced=True)
        stored = journal.get(payment.order_id)
    assert stored is not None
    assert stored.amount == Money(AMOUNT_CEILING_MINOR, "RUB")


def test_a_route_length_beyond_its_range_is_refused() -> None:
    data = {"routes": [{"wallet": "alipay", "provider": "sandbox", "lengths": [18, 10**20]}]}
    assert "from 1 to 64" in rejected(data, "routes[0].lengths[1]")


@pytest.mark.parametrize(("where", "high"), SECONDS_LIMITS.items(), ids=lambda v: str(v))
def test_each_time_is_refused_beyond_its_bound(where: tuple[type, str], high: Any) -> None:
    cls, name = where
    if cls in ARRAY_TABLES:
        table, key = "sync", "sync.targets[0]"
        target = {"name": "pos", "kind": "webhook", "url": "https://pos.example/h"}
        data = {"sync": {"targets": [{**target, name: high[0] * 2}]}}
        message = rejected(data, f"{key}.{name}")
        parse_config({"sync": {"targets": [{**target, name: high[0]}]}})
    else:
        table = table_of(cls)
        message = rejected(data_at(table, name, high[0] * 2), f"{table}.{name}")
        parse_config(data_at(table, name, high[0]))
    assert f"at most {high[0]:.10g} ({high[1]})" in message


def test_a_time_without_its_own_bound_is_at_most_a_day() -> None:
    # Every *_s field has its own bound today; a new one gets a day.
    assert SECONDS(86_400.0) is None
    assert "at most 86400 (a day)" in (SECONDS(86_401.0) or "")
    assert "greater than 0" in (SECONDS(0.0) or "")


@pytest.mark.parametrize("written", ["inf", "+inf", "-inf", "nan", "+nan", "-nan", "1e400"])
def test_toml_infinities_and_nan_are_refused_for_every_time(written: str) -> None:
    for cls, name, hint in model_fields():
        if plain(hint) is not float or cls in ARRAY_TABLES:
            continue
        table = table_of(cls)
        head, _, sub = table.partition(".")
        header = f"[{head}.{sub}]" if sub else f"[{head}]"
        message = toml_rejected(f"{header}\n{name} = {written}\n", f"{table}.{name}")
        assert "must be a finite number" in message


@pytest.mark.parametrize("written", ["inf", "nan", "1e400"])
def test_toml_infinities_are_refused_in_an_array_of_tables(written: str) -> None:
    text = (
        '[[sync.targets]]\nname = "pos"\nkind = "webhook"\nurl = "https://pos.example/h"\n'
        f"timeout_s = {written}\n"
    )
    assert "must be a finite number" in toml_rejected(text, "sync.targets[0].timeout_s")


def test_the_default_of_every_time_is_within_its_bound() -> None:
    # A default the checks would refuse when written out is a trap for the technician.
    for (cls, name), (high, _) in SECONDS_LIMITS.items():
        default = cls.__dataclass_fields__[name].default  # type: ignore[attr-defined]
        assert default is None or 0 < default <= high, (cls.__name__, name, default)


def test_a_huge_whole_number_for_a_time_is_refused() -> None:
    message = rejected({"payment": {"void_window_s": 10**30}}, "payment.void_window_s")
    assert "at most 86400" in message


# --- Strings and paths: no NUL, device files by full path. ---


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"terminal": {"data_dir": "/var/lib/pay\0term"}}, "terminal.data_dir"),
        ({"terminal": {"secrets_file": "secrets\0.toml"}}, "terminal.secrets_file"),
        ({"terminal": {"id": "T\x000"}}, "terminal.id"),
        ({"printer": {"serial_device": "/dev/ttyUSB0\0"}}, "printer.serial_device"),
        ({"printer": {"file": "/dev/usb/lp0\0"}}, "printer.file"),
        ({"scanner": {"device": "/dev/payterm/scanner\0"}}, "scanner.device"),
        ({"keypad": {"device": "name:Keypad\0"}}, "keypad.device"),
        ({"nfc": {"path": "usb\0"}}, "nfc.path"),
        (
            {"providers": {"sandbox": {"options": {"shop": "1\0"}}}},
            "providers.sandbox.options.shop",
        ),
    ],
)
def test_a_nul_byte_is_refused_in_every_string(data: dict[str, Any], key: str) -> None:
    assert "must not contain a NUL character" in rejected(data, key)


def test_a_nul_byte_in_a_path_written_in_toml_is_refused_before_start(tmp_path: Path) -> None:
    path = tmp_path / "payterm.toml"
    path.write_text('[terminal]\ndata_dir = "/var/lib/pay\\u0000term"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "terminal.data_dir"
    assert "NUL" in str(caught.value)


@pytest.mark.parametrize(
    ("table", "name", "value", "words"),
    [
        ("printer", "file", "lp0", "full path of a device file"),
        ("printer", "serial_device", "ttyUSB0", "full path of a device file"),
        ("printer", "serial_device", "", "full path of a device file"),
        ("scanner", "device", "scanner", '"name:<device name>"'),
        ("scanner", "device", "usb:zz:01", '"usb:<vid>:<pid>" in hex'),
        ("keypad", "device", "usb:0c2e", '"usb:<vid>:<pid>" in hex'),
        ("keypad", "device", "name:", '"name:<device name>"'),
    ],
)
def test_device_paths_are_full_paths_or_selectors(
    table: str, name: str, value: str, words: str
) -> None:
    message = rejected({table: {name: value}}, f"{table}.{name}")
    assert words in message
    assert repr(value) in message


@pytest.mark.parametrize("device", ["/dev/input/event3", "name:USB Keypad", "usb:0c2e:0b61"])
def test_device_selectors_the_hardware_reads_are_accepted(device: str) -> None:
    config = parse_config({"scanner": {"device": device}, "keypad": {"device": device}})
    assert config.scanner.device == config.keypad.device == device


# --- The data folder: where the journal can be kept. ---


def load(tmp_path: Path, data_dir: str) -> Config:
    path = tmp_path / "payterm.toml"
    path.write_text(f'[terminal]\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    return load_config(path)


def load_rejected(tmp_path: Path, data_dir: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, data_dir)
    assert caught.value.key == "terminal.data_dir"
    return str(caught.value)


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file")
    message = load_rejected(tmp_path, "state")
    assert f"{tmp_path / 'state'} is a file, not a folder" in message


def test_a_data_dir_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file")
    message = load_rejected(tmp_path, str(tmp_path / "state" / "journal"))
    assert f"is under {tmp_path / 'state'}, which is a file, not a folder" in message


@pytest.mark.parametrize(
    ("data_dir", "top"),
    [
        ("/proc/payterm", "/proc"),
        ("/proc", "/proc"),
        ("/sys/payterm", "/sys"),
        ("/dev/shm/payterm", "/dev"),
        ("/run/payterm", "/run"),
        ("/var/lib/../../proc/self", "/proc"),
    ],
)
def test_a_data_dir_under_a_kernel_folder_is_refused(
    tmp_path: Path, data_dir: str, top: str
) -> None:
    message = load_rejected(tmp_path, data_dir)
    assert f"is under {top}," in message
    assert "/var/lib/payterm" in message  # the fix


def test_a_relative_data_dir_that_climbs_into_proc_is_refused(tmp_path: Path) -> None:
    climb = "../" * (len(tmp_path.parts) + 2) + "proc/payterm"
    assert "is under /proc," in load_rejected(tmp_path, climb)


def test_a_data_dir_not_made_yet_is_accepted_and_not_made(tmp_path: Path) -> None:
    config = load(tmp_path, "state/journal")
    assert config.terminal.data_dir == tmp_path / "state/journal"
    assert not (tmp_path / "state").exists()


def test_an_existing_data_dir_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    assert load(tmp_path, "state").terminal.data_dir == tmp_path / "state"


def test_check_config_refuses_a_data_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state").write_text("a file")
    path = tmp_path / "payterm.toml"
    path.write_text('[terminal]\ndata_dir = "state"\n', encoding="utf-8")
    assert cli.main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "terminal.data_dir" in err
    assert "is a file, not a folder" in err
    assert "Traceback" not in err


def test_check_config_refuses_the_amount_the_journal_cannot_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "payterm.toml"
    path.write_text("[terminal]\nmax_amount_minor = 100000000000000000000000000000\n")
    assert cli.main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "terminal.max_amount_minor: must be from 1 to 100000000000" in err


# --- Secrets: a line written blank is a mistake. ---


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_provider_api_key_is_refused_without_showing_it(value: str) -> None:
    raw = f'[providers.sandbox]\napi_key = "{value}"\ntoken = "t0k3n"\n'.encode()
    with pytest.raises(ConfigError) as caught:
        parse_secrets(raw, source="secrets.toml")
    assert [p.key for p in caught.value.problems] == ["providers.sandbox.api_key"]
    assert "must not be empty" in str(caught.value)
    assert "t0k3n" not in str(caught.value)


def test_every_empty_provider_secret_is_told_with_the_type_errors() -> None:
    raw = b'[providers.a]\napp_secret = ""\n[providers.b]\napi_key = 5\n[supervisor]\npins = [""]\n'
    with pytest.raises(ConfigError) as caught:
        parse_secrets(raw, source="secrets.toml")
    keys = [p.key for p in caught.value.problems]
    assert keys == ["providers.a.app_secret", "providers.b.api_key", "supervisor.pins[0]"]


def test_an_empty_certificate_password_is_allowed() -> None:
    secrets = parse_secrets(b'[providers.webmoney]\npfx_password = ""\nagent_key = "k"\n')
    assert secrets.provider_secrets == {"webmoney": {"pfx_password": "", "agent_key": "k"}}


def test_validate_reports_rather_than_raises_for_every_kind_of_mistake() -> None:
    problems = validate(TerminalConfig, {"max_amount_minor": 2**64, "data_dir": "\0"})
    assert isinstance(problems, list)
    assert len(problems) == 2


def test_a_secrets_file_that_is_a_folder_is_told_as_such(tmp_path: Path) -> None:
    (tmp_path / "secrets.toml").mkdir()
    path = tmp_path / "payterm.toml"
    path.write_text('[terminal]\nsecrets_file = "secrets.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is a folder, not a secrets file") as caught:
        load_config(path)
    assert caught.value.path == str(tmp_path / "secrets.toml")


@pytest.mark.parametrize(
    ("buttons", "key", "words"),
    [
        ({"cancel_pin": 17}, "buttons.cancel_pin", "GPIO17 is already buttons.retry_pin"),
        ({"led_pin": 22}, "buttons.led_pin", "GPIO22 is already buttons.force_pin"),
        ({"led_pin": 5, "buzzer_pin": 5}, "buttons.buzzer_pin", "GPIO5 is already buttons.led_pin"),
    ],
)
def test_two_parts_on_one_gpio_pin_are_refused(
    buttons: dict[str, int], key: str, words: str
) -> None:
    assert words in rejected({"buttons": buttons}, key)
