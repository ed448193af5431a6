"""What each loan keeps for the statistics to count distinct enterprises and needs (matchmaker.previous_loans):
the grant dates of its enterprise's previous loans and whether it is its need's first, per scope; written with
each grant, moved when a grant is dated before an existing loan, checked by previous_loan_discrepancies,
filled by migrations 0013 and 0014; an enterprise has one first loan at most; and each loan keeps its grant month."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import migrate
from db.kept_columns import Discrepancy
from matchmaker.decisions import grant
from matchmaker.models import Loan
from matchmaker.previous_loans import (
    first_for_need,
    grant_month_discrepancies,
    previous_loan,
    previous_loan_discrepancies,
)
from matchmaker.scopes import SCOPES
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, make_book, need_like, propose

COLUMNS = tuple(getattr(Loan, previous_loan(scope)) for scope in SCOPES)
FLAGS = tuple(getattr(Loan, first_for_need(scope)) for scope in SCOPES)


def day(days_ago: int) -> date:
    return china_today() - timedelta(days=days_ago)


def loans_of_one_enterprise(session: Session) -> list[Loan]:
    """Three grants to one enterprise, made in this order: at B1 (a credit loan) 10 days ago, at B2 (an IP
    pledge loan) 20 days ago on the same need, at B1 15 days ago on another need; the second and third are
    dated before loans already made."""
    b1 = make_book(session, "B1", quota=1_000 * WAN)
    b2 = make_book(session, "B2", type="ip_pledge_loan", collateral=["ip_pledge"], quota=1_000 * WAN)
    first_need = enterprise_with_need(session, 1, amount_wan=100)
    made = datetime.now(UTC) - timedelta(days=30)
    loans = []
    for book, days_ago, kind in ((b1, 10, "first_loan"), (b2, 20, "new_loan"), (b1, 15, "renewal")):
        need = first_need if len(loans) < 2 else need_like(first_need)
        session.add(need)
        session.flush()
        proposal = propose(session, need, book.product, created_at=made)
        loans.append(grant(session, proposal, book.officer, 50 * WAN, 4.0, 12, day(days_ago), kind))
    session.commit()
    return loans


def kept(session: Session, loan: Loan) -> tuple[date | None, ...]:
    return tuple(session.execute(select(*COLUMNS).where(Loan.id == loan.id)).one())


def flags(session: Session, loan: Loan) -> tuple[bool, ...]:
    return tuple(session.execute(select(*FLAGS).where(Loan.id == loan.id)).one())


def test_each_grant_keeps_its_previous_loans_and_moves_those_after_it(db_session: Session) -> None:
    at_b1, at_b2, at_b1_earlier = loans_of_one_enterprise(db_session)
    # overall, at the bank, of the type, at the bank of the type
    assert kept(db_session, at_b2) == (None, None, None, None)
    assert kept(db_session, at_b1_earlier) == (day(20), None, None, None)
    assert kept(db_session, at_b1) == (day(15), day(15), day(15), day(15))
    assert (at_b1.product_type, at_b2.product_type) == ("credit_loan", "ip_pledge_loan")
    # the second grant on the first need is its first at B2 and of its type, not its first overall
    assert [flags(db_session, loan) for loan in (at_b1, at_b2, at_b1_earlier)] == [
        (True, True, True, True),
        (False, True, True, True),
        (True, True, True, True),
    ]
    assert previous_loan_discrepancies(db_session) == []


def test_discrepancies_name_the_loan_and_the_date_that_disagree(db_session: Session) -> None:
    at_b1, _, _ = loans_of_one_enterprise(db_session)
    db_session.execute(text("UPDATE loans SET previous_loan_at_bank_on = NULL WHERE id = :id"), {"id": at_b1.id})
    db_session.commit()
    assert previous_loan_discrepancies(db_session) == [
        Discrepancy("loans", at_b1.id, "previous_loan_at_bank_on", None, day(15))
    ]


def test_an_enterprise_has_one_first_loan(db_session: Session) -> None:
    """grant refuses a second first loan; the database refuses one written past it."""
    _, at_b2, _ = loans_of_one_enterprise(db_session)
    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE loans SET kind = 'first_loan' WHERE id = :id"), {"id": at_b2.id})
    db_session.rollback()


def test_the_migration_fills_the_dates_from_the_loans(migrated_session: tuple[str, Session]) -> None:
    url, session = migrated_session
    loans = loans_of_one_enterprise(session)
    before = [(kept(session, loan), flags(session, loan)) for loan in loans]
    session.close()

    migrate.downgrade(url, "0012")
    # a second first loan, as two grants at the same moment could declare before the enterprise's lock
    session.execute(text("UPDATE loans SET kind = 'first_loan' WHERE id = :id"), {"id": loans[2].id})
    session.commit()
    migrate.upgrade(url)
    assert [(kept(session, loan), flags(session, loan)) for loan in loans] == before
    kinds = session.scalars(select(Loan.kind).order_by(Loan.id)).all()
    assert kinds == ["first_loan", "new_loan", "new_loan"]  # the later one is a new loan again
    assert session.scalars(select(Loan.product_type).order_by(Loan.id)).all() == [
        "credit_loan",
        "ip_pledge_loan",
        "credit_loan",
    ]
    assert previous_loan_discrepancies(session) == []


def test_each_loan_keeps_its_grant_month(migrated_session: tuple[str, Session]) -> None:
    """Written with the grant (matchmaker.models.keep_grant_month) and filled by migration 0015."""
    url, session = migrated_session
    loans = loans_of_one_enterprise(session)
    months = [(loan.granted_on.year * 100 + loan.granted_on.month, loan.granted_on.replace(day=1)) for loan in loans]
    kept_months = select(Loan.granted_month, Loan.granted_month_start).order_by(Loan.id)
    assert [tuple(row) for row in session.execute(kept_months)] == months
    session.close()

    migrate.downgrade(url, "0014")
    migrate.upgrade(url)
    assert [tuple(row) for row in session.execute(kept_months)] == months
    assert grant_month_discrepancies(session) == []
    session.execute(text("UPDATE loans SET granted_month = 190001 WHERE id = :id"), {"id": loans[1].id})
    assert grant_month_discrepancies(session) == [
        Discrepancy("loans", loans[1].id, "granted_month", 190001, months[1][0])
    ]
