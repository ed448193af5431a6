"""The OpenAPI document is valid, and the API keeps its promises: schemathesis sends generated requests
(valid and invalid) through the WSGI app, anonymously and as a bank, and checks that nothing answers 5xx
and that every answer matches its documented status, content type and schema."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api import create_app
from tests.conftest import auth

# The operations fuzzed here; the other blueprints' authors add their prefix once their operations pass.
FUZZED_PATHS = ("/api/v1/products",)
# Operations whose bodies have rules JSON Schema cannot state, so that a schema-valid body may rightly get
# 422: cross-field rules (amount_min <= amount_max, quota >= amount_max, ...), rules against the stored
# product (PATCH), and the content of an uploaded file (import).
SEMANTIC_BODY = {"POST /api/v1/products", "PATCH /api/v1/products/{product_id}", "POST /api/v1/products/import"}
FUZZ_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture
def api_schema(app: Flask) -> OpenApiSchema:
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Unknown query parameters are ignored by design (``?lang=en`` works on every URL), so requests with
    # made-up parameters are not "invalid data" that must be refused.
    loaded.config.generation.update(allow_extra_parameters=False)
    return loaded


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_is_valid_openapi(app: Flask, api_schema: OpenApiSchema) -> None:
    api_schema.validate()
    document = app.test_client().get("/api/v1/openapi.json").json
    for ref in set(_refs(document)):
        section, kind, name = ref.removeprefix("#/").split("/")
        assert name in document[section][kind], f"dangling {ref}"


def test_the_import_documents_its_file_upload(app: Flask) -> None:
    operation = app.test_client().get("/api/v1/openapi.json").json["paths"]["/api/v1/products/import"]["post"]
    content = operation["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert {"text/csv", "application/json"} <= set(content)
    assert operation["security"] == [{"bearerAuth": []}]


def _operations() -> list[str]:
    """The fuzzed operations, read from a database-less app at collection time, so that each one is
    a test of its own."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "collect", "TESTING": True})
    document = app.test_client().get("/api/v1/openapi.json").json
    methods = {"get", "post", "put", "patch", "delete"}
    return [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        if path.startswith(FUZZED_PATHS)
        for method in item
        if method in methods
    ]


@pytest.fixture
def bank_token(make_token: Callable[..., str]) -> str:
    return make_token("bank", bank_code="FUZZ")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("caller", ["anonymous", "bank"])
@pytest.mark.parametrize("label", _operations())
def test_the_api_keeps_its_contract(
    api_schema: OpenApiSchema, bank_token: str, label: str, caller: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None
    headers = auth(bank_token) if caller == "bank" else None
    excluded = [positive_data_acceptance] if label in SEMANTIC_BODY else []

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()
