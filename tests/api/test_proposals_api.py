"""The bank's side over HTTP: its proposals (and nothing of another bank's), accept / reject / grant, its
loans and their ledger events; every other caller is refused and nothing is written; the SME sees the
decision on its need."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from reference.china_time import china_today
from tests.api.proposal_world import World, build_world, grant_body
from tests.conftest import auth
from tests.integration.credit_book import WAN, snapshot


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    return build_world(app, make_token)


def operations(w: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every operation on bank 1's proposal and loan, with a body the owner could send."""
    proposal, loan = f"/api/v1/proposals/{w.proposal}", f"/api/v1/loans/{w.loan}"
    event = {"kind": "repaid", "amount": 10 * WAN, "occurred_on": china_today().isoformat()}
    return [
        ("GET", "/api/v1/proposals", None),
        ("GET", proposal, None),
        ("POST", f"{proposal}/accept", None),
        ("POST", f"{proposal}/reject", {"reason": "credit_history"}),
        ("POST", f"{proposal}/grant", grant_body()),
        ("GET", loan, None),
        ("POST", f"{loan}/events", event),
    ]


REFUSED = {"anonymous": 401, "sme1": 403, "sme2": 403, "regulator": 403, "admin": 403, "bank2": 404}


@pytest.mark.parametrize("index", range(7))
def test_only_the_owning_bank_may_call_and_refusals_write_nothing(
    client: FlaskClient, world: World, db_session: Session, index: int
) -> None:
    method, url, body = operations(world)[index]
    before = snapshot(db_session)
    for caller, status in REFUSED.items():
        if method == "GET" and url == "/api/v1/proposals" and caller == "bank2":
            continue  # a list: the other bank gets its own (tested below)
        headers = auth(world.tokens[caller]) if caller != "anonymous" else {}
        response = client.open(url, method=method, json=body, headers=headers)
        assert response.status_code == status, (caller, response.json)
        assert set(response.json) <= {"code", "status", "message", "errors"}  # never the object
        assert snapshot(db_session) == before, caller
    owner = client.open(url, method=method, json=body, headers=auth(world.tokens["bank1"]))
    assert owner.status_code in (200, 201), owner.json


def test_a_bank_sees_its_proposals_with_what_a_credit_officer_needs_and_no_more(
    client: FlaskClient, world: World
) -> None:
    mine = client.get("/api/v1/proposals?status=pending", headers=auth(world.tokens["bank1"])).json
    assert mine["total"] == 1 and [item["id"] for item in mine["items"]] == [world.proposal]
    [item] = mine["items"]
    assert item["enterprise"] == {
        "name": "测试企业1有限公司",
        "size_class": item["enterprise"]["size_class"],
        "industry": "C34",
        "region": "某市城区",
        "first_time_borrower": True,
    }
    assert item["need"]["amount"] == 100 * WAN and item["need"]["term_months"] == 12
    assert item["need"]["purpose"] == "working_capital" and item["need"]["collateral_offered"] == []
    assert item["product_name"] == "产品B1-P" and item["score"]["grade"] == "B"
    assert item["score"]["reasons"][0]["zh"] == "盈利稳定" and item["explanation"]["positive"]
    assert item["days_waiting"] == 0 and item["status"] == "pending" and item["decision"] is None
    text = json.dumps(mine, ensure_ascii=False)
    for private in ("13800000000", "张会计", "@example.cn", "annual_revenue", "uscc"):
        assert private not in text

    everything = client.get("/api/v1/proposals", headers=auth(world.tokens["bank1"])).json
    assert everything["total"] == 2  # the pending one and the granted one, never bank 2's
    assert {item["status"] for item in everything["items"]} == {"pending", "granted"}
    theirs = client.get("/api/v1/proposals", headers=auth(world.tokens["bank2"])).json
    assert world.proposal not in [item["id"] for item in theirs["items"]]
    assert world.other_proposal in [item["id"] for item in theirs["items"]]
    page = client.get(
        "/api/v1/proposals?status=pending&status=granted&per_page=1&page=2", headers=auth(world.tokens["bank1"])
    )
    assert page.json["total"] == 2 and len(page.json["items"]) == 1
    bad = client.get("/api/v1/proposals?status=lost", headers=auth(world.tokens["bank1"]))
    assert bad.status_code == 422 and "status" in bad.json["errors"]["query"]


def test_a_grant_smaller_than_asked_after_accepting_reaches_the_sme(client: FlaskClient, world: World) -> None:
    bank, base = auth(world.tokens["bank1"]), f"/api/v1/proposals/{world.proposal}"
    accepted = client.post(f"{base}/accept", headers=bank)
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    assert accepted.json["decision"]["decision"] == "accepted"

    granted = client.post(f"{base}/grant", json=grant_body(amount=60 * WAN), headers=bank)
    assert granted.status_code == 201, granted.json
    assert granted.json["status"] == "granted" and granted.json["loan_id"]
    loan = client.get(f"/api/v1/loans/{granted.json['loan_id']}", headers=bank).json
    assert loan["amount"] == 60 * WAN and loan["outstanding"] == 60 * WAN
    assert [event["kind"] for event in loan["events"]] == ["granted"]

    need = client.get(f"/api/v1/needs/{world.need}", headers=auth(world.tokens["sme1"])).json
    [proposal] = need["proposals"]
    assert proposal["status"] == "granted" and proposal["decision"]["decision"] == "granted"
    assert proposal["loan"] == {
        "amount": 60 * WAN,
        "rate": 4.35,
        "term_months": 12,
        "granted_on": china_today().isoformat(),
        "kind": "first_loan",
    }
    assert need["amount"] == 100 * WAN  # the need as asked; the grant is smaller


