"""A bank's decisions on proposals: accept, reject, grant (with the quota held by the database), expiry."""

import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from accounts.models import Account
from db.base import utcnow
from db.tallies import TALLIES, summed
from enterprises.models import Enterprise, FinancingNeed
from enterprises.service import withdraw_need
from matchmaker.decisions import DecisionError, accept, expire_overdue, grant, reject
from matchmaker.ledger import product_granted_total_from_ledger, reconcile
from matchmaker.models import CreditEvent, Loan, Proposal, ProposalDecision
from products.models import LoanProduct
from reference.china_time import CHINA, china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, Book, make_book, propose, snapshot


@pytest.fixture
def book(db_session: Session) -> Book:
    made = make_book(db_session)
    db_session.commit()
    return made


def terms(**changes: Any) -> dict[str, Any]:
    return {
        "amount": 100 * WAN,
        "rate": 4.2,
        "term_months": 12,
        "granted_on": china_today(),
        "kind": "first_loan",
    } | changes


def refused(session: Session, call: Any, status: int, field: str | None = None) -> DecisionError:
    """Call, expect a DecisionError, commit anyway and check that nothing was written."""
    before = snapshot(session)
    with pytest.raises(DecisionError) as caught:
        call()
    session.commit()
    assert caught.value.status == status
    if field:
        assert field in caught.value.errors
    assert snapshot(session) == before
    return caught.value


def test_accept_marks_the_proposal_and_the_need_and_only_once(db_session: Session, book: Book) -> None:
    need = enterprise_with_need(db_session, 1)
    proposal = propose(db_session, need, book.product)
    accept(db_session, proposal, book.officer)
    db_session.commit()
    assert proposal.status == "accepted" and need.status == "accepted"
    decision = db_session.scalars(select(ProposalDecision)).one()
    assert (decision.decision, decision.actor_account_id, decision.reason) == ("accepted", book.officer.id, None)
    refused(db_session, lambda: accept(db_session, proposal, book.officer), 409, "status")


def test_reject_needs_a_known_reason_and_a_note_for_other(db_session: Session, book: Book) -> None:
    need = enterprise_with_need(db_session, 1)
    proposal = propose(db_session, need, book.product)
    db_session.commit()
    refused(db_session, lambda: reject(db_session, proposal, book.officer, "bad_mood"), 422, "reason")
    refused(db_session, lambda: reject(db_session, proposal, book.officer, "other", "  "), 422, "note")
    reject(db_session, proposal, book.officer, "other", " 行业政策调整 ")
    db_session.commit()
    decision = db_session.scalars(select(ProposalDecision)).one()
    assert (decision.reason, decision.note) == ("other", "行业政策调整")
    assert proposal.status == "rejected" and need.status == "open"  # free for the next round
    refused(db_session, lambda: reject(db_session, proposal, book.officer, "credit_history"), 409, "status")


def test_rejecting_one_of_two_keeps_the_need_matched_and_an_accepted_one_can_be_rejected(
    db_session: Session, book: Book
) -> None:
    other = make_book(db_session, "B2")
    need = enterprise_with_need(db_session, 1)
    first, second = propose(db_session, need, book.product), propose(db_session, need, other.product)
    reject(db_session, first, book.officer, "insufficient_collateral")
    assert need.status == "matched"
    accept(db_session, second, other.officer)
    assert need.status == "accepted"
    reject(db_session, second, other.officer, "documents_incomplete")
    db_session.commit()
    assert need.status == "open" and second.status == "rejected"


def test_a_grant_in_full_writes_loan_event_and_total_and_closes_the_need(db_session: Session, book: Book) -> None:
    other = make_book(db_session, "B2")
    third = make_book(db_session, "B3")
    need = enterprise_with_need(db_session, 1)
    proposal = propose(db_session, need, book.product)
    pending, accepted = propose(db_session, need, other.product), propose(db_session, need, third.product)
    accept(db_session, accepted, third.officer)
    loan = grant(db_session, proposal, book.officer, **terms())
    db_session.commit()

    assert (loan.amount, loan.outstanding, loan.rate, loan.kind, loan.bank_id) == (
        100 * WAN,
        100 * WAN,
        4.2,
        "first_loan",
        book.bank.id,
    )
    event = db_session.scalars(select(CreditEvent)).one()
    assert (event.kind, event.amount, event.balance_before, event.balance_after) == ("granted", 100 * WAN, 0, 100 * WAN)
    assert event.actor_account_id == book.officer.id and event.occurred_on == china_today()
    db_session.expire_all()
    assert db_session.get(LoanProduct, book.product.id).granted_total == 100 * WAN
    assert product_granted_total_from_ledger(db_session, book.product.id) == 100 * WAN
    assert db_session.get(Proposal, proposal.id).status == "granted"
    assert db_session.get(FinancingNeed, need.id).status == "granted"
    assert {db_session.get(Proposal, p.id).status for p in (pending, accepted)} == {"withdrawn"}
    assert db_session.get(Enterprise, need.enterprise_id).first_time_borrower is False
    assert reconcile(db_session) == []
    refused(db_session, lambda: grant(db_session, pending, other.officer, **terms(kind="new_loan")), 409, "status")


