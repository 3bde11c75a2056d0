"""Loopback fakes of the real providers; they double as sandboxes (``payterm sandbox --provider``).

Each fake module holds one class built like :class:`FakeProviderApp`; ``FAKES`` names it
per driver, imported only when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import cast

from terminal.providers.fake_app import FakeProviderApp
from terminal.providers.sandbox.ledger import SandboxLedger

__all__ = ["FAKES", "fake_class", "FakeProviderApp"]

#: Driver name -> "module:Class" of its loopback fake.
FAKES: dict[str, str] = {
    "paymaster": "terminal.providers.paymaster.fake:PayMasterFake",
    "pockyt": "terminal.providers.pockyt.fake:PockytFake",
    "verystar": "terminal.providers.verystar.fake:VerystarFake",
    "webmoney": "terminal.providers.webmoney.fake:WebMoneyFake",
    "sendy": "terminal.providers.sendy.fake:SendyFake",
}


def fake_class(driver: str) -> type[FakeProviderApp]:
    """The fake of ``driver``; KeyError when it has none."""
    module_name, _, class_name = FAKES[driver].partition(":")
    return cast(type[FakeProviderApp], getattr(importlib.import_module(module_name), class_name))


def build_fake(
    driver: str,
    ledger: SandboxLedger,
    *,
    options: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> FakeProviderApp:
    """A fake of ``driver`` over ``ledger``."""
    return fake_class(driver)(ledger, options=options, secrets=secrets)
