"""The OpenAPI document is valid, and the API keeps its promises: schemathesis sends generated requests
(valid and invalid) through the WSGI app, anonymously and as every role an operation serves, and checks that
nothing answers 5xx, that every answer matches its documented status, content type and schema, that a
protected operation answers 401 to an anonymous caller and 403 to a role it does not serve, and that a
successful authenticated call fails without its token (schemathesis' ``ignored_auth``).

How it is driven: schemathesis 4 under pytest 9, without its pytest plugin. Each (operation, caller, mode)
is a test of its own; the test builds the operation's hypothesis strategy with ``operation.as_strategy()``
and runs it under hypothesis' ``@given`` with the settings below (no example database, no deadline: the
first request of a test pays for the app's warm-up). The stateful phase, sequences of calls along the
document's links, is in test_openapi_stateful.py."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema
from werkzeug.exceptions import MethodNotAllowed, NotFound

from api import create_app
from reference.china_time import china_today
from tests.api.product_samples import product_body
from tests.conftest import auth

ANONYMOUS = "anonymous"
ROLES = ("bank", "sme", "admin", "regulator")
# The roles each operation serves. The document says that an operation needs a token, not whose; this table
# says whose, and test_every_operation_is_fuzzed fails when an operation is missing from it. A public
# operation is fuzzed anonymously and as the roles listed (the product catalogue shows a bank its drafts).
SERVED_BY: dict[str, tuple[str, ...]] = {
    "GET /api/v1/products": ("bank",),
    "POST /api/v1/products": ("bank",),
    "GET /api/v1/products/{product_id}": ("bank",),
    "PATCH /api/v1/products/{product_id}": ("bank",),
    "DELETE /api/v1/products/{product_id}": ("bank",),
    "POST /api/v1/products/import": ("bank",),
    "GET /api/v1/products/export.csv": ("bank",),
    "POST /api/v1/enterprises": (),
    "GET /api/v1/enterprises/me": ("sme",),
    "PATCH /api/v1/enterprises/me": ("sme",),
    "GET /api/v1/enterprises/me/profiles": ("sme",),
    "PUT /api/v1/enterprises/me/profiles/{fiscal_year}": ("sme",),
    "GET /api/v1/enterprises/me/score": ("sme",),
    "GET /api/v1/needs": ("sme",),
    "POST /api/v1/needs": ("sme",),
    "GET /api/v1/needs/{need_id}": ("sme",),
    "POST /api/v1/needs/{need_id}/withdraw": ("sme",),
    "GET /api/v1/scoring/models": ("admin", "regulator"),
    "GET /api/v1/matching/rounds": ("admin", "regulator"),
    "POST /api/v1/matching/rounds": ("admin",),
    "GET /api/v1/matching/rounds/{round_id}": ("admin", "regulator"),
    "GET /api/v1/proposals": ("bank",),
    "GET /api/v1/proposals/{proposal_id}": ("bank",),
    "POST /api/v1/proposals/{proposal_id}/accept": ("bank",),
    "POST /api/v1/proposals/{proposal_id}/reject": ("bank",),
    "POST /api/v1/proposals/{proposal_id}/grant": ("bank",),
    "GET /api/v1/loans/{loan_id}": ("bank",),
    "POST /api/v1/loans/{loan_id}/events": ("bank",),
    "POST /api/v1/loans/events/import": ("bank",),
    "GET /api/v1/audit": ("admin", "regulator"),
    "GET /api/v1/stats/totals": ("admin", "regulator"),
    "GET /api/v1/stats/totals.csv": ("admin", "regulator"),
    "GET /api/v1/stats/funnel": ("admin", "regulator"),
    "GET /api/v1/stats/funnel.csv": ("admin", "regulator"),
    "GET /api/v1/stats/banks": ("admin", "regulator"),
    "GET /api/v1/stats/banks.csv": ("admin", "regulator"),
    "GET /api/v1/stats/risk": ("admin", "regulator"),
    "GET /api/v1/stats/risk.csv": ("admin", "regulator"),
}
# Operations whose valid-looking input may rightly get 422 because the rule cannot be stated in JSON Schema,
# so positive_data_acceptance is off for them:
# - products: cross-field rules (amount_min <= amount_max, quota >= amount_max, ...), rules against the
#   stored product (PATCH), and the content of an uploaded file (import);
# - registration: the credit code's check character (the pattern states only its alphabet and layout) and
#   founded_on between 1900 and today (a date range relative to today);
# - enterprise update: founded_on, as above;
# - profile: figure_sources must name figures of the same body;
# - need: needed_by not in the past (relative to today);
# - decisions and loan events: rules against the stored proposal, product and loan (the product's ranges, the
#   need left, the balance), a note required for the reason 'other', a correction naming an event;
# - the loan-event upload: the content of the file (its lines name loans of the caller's bank).
# - statistics: the period's start not after its end, and the three risk shares summing to 1.
SEMANTIC_BODY = {
    "POST /api/v1/products",
    "PATCH /api/v1/products/{product_id}",
    "POST /api/v1/products/import",
    "POST /api/v1/enterprises",
    "PATCH /api/v1/enterprises/me",
    "PUT /api/v1/enterprises/me/profiles/{fiscal_year}",
    "POST /api/v1/needs",
    "POST /api/v1/proposals/{proposal_id}/reject",
    "POST /api/v1/proposals/{proposal_id}/grant",
    "POST /api/v1/loans/{loan_id}/events",
    "POST /api/v1/loans/events/import",
    "GET /api/v1/stats/totals",
    "GET /api/v1/stats/totals.csv",
    "GET /api/v1/stats/funnel",
    "GET /api/v1/stats/funnel.csv",
    "GET /api/v1/stats/banks",
    "GET /api/v1/stats/banks.csv",
    "GET /api/v1/stats/risk",
    "GET /api/v1/stats/risk.csv",
}
# Examples per (operation, caller, mode): enough to reach every branch of these small views while keeping the
# whole file near a minute per database. A matching round is a real round over the `market` fixture.
EXAMPLES = 12
FEW_EXAMPLES = {"POST /api/v1/matching/rounds": 5}
ANONYMOUS_EXAMPLES = 5  # a protected operation answers 401 before it reads anything


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)


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


def _document() -> dict[str, Any]:
    """The OpenAPI document of a database-less app, read at collection time so that each operation is a test
    of its own."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "collect", "TESTING": True})
    return app.test_client().get("/api/v1/openapi.json").json


