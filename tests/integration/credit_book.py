"""Builders shared by the decision and ledger tests: a bank with a product and an officer, needs, proposals
made directly (no solver), a snapshot of everything the workflow writes, and the clean-up the append-only
ledger needs on SQLite."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.audit import AuditEntry
from accounts.models import Account, Role
from accounts.tokens import create_account
from enterprises.models import Enterprise, FinancingNeed
from matchmaker.classification_copies import classification_of
from matchmaker.models import CreditEvent, Loan, MatchingRound, Proposal, ProposalDecision
from matchmaker.previous_proposals import link_proposals
from products.models import Bank, LoanProduct
from products.schemas import ProductSchema
from products.service import create_product
from tests.conftest import product

WAN = 10_000
# What each loan keeps of its ledger for the statistics (matchmaker.ledger moves them with each event).
LOAN_FIGURES = (
    Loan.granted_amount,
    Loan.rollovers,
    Loan.rollover_amount,
    Loan.defaulted_amount,
    Loan.reported_overdue,
    Loan.reported_defaulted,
)


@dataclass
class Book:
    bank: Bank
    product: LoanProduct
    officer: Account


def make_book(session: Session, code: str = "B1", **product_changes: Any) -> Book:
    bank = Bank(code=code, name=f"{code}银行")
    session.add(bank)
    session.flush()
    officer = create_account(session, f"{code} officer", Role.BANK, bank.id)
    loan_product = create_product(
        session, bank.id, ProductSchema().load(product(f"{code}-P", **product_changes)), actor=officer
    )
    return Book(bank, loan_product, officer)


def need_like(like: FinancingNeed) -> FinancingNeed:
    """Another need of the same enterprise, for the same amount and term (not yet added to a session)."""
    return FinancingNeed(
        enterprise_id=like.enterprise_id,
        amount=like.amount,
        purpose=like.purpose,
        term_months=like.term_months,
        needed_by=like.needed_by,
        collateral_offered=[],
    )


def propose(
    session: Session, need: FinancingNeed, loan_product: LoanProduct, created_at: datetime | None = None
) -> Proposal:
    """A pending proposal of the product for the need, as a round would write it."""
    matching_round = MatchingRound(status="completed", params={}, stats={})
    session.add(matching_round)
    session.flush()
    proposal = Proposal(
        round_id=matching_round.id,
        need_id=need.id,
        enterprise_id=need.enterprise_id,
        need_submitted_at=need.created_at,
        product_id=loan_product.id,
        bank_id=loan_product.bank_id,
        product_type=loan_product.type,
        **classification_of(session.get_one(Enterprise, need.enterprise_id)),
        rank=1,
        weight=1.0,
        rate_min=loan_product.rate_min,
        rate_max=loan_product.rate_max,
        status="pending",
        explanation={},
        **({"created_at": created_at} if created_at else {}),
    )
    session.add(proposal)
    need.status = "matched"
    need.proposal_count += 1
    session.flush()
    link_proposals(session, select(Proposal.enterprise_id).where(Proposal.id == proposal.id))
    session.refresh(proposal)
    return proposal


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a decision or a ledger event may write, read afresh from the database."""
    session.expire_all()
    return {
        "loans": session.execute(select(Loan.id, Loan.outstanding, Loan.status, Loan.term_months, *LOAN_FIGURES)).all(),
        "events": session.scalar(select(func.count()).select_from(CreditEvent)),
        "decisions": session.scalar(select(func.count()).select_from(ProposalDecision)),
        "proposals": session.execute(select(Proposal.id, Proposal.status).order_by(Proposal.id)).all(),
        "needs": session.execute(
            select(FinancingNeed.id, FinancingNeed.status, FinancingNeed.updated_at).order_by(FinancingNeed.id)
        ).all(),
        "granted": session.execute(select(LoanProduct.id, LoanProduct.granted_total).order_by(LoanProduct.id)).all(),
        "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
    }
