"""Each loan's copy of its enterprise's classification (matchmaker.loan_classification): written with the
grant, moved in the transaction of any flush that changes the enterprise, checked by
classification_discrepancies, filled by migration 0013."""

from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import migrate
from enterprises.models import Enterprise
from enterprises.service import update_enterprise
from matchmaker.decisions import grant
from matchmaker.loan_classification import ClassificationDiscrepancy, classification_discrepancies
from matchmaker.models import Loan
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, make_book, propose

COPIES = (Loan.enterprise_region, Loan.enterprise_size_class, Loan.enterprise_industry)


def granted(session: Session) -> tuple[Enterprise, Loan]:
    book = make_book(session, quota=1_000 * WAN)
    need = enterprise_with_need(session, 1, amount_wan=100)
    loan = grant(
        session, propose(session, need, book.product), book.officer, 50 * WAN, 4.0, 12, date.today(), "new_loan"
    )
    session.commit()
    return session.get_one(Enterprise, need.enterprise_id), loan


def copies(session: Session, loan: Loan) -> tuple[str, ...]:
    return tuple(session.execute(select(*COPIES).where(Loan.id == loan.id)).one())


def test_a_grant_copies_the_enterprise_and_its_changes_follow(db_session: Session) -> None:
    enterprise, loan = granted(db_session)
    assert copies(db_session, loan) == (enterprise.region, enterprise.size_class, enterprise.industry[0])

    update_enterprise(db_session, enterprise, {"region": "某市高新区", "industry": "F51"})
    assert copies(db_session, loan) == ("某市高新区", enterprise.size_class, "F")  # in the same transaction
    db_session.rollback()
    assert copies(db_session, loan)[0] == "某市城区"  # and undone with it

    enterprise.size_class = "micro"
    db_session.commit()
    assert copies(db_session, loan)[1] == "micro"
    assert classification_discrepancies(db_session) == []


def test_discrepancies_name_the_loan_and_the_copy_that_disagrees(db_session: Session) -> None:
    enterprise, loan = granted(db_session)
    db_session.execute(text("UPDATE loans SET enterprise_region = 'elsewhere' WHERE id = :id"), {"id": loan.id})
    db_session.commit()
    assert classification_discrepancies(db_session) == [
        ClassificationDiscrepancy(loan.id, "enterprise_region", "elsewhere", enterprise.region)
    ]


def test_the_migration_fills_the_copies_from_the_enterprises(migrated_session: tuple[str, Session]) -> None:
    url, session = migrated_session
    _, loan = granted(session)
    before = copies(session, loan)
    session.close()

    migrate.downgrade(url, "0012")
    migrate.upgrade(url)
    assert copies(session, loan) == before
    assert classification_discrepancies(session) == []
