"""The bank portal's loans page: the bank's own loans, the upload of a loan-event CSV with its result or every
bad line, and the template to fill in."""

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from matchmaker.models import CreditEvent, Loan
from reference.china_time import china_today
from tests.api.page_helpers import csrf_token, sign_in
from tests.api.proposal_world import World, build_world
from tests.integration.credit_book import WAN, snapshot

PAGE = "/portal/loans"


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    return build_world(app, make_token)


@pytest.fixture
def officer(app: Flask, world: World) -> FlaskClient:
    client = app.test_client()
    sign_in(client, world.tokens["bank1"])
    return client


def upload(client: FlaskClient, content: str | bytes, dry_run: bool = False) -> TestResponse:
    raw = content.encode() if isinstance(content, str) else content
    data = {"csrf_token": csrf_token(client, PAGE), "file": (io.BytesIO(raw), "还款.csv")}
    if dry_run:
        data["dry_run"] = "1"
    return client.post(f"{PAGE}/events/import", data=data, content_type="multipart/form-data")


def test_the_page_lists_only_the_banks_own_loans(officer: FlaskClient, world: World, db_session: Session) -> None:
    page = officer.get(PAGE).get_data(as_text=True)
    assert "测试企业3有限公司" in page and "正常" in page  # bank 1's loan, its status in Chinese
    assert "测试企业4有限公司" not in page  # bank 2's loan
    assert 'action="/portal/loans/events/import"' in page and 'enctype="multipart/form-data"' in page


def test_an_upload_records_the_events_and_shows_them(officer: FlaskClient, world: World, db_session: Session) -> None:
    content = (
        f"贷款编号,事件类型,金额（元）,发生日期\n"
        f"{world.loan},放款,{50 * WAN},{china_today()}\n{world.loan},还款,{50 * WAN},{china_today()}\n"
    )
    response = upload(officer, content.encode("gb18030"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert 'role="status"' in page and "还款.csv" in page
    assert f"{50 * WAN} → 0" in page  # the repayment's balance before and after
    db_session.expire_all()
    loan = db_session.get_one(Loan, world.loan)
    assert (loan.outstanding, loan.status) == (0, "repaid")
    assert [event.kind for event in loan_events(db_session, world.loan)] == ["granted", "disbursed", "repaid"]


def loan_events(db_session: Session, loan_id: int) -> list[CreditEvent]:
    return list(db_session.query(CreditEvent).filter_by(loan_id=loan_id).order_by(CreditEvent.id))


def test_a_refused_file_lists_every_bad_line_in_the_page_language_and_writes_nothing(
    officer: FlaskClient, world: World, db_session: Session
) -> None:
    before = snapshot(db_session)
    other = db_session.get_one(CreditEvent, world.other_loan_event).loan_id
    content = (
        f"loan_id,kind,amount,occurred_on\n{world.loan},repaid,{WAN},{china_today()}\n"
        f"{other},repaid,{WAN},{china_today()}\n{world.loan},repaid,{60 * WAN},{china_today()}\n"
    )
    response = upload(officer, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'role="alert"' in page
    assert "没有这笔贷款" in page and "no such loan" not in page  # the Chinese half of the domain's message
    assert "贷款余额为 490000 元" in page  # line 4 sees the balance line 2 left
    assert page.count('<td class="number">3</td>') == 1 and page.count('<td class="number">4</td>') == 1
    assert snapshot(db_session) == before

    english = officer.get(f"{PAGE}?lang=en")  # the switch is remembered for the visit
    assert english.status_code == 200
    page = upload(officer, content).get_data(as_text=True)
    assert "no such loan" in page and "没有这笔贷款" not in page and "loan_id" in page


def test_a_dry_run_and_a_missing_file_write_nothing(officer: FlaskClient, world: World, db_session: Session) -> None:
    before = snapshot(db_session)
    checked = upload(
        officer, f"loan_id,kind,amount,occurred_on\n{world.loan},repaid,{WAN},{china_today()}\n", dry_run=True
    )
    assert checked.status_code == 200 and 'role="status"' in checked.get_data(as_text=True)
    missing = officer.post(f"{PAGE}/events/import", data={"csrf_token": csrf_token(officer, PAGE)})
    assert missing.status_code == 422 and 'aria-invalid="true"' in missing.get_data(as_text=True)
    assert snapshot(db_session) == before


def test_the_template_names_the_columns_and_the_open_loans(officer: FlaskClient, world: World) -> None:
    response = officer.get(f"{PAGE}/events-template.csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines == [
        "贷款编号,事件类型,金额（元）,发生日期,备注,被更正事件编号,续贷新期限（月）",
        f"{world.loan},,,,,,",
    ]


def test_an_unchanged_template_is_refused(officer: FlaskClient, world: World, db_session: Session) -> None:
    before = snapshot(db_session)
    template = officer.get(f"{PAGE}/events-template.csv").get_data()
    assert upload(officer, template).status_code == 422
    assert snapshot(db_session) == before


def test_other_roles_and_visitors_are_kept_out(app: Flask, world: World) -> None:
    visitor = app.test_client()
    assert visitor.get(PAGE).status_code == 302
    sme = app.test_client()
    sign_in(sme, world.tokens["regulator"])
    assert sme.get(PAGE).status_code == 403
