"""The ledger figures each loan keeps for the statistics (Loan.granted_amount, rollovers, rollover_amount,
defaulted_amount, reported_overdue, reported_defaulted, and the need's days_to_grant and pledges): written
with the grant, moved by each event in the event's own transaction, untouched by a refused event, checked
against the ledger by loan_figure_discrepancies, and filled from the ledger by migration 0009."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import migrate
from matchmaker.decisions import grant
from matchmaker.ledger import LedgerError, LoanDiscrepancy, loan_figure_discrepancies, record_event
from matchmaker.models import CreditEvent, Loan
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import LOAN_FIGURES, WAN, Book, make_book, propose

FIGURES = tuple(column.key for column in LOAN_FIGURES)


@pytest.fixture
def book(db_session: Session) -> Book:
    made = make_book(db_session, quota=300 * WAN, amount_max=200 * WAN)
    db_session.commit()
    return made


def new_loan(session: Session, book: Book, amount: int = 100 * WAN, index: int = 1, **need: Any) -> Loan:
    proposal = propose(session, enterprise_with_need(session, index, amount_wan=200, **need), book.product)
    loan = grant(session, proposal, book.officer, amount, 4.0, 12, china_today(), "first_loan")
    session.commit()
    return loan


def stored(session: Session, loan: Loan) -> dict[str, Any]:
    """The loan's figures as the database holds them (read with SQL in the caller's transaction)."""
    row = session.execute(select(*LOAN_FIGURES).where(Loan.id == loan.id)).one()
    return {name: int(value) for name, value in zip(FIGURES, row, strict=True)}


def figures(**changed: int) -> dict[str, int]:
    return dict.fromkeys(FIGURES, 0) | changed


def write(session: Session, book: Book, loan: Loan, kind: str, amount: int, **more: Any) -> CreditEvent:
    return record_event(session, loan, kind, amount, china_today(), book.officer, **more)


def test_a_grant_keeps_its_amount_and_what_the_need_offered(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book, 80 * WAN, collateral_offered=["ip_pledge", "real_estate"])
    assert stored(db_session, loan) == figures(granted_amount=80 * WAN)
    assert (loan.days_to_grant, loan.offers_ip_pledge, loan.offers_receivables) == (0, True, False)
    assert loan_figure_discrepancies(db_session) == []


def test_each_event_moves_the_figures_in_its_own_transaction(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    granted = db_session.scalars(select(CreditEvent).where(CreditEvent.kind == "granted")).one()
    steps: list[tuple[str, int, dict[str, Any], dict[str, int]]] = [
        ("corrected", 10 * WAN, {"corrects": granted}, {"granted_amount": 110 * WAN}),
        ("repaid", 20 * WAN, {}, {}),
        ("overdue", 5 * WAN, {}, {"reported_overdue": 1}),
        ("renewed", 90 * WAN, {"term_months": 24}, {"rollovers": 1, "rollover_amount": 90 * WAN}),
        ("defaulted", 90 * WAN, {}, {"reported_defaulted": 1, "defaulted_amount": 90 * WAN}),
    ]
    expected = figures(granted_amount=100 * WAN)
    for kind, amount, more, changes in steps:
        write(db_session, book, loan, kind, amount, **more)
        # Already in the database, inside the event's transaction: they commit or roll back together.
        assert stored(db_session, loan) == expected | changes
        db_session.rollback()
        assert stored(db_session, loan) == expected
        assert (
            db_session.scalar(select(CreditEvent.id).where(CreditEvent.kind == kind, CreditEvent.amount == amount))
            is None
        )
        db_session.refresh(loan)
        write(db_session, book, loan, kind, amount, **more)
        db_session.commit()
        expected |= changes
        db_session.expire_all()
        assert stored(db_session, loan) == expected
    assert loan_figure_discrepancies(db_session) == []


def test_corrections_move_the_figures_of_the_event_they_correct(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    renewed = write(db_session, book, loan, "renewed", 100 * WAN, term_months=24)
    defaulted = write(db_session, book, loan, "defaulted", 100 * WAN)
    repaid = write(db_session, book, loan, "repaid", 10 * WAN)
    write(db_session, book, loan, "corrected", -WAN, corrects=renewed)
    write(db_session, book, loan, "corrected", -30 * WAN, corrects=defaulted)
    write(db_session, book, loan, "corrected", 2 * WAN, corrects=repaid)
    db_session.commit()
    db_session.expire_all()
    assert stored(db_session, loan) == figures(
        granted_amount=100 * WAN,
        rollovers=1,  # a correction changes the amount, not the number of rollovers
        rollover_amount=99 * WAN,
        defaulted_amount=70 * WAN,
        reported_defaulted=1,
    )
    assert loan_figure_discrepancies(db_session) == []


def test_a_refused_event_leaves_the_figures_as_they_were(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book, 200 * WAN)
    granted = db_session.scalars(select(CreditEvent).where(CreditEvent.kind == "granted")).one()
    before = stored(db_session, loan)
    refusals: list[tuple[str, int, dict[str, Any]]] = [
        ("corrected", 150 * WAN, {"corrects": granted}),  # past the product's quota (409)
        ("corrected", -201 * WAN, {"corrects": granted}),  # a negative grant
        ("defaulted", 201 * WAN, {}),  # more than the balance
        ("renewed", 10 * WAN, {}),  # no new term
        ("overdue", 0, {}),
    ]
    for kind, amount, more in refusals:
        with pytest.raises(LedgerError):
            write(db_session, book, loan, kind, amount, **more)
        db_session.commit()
        db_session.expire_all()
        assert stored(db_session, loan) == before, kind


def test_discrepancies_name_the_loan_and_the_figure_that_disagree(db_session: Session, book: Book) -> None:
    loan = new_loan(db_session, book)
    write(db_session, book, loan, "overdue", WAN)
    db_session.commit()
    db_session.execute(
        text("UPDATE loans SET granted_amount = granted_amount * 2, reported_overdue = :no WHERE id = :id"),
        {"id": loan.id, "no": False},
    )
    db_session.commit()
    assert loan_figure_discrepancies(db_session) == [
        LoanDiscrepancy(loan.id, "granted_amount", 200 * WAN, 100 * WAN),
        LoanDiscrepancy(loan.id, "reported_overdue", 0, 1),
    ]


def test_the_migration_fills_the_figures_from_the_ledger(migrated_session: tuple[str, Session]) -> None:
    url, session = migrated_session
    book = make_book(session, quota=1_000 * WAN, amount_max=200 * WAN)
    offers = ([], ["receivables"], ["ip_pledge", "receivables"])
    for index, offered in enumerate(offers):
        need = enterprise_with_need(session, index, amount_wan=200, collateral_offered=offered)
        need.created_at -= timedelta(days=3 * index)
        loan = grant(
            session, propose(session, need, book.product), book.officer, 100 * WAN, 4.0, 12, china_today(), "new_loan"
        )
        granted = session.scalars(select(CreditEvent).where(CreditEvent.loan_id == loan.id)).one()
        write(session, book, loan, "corrected", (index + 1) * WAN, corrects=granted)
        if index:
            write(session, book, loan, "overdue", WAN)
            renewed = write(session, book, loan, "renewed", 50 * WAN, term_months=12)
            write(session, book, loan, "corrected", -index, corrects=renewed)
            write(session, book, loan, "defaulted", 60 * WAN)
    session.commit()
    columns = (Loan.id, *LOAN_FIGURES, Loan.days_to_grant, Loan.offers_ip_pledge, Loan.offers_receivables)
    kept = session.execute(select(*columns).order_by(Loan.id)).all()
    assert [row.days_to_grant for row in kept] == [0, 3, 6]
    session.close()

    migrate.downgrade(url, "0008")
    migrate.upgrade(url)
    assert session.execute(select(*columns).order_by(Loan.id)).all() == kept
    assert loan_figure_discrepancies(session) == []
