"""The append-only credit ledger: later events and their balance rules, corrections, the triggers that refuse
UPDATE and DELETE, and the reconciliation of products' granted totals with the ledger."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from matchmaker.decisions import grant
from matchmaker.ledger import (
    Discrepancy,
    LedgerError,
    product_granted_total_from_ledger,
    reconcile,
    record_event,
)
from matchmaker.models import CreditEvent, Loan
from products.models import LoanProduct
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, Book, make_book, propose, snapshot


@pytest.fixture
def book(db_session: Session) -> Book:
    made = make_book(db_session, quota=300 * WAN, amount_max=200 * WAN)
    db_session.commit()
    return made


def new_loan(session: Session, book: Book, amount: int = 100 * WAN, index: int = 1) -> Loan:
    proposal = propose(session, enterprise_with_need(session, index, amount_wan=200), book.product)
    loan = grant(session, proposal, book.officer, amount, 4.0, 12, china_today(), "first_loan")
    session.commit()
    return loan


def event(session: Session, book: Book, loan: Loan, kind: str, amount: int, **more: Any) -> CreditEvent:
    written = record_event(session, loan, kind, amount, more.pop("occurred_on", china_today()), book.officer, **more)
    session.commit()
    return written


def refused(session: Session, book: Book, loan: Loan, kind: str, amount: int, field: str, **more: Any) -> None:
    """The event is refused naming ``field``, and nothing is written even when the caller commits."""
    before = snapshot(session)
    with pytest.raises(LedgerError) as caught:
        record_event(session, loan, kind, amount, more.pop("occurred_on", china_today()), book.officer, **more)
    session.commit()
    assert field in caught.value.errors
    assert snapshot(session) == before


def test_repayments_reduce_the_balance_to_zero_and_no_further(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    first = event(db_session, book, loan, "repaid", 30 * WAN, note="第一期")
    assert (first.balance_before, first.balance_after, first.note) == (100 * WAN, 70 * WAN, "第一期")
    refused(db_session, book, loan, "repaid", 71 * WAN, "amount")
    last = event(db_session, book, loan, "repaid", 70 * WAN)
    assert (last.balance_after, loan.outstanding, loan.status) == (0, 0, "repaid")


def test_disbursements_keep_the_balance_and_stay_within_the_grant(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    paid_out = event(db_session, book, loan, "disbursed", 60 * WAN)
    assert paid_out.balance_before == paid_out.balance_after == 100 * WAN
    refused(db_session, book, loan, "disbursed", 41 * WAN, "amount")
    event(db_session, book, loan, "disbursed", 40 * WAN)


def test_overdue_default_and_renewal_mark_the_loan(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    refused(db_session, book, loan, "overdue", 101 * WAN, "amount")
    late = event(db_session, book, loan, "overdue", 10 * WAN)
    assert late.balance_after == 100 * WAN and loan.status == "overdue"
    event(db_session, book, loan, "defaulted", 100 * WAN)
    assert loan.status == "defaulted"
    event(db_session, book, loan, "overdue", 5 * WAN)
    assert loan.status == "defaulted"  # an overdue report does not undo a default
    refused(db_session, book, loan, "renewed", 50 * WAN, "term_months")
    renewal = event(db_session, book, loan, "renewed", 100 * WAN, term_months=24)
    assert renewal.term_months == 24 and loan.term_months == 24 and loan.status == "current"
    assert loan.outstanding == 100 * WAN


@pytest.mark.parametrize(
    ("kind", "amount", "more", "field"),
    [
        ("granted", 10 * WAN, {}, "kind"),  # only a grant decision writes one
        ("payday", 10 * WAN, {}, "kind"),
        ("repaid", 0, {}, "amount"),
        ("repaid", -5, {}, "amount"),
        ("repaid", 10 * WAN, {"occurred_on": china_today() - timedelta(days=1)}, "occurred_on"),  # before the grant
        ("repaid", 10 * WAN, {"occurred_on": china_today() + timedelta(days=2)}, "occurred_on"),
        ("repaid", 10 * WAN, {"term_months": 6}, "term_months"),
        ("renewed", 10 * WAN, {"term_months": 0}, "term_months"),
    ],
)
def test_bad_events_are_refused_and_write_nothing(
    db_session: Session, book: Book, kind: str, amount: int, more: dict[str, Any], field: str
) -> None:
    loan = new_loan(db_session, book)
    refused(db_session, book, loan, kind, amount, field, **more)


def test_a_correction_is_a_new_event_and_the_corrected_row_is_untouched(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    wrong = event(db_session, book, loan, "repaid", 10 * WAN)  # it was 1 万, not 10 万
    row_before = db_session.execute(select(CreditEvent.__table__).where(CreditEvent.id == wrong.id)).one()
    correction = event(db_session, book, loan, "corrected", -9 * WAN, corrects=wrong, note="录入错误")
    assert (correction.corrects_event_id, correction.balance_before, correction.balance_after) == (
        wrong.id,
        90 * WAN,
        99 * WAN,
    )
    assert loan.outstanding == 99 * WAN
    db_session.expire_all()
    assert db_session.execute(select(CreditEvent.__table__).where(CreditEvent.id == wrong.id)).one() == row_before
    refused(db_session, book, loan, "corrected", -2 * WAN, "amount", corrects=wrong)  # 1 万 - 2 万 < 0
    refused(db_session, book, loan, "corrected", 1, "corrects_event_id", corrects=correction)
    refused(db_session, book, loan, "corrected", 0, "amount", corrects=wrong)
    refused(db_session, book, loan, "repaid", 1, "corrects_event_id", corrects=wrong)
    other = new_loan(db_session, book, index=2)
    refused(db_session, book, other, "corrected", 1, "corrects_event_id", corrects=wrong)


def test_correcting_a_grant_moves_the_granted_total_within_the_quota(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book, amount=200 * WAN)
    granted = db_session.scalars(select(CreditEvent).where(CreditEvent.kind == "granted")).one()
    correction = event(db_session, book, loan, "corrected", -20 * WAN, corrects=granted)
    assert correction.balance_after == loan.outstanding == 180 * WAN
    db_session.expire_all()
    assert db_session.get(LoanProduct, book.product.id).granted_total == 180 * WAN
    assert product_granted_total_from_ledger(db_session, book.product.id) == 180 * WAN
    before = snapshot(db_session)
    with pytest.raises(LedgerError) as caught:
        record_event(db_session, loan, "corrected", 121 * WAN, china_today(), book.officer, corrects=granted)
    db_session.rollback()
    assert caught.value.status == 409 and snapshot(db_session) == before
    assert reconcile(db_session) == []


def test_reconcile_reports_a_total_that_disagrees_with_the_ledger(db_session: Session, book: Book) -> None:
    new_loan(db_session, book)
    db_session.execute(
        text("UPDATE loan_products SET granted_total = 150 * 10000 WHERE id = :id"), {"id": book.product.id}
    )
    db_session.commit()
    assert reconcile(db_session) == [Discrepancy(book.product.id, 150 * WAN, 100 * WAN)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credit_events SET amount = amount + 1 WHERE id = :id",
        "UPDATE credit_events SET note = 'edited' WHERE id = :id",
        "DELETE FROM credit_events WHERE id = :id",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_event(db_session: Session, book: Book, statement: str) -> None:
    loan = new_loan(db_session, book)
    written = event(db_session, book, loan, "repaid", 10 * WAN)
    row = db_session.execute(select(CreditEvent.__table__).where(CreditEvent.id == written.id)).one()
    with pytest.raises(DatabaseError, match="credit_events is append-only"):
        db_session.connection().execute(text(statement), {"id": written.id})
    db_session.rollback()
    assert db_session.execute(select(CreditEvent.__table__).where(CreditEvent.id == written.id)).one() == row
