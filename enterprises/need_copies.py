"""What each financing need keeps so that the regulators' funnel by need reads the needs alone and counts
distinct enterprises without sorting (matchmaker.stats): a copy of its enterprise's current classification
(``enterprise_region``, ``enterprise_size_class``, ``enterprise_industry``: the GB/T 4754 section letter) and
when the enterprise's previous need was submitted (``previous_need_submitted``, in the order of (submitted,
id)). A need submitted in a period is its enterprise's first there exactly when that time is None or before
the period began.

They are written at the end of every flush that adds a need, moves a need's submission time or changes an
enterprise's classification, for all the needs of the enterprises concerned, with one UPDATE computed by a
window function, in the flush's transaction (the listener below, on every session, so that no writer has to
remember it). :func:`need_copy_discrepancies` recomputes every need's and lists the differences."""

from typing import Any

from sqlalchemy import Select, event, func, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from db.base import UTCDateTime
from db.kept_columns import (
    Discrepancy,
    derived_column_discrepancies,
    kept_column_discrepancies,
    write_kept_columns,
)
from enterprises.locking import lock_enterprises
from enterprises.models import Enterprise, FinancingNeed
from reference.china_time import china_month

CLASSIFYING = ("region", "size_class", "industry")
COLUMNS = ("enterprise_region", "enterprise_size_class", "enterprise_industry", "previous_need_submitted")


def _recomputed(enterprises: Select[Any] | list[int] | None) -> Any:
    """The copies of the needs of ``enterprises`` (ids, or a select of them; None: all), as the enterprises
    and the needs say (a subquery with ``id``)."""
    stmt = select(
        FinancingNeed.id,
        Enterprise.region.label("enterprise_region"),
        Enterprise.size_class.label("enterprise_size_class"),
        func.substr(Enterprise.industry, 1, 1).label("enterprise_industry"),
        func.lag(FinancingNeed.created_at, type_=UTCDateTime())
        .over(partition_by=FinancingNeed.enterprise_id, order_by=[FinancingNeed.created_at, FinancingNeed.id])
        .label("previous_need_submitted"),
    ).join(Enterprise, Enterprise.id == FinancingNeed.enterprise_id)
    if enterprises is not None:
        stmt = stmt.where(FinancingNeed.enterprise_id.in_(enterprises))
    return stmt.subquery()


def link_needs(session: Session, enterprises: Select[Any] | list[int] | None) -> None:
    """Write the copies of every need of ``enterprises`` (None: of every enterprise, for a book loaded in
    bulk)."""
    write_kept_columns(session, FinancingNeed, _recomputed(enterprises), list(COLUMNS))


def _changed(instance: object, names: tuple[str, ...]) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _follow_needs_and_enterprises(session: Session, _flush: UOWTransaction) -> None:
    """After a flush, the session still lists what it added and updated, with the changes."""
    enterprises = {need.enterprise_id for need in session.new if isinstance(need, FinancingNeed)}
    for item in session.dirty:
        if isinstance(item, FinancingNeed) and _changed(item, ("created_at", "enterprise_id")):
            enterprises.add(item.enterprise_id)
        elif isinstance(item, Enterprise) and _changed(item, CLASSIFYING):
            enterprises.add(item.id)
    if enterprises:
        # Two needs of one enterprise submitted at once: the second waits here for the first to commit, so
        # that its window sees the first need (on PostgreSQL; SQLite lets one writer in at a time).
        lock_enterprises(session, sorted(enterprises))
        link_needs(session, sorted(enterprises))


def need_copy_discrepancies(session: Session) -> list[Discrepancy]:
    """Every kept copy that differs from the enterprises and the needs (empty when they agree)."""
    return kept_column_discrepancies(session, FinancingNeed, _recomputed(None), list(COLUMNS))


def submitted_month_discrepancies(session: Session) -> list[Discrepancy]:
    """Every need whose kept month of submission differs from its ``created_at``'s (empty when they agree)."""
    months = ["submitted_month", "submitted_month_start"]
    return derived_column_discrepancies(session, FinancingNeed, "created_at", months, china_month)
