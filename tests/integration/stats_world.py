"""A seeded, randomised credit market for the statistics tests, built through the real workflow (proposals,
decisions, grants, ledger events with corrections), and the ledger read back as plain rows for computing
the expected figures independently in Python."""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Account
from enterprises.models import Enterprise, FinancingNeed
from matchmaker.decisions import BANK_DECISIONS, accept, expire_overdue, grant, reject
from matchmaker.ledger import LedgerError, record_event
from matchmaker.models import CreditEvent, Loan, Proposal, ProposalDecision
from products.models import LoanProduct
from products.schemas import ProductSchema
from products.service import create_product
from reference.china_time import CHINA, china_today
from tests.conftest import make_enterprise, product
from tests.integration.credit_book import WAN, make_book, propose

# (bank code, product code, product changes): several types, collateral lists and fund eligibility.
PRODUCTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("B1", "B1-P", {"type": "credit_loan", "collateral": ["none"], "risk_compensation_eligible": True}),
    ("B1", "B1-IP", {"type": "ip_pledge_loan", "collateral": ["ip_pledge", "real_estate"]}),
    ("B2", "B2-P", {"type": "receivables_pledge_loan", "collateral": ["receivables"]}),
    ("B2", "B2-M", {"type": "mortgage_loan", "collateral": ["real_estate"], "risk_compensation_eligible": True}),
    ("B3", "B3-P", {"type": "e_loan", "collateral": []}),
    ("B3", "B3-G", {"type": "guarantee_loan", "collateral": ["government_guarantee", "receivables", "ip_pledge"]}),
)
REGIONS = ("110105", "110108", "某市城区")
SIZE_CLASSES = ("micro", "small", "medium")
INDUSTRIES = ("C39", "F51", "I65", "A01")
OFFERS = ((), ("ip_pledge",), ("receivables",), ("real_estate",), ("ip_pledge", "receivables"))


@dataclass
class World:
    products: list[LoanProduct]
    officers: dict[int, Account]  # by bank id


def build_world(session: Session, seed: int, enterprises: int = 60) -> World:
    """Banks with products, enterprises with needs submitted over the last months, proposals decided at
    random (granted, accepted, rejected, left pending), and for the loans: grant corrections up and down,
    repayments, overdue and default reports, renewals and corrections of those. Commits."""
    rng = random.Random(seed)
    today = china_today()
    products: list[LoanProduct] = []
    officers: dict[int, Account] = {}
    for bank_code, code, changes in PRODUCTS:
        terms = {"quota": 100_000 * WAN, "amount_max": 400 * WAN, "review_capacity": 100} | changes
        if bank_code not in {p.bank.code for p in products}:
            book = make_book(session, bank_code, **terms)
            officers[book.bank.id] = book.officer
            products.append(book.product)
            continue
        bank_id = next(p.bank_id for p in products if p.bank.code == bank_code)
        body = ProductSchema().load(product(code, **terms))
        products.append(create_product(session, bank_id, body, actor=officers[bank_id]))
    for index in range(enterprises):
        enterprise = make_enterprise(session, f"统计企业{index}有限公司", industry=rng.choice(INDUSTRIES))
        enterprise.region = rng.choice(REGIONS)
        enterprise.size_class = rng.choice(SIZE_CLASSES)
        for _ in range(rng.randint(1, 2)):
            _need_journey(session, rng, enterprise, products, officers, today)
    session.commit()
    return World(products, officers)


def _need_journey(
    session: Session,
    rng: random.Random,
    enterprise: Enterprise,
    products: list[LoanProduct],
    officers: dict[int, Account],
    today: date,
) -> None:
    submitted = datetime.now(UTC) - timedelta(days=rng.randint(20, 250), hours=rng.randint(0, 23))
    need = FinancingNeed(
        enterprise_id=enterprise.id,
        amount=rng.randint(20, 300) * WAN,
        purpose="working_capital",
        term_months=12,
        needed_by=today + timedelta(days=30),
        collateral_offered=list(rng.choice(OFFERS)),
        created_at=submitted,
    )
    session.add(need)
    session.flush()
    if rng.random() < 0.15:
        return  # no product was found for it
    banks_seen: set[int] = set()
    for loan_product in rng.sample(products, rng.randint(1, 3)):
        if loan_product.bank_id in banks_seen:
            continue
        banks_seen.add(loan_product.bank_id)
        proposed = submitted + timedelta(days=rng.randint(0, 5), hours=rng.randint(0, 12))
        proposal = propose(session, need, loan_product, created_at=proposed)
        _decide(session, rng, proposal, loan_product, officers[loan_product.bank_id], enterprise, need, today)


