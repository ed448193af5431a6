"""SME registration, own record, profiles and needs through the HTTP API, for every role."""

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from reference.china_time import china_today
from tests.conftest import auth, valid_uscc


def registration(**changes: Any) -> dict[str, Any]:
    body = {
        "uscc": valid_uscc(),
        "name": "某市精工机械有限公司",
        "industry": "C34",
        "region": "某市高新区",
        "founded_on": "2016-03-01",
        "employees": 45,
        "registered_capital": 2_000_000,
        "contact_person": "李会计",
        "phone": "13912345678",
        "email": "finance@jinggong.example.cn",
        "password": "correct horse battery",
    }
    return body | changes


def register(client: FlaskClient, **changes: Any) -> tuple[dict[str, Any], dict[str, str]]:
    response = client.post("/api/v1/enterprises", json=registration(**changes))
    assert response.status_code == 201, response.json
    return response.json["enterprise"], auth(response.json["token"])


PROFILE = {
    "annual_revenue": 18_000_000,
    "net_profit": 900_000,
    "total_assets": 12_000_000,
    "total_liabilities": 6_000_000,
    "taxes_paid": 540_000,
    "monthly_settlement_flow": 1_200_000,
    "outstanding_loans": 0,
    "overdue_events_24m": 0,
    "patents": 3,
    "collateral_available": ["real_estate", "ip_pledge"],
}


def need(**changes: Any) -> dict[str, Any]:
    body = {
        "amount": 500_000,
        "purpose": "working_capital",
        "term_months": 12,
        "needed_by": (china_today() + timedelta(days=30)).isoformat(),
        "collateral_offered": ["ip_pledge"],
        "max_rate": 5.5,
    }
    return body | changes


def count(db_session: Session, model: type) -> int:
    return db_session.scalar(select(func.count()).select_from(model)) or 0


def test_registration_returns_the_enterprise_with_its_size_class_and_a_working_token(client: FlaskClient) -> None:
    response = client.post("/api/v1/enterprises", json=registration())
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"enterprise", "token"}
    assert body["enterprise"]["size_class"] == "micro"  # provisional: revenue is not known before a profile
    assert body["enterprise"]["first_time_borrower"] is True
    assert "password" not in body["enterprise"]
    me = client.get("/api/v1/enterprises/me", headers=auth(body["token"]))
    assert me.status_code == 200
    assert me.json["uscc"] == body["enterprise"]["uscc"]


def test_a_wrong_credit_code_is_refused_with_a_message_naming_it(client: FlaskClient, db_session: Session) -> None:
    code = valid_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = client.post("/api/v1/enterprises", json=registration(uscc=wrong))
    assert response.status_code == 422
    message = response.json["errors"]["json"]["uscc"][0]
    assert "校验码" in message and "check character" in message
    assert count(db_session, Enterprise) == 0


def test_the_same_credit_code_cannot_register_twice(client: FlaskClient, db_session: Session) -> None:
    code = valid_uscc()
    register(client, uscc=code)
    again = client.post("/api/v1/enterprises", json=registration(uscc=code.lower(), name="另一家公司"))
    assert again.status_code == 409
    assert "uscc" in again.json["errors"]["json"]
    assert count(db_session, Enterprise) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("industry", "Z9"),
        ("phone", "12345"),
        ("email", "not-an-email"),
        ("employees", -1),
        ("founded_on", (china_today() + timedelta(days=2)).isoformat()),  # still ahead if the run crosses midnight
        ("password", "short"),
        ("size_class", "micro"),
        ("name", None),
    ],
)
def test_bad_registration_fields_are_named_and_nothing_is_stored(
    client: FlaskClient, db_session: Session, field: str, value: Any
) -> None:
    response = client.post("/api/v1/enterprises", json=registration(**{field: value}))
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert count(db_session, Enterprise) == 0


