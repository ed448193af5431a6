"""What fuzzing the API found, each pinned by a request: input the server took (or failed on) although the
rule was stated nowhere the document could show it."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from enterprises.schemas import INDUSTRY_PATTERN, PHONE, USCC_PATTERN
from enterprises.uscc import CHARSET
from tests.conftest import auth


def schemas(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/api/v1/openapi.json").json["components"]["schemas"]


@pytest.mark.parametrize("industry", ["C1234567890123", "C²", "C٣٩", "c39"])
def test_an_industry_code_is_a_section_letter_and_at_most_four_ascii_digits(
    client: FlaskClient, make_token: Callable[..., str], industry: str
) -> None:
    # "C1234567890123" passed the old check and overflowed the 8-character column: 500 on PostgreSQL.
    # "C²" and "C٣٩" passed str.isdigit() and were stored as industry codes.
    response = client.patch("/api/v1/enterprises/me", json={"industry": industry}, headers=auth(make_token("sme")))
    assert response.status_code == 422
    assert "industry" in response.json["errors"]["json"]


def test_the_deepest_industry_code_is_still_accepted(client: FlaskClient, make_token: Callable[..., str]) -> None:
    response = client.patch("/api/v1/enterprises/me", json={"industry": "C3911"}, headers=auth(make_token("sme")))
    assert response.status_code == 200 and response.json["industry"] == "C3911"


@pytest.mark.parametrize("phone", ["13٨00138000", "010-٦٢٣٤٥٦٧٨"])
def test_a_phone_number_has_ascii_digits(client: FlaskClient, make_token: Callable[..., str], phone: str) -> None:
    # Python's \d matched Arabic-Indic digits, so these were stored as phone numbers.
    response = client.patch("/api/v1/enterprises/me", json={"phone": phone}, headers=auth(make_token("sme")))
    assert response.status_code == 422
    assert "phone" in response.json["errors"]["json"]


def test_the_document_states_the_credit_code_industry_and_phone_patterns(app: Flask) -> None:
    for name in ("Registration", "Enterprise"):
        properties = schemas(app)[name]["properties"]
        assert properties["uscc"]["pattern"] == USCC_PATTERN
        assert properties["industry"]["pattern"] == INDUSTRY_PATTERN
        assert properties["phone"]["pattern"] == PHONE


def test_the_credit_code_pattern_allows_exactly_the_standard_characters() -> None:
    allowed = {chr(c) for c in range(0x20, 0x7F) if re.fullmatch(USCC_PATTERN, "91" + "110000" + chr(c) * 10)}
    assert allowed == set(CHARSET)


def test_the_document_states_the_first_fiscal_year(app: Flask) -> None:
    # Before, fiscal_year was documented from 0, so nearly every generated "valid" year was refused.
    document = app.test_client().get("/api/v1/openapi.json").json
    [parameter] = document["paths"]["/api/v1/enterprises/me/profiles/{fiscal_year}"]["parameters"]
    assert parameter["schema"]["minimum"] == 2000


def test_the_document_states_the_weight_policy_keys_and_bounds(app: Flask) -> None:
    policy = schemas(app)["WeightPolicy"]
    assert policy["additionalProperties"] is False
    assert policy["properties"]["bonus_micro"] | {"minimum": 0, "maximum": 10} == policy["properties"]["bonus_micro"]
    assert policy["properties"]["approval_slope"]["exclusiveMinimum"] is True


@pytest.mark.parametrize(
    ("policy", "key"),
    [({"micro": 0.5}, "micro"), ({"approval_slope": 0}, "approval_slope"), ({"approval": 11}, "approval")],
)
def test_a_bad_weight_policy_is_refused_naming_the_key(
    client: FlaskClient, make_token: Callable[..., str], policy: dict[str, float], key: str
) -> None:
    response = client.post("/api/v1/matching/rounds", json={"policy": policy}, headers=auth(make_token("admin")))
    assert response.status_code == 422
    assert key in response.json["errors"]["json"]["policy"]
