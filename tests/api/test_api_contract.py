"""The OpenAPI document under docs/api/ is the one the server is built from."""

from __future__ import annotations

from pathlib import Path

from terminal.api.openapi import document_text, openapi_document

DOC = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"


def test_docs_api_openapi_json_is_current() -> None:
    """Regenerate with: .venv/bin/python -m terminal.api.openapi > docs/api/openapi.json"""
    assert DOC.read_text() == document_text()


def test_every_operation_names_its_errors_in_the_one_shape() -> None:
    """Every 4xx/5xx answer is documented as problem+json with code, message and field."""
    document = openapi_document()
    problem = document["components"]["schemas"]["Problem"]
    assert {"code", "message", "field"} <= set(problem["required"])
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in response["content"], (path, method)


def test_bodies_refuse_unknown_fields() -> None:
    """The request bodies say so in the document too."""
    schemas = openapi_document()["components"]["schemas"]
    for name in ("CreatePayment", "CreateRefund", "CreatePairing"):
        assert schemas[name]["additionalProperties"] is False