def test_dates_are_checked_against_the_day_in_china(
    client: FlaskClient, db_session: Session, china_ahead_of_utc: date
) -> None:
    """At 16:30 UTC it is already tomorrow in China: an enterprise founded that day may register, and a need
    cannot be due on the UTC date, which is yesterday there."""
    today, yesterday = china_ahead_of_utc, china_ahead_of_utc - timedelta(days=1)
    _, headers = register(client, founded_on=today.isoformat())
    late = client.post("/api/v1/needs", json=need(needed_by=yesterday.isoformat()), headers=headers)
    assert late.status_code == 422 and "needed_by" in late.json["errors"]["json"]
    assert client.post("/api/v1/needs", json=need(needed_by=today.isoformat()), headers=headers).status_code == 201
    assert count(db_session, FinancingNeed) == 1


def test_html_in_text_fields_is_stored_as_text(client: FlaskClient) -> None:
    name = "<script>alert(1)</script>有限公司"
    enterprise, _ = register(client, name=name)
    assert enterprise["name"] == name


def test_an_sme_updates_its_details_but_not_its_credit_code(client: FlaskClient) -> None:
    _, headers = register(client)
    response = client.patch("/api/v1/enterprises/me", json={"employees": 350, "industry": "C"}, headers=headers)
    assert response.status_code == 200
    assert response.json["employees"] == 350
    assert response.json["size_class"] == "micro"  # still no revenue: the class stays provisional
    refused = client.patch("/api/v1/enterprises/me", json={"uscc": valid_uscc()}, headers=headers)
    assert refused.status_code == 422
    assert "uscc" in refused.json["errors"]["json"]


def test_profiles_are_kept_per_fiscal_year_with_derived_ratios_and_sources(client: FlaskClient) -> None:
    _, headers = register(client)
    first = client.put("/api/v1/enterprises/me/profiles/2024", json=PROFILE, headers=headers)
    assert first.status_code == 201
    assert first.json["debt_ratio"] == pytest.approx(0.5)
    assert first.json["flow_to_revenue"] == pytest.approx(0.8)
    assert first.json["figure_sources"]["annual_revenue"] == "self_declared"
    assert "receivables" not in first.json["figure_sources"]  # not declared, so no source
    audited = PROFILE | {"annual_revenue": 20_000_000, "audited": True, "figure_sources": {"taxes_paid": "tax_record"}}
    second = client.put("/api/v1/enterprises/me/profiles/2025", json=audited, headers=headers)
    assert second.status_code == 201
    assert second.json["figure_sources"]["annual_revenue"] == "audited"
    assert second.json["figure_sources"]["taxes_paid"] == "tax_record"
    replaced = client.put(
        "/api/v1/enterprises/me/profiles/2025", json=audited | {"net_profit": -100_000}, headers=headers
    )
    assert replaced.status_code == 200
    listing = client.get("/api/v1/enterprises/me/profiles", headers=headers).json
    assert [item["fiscal_year"] for item in listing["items"]] == [2024, 2025]
    assert listing["items"][1]["net_profit"] == -100_000
    me = client.get("/api/v1/enterprises/me", headers=headers).json
    assert me["size_class"] == "small"  # 45 people and 2,000 万元 revenue in manufacturing


def test_outstanding_loans_in_the_latest_profile_end_first_time_borrower_status(client: FlaskClient) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE | {"outstanding_loans": 1}, headers=headers)
    assert client.get("/api/v1/enterprises/me", headers=headers).json["first_time_borrower"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total_liabilities": -1}, "total_liabilities"),
        ({"annual_revenue": 10**13 + 1}, "annual_revenue"),
        ({"collateral_available": ["spaceship"]}, "collateral_available"),
        ({"figure_sources": {"annual_revenue": "rumour"}}, "figure_sources"),
        ({"figure_sources": {"favourite_colour": "audited"}}, "figure_sources"),
        ({"granted": 5}, "granted"),
    ],
)
def test_absurd_profile_figures_are_refused(
    client: FlaskClient, db_session: Session, changes: dict[str, Any], field: str
) -> None:
    _, headers = register(client)
    response = client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE | changes, headers=headers)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert count(db_session, FinancialProfile) == 0


def test_a_fiscal_year_out_of_range_is_not_found(client: FlaskClient) -> None:
    _, headers = register(client)
    assert client.put("/api/v1/enterprises/me/profiles/1999", json=PROFILE, headers=headers).status_code == 404
    next_year = china_today().year + 1
    assert client.put(f"/api/v1/enterprises/me/profiles/{next_year}", json=PROFILE, headers=headers).status_code == 404


