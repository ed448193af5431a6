"""SQL building blocks of the regulators' statistics (matchmaker.stats): business dates and months in China
on SQLite and PostgreSQL, aggregates run for the overall row and per group, medians, and tests on the JSON
code lists. Everything groups in the database; Python only receives one row per group."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Float, Select, Text, cast, func, literal, null, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.ledger import CHINA

KEY = "group_key"
TOTAL = "group_total"
Figures = dict[str, Any]


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# PostgreSQL's default work_mem (4 MB) makes the statistics' sorts and hashes over hundreds of thousands of
# proposals spill to disk (measured: 20 MB external merges for one grouping); 64 MB keeps them in memory.
STATISTICS_WORK_MEM = "64MB"


def tune_for_statistics(session: Session) -> None:
    """Give the rest of the session's transaction the memory the statistics' aggregates need (PostgreSQL;
    SQLite has no such setting). ``SET LOCAL`` ends with the transaction."""
    if is_postgresql(session):
        session.execute(text(f"SET LOCAL work_mem = '{STATISTICS_WORK_MEM}'"))


class Calendar:
    """Dates, months and day counts in China's business calendar (UTC+8) as SQL expressions. Timestamps
    are stored in UTC; dates (grant dates) are already business dates."""

    def __init__(self, session: Session) -> None:
        self.postgresql = is_postgresql(session)

    def china_date(self, stamp: ColumnElement[datetime]) -> ColumnElement[Any]:
        if self.postgresql:
            return cast(func.timezone("Asia/Shanghai", stamp), Date)
        return func.date(stamp, "+8 hours")

    def month_of_date(self, day: ColumnElement[date]) -> ColumnElement[str]:
        if self.postgresql:
            return func.to_char(day, "YYYY-MM")
        return func.strftime("%Y-%m", day)

    def month_start(self, day: ColumnElement[date]) -> ColumnElement[date]:
        """The first day of the month of ``day``."""
        if self.postgresql:
            return cast(func.date_trunc("month", day), Date)
        return func.date(day, "start of month")

    def month_of_stamp(self, stamp: ColumnElement[datetime]) -> ColumnElement[str]:
        if self.postgresql:
            return func.to_char(func.timezone("Asia/Shanghai", stamp), "YYYY-MM")
        return func.strftime("%Y-%m", stamp, "+8 hours")

    def days_from_stamp_to_date(self, stamp: ColumnElement[datetime], day: ColumnElement[date]) -> ColumnElement[Any]:
        """Whole days from the China date of ``stamp`` to ``day``."""
        if self.postgresql:
            return day - self.china_date(stamp)
        return func.julianday(day) - func.julianday(self.china_date(stamp))

    def days_between_stamps(self, start: ColumnElement[datetime], end: ColumnElement[datetime]) -> ColumnElement[Any]:
        """Fractional days from ``start`` to ``end``."""
        if self.postgresql:
            return func.extract("epoch", end - start) / literal(86400.0, Float)
        return func.julianday(end) - func.julianday(start)


def date_period(column: ColumnElement[date], date_from: date | None, date_to: date | None) -> list[Any]:
    conditions: list[Any] = []
    if date_from is not None:
        conditions.append(column >= date_from)
    if date_to is not None:
        conditions.append(column <= date_to)
    return conditions


def stamp_period(column: ColumnElement[datetime], date_from: date | None, date_to: date | None) -> list[Any]:
    """The UTC timestamps whose China date lies in the period, as a range on the column (an index serves it).
    A bound on the calendar's first or last day restricts nothing (and would not convert to UTC)."""
    conditions: list[Any] = []
    if date_from is not None and date_from > date.min:
        conditions.append(column >= datetime.combine(date_from, time(), CHINA))
    if date_to is not None and date_to < date.max:
        conditions.append(column < datetime.combine(date_to + timedelta(days=1), time(), CHINA))
    return conditions


def lists_code(column: ColumnElement[Any], code: str) -> ColumnElement[bool]:
    """The JSON list of codes in ``column`` holds ``code`` (codes are plain identifiers, so the quoted code
    is found in the list's text exactly when it is an element; ``_`` is escaped for LIKE)."""
    pattern = '%"' + code.replace("_", "\\_") + '"%'
    return func.coalesce(cast(column, Text), "[]").like(pattern, escape="\\")