def test_a_partial_grant_keeps_other_proposals_and_the_rest_can_be_granted(db_session: Session, book: Book) -> None:
    other = make_book(db_session, "B2")
    need = enterprise_with_need(db_session, 1)
    first, second = propose(db_session, need, book.product), propose(db_session, need, other.product)
    grant(db_session, first, book.officer, **terms(amount=60 * WAN))
    db_session.commit()
    assert need.status == "matched" and second.status == "pending"
    refused(
        db_session, lambda: grant(db_session, second, other.officer, **terms(amount=50 * WAN, kind="new_loan")), 422
    )
    grant(db_session, second, other.officer, **terms(amount=40 * WAN, kind="new_loan"))
    db_session.commit()
    assert need.status == "granted" and second.status == "granted"


def test_a_partial_grant_alone_settles_the_need_as_granted(db_session: Session, book: Book) -> None:
    need = enterprise_with_need(db_session, 1)
    grant(db_session, propose(db_session, need, book.product), book.officer, **terms(amount=50 * WAN))
    db_session.commit()
    assert need.status == "granted"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 120 * WAN}, "amount"),  # more than the need's 100 万
        ({"amount": 5 * WAN}, "amount"),  # below the product's minimum of 10 万
        ({"rate": 3.4}, "rate"),
        ({"rate": 6.01}, "rate"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": 37}, "term_months"),
        ({"granted_on": china_today() + timedelta(days=2)}, "granted_on"),
        ({"granted_on": china_today() - timedelta(days=30)}, "granted_on"),
        ({"kind": "gift"}, "kind"),
    ],
)
def test_grants_outside_the_rules_are_refused_and_write_nothing(
    db_session: Session, book: Book, changes: dict[str, Any], field: str
) -> None:
    need = enterprise_with_need(db_session, 1)
    proposal = propose(db_session, need, book.product)
    db_session.commit()
    refused(db_session, lambda: grant(db_session, proposal, book.officer, **terms(**changes)), 422, field)


def test_a_grant_is_dated_no_earlier_than_the_proposals_day_in_china(db_session: Session, book: Book) -> None:
    """A proposal made at 07:00 in China was made at 23:00 the day before in UTC: that UTC day is not its day."""
    made = datetime.combine(china_today() - timedelta(days=3), time(23, 0), UTC)
    need = enterprise_with_need(db_session, 1)
    need.created_at = made - timedelta(hours=1)
    proposal = propose(db_session, need, book.product, created_at=made)
    db_session.commit()
    refused(
        db_session,
        lambda: grant(db_session, proposal, book.officer, **terms(granted_on=made.date())),
        422,
        "granted_on",
    )
    loan = grant(db_session, proposal, book.officer, **terms(granted_on=made.date() + timedelta(days=1)))
    assert loan.granted_on == made.astimezone(CHINA).date()


def test_above_the_product_maximum_is_refused(db_session: Session) -> None:
    small = make_book(db_session, "S", amount_max=50 * WAN)
    proposal = propose(db_session, enterprise_with_need(db_session, 1), small.product)
    db_session.commit()
    refused(db_session, lambda: grant(db_session, proposal, small.officer, **terms(amount=60 * WAN)), 422, "amount")


def test_a_first_loan_only_for_a_first_time_borrower(db_session: Session, book: Book) -> None:
    need = enterprise_with_need(db_session, 1)
    db_session.get(Enterprise, need.enterprise_id).first_time_borrower = False
    proposal = propose(db_session, need, book.product)
    db_session.commit()
    refused(db_session, lambda: grant(db_session, proposal, book.officer, **terms()), 422, "kind")
    grant(db_session, proposal, book.officer, **terms(kind="renewal"))


def test_no_grant_on_a_withdrawn_need_or_a_rejected_proposal(db_session: Session, book: Book) -> None:
    need, other_need = enterprise_with_need(db_session, 1), enterprise_with_need(db_session, 2)
    proposal, rejected = propose(db_session, need, book.product), propose(db_session, other_need, book.product)
    withdraw_need(db_session, need)
    reject(db_session, rejected, book.officer, "credit_history")
    db_session.commit()
    refused(db_session, lambda: grant(db_session, proposal, book.officer, **terms()), 409, "need_id")
    refused(db_session, lambda: accept(db_session, proposal, book.officer), 409, "need_id")
    refused(db_session, lambda: grant(db_session, rejected, book.officer, **terms()), 409, "status")


