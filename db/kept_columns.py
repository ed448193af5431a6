"""Columns a table keeps for the statistics (copies, and what the statistics count distinct rows by), written
from and checked against the same columns recomputed from the rows they come from (a subquery with ``id``)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session


def write_kept_columns(session: Session, model: Any, recomputed: Any, names: list[str]) -> None:
    """Set the columns ``names`` of the rows of ``model`` that ``recomputed`` covers to its values, in one
    UPDATE on the session's connection (the ORM objects loaded are not refreshed: the callers only write
    columns that nothing in the session reads). Only the rows whose values change are written, so that rows
    locked by another transaction (a need under a decision) are not waited for when nothing changes in
    them; an ``updated_at`` stays as it was (the row's own record did not change)."""
    changes = {name: recomputed.c[name] for name in names}
    if hasattr(model, "updated_at"):
        changes["updated_at"] = model.updated_at
    differs = or_(*(getattr(model, name).is_distinct_from(recomputed.c[name]) for name in names))
    session.connection().execute(update(model).where(model.id == recomputed.c.id, differs).values(changes))


@dataclass(frozen=True)
class Discrepancy:
    """A kept column of a row that differs from its recomputed value."""

    table: str
    row_id: int
    column: str
    kept: Any
    actual: Any


def kept_column_discrepancies(session: Session, model: Any, recomputed: Any, names: list[str]) -> list[Discrepancy]:
    """Every row of ``model`` whose columns ``names`` differ from those of ``recomputed`` (a subquery with
    ``id`` and the same names), in id order. A boolean column compares as a boolean (SQLite answers 0/1)."""
    rows = session.execute(
        select(model.id, *(getattr(model, name) for name in names), *(recomputed.c[name] for name in names))
        .join(recomputed, recomputed.c.id == model.id)
        .order_by(model.id)
    )
    found: list[Discrepancy] = []
    for row_id, *values in rows:
        for name, kept, actual in zip(names, values[: len(names)], values[len(names) :], strict=True):
            if isinstance(kept, bool) and actual is not None:
                actual = bool(actual)
            if kept != actual:
                found.append(Discrepancy(model.__tablename__, row_id, name, kept, actual))
    return found


def derived_column_discrepancies(
    session: Session, model: Any, source: str, names: list[str], derive: Callable[[Any], tuple[Any, ...]]
) -> list[Discrepancy]:
    """Every kept column ``names`` of ``model``'s rows that differs from ``derive`` of the row's column
    ``source`` (a value computed in Python, such as a month: empty when they agree)."""
    found = []
    kept = select(model.id, getattr(model, source), *(getattr(model, name) for name in names)).order_by(model.id)
    for row_id, value, *values in session.execute(kept):
        for name, kept_value, actual in zip(names, values, derive(value), strict=True):
            if kept_value != actual:
                found.append(Discrepancy(model.__tablename__, row_id, name, kept_value, actual))
    return found
