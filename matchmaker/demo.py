"""The whole synthetic demo: the catalogue (``products.demo``), one account per demo bank, a regulator and an
admin, and the demo enterprises with profiles and needs (``enterprises.demo``). Tokens and the enterprises'
password are fixed so that the README can list them; they are public, so the demo is for local use only."""

import contextlib
import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accounts.models import Account, Role
from accounts.tokens import create_account, issue_token
from db.base import utcnow
from enterprises.demo import load_enterprises
from enterprises.models import Enterprise, FinancingNeed
from matchmaker.decisions import BANK_DECISIONS, DecisionError, accept, expire_overdue, grant, reject
from matchmaker.ledger import LedgerError, record_event
from matchmaker.models import Proposal, ProposalDecision
from matchmaker.previous_proposals import link_proposals
from products.demo import BANKS, load_catalogue
from reference.china_time import CHINA, china_today
from reference.codes import REJECT_REASONS, codes

WAN = 10_000  # yuan
# The demo's answered needs were submitted over the last six months.
HISTORY_DAYS = 180

REGULATOR_TOKEN = "mm_demo_regulator"
ADMIN_TOKEN = "mm_demo_admin"


def bank_token(bank_code: str) -> str:
    """mm_demo_abc, mm_demo_ccb, ...: the first 10 characters (what `revoke-token` accepts as a prefix)
    differ between all demo tokens."""
    return f"mm_demo_{bank_code.lower()}"


def load_demo(session: Session, seed: int) -> list[tuple[Account, str]]:
    """Write the demo in the caller's transaction; returns each demo account with its token.
    Raises products.demo.DemoAlreadyLoaded, before writing anything, when the demo's banks exist."""
    pairs: list[tuple[Account, str]] = []
    for demo_bank, bank in zip(BANKS, load_catalogue(session, seed), strict=True):
        account = create_account(session, f"{demo_bank.short}产品经理（演示）", Role.BANK, bank_id=bank.id)
        pairs.append((account, issue_token(session, account, token=bank_token(bank.code))))
    for name, role, token in (
        ("某市地方金融监督管理局（演示）", Role.REGULATOR, REGULATOR_TOKEN),
        ("平台运营管理员（演示）", Role.ADMIN, ADMIN_TOKEN),
    ):
        account = create_account(session, name, role)
        pairs.append((account, issue_token(session, account, token=token)))
    load_enterprises(session, seed)
    return pairs


def play_bank_decisions(session: Session, seed: int) -> Counter[str]:
    """The demo banks' first answers to the demo round's first-ranked proposals, so that the SME pages, the
    bank portal and the regulators' dashboard have decisions, loans and ledger events to show. About 45%
    are granted (in full, or 50–90% of the need rounded to 10,000 yuan, at a rate in the proposal's range),
    20% accepted, 15% declined with a coded reason, the rest left pending; each loan is disbursed, and some
    are partly repaid or reported overdue. Decisions go through ``matchmaker.decisions`` and the ledger like a
    real officer's, so every quota and ledger rule holds. Returns the count of each outcome.

    The answered needs are played as history: each was submitted on a day of the last HISTORY_DAYS, proposed a
    day or two later and answered within days, so that the dashboard's months and quarters have figures (see
    :func:`_played_back`). The proposals left unanswered for longer than the expiry are then expired, as the
    platform would have done."""
    rng = random.Random(seed)
    officers = {
        account.bank_id: account for account in session.scalars(select(Account).where(Account.role == Role.BANK))
    }
    reasons = [code for code in codes(REJECT_REASONS) if code != "other"]
    outcomes: Counter[str] = Counter()
    now = utcnow()
    first_ranked = select(Proposal).where(Proposal.status == "pending", Proposal.rank == 1).order_by(Proposal.id)
    for proposal in list(session.scalars(first_ranked)):
        officer, draw = officers[proposal.bank_id], rng.random()
        if draw >= 0.80:
            continue  # left pending: made by the demo round today
        with _played_back(session, proposal, now - timedelta(days=rng.uniform(12, HISTORY_DAYS)), rng) as answered:
            try:
                if draw < 0.45:
                    _grant_and_report(session, rng, proposal, officer, answered)
                    outcomes["granted"] += 1
                elif draw < 0.65:
                    accept(session, proposal, officer)
                    outcomes["accepted"] += 1
                else:
                    reject(session, proposal, officer, rng.choice(reasons))
                    outcomes["rejected"] += 1
            except (DecisionError, LedgerError):
                outcomes["refused"] += 1  # e.g. a product's quota already used up by earlier grants
    outcomes["expired"] = expire_overdue(session, now)
    return outcomes


@contextlib.contextmanager
def _played_back(session: Session, proposal: Proposal, submitted: datetime, rng: random.Random) -> Iterator[datetime]:
    """Move the proposal's need back to ``submitted`` and its round's proposals for it to a day or two later,
    yield the moment the bank answers (within a week of the proposal), and date the decisions made meanwhile
    at that moment. Demo history only: a real need, proposal and decision keep the time they were written."""
    need = session.get_one(FinancingNeed, proposal.need_id)
    made = submitted + timedelta(days=rng.uniform(0.5, 2))
    answered = made + timedelta(days=rng.uniform(0.1, 6))
    need.created_at = submitted
    for moved in session.scalars(select(Proposal).where(Proposal.need_id == need.id)):
        moved.created_at, moved.need_submitted_at = made, submitted  # through the ORM: keep_response_seconds
    session.flush()
    link_proposals(session, select(FinancingNeed.enterprise_id).where(FinancingNeed.id == need.id))
    yield answered
    decided = session.execute(
        update(ProposalDecision)
        .where(ProposalDecision.proposal_id == proposal.id, ProposalDecision.decision.in_(BANK_DECISIONS))
        .values(decided_at=answered)
    )
    if decided.rowcount:
        proposal.first_answered_at = answered
    session.flush()


def _grant_and_report(
    session: Session, rng: random.Random, proposal: Proposal, officer: Account, answered: datetime
) -> None:
    product, need = proposal.product, session.get_one(FinancingNeed, proposal.need_id)
    amount = need.amount if rng.random() < 0.6 else int(need.amount * rng.uniform(0.5, 0.9)) // WAN * WAN
    amount = min(max(amount, product.amount_min), product.amount_max, need.amount)
    rate = round(min(max(rng.uniform(proposal.rate_min, proposal.rate_max), product.rate_min), product.rate_max), 2)
    term = min(max(need.term_months, product.term_min_months), product.term_max_months)
    first = session.get_one(Enterprise, need.enterprise_id).first_time_borrower
    granted_on = answered.astimezone(CHINA).date()
    loan = grant(session, proposal, officer, amount, rate, term, granted_on, "first_loan" if first else "new_loan")
    record_event(session, loan, "disbursed", amount, granted_on, officer)
    later = min(china_today(), granted_on + timedelta(days=rng.randint(20, 90)))
    draw = rng.random()
    if draw < 0.3:
        record_event(session, loan, "repaid", amount * rng.randint(1, 3) // 10, later, officer)
    elif draw < 0.4:
        record_event(session, loan, "overdue", amount // 10, later, officer)