def test_needs_are_submitted_listed_read_and_withdrawn(client: FlaskClient) -> None:
    _, headers = register(client)
    created = client.post("/api/v1/needs", json=need(note="<b>急需</b>"), headers=headers)
    assert created.status_code == 201
    assert created.json["status"] == "open"
    assert created.json["note"] == "<b>急需</b>"
    client.post("/api/v1/needs", json=need(amount=2_000_000, purpose="equipment", term_months=36), headers=headers)
    listing = client.get("/api/v1/needs?per_page=1", headers=headers).json
    assert listing["total"] == 2 and listing["page"] == 1 and listing["per_page"] == 1
    assert listing["items"][0]["amount"] == 2_000_000  # newest first
    need_id = created.json["id"]
    assert client.get(f"/api/v1/needs/{need_id}", headers=headers).json["amount"] == 500_000
    withdrawn = client.post(f"/api/v1/needs/{need_id}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json["status"] == "withdrawn"
    again = client.post(f"/api/v1/needs/{need_id}/withdraw", headers=headers)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 999}, "amount"),
        ({"amount": 10**10 + 1}, "amount"),
        ({"term_months": 0}, "term_months"),
        ({"needed_by": (china_today() - timedelta(days=1)).isoformat()}, "needed_by"),
        ({"purpose": "yacht"}, "purpose"),
        ({"status": "granted"}, "status"),
        ({"amount": None}, "amount"),
    ],
)
def test_bad_needs_are_refused(client: FlaskClient, db_session: Session, changes: dict[str, Any], field: str) -> None:
    _, headers = register(client)
    response = client.post("/api/v1/needs", json=need(**changes), headers=headers)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert count(db_session, FinancingNeed) == 0


def test_another_smes_need_is_not_found_and_stays_unchanged(client: FlaskClient, db_session: Session) -> None:
    _, owner = register(client)
    _, other = register(client)
    need_id = client.post("/api/v1/needs", json=need(), headers=owner).json["id"]
    assert client.get(f"/api/v1/needs/{need_id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/needs/{need_id}/withdraw", headers=other).status_code == 404
    assert client.get("/api/v1/needs", headers=other).json["total"] == 0
    assert db_session.get(FinancingNeed, need_id).status == "open"


SME_ENDPOINTS = [
    ("get", "/api/v1/enterprises/me", None),
    ("patch", "/api/v1/enterprises/me", {"employees": 1}),
    ("get", "/api/v1/enterprises/me/profiles", None),
    ("put", "/api/v1/enterprises/me/profiles/2025", PROFILE),
    ("get", "/api/v1/needs", None),
    ("post", "/api/v1/needs", need()),
    ("get", "/api/v1/needs/1", None),
    ("post", "/api/v1/needs/1/withdraw", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SME_ENDPOINTS)
def test_sme_endpoints_refuse_anonymous_callers(client: FlaskClient, method: str, path: str, body: Any) -> None:
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["bank", "regulator", "admin"])
@pytest.mark.parametrize(("method", "path", "body"), SME_ENDPOINTS)
def test_sme_endpoints_refuse_other_roles(
    client: FlaskClient, make_token: Any, db_session: Session, role: str, method: str, path: str, body: Any
) -> None:
    _, owner = register(client)
    client.post("/api/v1/needs", json=need(), headers=owner)
    response = getattr(client, method)(path, json=body, headers=auth(make_token(role)))
    assert response.status_code == 403
    assert count(db_session, FinancialProfile) == 0
    assert db_session.scalar(select(FinancingNeed.status)) == "open"


def test_a_nul_character_is_refused_naming_the_field(client: FlaskClient, db_session: Session) -> None:
    response = client.post("/api/v1/enterprises", json=registration(name="某公司\x00有限公司"))
    assert response.status_code == 422
    assert "name" in response.json["errors"]["json"]
    assert count(db_session, Enterprise) == 0
    _, headers = register(client)
    need_response = client.post("/api/v1/needs", json=need(note="急\x00需"), headers=headers)
    assert need_response.status_code == 422
    assert "note" in need_response.json["errors"]["json"]
