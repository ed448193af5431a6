"""The loan products REST API: catalogue, create, change, withdraw, and who may do what."""

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from products.models import LoanProduct
from tests.api.product_samples import product_body, product_count, snapshot
from tests.conftest import auth

URL = "/api/v1/products"


@pytest.fixture
def bank1(make_token: Callable[..., str]) -> str:
    return make_token("bank", bank_code="B1")


@pytest.fixture
def bank2(make_token: Callable[..., str]) -> str:
    return make_token("bank", bank_code="B2")


def create(client: FlaskClient, token: str, code: str = "P1", **overrides: Any) -> dict[str, Any]:
    response = client.post(URL, json=product_body(code, **overrides), headers=auth(token))
    assert response.status_code == 201, response.json
    return response.json


def test_a_bank_creates_a_product_for_its_own_bank(client: FlaskClient, bank1: str, db_session: Session) -> None:
    created = create(client, bank1, "P1", description="首次贷款友好")
    assert created["code"] == "P1"
    assert created["bank_code"] == "B1"
    assert created["bank_name"] == "B1 bank"
    assert created["granted_total"] == 0
    assert created["status"] == "active"
    assert created["collateral"] == ["none"]
    stored = db_session.get(LoanProduct, created["id"])
    assert stored is not None and stored.bank.code == "B1"
    assert client.get(f"{URL}/{created['id']}").json == created


def test_create_rejects_unknown_fields_and_a_bank_id_in_the_body(
    client: FlaskClient, bank1: str, db_session: Session
) -> None:
    response = client.post(URL, json=product_body(bank_id=99, colour="red"), headers=auth(bank1))
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"bank_id", "colour"}
    assert product_count(db_session) == 0


def test_create_reports_inconsistent_fields_by_name(client: FlaskClient, bank1: str, db_session: Session) -> None:
    response = client.post(URL, json=product_body(amount_min=5_000_000), headers=auth(bank1))
    assert response.status_code == 422
    assert "amount_min" in response.json["errors"]["json"]
    assert product_count(db_session) == 0


def test_a_duplicate_code_answers_409(client: FlaskClient, bank1: str, bank2: str, db_session: Session) -> None:
    create(client, bank1, "P1")
    response = client.post(URL, json=product_body("P1"), headers=auth(bank1))
    assert response.status_code == 409
    assert response.json["errors"]["json"]["code"]
    create(client, bank2, "P1")  # codes are unique per bank only
    assert product_count(db_session) == 2


def test_the_owner_updates_part_of_a_product(client: FlaskClient, bank1: str) -> None:
    product = create(client, bank1)
    response = client.patch(
        f"{URL}/{product['id']}", json={"rate_max": 5.0, "regions": ["浙江省"]}, headers=auth(bank1)
    )
    assert response.status_code == 200
    assert response.json["rate_max"] == 5.0
    assert response.json["regions"] == ["浙江省"]
    assert response.json["name"] == product["name"]


def test_an_update_is_checked_against_the_stored_product(client: FlaskClient, bank1: str, db_session: Session) -> None:
    product = create(client, bank1)
    before = snapshot(db_session)
    response = client.patch(f"{URL}/{product['id']}", json={"amount_min": 4_000_000}, headers=auth(bank1))
    assert response.status_code == 422
    assert "amount_min" in response.json["errors"]["json"]
    assert snapshot(db_session) == before


def test_withdraw_keeps_the_row_and_refuses_later_changes(client: FlaskClient, bank1: str, db_session: Session) -> None:
    product = create(client, bank1)
    response = client.delete(f"{URL}/{product['id']}", headers=auth(bank1))
    assert response.status_code == 200
    assert response.json["status"] == "withdrawn"
    assert product_count(db_session) == 1
    assert client.get(f"{URL}/{product['id']}").json["status"] == "withdrawn"
    assert client.get(URL).json["total"] == 0
    response = client.patch(f"{URL}/{product['id']}", json={"name": "again"}, headers=auth(bank1))
    assert response.status_code == 409


def test_another_bank_cannot_touch_a_product_and_nothing_changes(
    client: FlaskClient, bank1: str, bank2: str, db_session: Session
) -> None:
    public = create(client, bank1, "P1")
    draft = create(client, bank1, "P2", status="draft")
    before = snapshot(db_session)
    refused = [
        (client.patch, public["id"], {"json": {"name": "hijacked"}}, 403),
        (client.delete, public["id"], {}, 403),
        (client.patch, draft["id"], {"json": {"name": "hijacked"}}, 404),
        (client.delete, draft["id"], {}, 404),
        (client.get, draft["id"], {}, 404),
    ]
    for call, product_id, kwargs, status in refused:
        response = call(f"{URL}/{product_id}", headers=auth(bank2), **kwargs)
        assert response.status_code == status, (call, product_id)
        assert "hijacked" not in response.get_data(as_text=True)
        assert snapshot(db_session) == before


