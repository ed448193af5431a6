"""A bank's decisions on the proposals made to it, and the expiry of unanswered ones.

Each decision runs under the need's write lock (every proposal of a need is decided one at a time), checks
the proposal's status there, then writes: the proposal's new status, a ``ProposalDecision`` row saying who,
when and why, and the need's status derived from its proposals (``_settle_need``):

- a proposal accepted → the need is ``accepted``; else one pending → ``matched``; else one granted (a partial
  grant) → ``granted``; else ``open`` again, so the next round can route it to another bank;
- a grant that covers the rest of the need (the need's amount less earlier grants on it) closes the need as
  ``granted`` and withdraws its other pending and accepted proposals.

Grants stay within the product's published ranges: amount in [amount_min, amount_max] and at most what is
left of the need, rate in [rate_min, rate_max] (the product's range, not the narrower guide shown to the
SME), term in [term_min_months, term_max_months]. The quota is charged with ``ledger.charge_quota`` (a
conditional UPDATE) in the same transaction as the loan and its ``granted`` event.

Every change of a proposal's status is also an audit log entry (``accounts.audit``) in the same
transaction: ``decided`` for the bank's accept, reject and grant, ``status_changed`` for the withdrawals a
full grant causes (by the granting officer) and for expiry (by the system: the expiring command).

Every function flushes and never commits; on DecisionError nothing has been written (the lock is a no-op
UPDATE), so the caller may roll back or not.
"""

import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from accounts.audit import Actor, record_change
from accounts.models import Account
from db.base import utcnow
from enterprises.locking import lock_enterprises
from enterprises.models import Enterprise, FinancingNeed
from matchmaker.classification_copies import classification_of
from matchmaker.ledger import LedgerError, charge_quota, grant_figures, record_grant
from matchmaker.models import Loan, Proposal, ProposalDecision, seconds_to_answer
from matchmaker.need_figures import add_to_need, lock_need
from matchmaker.previous_loans import link_loans
from products.models import LoanProduct
from reference.china_time import CHINA, china_today
from reference.codes import LOAN_KINDS, NEED_STATUSES, PROPOSAL_STATUSES, REJECT_REASONS, codes, label

CLOSED_NEED_STATUSES = ("granted", "withdrawn", "expired")
EXPIRY_DAYS = 10
BANK_DECISIONS = ("accepted", "rejected", "granted")
# The decisions by which a bank takes a proposal up.
TAKEN_UP = ("accepted", "granted")
EXPIRY_ACTOR = "matchmaker match expire"


