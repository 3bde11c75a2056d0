"""A driver and its loopback fake, started together, for the shared provider contract."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from terminal.config.model import ProviderConfig
from terminal.money import Money
from terminal.providers.base import Order, Provider
from terminal.providers.registry import DRIVERS as REGISTERED
from terminal.providers.registry import build_provider
from terminal.providers.sandbox.ledger import SandboxLedger
from terminal.providers.sandbox.server import SandboxServer

#: Every driver the terminal has; each must pass the contract against its fake.
DRIVERS = tuple(
    name
    for name, where in REGISTERED.items()
    if importlib.util.find_spec(where.partition(":")[0]) is not None
)

#: A customer code every fake accepts (an Alipay-shaped 18-digit code).
CODE = "286648397128431234"


def demo_credentials(driver: str) -> tuple[dict[str, str], dict[str, str]]:
    """The options and secrets a driver and its fake share in tests and demos."""
    if driver == "sandbox":
        return {}, {}
    from terminal.providers.fakes import fake_class

    fake = fake_class(driver)
    return dict(fake.DEMO_OPTIONS), dict(fake.DEMO_SECRETS)


@dataclass
class Kit:
    """A running fake and a driver pointed at it."""

    driver: str
    server: SandboxServer
    provider: Provider
    _serial: int = 0

    @property
    def ledger(self) -> SandboxLedger:
        return self.server.ledger

    def order(self, amount_minor: int = 12_500) -> Order:
        """A fresh order with a terminal-made id."""
        self._serial += 1
        return Order(f"T0001-c0de-{self._serial:06d}", Money(amount_minor, "RUB"), "Order")

    async def control(self, path: str, body: dict[str, object]) -> httpx.Response:
        """POST to the fake's control routes, as a test or demo would."""
        async with httpx.AsyncClient(base_url=self.server.url, trust_env=False) as client:
            return await client.post(path, content=json.dumps(body))

    async def customer(self, action: str, order_id: str) -> None:
        """The customer pays, declines, abandons or lets it expire."""
        response = await self.control("/control/customer", {"action": action, "order_id": order_id})
        assert response.status_code == 200, response.text


@asynccontextmanager
async def running_kit(
    driver: str, tmp_path: Path, *, read_timeout_s: float = 2.0
) -> AsyncIterator[Kit]:
    """Start ``driver``'s fake on loopback and a driver built by the registry for it."""
    options, secrets = demo_credentials(driver)
    server = SandboxServer(
        tmp_path / f"{driver}-ledger.sqlite3", driver=driver, options=options, secrets=secrets
    )
    url = await server.start()
    cfg = ProviderConfig(
        driver=driver, url=url, options=options, connect_timeout_s=2.0,
        read_timeout_s=read_timeout_s,
    )  # fmt: skip
    provider = build_provider(driver, cfg, api_key=secrets.get("api_key"), secrets=secrets)
    try:
        yield Kit(driver, server, provider)
    finally:
        await provider.aclose()
        await server.stop()
