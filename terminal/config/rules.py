"""What a value must be beyond its type, and what must agree across tables.

A rule takes a value of the right type and returns what is wrong with it and the fix,
or None. Field rules are kept per (table, field); a rule on an array applies to each item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from hw.base import OPERATOR_KEYS
from hw.input.evdev_devices import Selector
from terminal.config.limits import (
    BAUDRATES,
    INT_LIMITS,
    SECONDS_CEILING,
    SECONDS_LIMITS,
    shown,
)
from terminal.config.messages import NAME, did_you_mean, join, unknown
from terminal.config.model import (
    OPERATOR_FUNCTIONS,
    ApiConfig,
    ButtonsConfig,
    Config,
    ConsoleSecrets,
    DisplayConfig,
    KeypadConfig,
    PrinterConfig,
    ProviderConfig,
    RouteConfig,
    ScannerConfig,
    SupervisorSecrets,
    SyncConfig,
    SyncTargetConfig,
    SystemConfig,
    TechnicianSecrets,
    TerminalConfig,
    WifiSecrets,
)

__all__ = [
    "Rule",
    "TableCheck",
    "Problem",
    "FIELD_RULES",
    "KEY_RULES",
    "TABLE_CHECKS",
    "SECONDS",
    "seconds_rule",
    "NOT_EMPTY_PATH",
    "NO_NUL",
    "NOT_A_PLACEHOLDER",
    "PLACEHOLDER",
    "is_placeholder",
    "matches",
    "reference_problems",
    "where",
]

#: A rule: the value's problem and fix, or None when it is good.
Rule = Callable[[Any], str | None]
#: Where a problem is (keys and array indexes from the file's top) and what it says.
Problem = tuple[tuple[str | int, ...], str]
#: A check of a whole table: the field it names and the problem, or None.
TableCheck = Callable[[Any], tuple[str, str] | None]

_DISPLAY_SIZES = ((128, 64), (128, 128))


def _between(low: int, high: int) -> Rule:
    return lambda v: None if low <= v <= high else f"must be from {low} to {high}, got {v}"


def _one_of(*allowed: int) -> Rule:
    listed = ", ".join(map(str, allowed))
    return lambda v: None if v in allowed else f"must be one of {listed}, got {v}"


def matches(pattern: str, what: str, *, show: bool = True) -> Rule:
    """A rule: the whole string matches ``pattern``, described as ``what``."""

    def rule(value: str) -> str | None:
        found = f", got {value!r}" if show else ""
        return None if re.fullmatch(pattern, value) else f"must be {what}{found}"

    return rule


def seconds(high: float, why: str) -> Rule:
    """A rule: a time in seconds, greater than 0 (a time here never is) and at most ``high``."""

    def rule(value: float) -> str | None:
        if 0 < value <= high:
            return None
        return (
            f"must be a number of seconds greater than 0 and at most {shown(high)} ({why}), "
            f"got {value}"
        )

    return rule


#: The rule of a ``*_s`` setting that has no limit of its own in ``SECONDS_LIMITS``.
SECONDS = seconds(SECONDS_CEILING, "a day")


def seconds_rule(table: type, name: str) -> Rule:
    """The rule of the time ``name`` of ``table``: its own limit, or SECONDS."""
    limit = SECONDS_LIMITS.get((table, name))
    return SECONDS if limit is None else seconds(*limit)


def NO_NUL(value: object) -> str | None:  # noqa: N802 - a constant rule, named like one
    """No string may hold a NUL character: TOML can write one ("\\u0000"), no path or name can."""
    if isinstance(value, str) and "\0" in value:
        return "must not contain a NUL character (written \\u0000); remove it"
    return None


#: A value written in angle brackets, as the SD card's example writes what the technician fills in.
PLACEHOLDER = re.compile(r"\s*<[^<>]*>\s*")


def is_placeholder(value: object) -> bool:
    """Whether ``value`` is still one of the example's ``<...>`` placeholders."""
    return isinstance(value, str) and PLACEHOLDER.fullmatch(value) is not None


def NOT_A_PLACEHOLDER(value: object) -> str | None:  # noqa: N802 - a constant rule, named like one
    """A value in <angle brackets> is the card example's placeholder, never a setting."""
    if is_placeholder(value):
        return (
            "is still a placeholder of the example (a value in <angle brackets>); write the "
            "real value in its place, without the brackets"
        )
    return None


