"""GET /api/v1/audit over HTTP: only operators and regulators read it; changes made through the API appear
with their caller, newest first, and can be filtered; a refused request leaves no entry."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.audit import AuditEntry
from accounts.models import Account
from reference.china_time import china_today
from tests.api.product_samples import product_body
from tests.api.proposal_world import World, build_world
from tests.conftest import auth
from tests.integration.credit_book import WAN


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    return build_world(app, make_token)


def audit(client: FlaskClient, token: str, **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/audit", query_string=query, headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json


def count(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def account_id(session: Session, name: str) -> int:
    return session.scalars(select(Account.id).where(Account.name == name)).one()


def test_only_admins_and_regulators_read_the_audit_log(
    client: FlaskClient, make_token: Callable[..., str], world: World
) -> None:
    for role in ("admin", "regulator"):
        page = audit(client, world.tokens[role])
        assert page["total"] > 0 and page["page"] == 1 and page["per_page"] == 20
    for token in (world.tokens["bank1"], world.tokens["sme1"]):
        assert client.get("/api/v1/audit", headers=auth(token)).status_code == 403
    anonymous = client.get("/api/v1/audit")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")


def test_product_changes_over_http_appear_with_their_caller_newest_first(
    client: FlaskClient, db_session: Session, make_token: Callable[..., str]
) -> None:
    bank = make_token("bank", bank_code="B9", name="产品经理甲")
    regulator = make_token("regulator")
    created = client.post("/api/v1/products", json=product_body("A1"), headers=auth(bank))
    product_id = created.json["id"]
    client.patch(f"/api/v1/products/{product_id}", json={"rate_max": 5.0}, headers=auth(bank))
    client.patch(f"/api/v1/products/{product_id}", json={"status": "paused"}, headers=auth(bank))
    client.delete(f"/api/v1/products/{product_id}", headers=auth(bank))

    page = audit(client, regulator, entity_kind="product", entity_id=product_id)
    officer = account_id(db_session, "产品经理甲")
    assert [item["action"] for item in page["items"]] == ["status_changed", "status_changed", "updated", "created"]
    assert {(item["actor_account_id"], item["actor_role"], item["actor_name"]) for item in page["items"]} == {
        (officer, "bank", "产品经理甲")
    }
    withdrawn, paused, updated, first = page["items"]
    assert (withdrawn["before"]["status"], withdrawn["after"]["status"]) == ("paused", "withdrawn")
    assert (paused["before"]["status"], paused["after"]["status"]) == ("active", "paused")
    assert (updated["before"]["rate_max"], updated["after"]["rate_max"]) == (4.5, 5.0)
    assert updated["after"]["code"] == "A1" and "amount_min" not in updated["after"]
    assert first["before"] is None and first["after"]["amount_max"] == 3_000_000
    assert first["occurred_at"].endswith("+00:00") and first["system_actor"] is None


def test_refused_requests_write_no_entry(client: FlaskClient, db_session: Session, world: World) -> None:
    bank = world.tokens["bank1"]
    before = count(db_session)
    product_id = client.post("/api/v1/products", json=product_body("A2"), headers=auth(bank)).json["id"]
    assert count(db_session) == before + 1
    refusals = [
        ("PATCH", f"/api/v1/products/{product_id}", {"amount_min": 9_000_000}, 422),  # above amount_max
        ("PATCH", f"/api/v1/products/{product_id}", {"rate_max": "high"}, 422),
        ("POST", "/api/v1/products", product_body("A2"), 409),  # code taken
        ("POST", f"/api/v1/proposals/{world.proposal}/reject", {"reason": "bad_mood"}, 422),
        ("POST", f"/api/v1/proposals/{world.proposal}/grant", {"amount": world.product_max + 1}, 422),
        ("POST", f"/api/v1/loans/{world.loan}/events", {"kind": "repaid", "amount": 51 * WAN}, 422),
        ("POST", f"/api/v1/proposals/{world.other_proposal}/accept", None, 404),  # another bank's
    ]
    for method, url, body, status in refusals:
        if url.endswith("/grant"):
            body = body | {"rate": 4.0, "term_months": 12, "granted_on": china_today().isoformat(), "kind": "new_loan"}
        if url.endswith("/events"):
            body = body | {"occurred_on": china_today().isoformat()}
        response = client.open(url, method=method, json=body, headers=auth(bank))
        assert response.status_code == status, (url, response.json)
    assert count(db_session) == before + 1


def test_decisions_over_http_appear_and_the_filters_select_them(client: FlaskClient, world: World) -> None:
    bank, admin = world.tokens["bank1"], world.tokens["admin"]
    start = audit(client, admin)["items"][0]["occurred_at"]
    assert client.post(f"/api/v1/proposals/{world.proposal}/accept", headers=auth(bank)).status_code == 200
    event = {"kind": "repaid", "amount": 20 * WAN, "occurred_on": china_today().isoformat()}
    assert client.post(f"/api/v1/loans/{world.loan}/events", json=event, headers=auth(bank)).status_code == 201

    accepted = audit(client, admin, entity_kind="proposal", entity_id=world.proposal)["items"]
    assert [(item["action"], item["after"]["status"]) for item in accepted] == [("decided", "accepted")]
    loan = audit(client, admin, entity_kind="loan", entity_id=world.loan)["items"]
    assert [item["action"] for item in loan] == ["event", "created"]
    assert (loan[0]["before"]["outstanding"], loan[0]["after"]["outstanding"]) == (50 * WAN, 30 * WAN)

    officer = accepted[0]["actor_account_id"]
    assert (accepted[0]["actor_role"], accepted[0]["actor_name"]) == ("bank", "bank user")
    mine = audit(client, admin, actor_id=officer)
    assert mine["total"] == 2 and {item["actor_account_id"] for item in mine["items"]} == {officer}
    since = audit(client, admin, **{"from": start})
    assert since["total"] >= 2 and all(item["occurred_at"] >= start for item in since["items"])
    assert audit(client, admin, to="2000-01-01T00:00:00")["total"] == 0
    tomorrow = (china_today() + timedelta(days=1)).isoformat()
    assert audit(client, admin, **{"from": tomorrow})["total"] == 0
    paged = audit(client, admin, per_page=1, page=2)
    assert len(paged["items"]) == 1 and paged["items"][0]["id"] == audit(client, admin)["items"][1]["id"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"entity_kind": "need"}, "entity_kind"),
        ({"entity_id": "0"}, "entity_id"),
        ({"actor_id": "x"}, "actor_id"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"per_page": "500"}, "per_page"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    client: FlaskClient, make_token: Callable[..., str], query: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/audit", query_string=query, headers=auth(make_token("regulator")))
    assert response.status_code == 422
    assert field in response.json["errors"]["query"]