def lists_no_collateral(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """A product's collateral list that takes nothing: empty, null, or ``["none"]`` (which the product
    schema never combines with another kind)."""
    text = func.coalesce(cast(column, Text), "[]")
    return or_(text.not_like('%"%'), lists_code(column, "none"))


def by_group(session: Session, stmt: Select[Any], key: ColumnElement[Any] | None) -> tuple[Figures, dict[str, Figures]]:
    """Run ``stmt`` (aggregate columns, no GROUP BY) for the overall row and, when ``key`` is given, per
    value of ``key``. PostgreSQL does both in one pass (GROUP BY ROLLUP); SQLite, which has no ROLLUP, runs
    the statement twice. The overall figures are {} when the statement found nothing to aggregate."""
    if key is None:
        return _first(session.execute(stmt).mappings().all()), {}
    if is_postgresql(session):
        rows = session.execute(
            stmt.add_columns(key.label(KEY), func.grouping(key).label(TOTAL)).group_by(func.rollup(key))
        ).mappings()
        overall: Figures = {}
        groups: dict[str, Figures] = {}
        for row in rows:
            if row[TOTAL]:
                overall = _figures(row)
            else:
                groups[str(row[KEY])] = _figures(row)
        return overall, groups
    overall = _first(session.execute(stmt).mappings().all())
    grouped = session.execute(stmt.add_columns(key.label(KEY)).group_by(key)).mappings()
    return overall, {str(row[KEY]): _figures(row) for row in grouped}


def by_group_with_median(
    session: Session, stmt: Select[Any], value: ColumnElement[Any], name: str, key: ColumnElement[Any] | None
) -> tuple[Figures, dict[str, Figures]]:
    """:func:`by_group` with one more figure, ``name``: the median of ``value`` over the statement's rows
    (nulls ignored). PostgreSQL adds percentile_cont to the statement (the same single pass); SQLite runs
    :func:`medians` after it."""
    if is_postgresql(session):
        median = func.percentile_cont(0.5).within_group(value)
        overall, groups = by_group(session, stmt.add_columns(median.label(name)), key)
        return {**overall, name: _float(overall.get(name))}, {
            k: {**v, name: _float(v.get(name))} for k, v in groups.items()
        }
    overall, groups = by_group(session, stmt, key)
    median_overall, median_groups = medians(session, value, stmt, key)
    return {**overall, name: median_overall}, {k: {**v, name: median_groups.get(k)} for k, v in groups.items()}


def summed_groups(
    session: Session, stmt: Select[Any], key: ColumnElement[Any] | None
) -> tuple[Figures, dict[str, Figures]]:
    """:func:`by_group` for a statement whose every figure is a sum or a count (averages are the caller's,
    from sums): the overall row is the sum of the groups' rows, so one hashed pass over the groups does,
    where a ROLLUP would aggregate every row twice."""
    if key is None:
        return _first(session.execute(stmt).mappings().all()), {}
    rows = session.execute(stmt.add_columns(key.label(KEY)).group_by(key)).mappings()
    groups = {str(row[KEY]): _figures(row) for row in rows}
    overall: Figures = {}
    for figures in groups.values():
        for name, value in figures.items():
            overall[name] = overall.get(name, 0) + (value or 0)
    return overall, groups


def histogram_medians(
    session: Session, value: ColumnElement[Any], rows: Select[Any], key: ColumnElement[Any] | None
) -> tuple[float | None, dict[str, float]]:
    """The median of ``value`` over the rows that ``rows`` selects (as :func:`medians`), overall and per
    ``key``, for a value with few distinct values (loan rates: a few hundred): read from the number of rows
    with each value in each group, which the database hashes in one pass, instead of sorting every row as
    percentile_cont and window functions do. The same figure, exactly."""
    counts = rows.where(value.is_not(None)).with_only_columns(
        value.label("value"), func.count().label("count"), maintain_column_froms=True
    )
    overall: Counter[Any] = Counter()
    groups: dict[str, Counter[Any]] = {}
    if key is None:
        overall.update(dict(session.execute(counts.group_by(value)).all()))
    else:
        for row in session.execute(counts.add_columns(key.label(KEY)).group_by(key, value)).mappings():
            groups.setdefault(str(row[KEY]), Counter())[row["value"]] += row["count"]
            overall[row["value"]] += row["count"]
    return _median_of_counts(overall), {group: _median_of_counts(histogram) for group, histogram in groups.items()}


def _median_of_counts(histogram: Counter[Any]) -> float | None:
    """The median of the values that ``histogram`` counts: the middle value, or the mean of the two middle
    values when their number is even (percentile_cont(0.5)); None when it counts nothing."""
    size = sum(histogram.values())
    middle = ((size - 1) // 2, size // 2)  # 0-based positions of the one or two middle values
    found: list[float] = []
    seen = 0
    for value, count in sorted(histogram.items()):
        found += [float(value) for position in middle if seen <= position < seen + count]
        seen += count
    return sum(found) / len(found) if found else None


def medians(
    session: Session, value: ColumnElement[Any], rows: Select[Any], key: ColumnElement[Any] | None
) -> tuple[float | None, dict[str, float]]:
    """The median of ``value`` over the rows that ``rows`` selects (its FROM and WHERE; its columns are
    ignored), overall and per ``key``: percentile_cont on PostgreSQL, the middle rows by window functions on
    SQLite (which has no percentile aggregate)."""
    rows = rows.where(value.is_not(None))
    if is_postgresql(session):
        stmt = rows.with_only_columns(
            func.percentile_cont(0.5).within_group(value).label("median"), maintain_column_froms=True
        )
        overall, groups = by_group(session, stmt, key)
        return _float(overall.get("median")), {k: float(v["median"]) for k, v in groups.items()}
    overall_median = _float(_first(session.execute(_middle_rows(rows, value, None)).mappings().all()).get("median"))
    if key is None:
        return overall_median, {}
    grouped = session.execute(_middle_rows(rows, value, key)).mappings()
    return overall_median, {str(row[KEY]): float(row["median"]) for row in grouped}


def _middle_rows(rows: Select[Any], value: ColumnElement[Any], key: ColumnElement[Any] | None) -> Select[Any]:
    """The mean of the one or two middle values of each partition: the median."""
    partition = [key] if key is not None else None
    ranked = rows.with_only_columns(
        (key if key is not None else null()).label(KEY),
        value.label("value"),
        func.row_number().over(partition_by=partition, order_by=value).label("position"),
        func.count().over(partition_by=partition).label("size"),
        maintain_column_froms=True,
    ).subquery()
    stmt = select(func.avg(ranked.c.value).label("median")).where(
        ranked.c.position >= (ranked.c.size + 1) // 2, ranked.c.position <= (ranked.c.size + 2) // 2
    )
    return stmt.add_columns(ranked.c[KEY]).group_by(ranked.c[KEY]) if key is not None else stmt


def _first(rows: Any) -> Figures:
    return _figures(rows[0]) if rows else {}


def _figures(row: Any) -> Figures:
    return {name: value for name, value in row.items() if name not in (KEY, TOTAL)}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