def NOT_EMPTY_PATH(value: object) -> str | None:  # noqa: N802 - a constant rule, named like one
    """A path given as a string must say something (checked before it becomes a Path)."""
    if isinstance(value, str) and not value.strip():
        return 'must not be empty; give a file path such as "/path"'
    return None


def _is_wifi_ssid(value: str) -> str | None:
    if len(value.encode("utf-8")) > 32:
        return f"must be at most 32 bytes long (UTF-8), got {len(value.encode('utf-8'))}"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "must not contain control characters (line breaks, tabs)"
    return None


def _is_wifi_psk(value: str) -> str | None:
    if value == "" or re.fullmatch(r"[ -~]{8,63}|[0-9A-Fa-f]{64}", value):
        return None
    return (
        "must be the Wi-Fi passphrase, 8 to 63 printable ASCII characters (letters, digits, "
        f"spaces, punctuation), or 64 hex digits; this one has {len(value)} characters"
        + ("" if value.isascii() else ", some of them not ASCII")
    )


def _is_technician_password(value: str) -> str | None:
    if re.fullmatch(r"[ -~]{10,128}", value):
        return None
    return (
        "must be 10 to 128 printable ASCII characters (letters, digits, punctuation, spaces: "
        f"the console's keyboard types no others); this one has {len(value)} characters"
        + ("" if value.isascii() else ", some of them not ASCII")
        + "; to keep root locked, remove the line"
    )


def _is_url(value: str) -> str | None:
    if value == "embedded" or value.startswith(("http://", "https://")):
        return None
    return f'must be "embedded" or an address starting with http:// or https://, got {value!r}'


def _is_device_file(value: str) -> str | None:
    if value.startswith("/"):
        return None
    return f'must be the full path of a device file, such as "/dev/usb/lp0", got {value!r}'


def _is_input_device(value: str) -> str | None:
    try:
        Selector.parse(value)
    except ValueError:
        return (
            'must be a device file\'s full path such as "/dev/payterm/scanner", '
            f'"name:<device name>" or "usb:<vid>:<pid>" in hex, got {value!r}'
        )
    return None


def _is_operator_key(name: str) -> str | None:
    keys = sorted(OPERATOR_KEYS.values())
    return None if name in keys else unknown(name, keys)


def _is_operator_function(function: str) -> str | None:
    if function in OPERATOR_FUNCTIONS:
        return None
    choices = ", ".join(f'"{f}"' for f in OPERATOR_FUNCTIONS)
    hint = did_you_mean(function, list(OPERATOR_FUNCTIONS))
    return f"no function {function!r}{hint}; choose one of {choices}"


FIELD_RULES: dict[tuple[type, str], Rule] = {
    (TerminalConfig, "id"): matches(r"[A-Za-z0-9_-]{1,32}", '1 to 32 letters, digits, "-" or "_"'),
    (TerminalConfig, "currency"): matches(r"[A-Z]{3}", '3 upper-case letters such as "RUB"'),
    (ProviderConfig, "driver"): matches(NAME, 'a driver name such as "sandbox"'),
    (ProviderConfig, "url"): _is_url,
    (RouteConfig, "wallet"): matches(r".*\S.*", 'a wallet name such as "alipay"'),
    (RouteConfig, "prefixes"): matches(r"[0-9A-Za-z]+", 'digits and letters only, such as "25"'),
    (RouteConfig, "lengths"): _between(1, 64),
    (PrinterConfig, "columns"): _one_of(32, 42, 48),
    (PrinterConfig, "baudrate"): _one_of(*BAUDRATES),
    (PrinterConfig, "serial_device"): _is_device_file,
    (PrinterConfig, "file"): _is_device_file,
    (ScannerConfig, "device"): _is_input_device,
    (KeypadConfig, "device"): _is_input_device,
    (SystemConfig, "hostname"): matches(
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)?",
        '"" or 1 to 63 letters, digits and "-", neither first nor last "-", such as "shop1-till2"',
    ),
    (SystemConfig, "wifi_country"): matches(
        r"(?:[A-Z]{2})?", '"" or an ISO 3166 country code of 2 upper-case letters such as "RU"'
    ),
    (SystemConfig, "wifi_ssid"): _is_wifi_ssid,
    (KeypadConfig, "operator_keys"): _is_operator_function,
    (ApiConfig, "port"): _between(1, 65535),
    (ApiConfig, "host"): matches(
        r"[0-9A-Za-z.:_-]+", 'an address such as "0.0.0.0" or "127.0.0.1"'
    ),
    (SyncTargetConfig, "name"): matches(
        NAME, 'a name of letters, digits, "-" or "_" such as "pos"'
    ),
    (SyncTargetConfig, "batch_size"): _between(1, 1000),
    (WifiSecrets, "psk"): _is_wifi_psk,
    (ConsoleSecrets, "password"): matches(
        r"(?:.{8,256})?", "empty or 8 to 256 characters", show=False
    ),
    (TechnicianSecrets, "password"): _is_technician_password,
    (SupervisorSecrets, "pins"): matches(r"[0-9]+", "digits only", show=False),
    (SupervisorSecrets, "badges"): matches(
        r"(?:[0-9A-Fa-f]{2})+", 'an even number of hex digits such as "04a1b2c3"', show=False
    ),
}

