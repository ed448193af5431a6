"""Matching rounds over HTTP, and what an SME then sees of its needs."""

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Account
from accounts.tokens import issue_token
from matchmaker.models import MatchingRound, Proposal
from tests.conftest import auth, enterprise_with_need

ROUNDS = "/api/v1/matching/rounds"


@pytest.fixture
def admin(make_token: Any, app: Flask, tmp_path: Path) -> dict[str, str]:
    app.config["ROUND_DIR"] = str(tmp_path)
    return auth(make_token("admin"))


def sme_headers(db_session: Session, enterprise_id: int) -> dict[str, str]:
    account = db_session.scalar(select(Account).where(Account.enterprise_id == enterprise_id))
    token = issue_token(db_session, account)
    db_session.commit()
    return auth(token)


def test_an_operator_runs_a_round_and_a_regulator_reads_it(
    client: FlaskClient, admin: dict[str, str], make_token: Any, market: Any
) -> None:
    response = client.post(ROUNDS, json={"k": 2}, headers=admin)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "completed" and body["params"]["k"] == 2
    assert {"needs", "products", "edges", "proposals", "objective", "upper_bound", "gap", "solver", "seconds"} <= set(
        body["stats"]
    )
    regulator = auth(make_token("regulator"))
    assert client.get(f"{ROUNDS}/{body['id']}", headers=regulator).json["stats"] == body["stats"]
    assert client.get(ROUNDS, headers=regulator).json["total"] == 1
    assert client.get(f"{ROUNDS}/999999", headers=regulator).status_code == 404


@pytest.mark.parametrize("role", ["bank", "regulator", "sme"])
def test_only_operators_run_rounds(
    client: FlaskClient, make_token: Any, db_session: Session, market: Any, role: str
) -> None:
    assert client.post(ROUNDS, json={}, headers=auth(make_token(role))).status_code == 403
    assert client.post(ROUNDS, json={}).status_code == 401
    assert db_session.scalar(select(func.count()).select_from(MatchingRound)) == 0


@pytest.mark.parametrize("role", ["bank", "sme"])
def test_banks_and_smes_do_not_read_rounds(client: FlaskClient, make_token: Any, role: str) -> None:
    assert client.get(ROUNDS, headers=auth(make_token(role))).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"k": 0}, "k"),
        ({"overbooking": 0.5}, "overbooking"),
        ({"policy": {"micro": -1}}, "policy"),
        ({"policy": {"nonsense": 1}}, "policy"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_round_parameters_are_named(
    client: FlaskClient, admin: dict[str, str], db_session: Session, market: Any, body: dict[str, Any], field: str
) -> None:
    response = client.post(ROUNDS, json=body, headers=admin)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert db_session.scalar(select(func.count()).select_from(MatchingRound)) == 0


def test_a_second_round_while_one_runs_gets_409(
    client: FlaskClient, admin: dict[str, str], db_session: Session, market: Any
) -> None:
    db_session.add(MatchingRound(status="running", params={}, stats={}))
    db_session.commit()
    response = client.post(ROUNDS, json={}, headers=admin)
    assert response.status_code == 409
    assert db_session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_without_a_scoring_model_a_round_is_refused(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.post(ROUNDS, json={}, headers=admin)
    assert response.status_code == 503


def test_an_sme_sees_its_proposals_with_why_and_what_next(
    client: FlaskClient, admin: dict[str, str], db_session: Session, market: Any
) -> None:
    client.post(ROUNDS, json={}, headers=admin)
    proposal = db_session.scalars(select(Proposal).order_by(Proposal.id)).first()
    need = market["needs"][[n.id for n in market["needs"]].index(proposal.need_id)]
    headers = sme_headers(db_session, need.enterprise_id)
    detail = client.get(f"/api/v1/needs/{need.id}", headers=headers).json
    assert detail["status"] == "matched"
    first = detail["proposals"][0]
    assert first["bank_name"] and first["product_name"] and first["status"] == "pending"
    assert first["explanation"]["rules_passed"] and first["next_step"]["zh"]
    assert client.get("/api/v1/needs", headers=headers).json["items"][0]["proposals"]


def test_an_open_need_no_product_accepts_says_what_would_make_it_eligible(
    client: FlaskClient, db_session: Session, market: Any
) -> None:
    need = enterprise_with_need(db_session, 50, amount_wan=800)  # above every product's 500 万元 maximum
    db_session.commit()
    headers = sme_headers(db_session, need.enterprise_id)
    advice = client.get(f"/api/v1/needs/{need.id}", headers=headers).json["advice"]
    assert advice["eligible_products"] == 0
    first = advice["suggestions"][0]
    assert first["controllable"] is True
    [rule] = first["failed"]
    assert rule["rule"] == "amount_in_range" and "800" in rule["zh"]
    assert rule["gap"]["field"] == "amount"


def test_the_needs_page_shows_proposals_and_advice(
    app: Flask, client: FlaskClient, admin: dict[str, str], db_session: Session, market: Any
) -> None:
    client.post(ROUNDS, json={}, headers=admin)
    proposal = db_session.scalars(select(Proposal).order_by(Proposal.id)).first()
    need = next(n for n in market["needs"] if n.id == proposal.need_id)
    browser = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    browser.post("/enterprise/login", data={"uscc": need.enterprise.uscc, "password": "password-123"})
    page = browser.get("/needs")
    assert "推荐的贷款产品" in page.text and "推荐理由" in page.text
    assert proposal.product.name in page.text
