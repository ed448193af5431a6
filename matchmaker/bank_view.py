"""What a bank sees of the proposals made to its products, for the API and the bank portal alike.

A bank reads only its own proposals (``Proposal.bank_id``): a proposal of another bank is looked up as if it
did not exist. Of the enterprise it sees what a credit officer needs to pick the case up — name, size class,
industry, region, whether it would be a first loan — and the need as posted; never the contact details or
the financial profile, whose evidence reaches the bank only through the proposal's score and explanation."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from enterprises.models import Enterprise, FinancingNeed
from matchmaker.models import Loan, Proposal, ProposalDecision

OPEN_STATUSES = ("pending", "accepted")


def _bank_query(bank_id: int) -> Select[tuple[Proposal, FinancingNeed, Enterprise]]:
    return (
        select(Proposal, FinancingNeed, Enterprise)
        .join(FinancingNeed, FinancingNeed.id == Proposal.need_id)
        .join(Enterprise, Enterprise.id == FinancingNeed.enterprise_id)
        .where(Proposal.bank_id == bank_id)
        .options(selectinload(Proposal.product))
    )


def bank_proposals(
    session: Session, bank_id: int, statuses: list[str] | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """One page of the bank's proposals (oldest waiting first: they expire first), and how many there are."""
    query = _bank_query(bank_id)
    if statuses:
        query = query.where(Proposal.status.in_(statuses))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Proposal.created_at, Proposal.id).limit(per_page).offset((page - 1) * per_page)
    )
    return _views(session, [(proposal, need, enterprise) for proposal, need, enterprise in rows]), total


def own_proposal(session: Session, bank_id: int, proposal_id: int) -> Proposal | None:
    """The bank's proposal with this id, or None (also for another bank's)."""
    return session.scalar(select(Proposal).where(Proposal.id == proposal_id, Proposal.bank_id == bank_id))


def bank_proposal_view(session: Session, proposal: Proposal) -> dict[str, Any]:
    """One proposal as its bank sees it (the caller has checked the bank)."""
    [(row, need, enterprise)] = session.execute(_bank_query(proposal.bank_id).where(Proposal.id == proposal.id))
    [view] = _views(session, [(row, need, enterprise)])
    return view


def _views(session: Session, rows: list[tuple[Proposal, FinancingNeed, Enterprise]]) -> list[dict[str, Any]]:
    ids = [proposal.id for proposal, _, _ in rows]
    loans = {
        proposal_id: loan_id
        for proposal_id, loan_id in session.execute(select(Loan.proposal_id, Loan.id).where(Loan.proposal_id.in_(ids)))
    }
    decisions = latest_decisions(session, ids)
    now = datetime.now(UTC)
    return [
        {
            "id": proposal.id,
            "round_id": proposal.round_id,
            "status": proposal.status,
            "rank": proposal.rank,
            "created_at": proposal.created_at,
            "days_waiting": max((now - proposal.created_at).days, 0),
            "product_id": proposal.product_id,
            "product_name": proposal.product.name,
            "rate_min": proposal.rate_min,
            "rate_max": proposal.rate_max,
            "score": proposal.score,
            "explanation": proposal.explanation,
            "enterprise": {
                "name": enterprise.name,
                "size_class": enterprise.size_class,
                "industry": enterprise.industry,
                "region": enterprise.region,
                "first_time_borrower": enterprise.first_time_borrower,
            },
            "need": {
                "id": need.id,
                "amount": need.amount,
                "term_months": need.term_months,
                "purpose": need.purpose,
                "collateral_offered": need.collateral_offered,
                "needed_by": need.needed_by,
                "status": need.status,
            },
            "decision": decision_view(decisions.get(proposal.id)),
            "loan_id": loans.get(proposal.id),
        }
        for proposal, need, enterprise in rows
    ]


def latest_decisions(session: Session, proposal_ids: list[int]) -> dict[int, ProposalDecision]:
    """Each proposal's latest decision (proposals never decided are absent)."""
    rows = session.scalars(
        select(ProposalDecision)
        .where(ProposalDecision.proposal_id.in_(proposal_ids))
        .order_by(ProposalDecision.proposal_id, ProposalDecision.id)
    )
    return {row.proposal_id: row for row in rows}


def decision_view(decision: ProposalDecision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "decision": decision.decision,
        "reason": decision.reason,
        "note": decision.note,
        "decided_at": decision.decided_at,
    }
