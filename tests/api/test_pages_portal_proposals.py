"""The bank portal's proposals page: only the signed-in bank's open proposals; accept, reject with a reason
and grant (amount in 万元) through the same domain rules as the API; refusals shown on the page with
nothing written; CSRF on every form; the SME sees the outcome on its needs page."""

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.models import Loan, Proposal, ProposalDecision
from reference.china_time import china_today
from tests.api.page_helpers import csrf_token, post_form, sign_in
from tests.api.proposal_world import World, build_world
from tests.integration.credit_book import WAN, snapshot

PAGE = "/portal/proposals"


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    return build_world(app, make_token)


@pytest.fixture
def officer(client: FlaskClient, world: World) -> FlaskClient:
    sign_in(client, world.tokens["bank1"])
    return client


def status_of(db_session: Session, proposal_id: int) -> str:
    db_session.expire_all()
    return db_session.get_one(Proposal, proposal_id).status


def grant_form(**changes: str) -> dict[str, str]:
    return {
        "amount": "60",
        "rate": "4.35",
        "term_months": "12",
        "granted_on": china_today().isoformat(),
        "kind": "first_loan",
    } | changes


def test_the_page_lists_only_the_banks_open_proposals_and_is_linked_from_the_portal(
    officer: FlaskClient, world: World
) -> None:
    assert 'href="/portal/proposals"' in officer.get("/portal").get_data(as_text=True)
    page = officer.get(PAGE).get_data(as_text=True)
    assert "测试企业1有限公司" in page  # bank 1's pending proposal
    assert f'href="{PAGE}/{world.proposal}"' in page  # opens on a page of its own
    assert "测试企业2有限公司" not in page  # bank 2's
    assert "测试企业3有限公司" not in page  # granted already: no longer open
    assert "Proposals for your products" in officer.get(f"{PAGE}?lang=en").get_data(as_text=True)


def test_a_proposal_opens_with_the_case_and_the_decision_forms(officer: FlaskClient, world: World) -> None:
    page = officer.get(f"{PAGE}/{world.proposal}").get_data(as_text=True)
    assert "测试企业1有限公司" in page and "13800000000" not in page and "张会计" not in page
    assert "盈利稳定" in page and "现金流充足" in page  # score reasons and why the match
    assert 'name="amount" value="100"' in page  # the grant form starts from the need, in 万元
    assert f'action="{PAGE}/{world.proposal}/accept"' in page and f'action="{PAGE}/{world.proposal}/reject"' in page
    assert "steady profit" in officer.get(f"{PAGE}/{world.proposal}?lang=en").get_data(as_text=True)


def test_only_a_signed_in_bank_sees_the_page(client: FlaskClient, world: World) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/portal/proposals")
    sign_in(client, world.tokens["regulator"])
    assert client.get(PAGE).status_code == 403


def test_accept_then_grant_a_smaller_amount_and_the_sme_sees_it(
    officer: FlaskClient, app: Flask, world: World, db_session: Session
) -> None:
    url = f"/portal/proposals/{world.proposal}"
    accepted = post_form(officer, f"{url}/accept", page=url)
    assert accepted.status_code == 302 and accepted.headers["Location"] == url
    assert status_of(db_session, world.proposal) == "accepted"
    assert "已受理" in officer.get(PAGE).get_data(as_text=True)

    granted = post_form(officer, f"{url}/grant", grant_form(amount="60"), page=url)
    assert granted.status_code == 302 and granted.headers["Location"] == url
    shown = officer.get(url).get_data(as_text=True)  # the officer sees what was recorded, and no form any more
    assert (
        "已授信" in shown and '<dd class="loan-amount">60</dd>' in shown and '<dd class="loan-rate">4.35</dd>' in shown
    )
    assert f'action="{url}/grant"' not in shown
    assert status_of(db_session, world.proposal) == "granted"
    loan = db_session.scalars(select(Loan).where(Loan.proposal_id == world.proposal)).one()
    assert loan.amount == 60 * WAN and loan.rate == 4.35

    sme = app.test_client()
    sme.post(
        "/enterprise/login",
        data={**world.sme_login, "csrf_token": csrf_token(sme, "/enterprise/login")},
    )
    needs = sme.get("/needs").get_data(as_text=True)
    assert "已获授信：60 万元" in needs, needs


def test_reject_with_a_reason_the_sme_reads_in_plain_words(
    officer: FlaskClient, app: Flask, world: World, db_session: Session
) -> None:
    data = {"reason": "insufficient_collateral", "note": "请补充房产抵押"}
    response = post_form(officer, f"/portal/proposals/{world.proposal}/reject", data, page=PAGE)
    assert response.status_code == 302
    decision = db_session.scalars(select(ProposalDecision).where(ProposalDecision.proposal_id == world.proposal)).one()
    assert decision.reason == "insufficient_collateral" and decision.note == "请补充房产抵押"
    assert "抵质押物不足 — 请补充房产抵押" in officer.get(f"{PAGE}/{world.proposal}").get_data(as_text=True)

    sme = app.test_client()
    sme.post("/enterprise/login", data={**world.sme_login, "csrf_token": csrf_token(sme, "/enterprise/login")})
    needs = sme.get("/needs").get_data(as_text=True)
    assert "银行的理由" in needs and "抵质押物不足 — 请补充房产抵押" in needs


@pytest.mark.parametrize(
    ("action", "data", "status", "shown"),
    [
        ("grant", grant_form(amount="150"), 422, "该需求最多还剩 1000000 元"),
        ("grant", grant_form(amount="abc"), 422, "请输入以万元为单位的金额"),
        ("grant", grant_form(kind=""), 422, "必填"),
        ("reject", {"reason": "other"}, 422, "理由为“其他”时请说明原因"),
    ],
)
def test_a_refused_decision_is_shown_beside_its_field_and_writes_nothing(
    officer: FlaskClient, world: World, db_session: Session, action: str, data: dict[str, str], status: int, shown: str
) -> None:
    before = snapshot(db_session)
    response = post_form(officer, f"/portal/proposals/{world.proposal}/{action}", data, page=PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert 'role="alert"' in page and f'id="p{world.proposal}-{action}-' in page and shown in page, page
    assert 'aria-invalid="true"' in page
    assert snapshot(db_session) == before


def test_another_banks_proposal_is_404_and_forms_need_their_csrf_token(
    officer: FlaskClient, world: World, db_session: Session
) -> None:
    before = snapshot(db_session)
    assert officer.get(f"{PAGE}/{world.other_proposal}").status_code == 404
    other = post_form(officer, f"/portal/proposals/{world.other_proposal}/accept", page=PAGE)
    assert other.status_code == 404
    forged = officer.post(f"/portal/proposals/{world.proposal}/accept")
    assert forged.status_code == 400
    assert snapshot(db_session) == before
