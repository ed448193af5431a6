"""The CSV upload of loan events (POST /api/v1/loans/events/import): all or nothing, in file order, every bad
line named, another bank's loan refused like a missing one, and the file's encoding, size and shape checked."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from accounts.models import Account
from matchmaker.decisions import grant
from matchmaker.models import CreditEvent, Loan, Proposal
from products.models import LoanProduct
from reference.china_time import china_today
from tests.api.proposal_world import World, build_world
from tests.conftest import auth
from tests.integration.credit_book import WAN, snapshot

URL = "/api/v1/loans/events/import"
HEADER = "loan_id,kind,amount,occurred_on,note,corrects_event_id,term_months"


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    """The proposal world, plus a second loan of bank 1 (40 万 on its pending proposal)."""
    built = build_world(app, make_token)
    with app.extensions["session_factory"]() as session, session.begin():
        proposal = session.get_one(Proposal, built.proposal)
        granted = session.scalars(select(CreditEvent).where(CreditEvent.loan_id == built.loan)).one()
        officer = session.get_one(Account, granted.actor_account_id)
        grant(session, proposal, officer, 40 * WAN, 4.0, 12, china_today(), "new_loan")
    return built


def second_loan(db_session: Session, world: World) -> int:
    return db_session.scalars(select(Loan.id).where(Loan.proposal_id == world.proposal)).one()


def other_bank_loan(db_session: Session, world: World) -> int:
    return db_session.get_one(CreditEvent, world.other_loan_event).loan_id


def upload(
    client: FlaskClient, token: str, content: str | bytes, query: str = "", filename: str = "events.csv"
) -> TestResponse:
    raw = content.encode() if isinstance(content, str) else content
    return client.post(
        URL + query,
        data={"file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
        headers=auth(token),
    )


def lines(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def grant_event(db_session: Session, loan_id: int) -> int:
    return db_session.scalars(select(CreditEvent.id).where(CreditEvent.loan_id == loan_id)).first() or 0


def test_a_good_file_is_recorded_in_file_order(client: FlaskClient, world: World, db_session: Session) -> None:
    second = second_loan(db_session, world)
    granted_before = db_session.get_one(Loan, second).product_id
    content = lines(
        f"{world.loan},disbursed,{50 * WAN},{china_today()},首笔放款,,",
        f"{world.loan},repaid,{20 * WAN},{china_today()},,,",
        f"{second},overdue,{5 * WAN},{china_today()},逾期一期,,",
        f"{world.loan},repaid,{30 * WAN},{china_today()},结清,,",  # needs the 30 万 the second line left
        f"{second},renewed,{40 * WAN},{china_today()},,,24",
        f"{second},corrected,-{10 * WAN},{china_today()},授信金额更正,{grant_event(db_session, second)},",
    )
    product_total = db_session.get_one(LoanProduct, granted_before).granted_total
    response = upload(client, world.tokens["bank1"], content)
    assert response.status_code == 200, response.json
    assert (response.json["recorded"], response.json["dry_run"]) == (6, False)
    items = response.json["items"]
    assert [(item["loan_id"], item["kind"], item["balance_before"], item["balance_after"]) for item in items] == [
        (world.loan, "disbursed", 50 * WAN, 50 * WAN),
        (world.loan, "repaid", 50 * WAN, 30 * WAN),
        (second, "overdue", 40 * WAN, 40 * WAN),
        (world.loan, "repaid", 30 * WAN, 0),
        (second, "renewed", 40 * WAN, 40 * WAN),
        (second, "corrected", 40 * WAN, 30 * WAN),
    ]
    assert items[0]["note"] == "首笔放款" and items[4]["term_months"] == 24
    db_session.expire_all()
    first, renewed = db_session.get_one(Loan, world.loan), db_session.get_one(Loan, second)
    assert (first.status, first.outstanding) == ("repaid", 0)
    assert (renewed.status, renewed.term_months, renewed.outstanding) == ("current", 24, 30 * WAN)
    assert db_session.get_one(LoanProduct, granted_before).granted_total == product_total - 10 * WAN
    stored = db_session.scalars(select(CreditEvent.id).order_by(CreditEvent.id))
    assert list(stored)[-6:] == [item["id"] for item in items]  # the ledger holds them in file order


def bad_lines(response: TestResponse) -> list[tuple[int | None, str]]:
    assert response.status_code == 422, response.json
    return [(row["line"], row["field"]) for row in response.json["errors"]["rows"]]


def test_one_bad_line_refuses_the_file_and_writes_nothing(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    before = snapshot(db_session)
    content = lines(
        f"{world.loan},repaid,{20 * WAN},{china_today()},,,",
        f"{world.loan},repaid,{31 * WAN},{china_today()},,,",  # the first line left 30 万
        f"{world.loan},repaid,{10 * WAN},{china_today()},,,",
    )
    response = upload(client, world.tokens["bank1"], content)
    assert bad_lines(response) == [(3, "amount")]
    row = response.json["errors"]["rows"][0]
    assert row["message"] == "贷款余额为 300000 元 / the outstanding balance is 300000"
    assert "1 行有误" in response.json["message"] and "nothing was imported" in response.json["message"]
    assert snapshot(db_session) == before


def test_every_bad_line_is_listed_with_its_field(client: FlaskClient, world: World, db_session: Session) -> None:
    before = snapshot(db_session)
    content = lines(
        f"{world.loan},paid,{WAN},{china_today()},,,",
        f"{world.loan},repaid,abc,{china_today()},,,",
        f"{world.loan},repaid,{WAN},2000-01-01,,,",
        f"{world.loan},renewed,{WAN},{china_today()},,,",
        f",repaid,{WAN},{china_today()},,,",
        f"{world.loan},repaid,{WAN},{china_today()},,,",  # a good line does not save the file
    )
    response = upload(client, world.tokens["bank1"], content)
    assert bad_lines(response) == [(2, "kind"), (3, "amount"), (4, "occurred_on"), (5, "term_months"), (6, "loan_id")]
    assert snapshot(db_session) == before


def test_another_banks_loan_is_an_error_of_its_line_like_a_missing_loan(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    before = snapshot(db_session)
    others = other_bank_loan(db_session, world)
    content = lines(
        f"{world.loan},repaid,{WAN},{china_today()},,,",
        f"{others},repaid,{WAN},{china_today()},,,",
        f"999999,repaid,{WAN},{china_today()},,,",
        f"{world.loan},corrected,-5,{china_today()},,{world.other_loan_event},",
    )
    response = upload(client, world.tokens["bank1"], content)
    assert bad_lines(response) == [(3, "loan_id"), (4, "loan_id"), (5, "corrects_event_id")]
    rows = response.json["errors"]["rows"]
    assert rows[0]["message"] == rows[1]["message"] == "没有这笔贷款 / no such loan"
    assert rows[0] | {"line": 0} == rows[1] | {"line": 0}  # another bank's loan reads as one that does not exist
    assert snapshot(db_session) == before


def test_chinese_headers_and_labels_in_utf8_with_bom_and_in_gb18030(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    header = "贷款编号,事件类型,金额（元）,发生日期,备注"
    content = lines(f"{world.loan},还款,{WAN},{china_today()},第一期", header=header)
    with_bom = upload(client, world.tokens["bank1"], "\ufeff" + content)
    assert with_bom.status_code == 200, with_bom.json
    excel = upload(client, world.tokens["bank1"], content.replace("第一期", "第二期").encode("gb18030"))
    assert excel.status_code == 200, excel.json
    assert [item["note"] for item in with_bom.json["items"] + excel.json["items"]] == ["第一期", "第二期"]
    assert db_session.get_one(Loan, world.loan).outstanding == 48 * WAN


@pytest.mark.parametrize(
    ("content", "line", "field"),
    [
        (lines(f"1,repaid,{WAN},{china_today()},还款").encode("utf-16"), None, "file"),
        (b"loan_id,kind,amount,occurred_on\n1,repaid,\xff\xff,2026-01-01\n", 2, "file"),
        (b"", None, "file"),
        (b"PK\x03\x04" + b"\x14" * 40, None, "file"),
        (HEADER.encode() + b"\n", 2, "file"),
        (b"loan_id,kind,occurred_on\n1,repaid,2026-01-01\n", 1, "amount"),
        (b"loan_id,kind,amount,occurred_on,colour\n", 1, "colour"),
        (b"loan_id,kind,amount,occurred_on\n1,repaid,5,2026-01-01,extra\n", 2, "file"),
    ],
    ids=["utf-16", "not-gb18030", "empty", "xlsx", "no-lines", "missing-column", "unknown-column", "wide"],
)
def test_a_file_that_cannot_be_read_is_refused_naming_the_problem(
    client: FlaskClient, world: World, db_session: Session, content: bytes, line: int | None, field: str
) -> None:
    before = snapshot(db_session)
    response = upload(client, world.tokens["bank1"], content)
    assert bad_lines(response)[0] == (line, field)
    assert snapshot(db_session) == before


def test_a_file_over_the_upload_limit_is_413_and_other_bodies_415(
    app: Flask, client: FlaskClient, world: World, db_session: Session
) -> None:
    before = snapshot(db_session)
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    big = lines(*[f"{world.loan},repaid,1,{china_today()},,," for _ in range(200)])
    assert upload(client, world.tokens["bank1"], big).status_code == 413
    as_json = client.post(URL, json=[{"loan_id": world.loan}], headers=auth(world.tokens["bank1"]))
    assert as_json.status_code == 415
    no_field = client.post(URL, data={}, content_type="multipart/form-data", headers=auth(world.tokens["bank1"]))
    assert bad_lines(no_field) == [(None, "file")]
    assert snapshot(db_session) == before


def test_a_text_csv_body_and_a_dry_run(client: FlaskClient, world: World, db_session: Session) -> None:
    before = snapshot(db_session)
    content = lines(f"{world.loan},repaid,{WAN},{china_today()},,,")
    headers = auth(world.tokens["bank1"]) | {"Content-Type": "text/csv"}
    checked = client.post(URL + "?dry_run=true", data=content.encode(), headers=headers)
    assert checked.status_code == 200, checked.json
    assert (checked.json["recorded"], checked.json["dry_run"]) == (1, True)
    assert checked.json["items"][0]["balance_after"] == 49 * WAN
    assert snapshot(db_session) == before
    recorded = client.post(URL, data=content.encode(), headers=headers)
    assert recorded.status_code == 200 and recorded.json["recorded"] == 1


@pytest.mark.parametrize(
    ("caller", "status"), [(None, 401), ("bank2", 422), ("sme1", 403), ("regulator", 403), ("admin", 403)]
)
def test_only_banks_may_upload_and_only_for_their_loans(
    client: FlaskClient, world: World, db_session: Session, caller: str | None, status: int
) -> None:
    before = snapshot(db_session)
    content = lines(f"{world.loan},repaid,{WAN},{china_today()},,,").encode()
    headers: dict[str, Any] = auth(world.tokens[caller]) if caller else {}
    response = client.post(
        URL, data={"file": (io.BytesIO(content), "e.csv")}, content_type="multipart/form-data", headers=headers
    )
    assert response.status_code == status, response.json  # bank 2: "no such loan" on line 2
    assert snapshot(db_session) == before


def test_a_retried_upload_with_its_idempotency_key_records_once(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    content = lines(f"{world.loan},repaid,{WAN},{china_today()},,,").encode()
    headers = auth(world.tokens["bank1"]) | {"Content-Type": "text/csv", "Idempotency-Key": "upload-1"}
    first = client.post(URL, data=content, headers=headers)
    assert first.status_code == 200, first.json
    after_first = snapshot(db_session)
    again = client.post(URL, data=content, headers=headers)
    assert (again.status_code, again.json, again.headers["Idempotent-Replayed"]) == (200, first.json, "true")
    assert snapshot(db_session) == after_first
    other = client.post(URL, data=content.replace(b",repaid,", b",overdue,"), headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]["headers"]
    checked = client.post(URL + "?dry_run=true", data=content, headers=headers | {"Idempotency-Key": "check-1"})
    assert checked.status_code == 200 and checked.json["dry_run"] is True
    assert snapshot(db_session) == after_first
    assert db_session.get_one(Loan, world.loan).outstanding == 49 * WAN
