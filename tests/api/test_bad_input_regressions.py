"""Inputs that once gave a 500 or were silently changed, found by review; each must stay a clear 4xx."""

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from reference.china_time import china_today
from tests.api.test_enterprises_api import PROFILE, need, register, registration
from tests.api.test_pages_sme import field_error, registration_form

HUGE = "99999999999999999999"


@pytest.fixture
def forms(app: Flask) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.mark.parametrize("path", [f"/products/{HUGE}", f"/api/v1/needs/{HUGE}", f"/api/v1/products/{HUGE}"])
def test_ids_beyond_a_32_bit_integer_are_simply_not_found(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_a_huge_need_id_on_the_withdraw_page_is_not_found(forms: FlaskClient) -> None:
    forms.post("/register", data=registration_form())
    assert forms.post(f"/needs/{HUGE}/withdraw").status_code == 404


def test_a_unicode_digit_page_number_falls_back_to_the_first_page(client: FlaskClient) -> None:
    assert client.get("/products?page=²").status_code == 200


def test_an_astronomical_amount_in_wan_is_refused_beside_the_field(forms: FlaskClient) -> None:
    forms.post("/register", data=registration_form())
    response = forms.post(
        "/needs/new",
        data={
            "amount": "1e999999",
            "purpose": "equipment",
            "term_months": "12",
            "needed_by": (china_today() + timedelta(days=9)).isoformat(),
        },
    )
    assert response.status_code == 422
    assert field_error(response.text, "amount") == "金额过大。"


@pytest.mark.parametrize(("body", "field"), [({"employees": 50.9}, "employees"), ({"employees": True}, "employees")])
def test_integers_are_never_truncated(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/enterprises", json=registration(**body))
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_need_and_profile_amounts_must_be_whole_yuan(client: FlaskClient) -> None:
    _, headers = register(client)
    assert client.post("/api/v1/needs", json=need(amount=5000.99), headers=headers).status_code == 422
    response = client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE | {"patents": 2.5}, headers=headers)
    assert response.status_code == 422 and "patents" in response.json["errors"]["json"]
    assert client.post("/api/v1/needs", json=need(amount=5000.0), headers=headers).status_code == 201


@pytest.mark.parametrize("region", ["😀😀", "<>"])
def test_a_region_must_be_a_division_name_or_code(client: FlaskClient, region: str) -> None:
    response = client.post("/api/v1/enterprises", json=registration(region=region))
    assert response.status_code == 422 and "region" in response.json["errors"]["json"]


def test_a_form_without_its_csrf_token_explains_itself_in_chinese(client: FlaskClient) -> None:
    response = client.post("/register", data=registration_form())
    assert response.status_code == 400
    assert "表单已过期" in response.text
    assert "CSRF token" not in response.text
