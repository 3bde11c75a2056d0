"""Property-based tests generated from the OpenAPI document, against the running terminal.

Schemathesis makes requests from the document (valid and invalid ones), follows the
documented links from a created payment to the operations on it (stateful), and checks
every answer against the document: status, headers, content type and body schema, and
that no request makes the server fail. The number of examples is bounded, so the run
stays well within a minute. The event stream is left out: it never ends by design (its
tests are in test_api_events.py).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Running, api_config, start

SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip


class _Background:
    """A terminal with the API on, running in a thread's own event loop."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._started = start(api_config(data_dir))
        self.running: Running = self.call(self._started.__aenter__())
        self.key = self.call(self.running.pair("schemathesis"))

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def close(self) -> None:
        self.call(self._started.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Background]:
    background = _Background(tmp_path_factory.mktemp("schemathesis"))
    # Schemathesis's own follow-up requests (e.g. without the key) trust what requests does.
    cert = str(background.running.terminal.api.certificate.cert_path)
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = cert
    try:
        yield background
    finally:
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved
        background.close()


def _schema(terminal: _Background) -> Any:
    """The document the running terminal serves, as a client fetches it."""
    document = terminal.running.terminal.api.api.openapi
    return schemathesis.openapi.from_dict(document).exclude(path="/v1/events")


def _kwargs(terminal: _Background) -> dict[str, Any]:
    cert = str(terminal.running.terminal.api.certificate.cert_path)
    return {"base_url": terminal.running.url, "verify": cert, "timeout": 10,
            "headers": {"Authorization": f"Bearer {terminal.key}"}}  # fmt: skip


def _fresh_key(case: Any) -> None:
    """A new Idempotency-Key per generated request: a key reused with another body is a 422
    by design, which the generator (drawing keys from a small space) would hit by chance.
    Replays are tested in test_api_payments.py."""
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


def test_every_operation_conforms(terminal: _Background) -> None:
    """Each operation, with generated valid and invalid inputs, answers as documented."""
    schema = _schema(terminal)
    for result in schema.get_all_operations():
        operation = result.ok()

        @SETTINGS
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            _fresh_key(case)
            response = case.call(**_kwargs(terminal))
            case.validate_response(response)

        check()


def test_stateful_links(terminal: _Background) -> None:
    """Create a payment, then follow the documented links: get, cancel, refund, reprint."""
    kwargs = _kwargs(terminal)

    class Machine(_schema(terminal).as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return kwargs

        def before_call(self, case: Any) -> None:
            _fresh_key(case)

        def validate_response(self, response: Any, case: Any, **rest: Any) -> None:
            # Whether a refund's amount is accepted depends on the payment's amount (partial
            # refunds are refused with a 422 that says so), which no schema can state.
            excluded = (
                [positive_data_acceptance] if case.operation.path.endswith("/refunds") else []
            )
            case.validate_response(response, excluded_checks=excluded)

    run_state_machine_as_test(
        Machine, settings=settings(SETTINGS, max_examples=10, stateful_step_count=6)
    )