def _decide(
    session: Session,
    rng: random.Random,
    proposal: Proposal,
    loan_product: LoanProduct,
    officer: Account,
    enterprise: Enterprise,
    need: FinancingNeed,
    today: date,
) -> None:
    if need.status in ("granted", "withdrawn"):
        return
    roll = rng.random()
    if roll < 0.15:
        return  # still pending
    if roll < 0.35:
        reject(session, proposal, officer, rng.choice(("credit_history", "insufficient_collateral", "other")), "原因")
        _backdate(session, proposal, rng)
        return
    if roll < 0.5 or rng.random() < 0.5:
        accept(session, proposal, officer)
        _backdate(session, proposal, rng)
        if roll < 0.5:
            return
    granted_before = sum(session.scalars(select(Loan.amount).where(Loan.need_id == need.id)))
    left = need.amount - granted_before
    if left < loan_product.amount_min:
        return
    amount = rng.randint(loan_product.amount_min // WAN, min(left, loan_product.amount_max) // WAN) * WAN
    granted_on = min(today, proposal.created_at.astimezone(CHINA).date() + timedelta(days=rng.randint(0, 20)))
    kind = (
        "first_loan" if enterprise.first_time_borrower and rng.random() < 0.7 else rng.choice(("new_loan", "renewal"))
    )
    rate = round(rng.uniform(loan_product.rate_min, loan_product.rate_max), 2)
    loan = grant(session, proposal, officer, amount, rate, 12, granted_on, kind)
    _backdate(session, proposal, rng)
    _loan_history(session, rng, loan, officer, today)


def _backdate(session: Session, proposal: Proposal, rng: random.Random) -> None:
    """Decisions are written now; move the latest back to a few days after the proposal, as if the bank
    had answered then (ProposalDecision is not append-only)."""
    decision = session.scalars(
        select(ProposalDecision).where(ProposalDecision.proposal_id == proposal.id).order_by(ProposalDecision.id.desc())
    ).first()
    if decision is not None:
        backdate_decision(session, proposal, decision, proposal.created_at + timedelta(days=rng.uniform(0.1, 9.0)))


def backdate_decision(session: Session, proposal: Proposal, decision: ProposalDecision, when: datetime) -> None:
    """Move ``decision`` to ``when`` and the proposal's kept first answer with it (what
    matchmaker.decisions would have written had the bank answered then)."""
    decision.decided_at = when
    session.flush()
    answers = select(func.min(ProposalDecision.decided_at)).where(
        ProposalDecision.proposal_id == proposal.id, ProposalDecision.decision.in_(BANK_DECISIONS)
    )
    proposal.first_answered_at = session.scalar(answers)
    session.flush()


def _loan_history(session: Session, rng: random.Random, loan: Loan, officer: Account, today: date) -> None:
    grant_event = session.scalars(select(CreditEvent).where(CreditEvent.loan_id == loan.id)).one()
    span = (today - loan.granted_on).days

    def on() -> date:
        return loan.granted_on + timedelta(days=rng.randint(0, span))

    def write(kind: str, amount: int, **more: Any) -> CreditEvent | None:
        try:
            return record_event(session, loan, kind, amount, on(), officer, **more)
        except LedgerError:
            return None  # a draw the ledger refuses (e.g. more than the balance): nothing was written

    if rng.random() < 0.3:
        write("corrected", rng.choice((-1, 1)) * rng.randint(1, 5) * WAN, corrects=grant_event)
    if rng.random() < 0.5:
        repaid = write("repaid", rng.randint(1, max(1, loan.outstanding // WAN)) * WAN)
        if repaid is not None and rng.random() < 0.3:
            write("corrected", -WAN, corrects=repaid)
    roll = rng.random()
    if roll < 0.2 and loan.outstanding:
        write("overdue", rng.randint(1, loan.outstanding))
    if roll < 0.15 and loan.outstanding:
        defaulted = write("defaulted", loan.outstanding)
        if defaulted is not None and rng.random() < 0.5:
            write("corrected", -rng.randint(1, defaulted.amount), corrects=defaulted)
    if 0.2 <= roll < 0.4 and loan.outstanding:
        renewed = write("renewed", loan.outstanding, term_months=12)
        if renewed is not None and rng.random() < 0.5:
            write("corrected", -1, corrects=renewed)


@dataclass(frozen=True)
class LedgerRows:
    """The tables as plain rows, for computing statistics in Python without the code under test."""

    loans: list[Any]
    events: list[Any]
    products: dict[int, Any]
    needs: dict[int, Any]
    enterprises: dict[int, Any]
    proposals: list[Any]
    decisions: list[Any]


def read_rows(session: Session) -> LedgerRows:
    session.expire_all()

    def rows(*columns: Any) -> list[Any]:
        return list(session.execute(select(*columns).order_by(columns[0])))

    return LedgerRows(
        loans=rows(
            Loan.id,
            Loan.need_id,
            Loan.enterprise_id,
            Loan.product_id,
            Loan.bank_id,
            Loan.rate,
            Loan.granted_on,
            Loan.kind,
            Loan.status,
        ),
        events=rows(
            CreditEvent.id,
            CreditEvent.loan_id,
            CreditEvent.kind,
            CreditEvent.amount,
            CreditEvent.balance_after,
            CreditEvent.corrects_event_id,
        ),
        products={
            p.id: p
            for p in rows(
                LoanProduct.id,
                LoanProduct.bank_id,
                LoanProduct.type,
                LoanProduct.collateral,
                LoanProduct.risk_compensation_eligible,
            )
        },
        needs={
            n.id: n
            for n in rows(
                FinancingNeed.id,
                FinancingNeed.enterprise_id,
                FinancingNeed.amount,
                FinancingNeed.created_at,
                FinancingNeed.collateral_offered,
            )
        },
        enterprises={
            e.id: e for e in rows(Enterprise.id, Enterprise.industry, Enterprise.region, Enterprise.size_class)
        },
        proposals=rows(Proposal.id, Proposal.need_id, Proposal.product_id, Proposal.bank_id, Proposal.status),
        decisions=rows(ProposalDecision.id, ProposalDecision.proposal_id, ProposalDecision.decision),
    )


@dataclass
class SmallWorld:
    """Six enterprises, one need each, two banks (B1's credit product P, B2's IP-pledge product Q):

    ====  ======  ======  ==========  ===========================================================
    need  amount  region  size, ind.  what happened
    ====  ======  ======  ==========  ===========================================================
    E0    100万   R1      small, C    P accepted (day 1) then granted 60万; Q rejected credit_history (day 1)
    E1    50万    R1      small, C    P granted 50万 directly (day 2), the grant corrected by +5万 later
    E2    80万    R1      small, C    Q left pending and expired
    E3    30万    R2      small, F    no proposal
    E4    40万    R2      micro, F    P pending (made 2 days ago); Q accepted (day 3)
    E5    60万    R2      micro, F    submitted 100 days ago; P rejected documents_incomplete (day 4), Q
                                      rejected other (day 8)
    ====  ======  ======  ==========  ===========================================================

    The other needs were submitted 30 days ago and proposed 20 days ago; "day n" is n days after the proposal.
    """

    banks: dict[str, int]
    enterprises: list[Enterprise]
    loans: list[Loan]


def build_small_world(session: Session, region_two: str = "R2") -> SmallWorld:
    now = datetime.now(UTC)
    p_book = make_book(session, "B1", quota=1_000 * WAN)
    q_book = make_book(session, "B2", type="ip_pledge_loan", collateral=["ip_pledge"], quota=1_000 * WAN)
    p, q = p_book.product, q_book.product
    plan = [
        (100, "R1", "small", "C39"),
        (50, "R1", "small", "C39"),
        (80, "R1", "small", "C39"),
        (30, region_two, "small", "F51"),
        (40, region_two, "micro", "F51"),
        (60, region_two, "micro", "F51"),
    ]
    enterprises, needs = [], []
    for index, (amount, region, size_class, industry) in enumerate(plan):
        enterprise = make_enterprise(session, f"小样本企业{index}有限公司", industry=industry)
        enterprise.region, enterprise.size_class = region, size_class
        submitted = now - timedelta(days=100 if index == 5 else 30)
        need = FinancingNeed(
            enterprise_id=enterprise.id,
            amount=amount * WAN,
            purpose="working_capital",
            term_months=12,
            needed_by=china_today() + timedelta(days=30),
            collateral_offered=["ip_pledge"],
            created_at=submitted,
        )
        session.add(need)
        session.flush()
        enterprises.append(enterprise)
        needs.append(need)
    made = now - timedelta(days=20)
    old = now - timedelta(days=99)

    def answered(proposal: Proposal, days: float) -> None:
        decision = session.scalars(
            select(ProposalDecision)
            .where(ProposalDecision.proposal_id == proposal.id)
            .order_by(ProposalDecision.id.desc())
        ).first()
        assert decision is not None
        backdate_decision(session, proposal, decision, proposal.created_at + timedelta(days=days))

    p0, q0 = propose(session, needs[0], p, made), propose(session, needs[0], q, made)
    accept(session, p0, p_book.officer)
    answered(p0, 1)
    reject(session, q0, q_book.officer, "credit_history")
    answered(q0, 1)
    loans = [grant(session, p0, p_book.officer, 60 * WAN, 4.0, 12, china_today(), "first_loan")]
    p1 = propose(session, needs[1], p, made)
    loans.append(grant(session, p1, p_book.officer, 50 * WAN, 5.0, 12, china_today(), "first_loan"))
    answered(p1, 2)
    first_event = session.scalars(select(CreditEvent).where(CreditEvent.loan_id == loans[1].id)).one()
    record_event(session, loans[1], "corrected", 5 * WAN, china_today(), p_book.officer, corrects=first_event)
    propose(session, needs[2], q, made)
    propose(session, needs[4], p, now - timedelta(days=2))
    q4 = propose(session, needs[4], q, made)
    accept(session, q4, q_book.officer)
    answered(q4, 3)
    p5, q5 = propose(session, needs[5], p, old), propose(session, needs[5], q, old)
    reject(session, p5, p_book.officer, "documents_incomplete")
    answered(p5, 4)
    reject(session, q5, q_book.officer, "other", "企业经营范围不符")
    answered(q5, 8)
    assert expire_overdue(session, now) == 1
    session.commit()
    return SmallWorld({"B1": p_book.bank.id, "B2": q_book.bank.id}, enterprises, loans)
