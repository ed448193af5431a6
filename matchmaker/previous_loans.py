"""What each loan keeps so that the regulators' statistics count distinct enterprises and needs by counting
loans, without sorting them (a count of distinct values sorts every row, and on the whole history that was
most of a totals query's time).

Per scope (matchmaker.scopes: all the enterprise's loans, those at the loan's bank, of its product type, or
both; the type is the one the loan was proposed under, ``Loan.product_type``):

- ``previous_loan{scope}_on``: the grant date of the enterprise's previous loan in the scope, in the order
  of (grant date, id). A loan granted in a period starting on ``date_from`` is the first of its enterprise
  in the period and the scope exactly when that date is None or before ``date_from``; so the enterprises
  with a loan in the period are as many as such loans. Filters and groupings by the enterprise's region,
  industry or size class need no scope of their own: an enterprise is in one of them only.
- ``first_for_need{scope}``: the loan is the first (by id) of its need in the scope. A need's loans are all
  in the funnel's cohort of the need or none is, so the needs granted are as many as such loans.

:func:`link_new_loan` fills a new loan's columns, and moves the dates of the enterprise's loan that now
follows it when a grant is dated before an existing one (a bank may date a grant back to the proposal's day),
in the transaction of the grant and under the enterprise's lock. :func:`previous_loan_discrepancies`
recomputes every column with window functions and lists the differences."""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, func, select, update
from sqlalchemy.orm import Session

from db.kept_columns import Discrepancy, kept_column_discrepancies, write_kept_columns
from matchmaker.models import Loan
from matchmaker.scopes import SCOPES, Scope


def previous_loan(scope: Scope) -> str:
    return scope.name("previous_loan", "_on")


def first_for_need(scope: Scope) -> str:
    return scope.name("first_for_need")


COLUMNS = tuple(name for scope in SCOPES for name in (previous_loan(scope), first_for_need(scope)))


def _same(scope: Scope, loan: Loan, owner: ColumnElement[Any], value: int) -> list[ColumnElement[bool]]:
    return [a == b for a, b in zip(scope.partition(Loan, owner), scope.partition(loan, value), strict=True)]


def link_new_loan(session: Session, loan: Loan) -> None:
    """Fill the columns of ``loan``, just flushed and the newest loan by id, and move the dates of the loan
    that follows it in each scope. The caller holds the enterprise's lock, so that two grants to one
    enterprise do not both take themselves for its first."""
    for scope in SCOPES:
        of_enterprise = _same(scope, loan, Loan.enterprise_id, loan.enterprise_id)
        before = select(func.max(Loan.granted_on)).where(
            *of_enterprise, Loan.granted_on <= loan.granted_on, Loan.id != loan.id
        )
        setattr(loan, previous_loan(scope), session.scalar(before))
        others_of_need = select(Loan.id).where(*_same(scope, loan, Loan.need_id, loan.need_id), Loan.id != loan.id)
        setattr(loan, first_for_need(scope), session.scalar(others_of_need.limit(1)) is None)
        following = session.scalar(
            select(Loan.id).where(*of_enterprise, Loan.granted_on > loan.granted_on).order_by(Loan.granted_on, Loan.id)
        )
        if following is not None:
            column = getattr(Loan, previous_loan(scope))
            session.execute(
                update(Loan)
                .where(Loan.id == following, func.coalesce(column, date.min) < loan.granted_on)
                .values({column: loan.granted_on})
                .execution_options(synchronize_session="fetch")
            )
    session.flush()


def _recomputed() -> Any:
    """Every loan's columns as the loans say, by window functions (a subquery with ``id``)."""
    return select(
        Loan.id,
        *(
            func.lag(Loan.granted_on, type_=Date)
            .over(partition_by=scope.partition(Loan, Loan.enterprise_id), order_by=[Loan.granted_on, Loan.id])
            .label(previous_loan(scope))
            for scope in SCOPES
        ),
        *(
            (
                func.lag(Loan.id).over(partition_by=scope.partition(Loan, Loan.need_id), order_by=Loan.id).is_(None)
            ).label(first_for_need(scope))
            for scope in SCOPES
        ),
    ).subquery()


def link_all_loans(session: Session) -> None:
    """Write every loan's columns at once (for a book loaded in bulk: bench/stats_data.py)."""
    write_kept_columns(session, Loan, _recomputed(), list(COLUMNS))


def previous_loan_discrepancies(session: Session) -> list[Discrepancy]:
    """Every kept column that differs from the loans (empty when they agree)."""
    return kept_column_discrepancies(session, Loan, _recomputed(), list(COLUMNS))
