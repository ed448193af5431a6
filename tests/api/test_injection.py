"""SQL and template injection in free text: stored as typed, never run, always escaped on the pages."""

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from tests.api.page_helpers import csrf_token, sign_in
from tests.api.product_samples import product_body
from tests.api.test_enterprises_api import PROFILE, need, registration
from tests.conftest import auth

SQL = "'); DROP TABLE enterprises; --"
TEMPLATE = "{{ 7*7 }}{% if 1 %}x{% endif %}"
SCRIPT = "<script>alert('x')</script>"
TEXT = f"{SQL} {TEMPLATE} {SCRIPT}"


def assert_escaped(html: str) -> None:
    assert SCRIPT not in html and "&lt;script&gt;alert(" in html
    # Shown as typed, not evaluated (evaluated, it would read "49x"; a bare "49" may be in a random token).
    assert TEMPLATE in html and "49x" not in html


def test_sme_text_is_stored_as_typed_and_escaped_on_its_pages(client: FlaskClient, db_session: Session) -> None:
    body = registration(name=f"某市测试{TEXT}有限公司", contact_person=TEXT)
    registered = client.post("/api/v1/enterprises", json=body)
    assert registered.status_code == 201, registered.json
    headers = auth(registered.json["token"])
    assert client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE | {"main_debtor": TEXT}, headers=headers)
    created = client.post("/api/v1/needs", json=need(note=TEXT), headers=headers)
    assert created.status_code == 201, created.json

    me = client.get("/api/v1/enterprises/me", headers=headers).json
    assert (me["name"], me["contact_person"]) == (body["name"], TEXT)
    assert client.get(f"/api/v1/needs/{created.json['id']}", headers=headers).json["note"] == TEXT
    assert db_session.scalar(select(func.count()).select_from(Enterprise)) == 1  # the table is still there

    form = {"uscc": body["uscc"], "password": body["password"], "csrf_token": csrf_token(client, "/enterprise/login")}
    signed = client.post("/enterprise/login", data=form)
    assert signed.status_code == 302
    for path in ("/enterprise", "/needs", "/enterprise/profiles"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_escaped(page.get_data(as_text=True))


def test_product_text_is_escaped_in_the_catalogue(
    client: FlaskClient, app: Flask, make_token: Callable[..., str]
) -> None:
    token = make_token("bank", bank_code="BANK1")
    created = client.post(
        "/api/v1/products", json=product_body(name=f"贷{SCRIPT}", description=TEXT), headers=auth(token)
    )
    assert created.status_code == 201, created.json
    assert created.json["description"] == TEXT
    listed = client.get("/products").get_data(as_text=True)
    assert SCRIPT not in listed and "贷&lt;script&gt;alert(" in listed
    assert_escaped(client.get(f"/products/{created.json['id']}").get_data(as_text=True))
    sign_in(client, token)
    portal = client.get("/portal").get_data(as_text=True)
    assert SCRIPT not in portal and "贷&lt;script&gt;alert(" in portal