DOCUMENT = _document()
METHODS = {"get", "post", "put", "patch", "delete"}
OPERATIONS = {
    f"{method.upper()} {path}": operation
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in METHODS
}


def is_public(label: str) -> bool:
    security = OPERATIONS[label].get("security")
    return security is None or {} in security


def has_input(label: str) -> bool:
    """Whether the operation takes anything (parameters or a body) that negative mode could make invalid."""
    path = label.split(" ", 1)[1]
    item = DOCUMENT["paths"][path]
    return bool(item.get("parameters") or OPERATIONS[label].get("parameters") or OPERATIONS[label].get("requestBody"))


def _runs() -> Iterator[Any]:
    for label in OPERATIONS:
        for caller in (ANONYMOUS, *SERVED_BY.get(label, ())):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if mode is GenerationMode.NEGATIVE and not has_input(label):
                    continue
                yield pytest.param(label, caller, mode, id=f"{label}-{caller}-{mode.value}")


def test_every_operation_is_fuzzed() -> None:
    assert set(SERVED_BY) == set(OPERATIONS), "list the roles of new operations in SERVED_BY"
    assert set(OPERATIONS) >= SEMANTIC_BODY
    for label, roles in SERVED_BY.items():
        assert set(roles) <= set(ROLES)
        assert roles or is_public(label), f"{label} is protected but serves no role"