FIELD_RULES.update({where: limit.check for where, limit in INT_LIMITS.items()})

#: Rules on the keys of a table of settings (the rule in FIELD_RULES is for its values).
KEY_RULES: dict[tuple[type, str], Rule] = {
    (KeypadConfig, "operator_keys"): _is_operator_key,
}


def _check_display(display: DisplayConfig) -> tuple[str, str] | None:
    """Only the display sizes the screens are drawn for are accepted."""
    if (display.width, display.height) in _DISPLAY_SIZES:
        return None
    sizes = " or ".join(f"{w}x{h}" for w, h in _DISPLAY_SIZES)
    heights = [h for w, h in _DISPLAY_SIZES if w == display.width]
    name, fix = ("height", heights) if heights else ("width", [w for w, _ in _DISPLAY_SIZES])
    choices = " or ".join(f"{name} = {value}" for value in dict.fromkeys(fix))
    found = f"{display.width}x{display.height}"
    return name, f"the display must be {sizes}, got {found}; set {choices}"


def _check_system(system: SystemConfig) -> tuple[str, str] | None:
    """Wi-Fi needs the country: the radio may use only the channels allowed there."""
    if system.wifi_ssid and not system.wifi_country:
        message = (
            "is required when wifi_ssid is set (the radio may use only the channels allowed "
            'in the country); add wifi_country = "RU" with your country\'s code'
        )
        return "wifi_country", message
    return None


def _check_buttons(buttons: ButtonsConfig) -> tuple[str, str] | None:
    """Each button, the LED and the buzzer need a pin of their own (one pin, one device)."""
    names = ("retry_pin", "cancel_pin", "force_pin", "led_pin", "buzzer_pin")
    taken: dict[int, str] = {}
    for name in names:
        pin = getattr(buttons, name)
        if pin is None:
            continue
        if pin in taken:
            return name, f"GPIO{pin} is already buttons.{taken[pin]}; give each a pin of its own"
        taken[pin] = name
    return None


def _check_api(api: ApiConfig) -> tuple[str, str] | None:
    """Plain HTTP carries API keys in clear: only on loopback, or when the config insists."""
    if api.console_remote_keys and not api.console:
        return "console_remote_keys", "needs console = true: keys go through the web console"
    loopback = api.host in ("127.0.0.1", "::1", "localhost")
    if api.tls or loopback or api.allow_plain_http:
        return None
    message = (
        f"is false while the API listens on {api.host}, off loopback: API keys would cross "
        "the LAN in clear; keep tls = true, or set allow_plain_http = true to insist"
    )
    return "tls", message


_SYNC_SCHEMES = {"webhook": ("https://", "http://"), "mqtt": ("mqtt://", "mqtts://")}


def _check_sync_target(target: SyncTargetConfig) -> tuple[str, str] | None:
    """The url's scheme must fit the kind; a client certificate comes with its key."""
    schemes = _SYNC_SCHEMES[target.kind]
    if not target.url.startswith(schemes) or not target.url.split("://", 1)[1].strip("/"):
        listed = " or ".join(schemes)
        return "url", f"a {target.kind} target's url starts with {listed}, got {target.url!r}"
    if (target.cert_file is None) != (target.key_file is None):
        return "key_file", "cert_file and key_file go together; set both or neither"
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(target, name)
        if path is not None and not path.is_absolute():
            return name, f"must be an absolute path such as /etc/payterm/ca.pem, got {str(path)!r}"
    return None


def _check_sync(sync: SyncConfig) -> tuple[str, str] | None:
    """Each target has a name of its own: its watermark and secrets are kept by it."""
    names = [target.name for target in sync.targets]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        return "targets", f"two targets are named {twice[0]!r}; give each a name of its own"
    return None