def test_anonymous_writes_answer_401(client: FlaskClient, bank1: str, db_session: Session) -> None:
    product = create(client, bank1)
    before = snapshot(db_session)
    for response in (
        client.post(URL, json=product_body("P9")),
        client.patch(f"{URL}/{product['id']}", json={"name": "x"}),
        client.delete(f"{URL}/{product['id']}"),
        client.post(f"{URL}/import", data="code\n", content_type="text/csv"),
        client.get(f"{URL}/export.csv"),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(db_session) == before


@pytest.mark.parametrize("role", ["regulator", "admin", "sme"])
def test_other_roles_answer_403_on_bank_writes(
    client: FlaskClient, make_token: Callable[..., str], bank1: str, db_session: Session, role: str
) -> None:
    product = create(client, bank1)
    token = make_token(role)
    before = snapshot(db_session)
    for response in (
        client.post(URL, json=product_body("P9"), headers=auth(token)),
        client.patch(f"{URL}/{product['id']}", json={"name": "x"}, headers=auth(token)),
        client.delete(f"{URL}/{product['id']}", headers=auth(token)),
        client.post(f"{URL}/import", data="code\n", content_type="text/csv", headers=auth(token)),
        client.get(f"{URL}/export.csv", headers=auth(token)),
    ):
        assert response.status_code == 403
    assert snapshot(db_session) == before


def test_drafts_are_listed_only_for_their_own_bank(
    client: FlaskClient, bank1: str, bank2: str, make_token: Callable[..., str]
) -> None:
    create(client, bank1, "D1", status="draft")
    create(client, bank1, "A1")
    assert client.get(f"{URL}?status=draft", headers=auth(bank1)).json["total"] == 1
    assert client.get(f"{URL}?status=draft", headers=auth(bank2)).json["total"] == 0
    assert client.get(f"{URL}?status=draft", headers=auth(make_token("regulator"))).json["total"] == 0
    assert client.get(f"{URL}?status=draft").json["total"] == 0
    assert [item["code"] for item in client.get(URL).json["items"]] == ["A1"]


def test_filters_select_the_right_products(client: FlaskClient, bank1: str, bank2: str) -> None:
    create(client, bank1, "SMALL", amount_min=10_000, amount_max=500_000, name="小微快贷")
    create(client, bank1, "HOUSE", type="mortgage_loan", collateral=["real_estate"], amount_max=9_000_000)
    create(client, bank2, "IP", type="ip_pledge_loan", collateral=["ip_pledge", "third_party_guarantee"])

    def codes(query: str) -> list[str]:
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json
        return sorted(item["code"] for item in response.json["items"])

    assert codes("type=mortgage_loan") == ["HOUSE"]
    assert codes("bank=B2") == ["IP"]
    bank1_id = client.get(f"{URL}?bank=B1").json["items"][0]["bank_id"]
    assert codes(f"bank={bank1_id}") == ["HOUSE", "SMALL"]
    assert codes("amount=4000000") == ["HOUSE"]
    assert codes("amount=50000") == ["SMALL"]
    assert codes("collateral=third_party_guarantee") == ["IP"]
    assert codes("q=小微") == ["SMALL"]
    assert codes("type=credit_loan&bank=B2") == []


def test_pagination_returns_the_envelope_and_the_right_slice(client: FlaskClient, bank1: str) -> None:
    for number in range(5):
        create(client, bank1, f"P{number}")
    first = client.get(f"{URL}?per_page=2").json
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    last = client.get(f"{URL}?per_page=2&page=3").json
    assert [item["code"] for item in last["items"]] == ["P4"]
    assert client.get(f"{URL}?per_page=2&page=4").json["items"] == []
    default = client.get(URL).json
    assert (default["page"], default["per_page"], len(default["items"])) == (1, 20, 5)


@pytest.mark.parametrize(
    "query",
    ["page=0", "per_page=101", "per_page=0", "type=car_loan", "status=gone", "amount=-1", "bank=%C2%B2", "q=%00"],
)
def test_bad_query_arguments_answer_422_naming_them(client: FlaskClient, query: str) -> None:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["errors"]["query"]


def test_unknown_products_answer_json_404(client: FlaskClient, bank1: str) -> None:
    for path in (f"{URL}/12345", f"{URL}/0", f"{URL}/99999999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json["code"] == 404
    assert client.patch(f"{URL}/12345", json={"name": "x"}, headers=auth(bank1)).status_code == 404


def test_a_nul_character_in_the_body_answers_422_naming_the_field(
    client: FlaskClient, bank1: str, db_session: Session
) -> None:
    response = client.post(URL, json=product_body(name="a\x00b", regions=["ok", "\x00"]), headers=auth(bank1))
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"name", "regions"}
    product = create(client, bank1)
    response = client.patch(f"{URL}/{product['id']}", json={"description": "\x00"}, headers=auth(bank1))
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"description": ["must not contain the NUL character"]}
    assert product_count(db_session) == 1


def test_a_bank_id_too_large_for_the_database_answers_422(client: FlaskClient) -> None:
    response = client.get(f"{URL}?bank=9712276092")
    assert response.status_code == 422
    assert client.get(f"{URL}?bank=999999999").json["total"] == 0
