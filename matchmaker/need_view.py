"""What an SME sees of its needs: the proposals made for them and, for an open need that no product accepts,
what would make it eligible."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from enterprises.models import FinancingNeed
from matchmaker.credit_scores import ScoringUnavailable, current_score
from matchmaker.eligibility import Applicant, ProductTerms, check, suggestions
from matchmaker.models import Loan, Proposal, ProposalDecision
from products.models import LoanProduct
from reference.china_time import china_today
from reference.codes import REJECT_REASONS

NEXT_STEP = {
    "pending": (
        "银行正在审阅，将在约定时限内答复。",
        "The bank is reviewing it and will answer within the time limit.",
    ),
    "accepted": ("银行已受理，客户经理将联系您办理。", "The bank has taken it up; a loan officer will contact you."),
    "rejected": ("银行未予受理，原因见上。", "The bank declined; the reason is shown above."),
    "granted": ("已获授信。", "Credit has been granted."),
    "expired": (
        "银行未在时限内答复，下一轮匹配可推荐给其他银行。",
        "The bank did not answer in time; the next round can propose your need to another bank.",
    ),
    "withdrawn": ("推荐已撤回。", "The proposal was withdrawn."),
}


def proposals_by_need(session: Session, need_ids: list[int]) -> dict[int, list[Proposal]]:
    """Every proposal of these needs (with product and bank loaded), best rank first."""
    rows = session.scalars(
        select(Proposal)
        .where(Proposal.need_id.in_(need_ids))
        .options(selectinload(Proposal.product).selectinload(LoanProduct.bank))
        .order_by(Proposal.need_id, Proposal.round_id.desc(), Proposal.rank)
    )
    grouped: dict[int, list[Proposal]] = {need_id: [] for need_id in need_ids}
    for row in rows:
        grouped[row.need_id].append(row)
    return grouped


def proposal_view(proposal: Proposal) -> dict[str, Any]:
    """A proposal as its enterprise sees it, with the bank's decision (a rejection's reason in plain words)
    and, once granted, the credit as granted (which may be less than the need)."""
    zh, en = NEXT_STEP[proposal.status]
    return {
        "id": proposal.id,
        "round_id": proposal.round_id,
        "need_id": proposal.need_id,
        "product_id": proposal.product_id,
        "product_name": proposal.product.name,
        "product_type": proposal.product.type,
        "bank_id": proposal.bank_id,
        "bank_name": proposal.product.bank.name,
        "rank": proposal.rank,
        "weight": proposal.weight,
        "status": proposal.status,
        "rate_min": proposal.rate_min,
        "rate_max": proposal.rate_max,
        "explanation": proposal.explanation,
        "score": proposal.score,
        "next_step": {"zh": zh, "en": en},
        "created_at": proposal.created_at,
        **_outcome(proposal),
    }


def _outcome(proposal: Proposal) -> dict[str, Any]:
    """The latest decision on the proposal and its loan, read through the proposal's own session (the SME
    sees a few proposals per need, so two small queries each are cheap and keep every caller unchanged)."""
    session = object_session(proposal)
    if session is None or proposal.status == "pending":
        return {"decision": None, "loan": None}
    decision = session.scalar(
        select(ProposalDecision)
        .where(ProposalDecision.proposal_id == proposal.id)
        .order_by(ProposalDecision.id.desc())
        .limit(1)
    )
    loan = session.scalar(select(Loan).where(Loan.proposal_id == proposal.id))
    return {
        "decision": _decision(decision) if decision else None,
        "loan": {
            "amount": loan.amount,
            "rate": loan.rate,
            "term_months": loan.term_months,
            "granted_on": loan.granted_on,
            "kind": loan.kind,
        }
        if loan
        else None,
    }


def _decision(decision: ProposalDecision) -> dict[str, Any]:
    reason = next((row for row in REJECT_REASONS if row.code == decision.reason), None)
    return {
        "decision": decision.decision,
        "decided_at": decision.decided_at,
        "reason": decision.reason,
        "reason_text": {"zh": reason.zh, "en": reason.en} if reason else None,
        "note": decision.note,
    }


def eligibility_advice(session: Session, need: FinancingNeed, on: date | None = None) -> dict[str, Any]:
    """For an open need: how many active products accept it now, and when none does, the products it could
    become eligible for with what would have to change (fewest, smallest changes first)."""
    on = on or china_today()
    enterprise = need.enterprise
    try:
        score = current_score(session, enterprise)
    except ScoringUnavailable:
        score = None
    applicant = Applicant.from_rows(
        enterprise, enterprise.profiles[-1] if enterprise.profiles else None, need, score.pd if score else None
    )
    products = session.scalars(
        select(LoanProduct).where(LoanProduct.status == "active").options(selectinload(LoanProduct.bank))
    ).all()
    terms = [ProductTerms.from_product(product) for product in products]
    eligible = sum(1 for product in terms if check(product, applicant, on).passed)
    advice: list[dict[str, Any]] = []
    if eligible == 0:
        names = {product.id: (product.name, product.bank.name) for product in products}
        for suggestion in suggestions(terms, applicant, on, top=3):
            product_name, bank_name = names[suggestion.product_id]
            advice.append({"product_name": product_name, "bank_name": bank_name, **suggestion.as_dict()})
    return {"eligible_products": eligible, "suggestions": advice}