def test_a_rejection_reaches_the_sme_in_plain_words(client: FlaskClient, world: World) -> None:
    body = {"reason": "insufficient_collateral", "note": "请补充抵押物"}
    rejected = client.post(f"/api/v1/proposals/{world.proposal}/reject", json=body, headers=auth(world.tokens["bank1"]))
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["decision"]["reason"] == "insufficient_collateral"

    need = client.get(f"/api/v1/needs/{world.need}", headers=auth(world.tokens["sme1"])).json
    [proposal] = need["proposals"]
    assert proposal["decision"]["reason_text"] == {"zh": "抵质押物不足", "en": "insufficient collateral"}
    assert proposal["decision"]["note"] == "请补充抵押物" and proposal["loan"] is None
    assert need["status"] == "open"  # free for the next round


@pytest.mark.parametrize(
    ("action", "body", "status", "field"),
    [
        ("reject", {"reason": "other"}, 422, "note"),
        ("reject", {"reason": "bored"}, 422, "reason"),
        ("reject", {"reason": "credit_history", "extra": 1}, 422, "extra"),
        ("grant", grant_body(amount=600 * WAN), 422, "amount"),  # above the product's maximum
        ("grant", grant_body(amount=150 * WAN), 422, "amount"),  # more than the need of 100 万元
        ("grant", grant_body(amount=60.5 * WAN + 0.5), 422, "amount"),
        ("grant", grant_body(rate=9.9), 422, "rate"),
        ("grant", grant_body(granted_on=(china_today() + timedelta(days=2)).isoformat()), 422, "granted_on"),
        ("grant", grant_body(kind="gift"), 422, "kind"),
        ("grant", grant_body(kind="new_loan") | {"term_months": None}, 422, "term_months"),
    ],
)
def test_bad_decisions_name_the_field_and_write_nothing(
    client: FlaskClient, world: World, db_session: Session, action: str, body: dict[str, Any], status: int, field: str
) -> None:
    before = snapshot(db_session)
    response = client.post(
        f"/api/v1/proposals/{world.proposal}/{action}", json=body, headers=auth(world.tokens["bank1"])
    )
    assert response.status_code == status, response.json
    assert field in response.json["errors"]["json"]
    assert snapshot(db_session) == before


def test_a_decided_proposal_answers_409(client: FlaskClient, world: World, db_session: Session) -> None:
    bank, base = auth(world.tokens["bank1"]), f"/api/v1/proposals/{world.proposal}"
    assert client.post(f"{base}/reject", json={"reason": "sme_withdrew"}, headers=bank).status_code == 200
    before = snapshot(db_session)
    for action, body in (("accept", None), ("reject", {"reason": "credit_history"}), ("grant", grant_body())):
        response = client.post(f"{base}/{action}", json=body, headers=bank)
        assert response.status_code == 409 and "status" in response.json["errors"]["json"], response.json
    assert snapshot(db_session) == before


def test_a_bank_reports_loan_events_and_bad_ones_are_refused(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    bank, url = auth(world.tokens["bank1"]), f"/api/v1/loans/{world.loan}/events"
    today = china_today().isoformat()
    repaid = client.post(
        url, json={"kind": "repaid", "amount": 20 * WAN, "occurred_on": today, "note": "按期"}, headers=bank
    )
    assert repaid.status_code == 201, repaid.json
    assert repaid.json["outstanding"] == 30 * WAN and repaid.json["events"][-1]["balance_after"] == 30 * WAN

    before = snapshot(db_session)
    refused = [
        ({"kind": "overdue", "amount": 40 * WAN, "occurred_on": today}, 422, "amount"),  # above the balance
        ({"kind": "renewed", "amount": 10 * WAN, "occurred_on": today}, 422, "term_months"),
        (
            {"kind": "corrected", "amount": -5, "occurred_on": today, "corrects_event_id": world.other_loan_event},
            422,
            "corrects_event_id",
        ),
        ({"kind": "granted", "amount": 5, "occurred_on": today}, 422, "kind"),
        ({"kind": "repaid", "amount": 5, "occurred_on": "2000-01-01"}, 422, "occurred_on"),
        ({"kind": "repaid", "amount": 5.5, "occurred_on": today}, 422, "amount"),
    ]
    for body, status, field in refused:
        response = client.post(url, json=body, headers=bank)
        assert response.status_code == status and field in response.json["errors"]["json"], (body, response.json)
    assert snapshot(db_session) == before

    corrected = client.post(
        url,
        json={"kind": "corrected", "amount": -10 * WAN, "occurred_on": today, "corrects_event_id": world.loan_event},
        headers=bank,
    )
    assert corrected.status_code == 201 and corrected.json["outstanding"] == 20 * WAN
    assert [event["kind"] for event in corrected.json["events"]] == ["granted", "repaid", "corrected"]
