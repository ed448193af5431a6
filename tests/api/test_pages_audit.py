"""The audit log page: only the operator and regulators see it; it lists the entries newest first with their
actor and changes, filters them like the API, escapes what users typed, and answers bad filters with a
message beside the field (422), never a 500."""

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.page_helpers import add_product, sign_in
from tests.api.product_samples import product_body
from tests.api.proposal_world import World, build_world
from tests.conftest import auth


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    return build_world(app, make_token)


def page(client: FlaskClient, query: str = "", status: int = 200) -> str:
    response = client.get(f"/audit{query}")
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in_and_banks_are_refused(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    response = client.get("/audit?entity_kind=loan")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/audit")
    sign_in(client, make_token("bank", bank_code="B1"))
    assert client.get("/audit").status_code == 403


@pytest.mark.parametrize("role", ["admin", "regulator"])
def test_operators_and_regulators_see_the_changes_newest_first(
    client: FlaskClient, make_token: Callable[..., str], world: World, role: str
) -> None:
    bank = world.tokens["bank1"]
    assert client.post(f"/api/v1/proposals/{world.proposal}/accept", headers=auth(bank)).status_code == 200
    sign_in(client, world.tokens[role])
    html = page(client)  # Chinese first: the code lists' labels
    assert 'href="/audit" aria-current="page"' in html  # the menu links to it
    accepted = html.index(f"推荐 #{world.proposal}")
    assert accepted < html.index(f"贷款 #{world.loan}")  # newest first
    assert "银行决定" in html and "<del>pending</del> → <ins>accepted</ins>" in html
    assert "bank user" in html and "B1 officer" in html  # the accepting officer, the granting one

    english = page(client, "?lang=en&entity_kind=proposal")
    assert "<h1>Audit log</h1>" in english and "decision" in english and f"loan #{world.loan}" not in english


def test_filters_select_entries_and_bad_values_are_named(
    client: FlaskClient, make_token: Callable[..., str], world: World
) -> None:
    sign_in(client, world.tokens["regulator"])
    only_loan = page(client, f"?entity_kind=loan&entity_id={world.loan}")
    assert f"贷款 #{world.loan}" in only_loan and "推荐 #" not in only_loan
    assert "#" not in page(client, "?from=2999-01-01").split("<main", 1)[1]
    assert f"贷款 #{world.loan}" not in page(client, "?to=2000-01-01")

    refused = page(client, "?entity_kind=need&entity_id=abc&from=31-01-2026", status=422)
    assert refused.count('class="field-error"') == 3
    assert 'aria-invalid="true"' in refused


def test_what_users_typed_is_escaped(client: FlaskClient, make_token: Callable[..., str], app: Flask) -> None:
    bank = make_token("bank", bank_code="B7", name="<b>officer</b>")
    created = client.post(
        "/api/v1/products", json=product_body("X1", name="<script>alert(1)</script>"), headers=auth(bank)
    )
    assert created.status_code == 201
    add_product(app, "B7", "X2")
    sign_in(client, make_token("admin"))
    html = page(client, "?entity_kind=product")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>officer</b>" not in html and "&lt;b&gt;officer&lt;/b&gt;" in html
    assert "test fixture" in html  # the system actor of the product the fixture wrote
