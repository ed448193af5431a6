"""Each loan keeps the grant date of its enterprise's previous loan, so that the regulators' statistics count
distinct enterprises by counting loans, without sorting them (a count of distinct values sorts every row, and
on the whole history that was most of a totals query's time).

"Previous" is in the order of (grant date, id), within a scope: any loan of the enterprise
(``previous_loan_on``), its loans at the same bank (``previous_loan_at_bank_on``), of the same product type
(``previous_loan_of_type_on``, the type the loan was granted under, ``Loan.product_type``) or both
(``previous_loan_at_bank_of_type_on``). A loan granted in a period starting on ``date_from`` is the first of
its enterprise in the period, in its scope, exactly when that date is None or before ``date_from``; so the
enterprises with a loan in the period are as many as such loans (matchmaker.stats). Filters and groupings by
the enterprise's own region, industry or size class need no scope of their own: an enterprise is in one of
them only.

:func:`link_new_loan` fills a new loan's dates, and moves the dates of the enterprise's loan that now follows
it when a grant is dated before an existing one (a bank may date a grant back to the proposal's day), in the
transaction of the grant and under the enterprise's lock. :func:`previous_loan_discrepancies` recomputes
every date with window functions and lists the differences."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, func, select, update
from sqlalchemy.orm import Session

from matchmaker.models import Loan


@dataclass(frozen=True)
class Scope:
    """Which of the enterprise's loans a column looks back over: all, those at the loan's bank, those of
    its product type, or those at its bank of its type."""

    column: str
    bank: bool
    product_type: bool

    def partition(self) -> list[ColumnElement[Any]]:
        return [
            Loan.enterprise_id,
            *([Loan.bank_id] if self.bank else []),
            *([Loan.product_type] if self.product_type else []),
        ]

    def same_as(self, loan: Loan) -> list[ColumnElement[bool]]:
        return [
            Loan.enterprise_id == loan.enterprise_id,
            *([Loan.bank_id == loan.bank_id] if self.bank else []),
            *([Loan.product_type == loan.product_type] if self.product_type else []),
        ]


SCOPES = (
    Scope("previous_loan_on", bank=False, product_type=False),
    Scope("previous_loan_at_bank_on", bank=True, product_type=False),
    Scope("previous_loan_of_type_on", bank=False, product_type=True),
    Scope("previous_loan_at_bank_of_type_on", bank=True, product_type=True),
)


def scope_column(*, bank: bool, product_type: bool) -> ColumnElement[date]:
    """The column of the scope that a filter or grouping by the bank and/or the product type narrows to."""
    scope = next(s for s in SCOPES if (s.bank, s.product_type) == (bank, product_type))
    return getattr(Loan, scope.column)


def link_new_loan(session: Session, loan: Loan) -> None:
    """Fill the previous-loan dates of ``loan``, just flushed and the enterprise's newest by id, and move
    the dates of the loan that follows it in each scope. The caller holds the enterprise's lock, so that two
    grants to one enterprise do not both take themselves for its first."""
    before = and_(Loan.granted_on <= loan.granted_on, Loan.id != loan.id)
    for scope in SCOPES:
        previous = session.scalar(select(func.max(Loan.granted_on)).where(*scope.same_as(loan), before))
        setattr(loan, scope.column, previous)
        following = session.scalar(
            select(Loan.id)
            .where(*scope.same_as(loan), Loan.granted_on > loan.granted_on)
            .order_by(Loan.granted_on, Loan.id)
            .limit(1)
        )
        if following is not None:
            column = getattr(Loan, scope.column)
            session.execute(
                update(Loan)
                .where(Loan.id == following, func.coalesce(column, date.min) < loan.granted_on)
                .values({column: loan.granted_on})
                .execution_options(synchronize_session="fetch")
            )
    session.flush()


@dataclass(frozen=True)
class PreviousLoanDiscrepancy:
    loan_id: int
    column: str
    kept: date | None
    actual: date | None


def previous_loan_discrepancies(session: Session) -> list[PreviousLoanDiscrepancy]:
    """Every kept previous-loan date that differs from the loans (empty when they agree)."""
    order = [Loan.granted_on, Loan.id]
    recomputed = select(
        Loan.id,
        *(
            func.lag(Loan.granted_on, type_=Date).over(partition_by=s.partition(), order_by=order).label(s.column)
            for s in SCOPES
        ),
    ).subquery()
    rows = session.execute(
        select(Loan.id, *(getattr(Loan, s.column) for s in SCOPES), *(recomputed.c[s.column] for s in SCOPES))
        .join(recomputed, recomputed.c.id == Loan.id)
        .order_by(Loan.id)
    )
    found: list[PreviousLoanDiscrepancy] = []
    for loan_id, *dates in rows:
        kept, actual = dates[: len(SCOPES)], dates[len(SCOPES) :]
        found += [
            PreviousLoanDiscrepancy(loan_id, scope.column, k, a)
            for scope, k, a in zip(SCOPES, kept, actual, strict=True)
            if k != a
        ]
    return found
