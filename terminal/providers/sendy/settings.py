"""Sendy's settings: the ``[providers.<name>.options]`` table and the terminal key, checked.

The terminal key comes from the secrets file, or from the state file the activation wrote
(``options.state_path``).
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from terminal.errors import ConfigError
from terminal.providers.options import DriverOptions
from terminal.providers.sendy import codec as wire
from terminal.providers.sendy.state import read_state

__all__ = ["SendySettings", "LANGUAGES", "service_problem"]

LANGUAGES = ("en", "ru")

#: Settings of the Кассир 5 module that belong to the terminal here, and where they went.
_ELSEWHERE = {
    "url": "the server URL is providers.{name}.url",
    "server_url": "the server URL is providers.{name}.url",
    "slip_width": "slips are the terminal's: set [printer] columns (32 or 48)",
    "slip_copies": "slips are the terminal's: set [printer] copies",
    "copies": "slips are the terminal's: set [printer] copies",
    "timeout": "set providers.{name}.confirm_timeout_s, invoice_lifetime_s or read_timeout_s",
    "mode": "both modes are always on: offline by [[routes]], online by payment.mpm_provider",
    "serial_number": "the serial number is given to the activation only",
    "activation_code": "the activation code is given to the activation only",
    "terminal_key": "the terminal key is a secret: put it in the secrets file",
    "detailed_report": "reports are the terminal's",
}
_OPTIONS = frozenset(
    {"terminal_id", "language", "online_service", "state_path", "api_root"}
    | {f"service_{service}" for service in wire.SERVICES}
)


@dataclass(frozen=True, slots=True)
class SendySettings:
    """The driver's settings, read from ``[providers.<name>.options]`` and the secrets."""

    terminal_id: str
    terminal_key: str = field(repr=False)
    language: str = "en"
    online_services: tuple[str, ...] = ("sendy",)
    online_service: str = "sendy"
    api_root: str = wire.API_ROOT
    state_path: Path | None = None

    @classmethod
    def from_config(
        cls, name: str, options: Mapping[str, str], secrets: Mapping[str, str]
    ) -> SendySettings:
        """Check and read the settings; ``ConfigError`` names the key that is wrong."""
        opts = DriverOptions(name, options)
        opts.refuse_unknown(_OPTIONS, lambda key: _not_an_option(name, key))
        terminal_id = opts.required(
            "terminal_id", "is required (the id Sendy issued at registration)"
        )
        language = opts.choice("language", LANGUAGES, default="en")
        services = _online_services(opts)
        online_service = opts.text("online_service", "sendy")
        if online_service not in services:
            raise opts.error("online_service", service_problem(online_service))
        api_root = opts.text("api_root", wire.API_ROOT)
        if not (api_root.startswith("/") and api_root.endswith("/")):
            raise opts.error("api_root", "must start and end with '/', e.g. '/v1/'")
        state_path = opts.file("state_path")
        key = secrets.get("terminal_key") or _key_from_state(name, state_path, terminal_id)
        return cls(terminal_id, key, language, services, online_service, api_root, state_path)


def service_problem(service: str) -> str:
    """Why ``service`` cannot be offered: not a Sendy service, or switched off."""
    if service not in wire.SERVICES:
        return f"{service!r} is not a Sendy service; one of {', '.join(wire.SERVICES)}"
    return f'{service} is switched off; set service_{service} = "true" to offer it'


def _not_an_option(name: str, key: str) -> str:
    hint = _ELSEWHERE.get(key, f"known options: {', '.join(sorted(_OPTIONS))}")
    return f"is not a Sendy option; {hint.format(name=name)}"


def _online_services(opts: DriverOptions) -> tuple[str, ...]:
    """Sendy is always on (it cannot be switched off); WeChat and AliPay when switched on."""
    if opts.text("service_sendy", "true").lower() != "true":
        raise opts.error("service_sendy", "Sendy is always on: it cannot be switched off")
    switchable = [
        service
        for service in wire.SERVICES
        if service != "sendy"
        and opts.flag(f"service_{service}", default=False, message='must be "true" or "false"')
    ]
    return ("sendy", *switchable)


def _key_from_state(name: str, state_path: Path | None, terminal_id: str) -> str:
    """The terminal key the activation stored, or ``ConfigError`` saying how to get one."""
    if state_path is None:
        raise ConfigError(
            "no terminal key: put terminal_key in the secrets file's [providers."
            f"{name}] table, or activate the terminal and set options.state_path",
            key=f"providers.{name}.terminal_key",
        )
    where = f"providers.{name}.options.state_path"
    state = read_state(state_path, key=where)
    if not state.get("terminal_key"):
        raise ConfigError(f"{state_path} holds no terminal key: activate the terminal", key=where)
    if state.get("terminal_id") != terminal_id:
        raise ConfigError(
            f"{state_path} was activated for terminal {state.get('terminal_id')!r}, "
            f"not {terminal_id!r}: activate again or fix options.terminal_id",
            key=where,
        )
    if state_path.stat().st_mode & stat.S_IRWXO:
        raise ConfigError(f"{state_path} may be read by every user: run chmod 600 on it", key=where)
    return str(state["terminal_key"])
