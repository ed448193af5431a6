"""The copies of an enterprise's classification that its loans and proposals keep for the statistics
(matchmaker.classification_copies) and its needs keep (enterprises.need_copies): written with the grant, the
proposal and the need, moved in the transaction of any flush that changes the enterprise, checked by
classification_discrepancies and need_copy_discrepancies, filled by migrations 0013 and 0014."""

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import migrate
from db.kept_columns import Discrepancy
from enterprises.models import Enterprise, FinancingNeed
from enterprises.need_copies import need_copy_discrepancies
from enterprises.service import update_enterprise
from matchmaker.classification_copies import classification_discrepancies
from matchmaker.decisions import grant
from matchmaker.models import Loan, Proposal
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, make_book, need_like, propose

TABLES = (Loan, Proposal, FinancingNeed)


def granted(session: Session) -> tuple[Enterprise, Loan]:
    book = make_book(session, quota=1_000 * WAN)
    need = enterprise_with_need(session, 1, amount_wan=100)
    loan = grant(
        session, propose(session, need, book.product), book.officer, 50 * WAN, 4.0, 12, china_today(), "new_loan"
    )
    session.commit()
    return session.get_one(Enterprise, need.enterprise_id), loan


def copies(session: Session, loan: Loan) -> set[tuple[str | None, ...]]:
    """The copies of the loan, its proposal and its need (one tuple when they agree)."""
    ids = {Loan: loan.id, Proposal: loan.proposal_id, FinancingNeed: loan.need_id}
    return {
        tuple(
            session.execute(
                select(model.enterprise_region, model.enterprise_size_class, model.enterprise_industry).where(
                    model.id == ids[model]
                )
            ).one()
        )
        for model in TABLES
    }


def test_the_copies_are_written_with_the_rows_and_follow_the_enterprise(db_session: Session) -> None:
    enterprise, loan = granted(db_session)
    assert copies(db_session, loan) == {(enterprise.region, enterprise.size_class, enterprise.industry[0])}

    update_enterprise(db_session, enterprise, {"region": "某市高新区", "industry": "F51"})
    assert copies(db_session, loan) == {("某市高新区", enterprise.size_class, "F")}  # in the same transaction
    db_session.rollback()
    assert copies(db_session, loan) == {("某市城区", enterprise.size_class, "C")}  # and undone with it

    enterprise.size_class = "micro"
    db_session.commit()
    assert copies(db_session, loan) == {("某市城区", "micro", "C")}
    assert classification_discrepancies(db_session) == []
    assert need_copy_discrepancies(db_session) == []


def test_discrepancies_name_the_row_and_the_copy_that_disagrees(db_session: Session) -> None:
    enterprise, loan = granted(db_session)
    db_session.execute(text("UPDATE loans SET enterprise_region = 'elsewhere' WHERE id = :id"), {"id": loan.id})
    db_session.execute(text("UPDATE proposals SET enterprise_industry = 'Z' WHERE id = :id"), {"id": loan.proposal_id})
    db_session.commit()
    assert classification_discrepancies(db_session) == [
        Discrepancy("loans", loan.id, "enterprise_region", "elsewhere", enterprise.region),
        Discrepancy("proposals", loan.proposal_id, "enterprise_industry", "Z", "C"),
    ]


def test_the_migrations_fill_the_copies_from_the_enterprises(migrated_session: tuple[str, Session]) -> None:
    url, session = migrated_session
    _, loan = granted(session)
    before = copies(session, loan)
    session.close()

    migrate.downgrade(url, "0012")
    migrate.upgrade(url)
    assert copies(session, loan) == before
    assert classification_discrepancies(session) == []
    assert need_copy_discrepancies(session) == []


def test_a_change_of_the_enterprise_leaves_its_needs_updated_at(db_session: Session) -> None:
    enterprise, loan = granted(db_session)
    need = db_session.get_one(FinancingNeed, loan.need_id)
    before = need.updated_at
    enterprise.region = "某市高新区"
    db_session.commit()
    db_session.refresh(need)
    assert (need.enterprise_region, need.updated_at) == ("某市高新区", before)


def test_two_needs_submitted_at_once_see_each_other(app: Flask, db_session: Session) -> None:
    """The second need's flush waits for the first's transaction (the enterprise's lock), so that it is not
    taken for the enterprise's first need as well (the funnel would count the enterprise twice)."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks: SQLite lets one writer in at a time")
    first = enterprise_with_need(db_session, 1, amount_wan=100)
    db_session.commit()
    factory = app.extensions["session_factory"]
    flushed = threading.Event()

    def submit(wait_before_commit: float) -> None:
        with factory() as own:
            own.add(need_like(first))
            own.flush()
            flushed.set()
            time.sleep(wait_before_commit)
            own.commit()

    slow = threading.Thread(target=submit, args=(0.5,))
    slow.start()
    assert flushed.wait(5)
    submit(0)  # flushes while the slow one holds the enterprise, and waits for it
    slow.join(5)
    previous = db_session.scalars(
        select(FinancingNeed.previous_need_submitted)
        .where(FinancingNeed.enterprise_id == first.enterprise_id)
        .order_by(FinancingNeed.created_at, FinancingNeed.id)
    ).all()
    assert previous[0] is None and None not in previous[1:]
    assert need_copy_discrepancies(db_session) == []
