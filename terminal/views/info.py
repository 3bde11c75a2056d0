"""The info page as a screen: the address a technician needs first, host, Wi-Fi, version.

The host name is the title; the first IPv4 address (Ethernet's, else Wi-Fi's) is drawn
large, as an amount is; the lines follow in the order they matter, so a 128×64 panel shows
the first ones and a 128×128 panel the rest too (the display drops the last lines that do
not fit): Wi-Fi, terminal and version, then every other address.
"""

from __future__ import annotations

from terminal.machine.states import State
from terminal.system.host_info import HostInfo, Wifi
from terminal.views.model import Screen
from terminal.views.text import Language, t

__all__ = ["info_screen", "wifi_words"]


def info_screen(state: State, lang: Language) -> Screen:
    """The info page for ``state``: "please wait" until the facts have been gathered."""
    info = state.host_info
    terminal = f"{t('info_terminal', lang)} {state.settings.terminal_id}"
    if info is None:
        return Screen("info", t("info", lang), "", (t("please_wait", lang), terminal))
    first = info.first_ipv4()
    amount = first[1] if first else ""
    lines = [
        f"{t('info_wifi', lang)} {wifi_words(info.wifi, lang)}",
        f"{terminal} v{info.version}",
        *_other_addresses(info, first),
    ]
    if first is None:
        lines.insert(0, t("info_no_address", lang))
    return Screen("info", info.hostname or t("info", lang), amount, tuple(lines))


def wifi_words(wifi: Wifi, lang: Language) -> str:
    """Wi-Fi in a few words: "Shop -57 dBm" (joined), "not connected", "off", "none"."""
    joined = wifi.state == "associated" and wifi.ssid
    words = [wifi.ssid] if joined else [t(f"info_wifi_{wifi.state}", lang)]
    if wifi.signal_dbm is not None:
        words.append(f"{wifi.signal_dbm} dBm")
    return " ".join(words)


def _other_addresses(info: HostInfo, first: tuple[str, str] | None) -> list[str]:
    """Every address but the one drawn large, each with its interface ("wlan0 10.0.0.7")."""
    shown = f"{first[0]} {first[1]}" if first else ""
    return [address for address in info.addresses() if address != shown]
