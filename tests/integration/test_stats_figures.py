"""The figures proposals and needs keep for the regulators' statistics: each proposal's answers
(first_answered_at, response_seconds, taken_up, rejection_reason) and its need's facts (enterprise_id,
need_submitted_at, also on loans), and each need's funnel figures (proposal_count, taken_up_count, loan_count,
granted_amount). Written with every decision and ledger write, checked by answer_discrepancies and
need_figure_discrepancies, and filled by migrations 0012 and 0015 from the decisions, proposals and loans."""

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import migrate
from enterprises.models import FinancingNeed
from matchmaker.decisions import accept, answer_discrepancies, expire_overdue, grant, reject
from matchmaker.ledger import record_event
from matchmaker.models import CreditEvent, Loan, Proposal, ProposalDecision
from matchmaker.need_figures import NeedDiscrepancy, need_figure_discrepancies
from reference.china_time import CHINA, china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, Book, make_book, propose

ANSWERS = (
    Proposal.id,
    Proposal.first_answered_at,
    Proposal.response_seconds,
    Proposal.taken_up,
    Proposal.rejection_reason,
)
NEED_FIGURES = (
    FinancingNeed.id,
    FinancingNeed.proposal_count,
    FinancingNeed.taken_up_count,
    FinancingNeed.loan_count,
    FinancingNeed.granted_amount,
)


def answered_book(session: Session) -> tuple[Book, list[Proposal]]:
    """Four proposals on three needs: accepted then granted, with a corrected grant; rejected; accepted then
    rejected (on the first need too); expired unanswered."""
    book = make_book(session, quota=1_000 * WAN)
    other = make_book(session, "B2")
    first = enterprise_with_need(session, 0, amount_wan=200)
    granted, dropped = propose(session, first, book.product), propose(session, first, other.product)
    rejected, expired = (propose(session, enterprise_with_need(session, index), book.product) for index in (1, 2))
    accept(session, granted, book.officer)
    loan = grant(
        session, granted, book.officer, 100 * WAN, 4.0, 12, granted.created_at.astimezone(CHINA).date(), "new_loan"
    )
    grant_event = session.scalars(select(CreditEvent).where(CreditEvent.loan_id == loan.id)).one()
    record_event(session, loan, "corrected", -5 * WAN, china_today(), book.officer, "核对", corrects=grant_event)
    reject(session, rejected, book.officer, "credit_history")
    accept(session, dropped, other.officer)
    reject(session, dropped, other.officer, "documents_incomplete")
    expired.created_at -= timedelta(days=30)
    session.flush()
    assert expire_overdue(session, expired.created_at + timedelta(days=20)) == 1
    session.commit()
    return book, [granted, rejected, dropped, expired]


def first_decision(session: Session, proposal: Proposal) -> ProposalDecision:
    return session.scalars(
        select(ProposalDecision).where(ProposalDecision.proposal_id == proposal.id).order_by(ProposalDecision.id)
    ).first()


def test_each_decision_keeps_the_proposals_answers(db_session: Session) -> None:
    _, (granted, rejected, dropped, expired) = answered_book(db_session)
    assert granted.first_answered_at == first_decision(db_session, granted).decided_at  # the acceptance
    assert (granted.taken_up, granted.rejection_reason) == (True, None)
    assert rejected.first_answered_at == first_decision(db_session, rejected).decided_at
    assert (rejected.taken_up, rejected.rejection_reason) == (False, "credit_history")
    assert (dropped.taken_up, dropped.rejection_reason) == (True, "documents_incomplete")  # taken up once
    assert (expired.first_answered_at, expired.taken_up, expired.rejection_reason) == (None, False, None)
    for proposal in (granted, rejected, dropped):
        assert proposal.response_seconds == (proposal.first_answered_at - proposal.created_at).total_seconds() > 0
    assert expired.response_seconds is None
    assert answer_discrepancies(db_session) == []


def test_proposals_and_loans_keep_their_needs_facts(db_session: Session) -> None:
    _, proposals = answered_book(db_session)
    for proposal in proposals:
        need = db_session.get_one(FinancingNeed, proposal.need_id)
        assert (proposal.enterprise_id, proposal.need_submitted_at) == (need.enterprise_id, need.created_at)
    loan = db_session.scalars(select(Loan)).one()
    assert loan.need_submitted_at == db_session.get_one(FinancingNeed, loan.need_id).created_at


def test_each_proposal_decision_and_correction_moves_the_needs_figures(db_session: Session) -> None:
    _, (granted, rejected, _, expired) = answered_book(db_session)
    figures = {row.id: tuple(row)[1:] for row in db_session.execute(select(*NEED_FIGURES))}
    # proposals, taken up, loans, granted amount with the correction
    assert figures[granted.need_id] == (2, 2, 1, 95 * WAN)
    assert figures[rejected.need_id] == (1, 0, 0, 0)
    assert figures[expired.need_id] == (1, 0, 0, 0)
    assert need_figure_discrepancies(db_session) == []


def test_kept_figures_that_disagree_are_reported(db_session: Session) -> None:
    _, (granted, rejected, dropped, expired) = answered_book(db_session)
    db_session.execute(text("UPDATE proposals SET taken_up = :no WHERE id = :id"), {"id": granted.id, "no": False})
    db_session.execute(text("UPDATE proposals SET rejection_reason = 'other' WHERE id = :id"), {"id": rejected.id})
    db_session.execute(text("UPDATE proposals SET first_answered_at = created_at WHERE id = :id"), {"id": expired.id})
    db_session.execute(text("UPDATE proposals SET response_seconds = 1 WHERE id = :id"), {"id": dropped.id})
    db_session.execute(text("UPDATE financing_needs SET granted_amount = 0 WHERE id = :id"), {"id": granted.need_id})
    db_session.commit()
    found = {(proposal_id, column) for proposal_id, column, _, _ in answer_discrepancies(db_session)}
    assert found == {
        (granted.id, "taken_up"),
        (rejected.id, "rejection_reason"),
        (expired.id, "first_answered_at"),
        (dropped.id, "response_seconds"),
    }
    assert need_figure_discrepancies(db_session) == [
        NeedDiscrepancy(granted.need_id, "taken_up_count", 2, 1),  # from the proposals' (tampered) take-up
        NeedDiscrepancy(granted.need_id, "granted_amount", 0, 95 * WAN),
    ]


def test_the_migration_fills_the_figures(migrated_session: tuple[str, Session]) -> None:
    url, session = migrated_session
    answered_book(session)
    facts = (Proposal.enterprise_id, Proposal.need_submitted_at)
    kept = [session.execute(select(*columns).order_by(columns[0])).all() for columns in (ANSWERS + facts, NEED_FIGURES)]
    loans = session.execute(select(Loan.id, Loan.need_submitted_at)).all()
    session.close()

    migrate.downgrade(url, "0011")
    migrate.upgrade(url)
    assert [
        session.execute(select(*columns).order_by(columns[0])).all() for columns in (ANSWERS + facts, NEED_FIGURES)
    ] == kept
    assert session.execute(select(Loan.id, Loan.need_submitted_at)).all() == loans
    assert answer_discrepancies(session) == [] and need_figure_discrepancies(session) == []