@pytest.fixture
def caller_headers(
    request: pytest.FixtureRequest, app: Flask, make_token: Callable[..., str], tmp_path: Path
) -> Callable[[str, str], dict[str, str] | None]:
    """Headers for a caller, after giving that caller something to read: a bank one product, an SME a
    profile and an open need (scored by the active model), an operator or regulator a completed round. A
    fuzzed round runs over the `market` fixture (12 needs, 3 products), so that generated weight policies
    meet real edges, and so does the audit log's reader, so that it reads the products' and the proposals'
    entries; the other operations do without it (its twelve registrations take a few seconds)."""
    app.config["ROUND_DIR"] = str(tmp_path)
    client = app.test_client()

    def seed(caller: str, label: str) -> dict[str, str] | None:
        if caller == ANONYMOUS:
            return None
        if caller != "bank":
            request.getfixturevalue("active_model")
        if label in ("POST /api/v1/matching/rounds", "GET /api/v1/audit"):
            request.getfixturevalue("market")  # the audit log then holds products and a round's proposals
        headers = auth(make_token(caller, bank_code="FUZZ"))
        author = auth(make_token("admin")) if caller == "regulator" else headers  # regulators run no rounds
        for method, url, body, status in seed_requests(caller):
            response = client.open(url, method=method, json=body, headers=author)
            assert response.status_code == status, response.json
        return headers

    return seed


def seed_requests(caller: str) -> list[tuple[str, str, dict[str, Any], int]]:
    if caller == "bank":
        return [("POST", "/api/v1/products", product_body("SEED"), 201)]
    if caller == "sme":
        need = {"amount": 500_000, "purpose": "working_capital", "term_months": 12}
        return [
            ("PUT", f"/api/v1/enterprises/me/profiles/{china_today().year - 1}", SEED_PROFILE, 201),
            ("POST", "/api/v1/needs", need | {"needed_by": (china_today() + timedelta(days=30)).isoformat()}, 201),
        ]
    return [("POST", "/api/v1/matching/rounds", {"k": 2}, 201)]


SEED_PROFILE = {
    "annual_revenue": 30_000_000,
    "net_profit": 2_000_000,
    "total_assets": 20_000_000,
    "total_liabilities": 8_000_000,
}


def route_exists(app: Flask, case: schemathesis.Case) -> bool:
    """Whether the generated path reaches the operation's view: an invalid path parameter (need_id=-1) misses
    the route and gets the router's 404 before any authentication."""
    try:
        app.url_map.bind("localhost").match(case.formatted_path, method=case.method.upper())
    except (NotFound, MethodNotAllowed):
        return False
    return True


@pytest.mark.parametrize(("label", "caller", "mode"), list(_runs()))
def test_the_api_keeps_its_contract(
    app: Flask,
    api_schema: OpenApiSchema,
    caller_headers: Callable[[str, str], dict[str, str] | None],
    label: str,
    caller: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None
    headers = caller_headers(caller, label)
    excluded = [positive_data_acceptance] if label in SEMANTIC_BODY else []
    refused = caller == ANONYMOUS and not is_public(label)
    examples = ANONYMOUS_EXAMPLES if refused else FEW_EXAMPLES.get(label, EXAMPLES)

    @fuzz_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers, excluded_checks=excluded)
        if refused and route_exists(app, case):
            assert response.status_code == 401, f"{case.as_curl_command()} -> {response.status_code}"

    check()


@pytest.mark.parametrize(
    ("label", "role"),
    [
        (label, role)
        for label, served in SERVED_BY.items()
        if not is_public(label)
        for role in ROLES
        if role not in served
    ],
)
def test_a_role_an_operation_does_not_serve_gets_403(
    client: FlaskClient, make_token: Callable[..., str], label: str, role: str
) -> None:
    method, path = label.split(" ", 1)
    url = path.format(product_id=1, fiscal_year=2024, need_id=1, round_id=1, proposal_id=1, loan_id=1)
    response = client.open(url, method=method, json={}, headers=auth(make_token(role, bank_code="FUZZ")))
    assert response.status_code == 403, response.json