class DecisionError(Exception):
    """A refused decision: ``status`` 409 when the proposal, the need or the quota forbids it now, 422 for bad
    input, with ``errors`` naming the fields."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status


def accept(session: Session, proposal: Proposal, actor: Account) -> Proposal:
    """The bank takes the proposal up and will contact the SME."""
    need = _lock_need(session, proposal)
    _require(proposal, ("pending",), "accepted")
    _require_live_need(need)
    _decide(session, proposal, "accepted", actor)
    _settle_need(session, need)
    return proposal


def reject(session: Session, proposal: Proposal, actor: Account, reason: str, note: str = "") -> Proposal:
    """The bank declines, with a reason code from REJECT_REASONS ("other" needs a note). An accepted proposal
    can still be rejected: documents may turn out incomplete, or the SME may withdraw, after the bank took it
    up."""
    if reason not in codes(REJECT_REASONS):
        reasons = ", ".join(codes(REJECT_REASONS))
        raise DecisionError(
            "未知的理由 / unknown reason", {"reason": [f"须为以下之一：{reasons} / must be one of {reasons}"]}
        )
    if reason == "other" and not note.strip():
        raise DecisionError(
            "须填写说明 / a note is required",
            {"note": ["理由为“其他”时请说明原因 / say why when the reason is 'other'"]},
        )
    need = _lock_need(session, proposal)
    _require(proposal, ("pending", "accepted"), "rejected")
    _decide(session, proposal, "rejected", actor, reason, note.strip())
    _settle_need(session, need)
    return proposal


def grant(
    session: Session,
    proposal: Proposal,
    actor: Account,
    amount: int,
    rate: float,
    term_months: int,
    granted_on: date,
    kind: str,
) -> Loan:
    """Grant credit on a pending or accepted proposal: the loan, its ``granted`` event and the product's
    granted total, in one transaction (see the module's docstring for the rules)."""
    product = proposal.product
    _check_terms(product, proposal, amount, rate, term_months, granted_on, kind)
    enterprise = _lock_enterprise(session, proposal.enterprise_id)
    need = _lock_need(session, proposal)
    _require(proposal, ("pending", "accepted"), "granted")
    _require_live_need(need)
    if kind == "first_loan" and not enterprise.first_time_borrower:
        raise DecisionError(
            "不是首贷 / not a first loan",
            {"kind": ["该企业在平台上已有贷款 / the enterprise already has a loan on the platform"]},
        )
    granted_before = session.scalar(select(func.coalesce(func.sum(Loan.amount), 0)).where(Loan.need_id == need.id))
    left = need.amount - int(granted_before or 0)
    if amount > left:
        raise DecisionError(
            "超过融资需求 / more than needed",
            {"amount": [f"该需求最多还剩 {left} 元 / at most {left} yuan of the need is left"]},
        )
    try:
        charge_quota(session, product.id, amount)
    except LedgerError as error:
        raise DecisionError(error.message, error.errors, error.status) from error

    loan = Loan(
        proposal_id=proposal.id,
        need_id=need.id,
        enterprise_id=need.enterprise_id,
        product_id=product.id,
        bank_id=proposal.bank_id,
        amount=amount,
        rate=rate,
        term_months=term_months,
        granted_on=granted_on,
        kind=kind,
        outstanding=amount,
        product_type=proposal.product_type,
        **classification_of(enterprise),
        **grant_figures(need, amount, granted_on),
    )
    session.add(loan)
    session.flush()
    link_loans(session, [loan.enterprise_id])
    record_grant(session, loan, actor)
    add_to_need(session, need.id, loan_count=1, granted_amount=amount)
    _decide(session, proposal, "granted", actor)
    enterprise.first_time_borrower = False
    if amount == left:
        need.status = "granted"
        others = select(Proposal).where(
            Proposal.need_id == need.id, Proposal.status.in_(("pending", "accepted")), Proposal.id != proposal.id
        )
        for other in list(session.scalars(others)):
            _decide(session, other, "withdrawn", actor, note="the need was granted in full")
    _settle_need(session, need)
    return loan


def expire_overdue(session: Session, now: datetime, days: int = EXPIRY_DAYS, actor: Actor = EXPIRY_ACTOR) -> int:
    """Expire the proposals still pending ``days`` after they were made and free their needs (back to
    ``open`` when nothing else is pending or accepted for them). Returns how many expired."""
    cutoff = now - timedelta(days=days)
    overdue = (Proposal.status == "pending", Proposal.created_at <= cutoff)
    need_ids = session.scalars(select(Proposal.need_id).where(*overdue).distinct().order_by(Proposal.need_id))
    expired = 0
    for need_id in list(need_ids):
        need = _lock(session, session.get_one(FinancingNeed, need_id))
        for proposal in list(session.scalars(select(Proposal).where(Proposal.need_id == need_id, *overdue))):
            _decide(session, proposal, "expired", actor)
            expired += 1
        _settle_need(session, need)
    return expired


def answer_discrepancies(session: Session) -> list[tuple[int, str, Any, Any]]:
    """Every proposal whose kept answers (``first_answered_at``, ``response_seconds``, ``taken_up``,
    ``rejection_reason``) differ from its decisions, as (proposal id, column, kept value, value from the
    decisions); empty when they agree."""
    answers = (
        select(
            ProposalDecision.proposal_id,
            func.min(ProposalDecision.decided_at).label("first_answered_at"),
            func.max(case((ProposalDecision.decision.in_(TAKEN_UP), 1), else_=0)).label("taken_up"),
            func.max(ProposalDecision.reason).label("rejection_reason"),
        )
        .where(ProposalDecision.decision.in_(BANK_DECISIONS))
        .group_by(ProposalDecision.proposal_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Proposal.id,
            Proposal.created_at,
            Proposal.first_answered_at,
            Proposal.response_seconds,
            Proposal.taken_up,
            Proposal.rejection_reason,
            answers.c.first_answered_at,
            func.coalesce(answers.c.taken_up, 0),
            answers.c.rejection_reason,
        )
        .outerjoin(answers, answers.c.proposal_id == Proposal.id)
        .order_by(Proposal.id)
    )
    found: list[tuple[int, str, Any, Any]] = []
    for proposal_id, made, first, seconds, taken_up, reason, decided_first, decided_taken_up, decided_reason in rows:
        decided_seconds = seconds_to_answer(made, decided_first)
        if None not in (seconds, decided_seconds) and math.isclose(seconds, decided_seconds, abs_tol=1e-6):
            seconds = decided_seconds  # equal but for the last bit of a double computed another way
        for column, kept, decided in (
            ("first_answered_at", first, decided_first),
            ("response_seconds", seconds, decided_seconds),
            ("taken_up", bool(taken_up), bool(decided_taken_up)),
            ("rejection_reason", reason, decided_reason),
        ):
            if kept != decided:
                found.append((proposal_id, column, kept, decided))
    return found


def _check_terms(
    product: LoanProduct, proposal: Proposal, amount: int, rate: float, term_months: int, granted_on: date, kind: str
) -> None:
    errors: dict[str, list[str]] = {}
    if not product.amount_min <= amount <= product.amount_max:
        low, high = product.amount_min, product.amount_max
        errors["amount"] = [f"须在 {low} 至 {high} 元之间 / must be between {low} and {high} yuan"]
    if not product.rate_min <= rate <= product.rate_max:
        low, high = product.rate_min, product.rate_max
        errors["rate"] = [f"年利率须在 {low}% 至 {high}% 之间 / must be between {low} and {high} percent a year"]
    if not product.term_min_months <= term_months <= product.term_max_months:
        low, high = product.term_min_months, product.term_max_months
        errors["term_months"] = [f"期限须在 {low} 至 {high} 个月之间 / must be between {low} and {high} months"]
    if not proposal.created_at.astimezone(CHINA).date() <= granted_on <= china_today():
        errors["granted_on"] = ["须在推荐日期与今天之间 / must be between the proposal's date and today"]
    if kind not in codes(LOAN_KINDS):
        kinds = ", ".join(codes(LOAN_KINDS))
        errors["kind"] = [f"须为以下之一：{kinds} / must be one of {kinds}"]
    if errors:
        raise DecisionError("授信内容无效 / the grant is not valid", errors)


def _lock_need(session: Session, proposal: Proposal) -> FinancingNeed:
    need = _lock(session, session.get_one(FinancingNeed, proposal.need_id))
    session.refresh(proposal)
    return need


def _lock_enterprise(session: Session, enterprise_id: int) -> Enterprise:
    """Take the enterprise's write lock (first: before its need's, as a change of the enterprise, which then
    updates the copies its needs, loans and proposals keep, takes it before theirs) and reload it: two grants
    to one enterprise run one after the other, so that each sees the other's loan (its first-time borrower
    status, its previous loans: matchmaker.previous_loans)."""
    lock_enterprises(session, [enterprise_id])
    enterprise = session.get_one(Enterprise, enterprise_id)
    session.refresh(enterprise)
    return enterprise


def _lock(session: Session, need: FinancingNeed) -> FinancingNeed:
    """Take the need's write lock for the rest of the transaction and reload it. A no-op UPDATE (it sets
    updated_at to itself, so that nothing changes): a row lock on PostgreSQL and the database write lock on
    SQLite, where SELECT ... FOR UPDATE would lock nothing."""
    lock_need(session, need.id)
    session.refresh(need)
    return need


def _require(proposal: Proposal, allowed: tuple[str, ...], decision: str) -> None:
    if proposal.status not in allowed:
        now, wanted = label(PROPOSAL_STATUSES, proposal.status, "zh"), label(PROPOSAL_STATUSES, decision, "zh")
        raise DecisionError(
            f"推荐状态为“{now}”，不能改为“{wanted}” / a proposal that is {proposal.status} cannot be {decision}",
            {"status": [f"该推荐的状态为“{now}” / the proposal is {proposal.status}"]},
            status=409,
        )


def _require_live_need(need: FinancingNeed) -> None:
    if need.status in CLOSED_NEED_STATUSES:
        status = label(NEED_STATUSES, need.status, "zh")
        raise DecisionError(
            f"融资需求{status} / the need is {need.status}",
            {"need_id": [f"企业的融资需求{status} / the enterprise's need is {need.status}"]},
            status=409,
        )


def _decide(
    session: Session, proposal: Proposal, decision: str, actor: Actor, reason: str | None = None, note: str = ""
) -> None:
    before = {"status": proposal.status}
    decided_at = utcnow()
    proposal.status = decision
    if decision in BANK_DECISIONS:
        proposal.first_answered_at = proposal.first_answered_at or decided_at
        proposal.rejection_reason = reason
        if decision in TAKEN_UP and not proposal.taken_up:
            proposal.taken_up = True
            add_to_need(session, proposal.need_id, taken_up_count=1)
    actor_id = actor.id if isinstance(actor, Account) else None
    session.add(
        ProposalDecision(
            proposal_id=proposal.id,
            decision=decision,
            reason=reason,
            note=note,
            actor_account_id=actor_id,
            decided_at=decided_at,
        )
    )
    after = {"status": decision} | ({"reason": reason} if reason else {})
    ids = {"need_id": proposal.need_id, "product_id": proposal.product_id, "bank_id": proposal.bank_id}
    action = "decided" if decision in BANK_DECISIONS else "status_changed"
    record_change(session, "proposal", proposal.id, action, actor, before, after, ids, note)
    session.flush()


def _settle_need(session: Session, need: FinancingNeed) -> None:
    if need.status in CLOSED_NEED_STATUSES:
        return
    statuses = set(session.scalars(select(Proposal.status).where(Proposal.need_id == need.id)))
    for status, need_status in (("accepted", "accepted"), ("pending", "matched"), ("granted", "granted")):
        if status in statuses:
            need.status = need_status
            break
    else:
        need.status = "open"
    session.flush()
