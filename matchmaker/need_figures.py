"""The funnel's figures each financing need keeps (``FinancingNeed.proposal_count``, ``taken_up_count``,
``loan_count``, ``granted_amount``), so that the regulators' funnel reads one row per need instead of joining
the needs to their proposals and loans.

The matchmaker moves them in the transaction of the write that changes them: a round's proposals
(matchmaker.rounds), a bank's decision (matchmaker.decisions) and a ledger event that changes a grant
(matchmaker.ledger). Each move is an SQL increment, so that two transactions never overwrite each other's
counts. :func:`need_figure_discrepancies` checks them against the proposals and the loans."""

from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from enterprises.models import FinancingNeed
from matchmaker.models import Loan, Proposal

FIGURES = ("proposal_count", "taken_up_count", "loan_count", "granted_amount")


def lock_need(session: Session, need_id: int) -> None:
    """Take the need's write lock for the rest of the transaction: a no-op UPDATE (it sets updated_at to
    itself), a row lock on PostgreSQL and the database write lock on SQLite, where SELECT ... FOR UPDATE would
    lock nothing. The order every writer takes locks in: the enterprise (a grant, a round, a change of the
    enterprise), then the need, then its loan, then the product."""
    session.execute(
        update(FinancingNeed)
        .where(FinancingNeed.id == need_id)
        .values(updated_at=FinancingNeed.updated_at)
        .execution_options(synchronize_session=False)
    )


def add_to_need(session: Session, need_id: int, **amounts: int) -> None:
    """Add to the need's figures, e.g. ``add_to_need(session, 7, loan_count=1, granted_amount=500_000)``."""
    session.execute(
        update(FinancingNeed)
        .where(FinancingNeed.id == need_id)
        .values(
            {getattr(FinancingNeed, name): getattr(FinancingNeed, name) + amount for name, amount in amounts.items()}
        )
    )


@dataclass(frozen=True)
class NeedDiscrepancy:
    need_id: int
    figure: str
    kept: int
    actual: int


def need_figure_discrepancies(session: Session) -> list[NeedDiscrepancy]:
    """Every kept figure of a need that differs from its proposals and loans (empty when they agree). The
    proposals' take-up and the loans' granted amounts are themselves checked by
    matchmaker.decisions.answer_discrepancies and matchmaker.ledger.loan_figure_discrepancies."""
    proposals = (
        select(
            Proposal.need_id,
            func.count().label("proposal_count"),
            func.sum(case((Proposal.taken_up, 1), else_=0)).label("taken_up_count"),
        )
        .group_by(Proposal.need_id)
        .subquery()
    )
    loans = (
        select(Loan.need_id, func.count().label("loan_count"), func.sum(Loan.granted_amount).label("granted_amount"))
        .group_by(Loan.need_id)
        .subquery()
    )
    rows = session.execute(
        select(
            FinancingNeed.id,
            *(getattr(FinancingNeed, name) for name in FIGURES),
            func.coalesce(proposals.c.proposal_count, 0),
            func.coalesce(proposals.c.taken_up_count, 0),
            func.coalesce(loans.c.loan_count, 0),
            func.coalesce(loans.c.granted_amount, 0),
        )
        .outerjoin(proposals, proposals.c.need_id == FinancingNeed.id)
        .outerjoin(loans, loans.c.need_id == FinancingNeed.id)
        .order_by(FinancingNeed.id)
    )
    count = len(FIGURES)
    return [
        NeedDiscrepancy(row[0], name, int(row[1 + index]), int(row[1 + count + index]))
        for row in rows
        for index, name in enumerate(FIGURES)
        if int(row[1 + index]) != int(row[1 + count + index])
    ]