TABLE_CHECKS: dict[type, TableCheck] = {
    DisplayConfig: _check_display,
    SystemConfig: _check_system,
    ButtonsConfig: _check_buttons,
    ApiConfig: _check_api,
    SyncTargetConfig: _check_sync_target,
    SyncConfig: _check_sync,
}


#: The keypad's digits 1–9 pick a payment type: no more may be offered.
MAX_QR_CHOICES = 9


def reference_problems(data: Mapping[str, object]) -> list[Problem]:
    """Every provider named in [payment] and [[routes]] must be configured.

    Read from the file's data, so that these are told along with the problems of types: a
    value of the wrong type is left to those, and a table not in the file has its default.
    """
    defaults = Config()
    providers = data.get("providers", defaults.providers)
    if not isinstance(providers, Mapping):
        return []
    if not providers:
        return [
            (("providers",), "no provider is configured; add a table such as [providers.sandbox]")
        ]
    problems: list[Problem] = []
    for name in providers:
        if not re.fullmatch(NAME, name):
            message = "a provider name may hold only letters, digits, '-' and '_'; rename the table"
            problems.append((("providers", name), message))
    known = [str(name) for name in providers]
    payment = data.get("payment", {})
    if isinstance(payment, Mapping):
        given = "mpm_provider" in payment
        name = payment.get("mpm_provider", defaults.payment.mpm_provider)
        fix = None if given else "set payment.mpm_provider"
        problems += _provider_problem(known, name, ("payment", "mpm_provider"), fix)
        problems += _qr_provider_problems(known, payment, name, providers)
    routes: object = data.get("routes", [{"provider": r.provider} for r in defaults.routes])
    if isinstance(routes, list | tuple):
        fix = None if "routes" in data else "write [[routes]] tables"
        for index, route in enumerate(routes):
            if isinstance(route, Mapping) and "provider" in route:
                where = ("routes", index, "provider")
                problems += _provider_problem(known, route["provider"], where, fix)
    return problems


def _qr_provider_problems(
    known: list[str],
    payment: Mapping[str, object],
    default: object,
    providers: Mapping[str, object],
) -> list[Problem]:
    """``payment.qr_providers``: configured providers, each once, the default among them,
    and no more payment types (Sendy: one per online service) than the digits 1–9."""
    listed = payment.get("qr_providers", [])
    if not isinstance(listed, list | tuple) or not listed:
        return []
    problems: list[Problem] = []
    for index, name in enumerate(listed):
        where = ("payment", "qr_providers", index)
        problems += _provider_problem(known, name, where, None)
        if name in listed[:index]:
            problems.append((where, f"names {name!r} twice; list each provider once"))
    types = sum(_qr_type_count(providers.get(name)) for name in listed if isinstance(name, str))
    if types > MAX_QR_CHOICES:
        message = f"offers {types} payment types; the keypad picks at most {MAX_QR_CHOICES}"
        problems.append((("payment", "qr_providers"), message))
    if isinstance(default, str) and default not in listed:
        message = f"{default!r} is the default QR provider: list it in payment.qr_providers too"
        problems.append((("payment", "mpm_provider"), message))
    return problems


def _qr_type_count(table: object) -> int:
    """How many payment types a provider table offers: Sendy one per online service on."""
    if not isinstance(table, Mapping) or table.get("driver") != "sendy":
        return 1
    options = table.get("options", {})
    if not isinstance(options, Mapping):
        return 1
    on = [s for s in ("wechat", "alipay") if str(options.get(f"service_{s}", "")).lower() == "true"]
    return 1 + len(on)


def _provider_problem(
    known: list[str], name: object, where: tuple[str | int, ...], default_fix: str | None
) -> list[Problem]:
    """``default_fix`` says how to replace a default that names an unconfigured provider.

    A placeholder is told by its own rule (NOT_A_PLACEHOLDER), not again here.
    """
    if not isinstance(name, str) or name in known or is_placeholder(name):
        return []
    listed = ", ".join(known)
    add = f"add a [providers.{name}] table"
    if default_fix is None:
        hint = did_you_mean(name, known)
        message = f"names the provider {name!r}, which is not configured{hint}; "
        message += f"use one of {listed} or {add}"
    else:
        message = (
            f"names the provider {name!r} by default, which is not configured; "
            f"{default_fix} naming one of {listed}, or {add}"
        )
    return [(where, message)]


def where(loc: tuple[str | int, ...]) -> str:
    """The key a location is told by: ``routes[1].lengths[0]``, ``providers."pay master"``."""
    key = ""
    for part in loc:
        key = f"{key}[{part}]" if isinstance(part, int) else join(key, part)
    return key