def test_the_quota_refuses_a_grant_beyond_it_with_409(db_session: Session) -> None:
    tight = make_book(db_session, "T", quota=150 * WAN, amount_max=100 * WAN)
    first = propose(db_session, enterprise_with_need(db_session, 1), tight.product)
    second = propose(db_session, enterprise_with_need(db_session, 2), tight.product)
    grant(db_session, first, tight.officer, **terms())
    db_session.commit()
    error = refused(db_session, lambda: grant(db_session, second, tight.officer, **terms()), 409, "amount")
    assert error.message == "额度不足 / quota exhausted"
    grant(db_session, second, tight.officer, **terms(amount=50 * WAN))
    db_session.commit()
    assert db_session.get(LoanProduct, tight.product.id).granted_total == 150 * WAN


def test_the_check_constraint_stands_behind_the_quota(db_session: Session, book: Book) -> None:
    with pytest.raises(IntegrityError):
        db_session.execute(
            text("UPDATE loan_products SET granted_total = quota + 1 WHERE id = :id"), {"id": book.product.id}
        )
    db_session.rollback()


def test_expiry_frees_needs_and_touches_nothing_else(db_session: Session, book: Book) -> None:
    other = make_book(db_session, "B2")
    old = utcnow() - timedelta(days=11)
    alone, shared, answered = (enterprise_with_need(db_session, i) for i in range(3))
    expiring = propose(db_session, alone, book.product, created_at=old)
    expiring_shared = propose(db_session, shared, book.product, created_at=old)
    recent = propose(db_session, shared, other.product)
    accepted = propose(db_session, answered, book.product, created_at=old)
    accept(db_session, accepted, book.officer)
    db_session.commit()

    assert expire_overdue(db_session, utcnow(), days=12) == 0
    assert expire_overdue(db_session, utcnow()) == 2
    db_session.commit()
    assert (expiring.status, expiring_shared.status, recent.status, accepted.status) == (
        "expired",
        "expired",
        "pending",
        "accepted",
    )
    assert (alone.status, shared.status, answered.status) == ("open", "matched", "accepted")
    expired = db_session.scalars(select(ProposalDecision).where(ProposalDecision.decision == "expired")).all()
    assert {d.proposal_id for d in expired} == {expiring.id, expiring_shared.id}
    assert all(d.actor_account_id is None for d in expired)
    assert expire_overdue(db_session, utcnow()) == 0


def test_concurrent_grants_never_pass_the_quota(app: Flask, db_session: Session) -> None:
    """20 threads, one session each, grant 100 万 on 20 proposals of one product whose quota takes 7."""
    tight = make_book(db_session, "C", quota=700 * WAN, review_capacity=20)
    proposals = [propose(db_session, enterprise_with_need(db_session, i), tight.product).id for i in range(20)]
    db_session.commit()
    factory = app.extensions["session_factory"]
    start = threading.Barrier(len(proposals))
    outcomes: list[Any] = []

    def attempt(proposal_id: int) -> None:
        with factory() as session:
            proposal = session.get_one(Proposal, proposal_id)
            officer = session.get_one(Account, tight.officer.id)
            session.commit()  # back to the pool: 20 threads share at most 15 connections
            start.wait(timeout=60)
            try:
                grant(session, proposal, officer, **terms())
                session.commit()
                outcomes.append("granted")
            except DecisionError as error:
                session.rollback()
                outcomes.append(error.status)
            except OperationalError as error:  # "database is locked" would land here
                session.rollback()
                outcomes.append(str(error.orig))

    threads = [threading.Thread(target=attempt, args=(pid,)) for pid in proposals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(map(str, outcomes)) == ["409"] * 13 + ["granted"] * 7
    db_session.expire_all()
    assert db_session.get(LoanProduct, tight.product.id).granted_total == 700 * WAN
    assert product_granted_total_from_ledger(db_session, tight.product.id) == 700 * WAN
    assert len(db_session.scalars(select(Loan)).all()) == 7
    assert reconcile(db_session) == []


def test_the_expire_command_expires_unanswered_proposals(app: Flask, db_session: Session, book: Book) -> None:
    need = enterprise_with_need(db_session, 77)
    proposal = propose(db_session, need, book.product, created_at=utcnow() - timedelta(days=11))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["match", "expire", "--days", "10"])
    assert result.exit_code == 0, result.output
    assert "1 proposal(s) expired" in result.output
    for tally in TALLIES:  # compacted after the expiry: one row per key
        keys = db_session.execute(text(summed(tally))).all()
        assert db_session.scalar(text(f"SELECT count(*) FROM {tally.table}")) == len(keys), tally.table
    db_session.expire_all()
    assert db_session.get(Proposal, proposal.id).status == "expired"
    assert db_session.get(FinancingNeed, need.id).status == "open"
