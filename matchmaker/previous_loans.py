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

:func:`link_loans` writes them for all the loans of an enterprise with window functions, in the
transaction of each grant and under the enterprise's lock (so a grant dated before an existing loan, as a bank
may date one back to the proposal's day, moves that loan's dates too); :func:`previous_loan_discrepancies`
recomputes every column with window functions and lists the differences. Each loan also keeps its grant month
(``granted_month``, ``granted_month_start``: matchmaker.models.keep_grant_month), which
:func:`grant_month_discrepancies` checks."""

from typing import Any

from sqlalchemy import Date, func, select
from sqlalchemy.orm import Session

from db.kept_columns import Discrepancy, derived_column_discrepancies, kept_column_discrepancies, write_kept_columns
from matchmaker.models import Loan, grant_month
from matchmaker.scopes import SCOPES, Scope


def previous_loan(scope: Scope) -> str:
    return scope.name("previous_loan", "_on")


def first_for_need(scope: Scope) -> str:
    return scope.name("first_for_need")


COLUMNS = tuple(name for scope in SCOPES for name in (previous_loan(scope), first_for_need(scope)))


def link_loans(session: Session, enterprises: list[int] | None) -> None:
    """Write the columns of every loan of ``enterprises`` (None: of every enterprise, for a book loaded in
    bulk: bench/stats_data.py). A grant calls it under the enterprise's lock, so that two grants to one
    enterprise do not both take themselves for its first."""
    write_kept_columns(session, Loan, _recomputed(enterprises), list(COLUMNS))


def _recomputed(enterprises: list[int] | None) -> Any:
    """The columns of the loans of ``enterprises`` (None: of all) as the loans say, by window functions (a
    subquery with ``id``)."""
    stmt = select(
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
    )
    if enterprises is not None:
        stmt = stmt.where(Loan.enterprise_id.in_(enterprises))
    return stmt.subquery()


def previous_loan_discrepancies(session: Session) -> list[Discrepancy]:
    """Every kept column that differs from the loans (empty when they agree)."""
    return kept_column_discrepancies(session, Loan, _recomputed(None), list(COLUMNS))


def grant_month_discrepancies(session: Session) -> list[Discrepancy]:
    """Every loan whose kept grant month differs from its grant date's (empty when they agree)."""
    months = ["granted_month", "granted_month_start"]
    return derived_column_discrepancies(session, Loan, "granted_on", months, grant_month)
