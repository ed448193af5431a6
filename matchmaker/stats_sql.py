"""SQL building blocks of the regulators' statistics (matchmaker.stats): business dates and months in China
on SQLite and PostgreSQL, sums run per group and added up for the overall row, exact medians without sorting
every row, and tests on the JSON code lists. Everything groups in the database; Python receives one row per
group, or per group and value (or bucket) for the medians."""

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Text,
    and_,
    cast,
    false,
    func,
    literal_column,
    not_,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from reference.china_time import CHINA

KEY = "group_key"
Figures = dict[str, Any]


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# PostgreSQL's default work_mem (4 MB) makes the statistics' sorts and hashes over hundreds of thousands of
# proposals spill to disk (measured: 20 MB external merges for one grouping); 64 MB keeps them in memory.
STATISTICS_WORK_MEM = "64MB"


def tune_for_statistics(session: Session) -> None:
    """Give the rest of the session's transaction the memory the statistics' aggregates need, and let the
    planner scan in parallel workers whenever it can (PostgreSQL; SQLite has no such settings). The
    statistics group in hash tables whose size the planner overestimates for expressions (hundreds of
    thousands of groups for the few thousand hourly buckets of the banks' response times), which made it
    judge workers not worth their start: measured, a parallel scan halved such a statement (187 -> 100 ms).
    ``SET LOCAL`` ends with the transaction."""
    session.flush()  # the statistics read on the session's connection (_rows), which does not autoflush
    if is_postgresql(session):
        session.execute(text(f"SET LOCAL work_mem = '{STATISTICS_WORK_MEM}'"))
        session.execute(text("SET LOCAL parallel_setup_cost = 0"))
        session.execute(text("SET LOCAL parallel_tuple_cost = 0"))


def one_process_per_statement(session: Session) -> Session:
    """For a caller that runs several statistics at once, each on a connection of its own (the regulators'
    dashboard): PostgreSQL's parallel workers would compete with the other connections for the same cores
    (measured on two cores: the dashboard took 0.92 s with both, 0.79 s with connections only), so each
    statement of the session's transaction runs in its own server process only. Returns the session."""
    if is_postgresql(session):
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return session


class Calendar:
    """Months in China's business calendar (UTC+8) as SQL expressions. Timestamps are stored in UTC; dates
    (grant dates) are already business dates, and loans keep their grant month. China keeps UTC+8 all year
    (matchmaker.ledger.CHINA), so a China time is the UTC time plus eight hours: on PostgreSQL that is
    cheaper per row than converting through the named zone."""

    def __init__(self, session: Session) -> None:
        self.postgresql = is_postgresql(session)

    def month_of_stamp(self, stamp: ColumnElement[datetime]) -> ColumnElement[int]:
        """The month of ``stamp`` in China as the number yyyymm (:func:`month_key` writes it as "yyyy-mm"):
        arithmetic, where formatting each row's month as text took a third of a grouping by month. Loans keep
        the month of their grant date in this form (``Loan.granted_month``)."""
        if self.postgresql:
            china = self._china_time(stamp)
            return cast(func.date_part("year", china) * 100 + func.date_part("month", china), Integer)
        return cast(func.strftime("%Y%m", stamp, "+8 hours"), Integer)

    @staticmethod
    def _china_time(stamp: ColumnElement[datetime]) -> ColumnElement[datetime]:
        return func.timezone("UTC", stamp) + literal_column("interval '8 hours'")


def date_period(column: ColumnElement[date], date_from: date | None, date_to: date | None) -> list[Any]:
    conditions: list[Any] = []
    if date_from is not None:
        conditions.append(column >= date_from)
    if date_to is not None:
        conditions.append(column <= date_to)
    return conditions


def month_key(month: str) -> str:
    """A month as :meth:`Calendar.month_of_stamp` numbers it ("202603") written as the statistics show it
    ("2026-03")."""
    return f"{month[:4]}-{month[4:]}"


def period_start(date_from: date | None) -> datetime | None:
    """The first instant of ``date_from`` in China; None without a start, or for the calendar's first day
    (which restricts nothing and would not convert to UTC)."""
    if date_from is None or date_from == date.min:
        return None
    return datetime.combine(date_from, time(), CHINA)


def stamp_period(column: ColumnElement[datetime], date_from: date | None, date_to: date | None) -> list[Any]:
    """The UTC timestamps whose China date lies in the period, as a range on the column (an index serves it).
    A bound on the calendar's last day restricts nothing (and would not convert to UTC)."""
    conditions: list[Any] = []
    start = period_start(date_from)
    if start is not None:
        conditions.append(column >= start)
    if date_to is not None and date_to < date.max:
        conditions.append(column < datetime.combine(date_to + timedelta(days=1), time(), CHINA))
    return conditions


def stamp_outside(column: ColumnElement[datetime], date_from: date | None, date_to: date | None) -> ColumnElement[bool]:
    """The UTC timestamps whose China date lies before or after the period (:func:`stamp_period`'s complement),
    as ranges on the column. The period must have a bound that restricts."""
    inside = stamp_period(column, date_from, date_to)
    assert inside, "a period without a bound has nothing outside it"
    return or_(*(not_(condition) for condition in inside))


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


def summed_groups(
    session: Session, stmt: Select[Any], key: ColumnElement[Any] | None
) -> tuple[Figures, dict[str, Figures]]:
    """Run ``stmt`` (sums and counts only: averages are the caller's, from sums) for the overall row and, when
    ``key`` is given, per value of ``key``. The overall row is the sum of the groups' rows, so one hashed pass
    over the rows does, where a ROLLUP would aggregate every row twice. The overall figures are {} when
    grouped rows found nothing."""
    if key is None:
        return _first(_rows(session, stmt).all()), {}
    rows = _rows(session, stmt.add_columns(key.label(KEY)).group_by(key))
    groups = {str(row[KEY]): _figures(row) for row in rows}
    return _added(groups.values()), groups


def summed_two_ways(
    session: Session, stmt: Select[Any], first: ColumnElement[Any] | None, second: ColumnElement[Any]
) -> tuple[tuple[Figures, dict[str, Figures]], tuple[Figures, dict[str, Figures]]]:
    """:func:`summed_groups` per ``first`` (None: the overall row only) and per ``second``, from one hashed
    pass grouped by both, added up each way here: a sum over the rows of a group is the sum of its parts.
    Measured on PostgreSQL over 200,000 loans, grouping by bank and month cost a tenth more than by bank
    alone, where a second pass by month cost as much again (and GROUPING SETS more than both)."""
    keys = [key for key in (first, second) if key is not None]
    rows = _rows(session, stmt.add_columns(*(key.label(f"{KEY}_{n}") for n, key in enumerate(keys))).group_by(*keys))
    by_first: dict[str, list[Figures]] = {}
    by_second: dict[str, list[Figures]] = {}
    for row in rows:
        figures = {name: value for name, value in row.items() if not name.startswith(KEY)}
        if first is not None:
            by_first.setdefault(str(row[f"{KEY}_0"]), []).append(figures)
        by_second.setdefault(str(row[f"{KEY}_{len(keys) - 1}"]), []).append(figures)
    second_groups = {group: _added(parts) for group, parts in by_second.items()}
    overall = _added(second_groups.values())
    return (overall, {group: _added(parts) for group, parts in by_first.items()}), (overall, second_groups)


def summed_in_cohorts(
    session: Session, stmt: Select[Any], key: ColumnElement[Any], cohorts: dict[str, ColumnElement[bool]]
) -> dict[str, tuple[Figures, dict[str, Figures]]]:
    """:func:`summed_groups` per ``key`` for each cohort of rows (a condition over a row), from one hashed pass
    over the rows of any cohort grouped by the key and by whether the row is in each cohort: the rows of two
    cohorts that mostly overlap are read once."""
    counted, flags = _grouped_in_cohorts(stmt, key, cohorts)
    return {
        name: (_added(groups.values()), groups) for name, groups in _cohort_sums(_rows(session, counted), flags).items()
    }


def _grouped_in_cohorts(
    stmt: Select[Any], key: ColumnElement[Any], cohorts: dict[str, ColumnElement[bool]]
) -> tuple[Select[Any], dict[str, Any]]:
    """``stmt`` over the rows of any cohort, grouped by ``key`` and by whether the row is in each cohort, and
    the labelled flag of each cohort."""
    flags = {name: condition.label(f"{KEY}_{name}") for name, condition in cohorts.items()}
    grouped = (
        stmt.where(or_(*cohorts.values()))
        .add_columns(key.label(KEY), *flags.values())
        .group_by(key, *(flag.element for flag in flags.values()))
    )
    return grouped, flags


def _cohort_sums(rows: Any, flags: dict[str, Any]) -> dict[str, dict[str, Figures]]:
    """Per cohort and group, the figures of the rows of :func:`_grouped_in_cohorts` flagged in the cohort."""
    parts: dict[str, dict[str, list[Figures]]] = {name: {} for name in flags}
    for row in rows:
        figures = {name: value for name, value in row.items() if not name.startswith(KEY)}
        for name, flag in flags.items():
            if row[flag.name]:
                parts[name].setdefault(str(row[KEY]), []).append(figures)
    return {name: {group: _added(figures) for group, figures in by_key.items()} for name, by_key in parts.items()}


def whole_and_cohorts(
    session: Session,
    whole: tuple[Select[Any], ColumnElement[Any] | None],
    rows: tuple[Select[Any], ColumnElement[Any] | None],
    cohorts: dict[str, ColumnElement[bool]],
) -> tuple[dict[str, Figures], dict[str, dict[str, Figures]]]:
    """Per group, the sums of ``whole`` (a statement of sums, e.g. over a tally, and its key) and, for each
    cohort of rows (a condition over a row), those of ``rows`` (a statement of sums over rows, and its key):
    what :func:`summed_groups` and :func:`summed_in_cohorts` answer, from one statement whose two parts' rows
    come under UNION ALL, so that both are read in one snapshot of the database (a row written between two
    statements would be in one and not the other). A figure that ``whole`` does not sum is 0 there."""
    whole_statement, whole_key = whole
    statement, key = rows
    assert whole_key is not None and key is not None
    counted, flags = _grouped_in_cohorts(statement, key, cohorts)
    is_whole = f"{KEY}_whole"
    counted = counted.add_columns(false().label(is_whole))
    summed = {column.name: column for column in whole_statement.selected_columns}
    special = {KEY: whole_key.label(KEY), is_whole: true().label(is_whole)}
    special |= {flag.name: null().label(flag.name) for flag in flags.values()}

    def aligned(name: str) -> ColumnElement[Any]:
        return special.get(name, summed.get(name, literal_column("0").label(name)))

    every = whole_statement.with_only_columns(
        *(aligned(column.name) for column in counted.selected_columns), maintain_column_froms=True
    ).group_by(whole_key)
    rows = _rows(session, union_all(every, counted)).all()
    whole_groups = {
        str(row[KEY]): {name: value for name, value in row.items() if not name.startswith(KEY)}
        for row in rows
        if row[is_whole]
    }
    return whole_groups, _cohort_sums((row for row in rows if not row[is_whole]), flags)


def less_outside(
    whole: dict[str, Figures],
    outside: dict[str, Figures],
    missed: dict[str, Figures],
    names: Callable[[str], bool],
    count: str,
) -> tuple[Figures, dict[str, Figures]]:
    """Figures per group over a period, from ``whole`` (over every row, e.g. a tally's) less ``outside`` (the
    rows outside the period) plus ``missed`` (what neither counts but the period does: an enterprise's first
    row in the period that is not its first ever), each per group (a group one of them lacks adds nothing
    there). Only the figures ``names`` accepts. A group whose ``count`` comes to zero has no row in the period
    and is left out; the overall row is the sum of every group's (``missed`` may count at a group left out
    what the overall row counts, such as an enterprise's first row overall)."""
    groups = {}
    for group, figures in whole.items():
        taken, added = outside.get(group, {}), missed.get(group, {})
        groups[group] = {
            name: value - (taken.get(name) or 0) + (added.get(name) or 0)
            for name, value in figures.items()
            if names(name)
        }
    return _added(groups.values()), {group: values for group, values in groups.items() if values[count]}


def _added(parts: Any) -> Figures:
    """The figures of several rows added up ({} for none)."""
    total: Figures = {}
    for figures in parts:
        for name, value in figures.items():
            total[name] = total.get(name, 0) + (value or 0)
    return total


def histogram_medians(
    session: Session, value: ColumnElement[Any], rows: Select[Any], key: ColumnElement[Any] | None
) -> tuple[float | None, dict[str, float]]:
    """The median of ``value`` over the rows that ``rows`` selects (nulls ignored), overall and per ``key``,
    for a value with few distinct values (loan rates: a few hundred): computed in the database from the
    number of rows at each value in each group, which it hashes in one pass, instead of sorting every row as
    percentile_cont and window functions over the rows do. The same figure, exactly."""
    keyed = [key.label(KEY)] if key is not None else []
    counts = (
        rows.where(value.is_not(None))
        .with_only_columns(*keyed, value.label("value"), func.count().label("count"), maintain_column_froms=True)
        .group_by(*([key] if key is not None else []), value)
        .cte("value_counts")
    )
    overall = select(counts.c.value, func.sum(counts.c["count"]).label("count")).group_by(counts.c.value).subquery()
    # the overall row's key is a null of the groups' key type, for the UNION
    medians = _middle_mean(overall, None, null() if key is None else cast(null(), key.type))
    if key is not None:
        medians = union_all(_middle_mean(counts, counts.c[KEY], counts.c[KEY]), medians)
    found = {row[KEY]: float(row["median"]) for row in _rows(session, medians)}
    return found.pop(None, None), {str(group): median for group, median in found.items()}


def _middle_mean(histogram: Any, partition: ColumnElement[Any] | None, key: ColumnElement[Any]) -> Select[Any]:
    """Per ``partition`` (None: one group), labelled ``key``, the mean of the one or two middle values of the
    values that ``histogram`` counts (its ``value`` and ``count`` columns): the median. Positions are 0-based; with n
    values the middle ones are (n - 1) // 2 and n // 2, and a value whose rows end at ``upto`` holds the
    positions upto - count .. upto - 1; the tests below are those, doubled to stay in integers."""
    partition_by = [partition] if partition is not None else None
    ranked = select(
        key.label(KEY),
        histogram.c.value,
        histogram.c["count"],
        func.sum(histogram.c["count"]).over(partition_by=partition_by, order_by=histogram.c.value).label("upto"),
        func.sum(histogram.c["count"]).over(partition_by=partition_by).label("size"),
    ).subquery()
    r = ranked.c
    holds_lower = and_(2 * (r.upto - r["count"]) <= r.size - 1, r.size - 1 < 2 * r.upto)
    holds_upper = and_(2 * (r.upto - r["count"]) <= r.size, r.size < 2 * r.upto)
    return select(r[KEY], func.avg(r.value).label("median")).where(or_(holds_lower, holds_upper)).group_by(r[KEY])


def bucket_medians(
    session: Session,
    value: ColumnElement[Any],
    rows: Select[Any],
    key: ColumnElement[Any] | None,
    width: int,
    histograms: dict[str | None, Counter[int]] | None = None,
) -> tuple[float | None, dict[str, float]]:
    """The exact median of a continuous ``value`` (response times) over the rows that ``rows`` selects
    (nulls ignored), overall and per ``key``, without sorting every row: first the number of rows in each
    bucket of ``width`` per group (hashed; or ``histograms``, per group and None overall, where a tally keeps
    them: db.tallies.RESPONSE_HOURS), then the values of the buckets that hold a middle position only. A
    bucket is the value made whole (rounded on PostgreSQL, truncated on SQLite) divided by ``width`` in whole
    numbers: either way the buckets are in the order of their values, which is all the method needs, and
    bucket b holds values from half a unit below b widths to below b + 1 widths (b > 0; the division rounds
    towards zero, so bucket 0 also holds values above minus one width, and a negative bucket b those from
    b - 1 widths), ranges that an index on ``value`` finds the middle buckets' rows by."""
    bucket = cast(value, BigInteger) // width
    keyed = [key.label(KEY)] if key is not None else []
    if histograms is None:
        histograms = bucket_histograms(session, value, rows, key, width)
    wanted = {group: _middle_buckets(histogram) for group, histogram in histograms.items()}
    needed = sorted({bucket for buckets in wanted.values() for bucket in buckets})
    values: dict[str | None, dict[int, list[float]]] = {}
    if needed:
        chosen = rows.with_only_columns(
            *keyed, bucket.label("bucket"), value.label("value"), maintain_column_froms=True
        ).where(or_(*(and_(value >= _lowest(low, width), value < (high + 1) * width) for low, high in _runs(needed))))
        for row in _rows(session, chosen):
            group, bucket_of_row = (str(row[KEY]) if key is not None else None), int(row["bucket"])
            # the ranges hold neighbouring buckets too, and a row committed since the histogram was read may
            # be of a group or bucket it did not count
            for owner in (group, None) if group is not None else (None,):
                if bucket_of_row in wanted.get(owner, ()):
                    values.setdefault(owner, {}).setdefault(bucket_of_row, []).append(float(row["value"]))
    medians = {group: _median_in_buckets(histograms[group], values.get(group, {})) for group in histograms}
    overall = medians.pop(None)
    return overall, {group: median for group, median in medians.items() if group is not None and median is not None}


def _lowest(bucket: int, width: int) -> int:
    """Below the lowest value of ``bucket`` (see :func:`bucket_medians`)."""
    return bucket * width - 1 if bucket > 0 else (bucket - 1) * width


def bucket_histograms(
    session: Session, value: ColumnElement[Any], rows: Select[Any], key: ColumnElement[Any] | None, width: int
) -> dict[str | None, Counter[int]]:
    """The rows per bucket of :func:`bucket_medians`, per group (``key``; none without) and overall (None)."""
    bucket = cast(value, BigInteger) // width
    keyed = [key.label(KEY)] if key is not None else []
    counts = rows.with_only_columns(
        *keyed, bucket.label("bucket"), func.count().label("count"), maintain_column_froms=True
    ).group_by(*keyed, bucket)
    histograms: dict[str | None, Counter[int]] = {None: Counter()}
    for row in _rows(session, counts):
        if row["bucket"] is None:
            continue  # the rows without a value
        group = str(row[KEY]) if keyed else None
        histograms.setdefault(group, Counter())[int(row["bucket"])] += row["count"]
        if group is not None:
            histograms[None][int(row["bucket"])] += row["count"]
    return histograms


def _runs(buckets: list[int]) -> list[tuple[int, int]]:
    """The sorted ``buckets`` as runs of consecutive buckets: (first, last) of each."""
    runs: list[tuple[int, int]] = []
    for bucket in buckets:
        if runs and bucket == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], bucket)
        else:
            runs.append((bucket, bucket))
    return runs


def _middle_positions(size: int) -> tuple[int, int]:
    """The 0-based positions of the one or two middle values of ``size`` sorted values."""
    return (size - 1) // 2, size // 2


def _middle_buckets(histogram: Counter[int]) -> set[int]:
    """The buckets holding the middle positions of the values that ``histogram`` counts per bucket."""
    middle = _middle_positions(sum(histogram.values()))
    found, seen = set(), 0
    for bucket, count in sorted(histogram.items()):
        found |= {bucket for position in middle if seen <= position < seen + count}
        seen += count
    return found


def _median_in_buckets(histogram: Counter[int], values: dict[int, list[float]]) -> float | None:
    """The median from the buckets' counts and the values of the buckets that hold the middle positions."""
    size = sum(histogram.values())
    if not size:
        return None
    found, seen = [], 0
    for bucket, count in sorted(histogram.items()):
        for position in _middle_positions(size):
            if seen <= position < seen + count:
                found.append(sorted(values[bucket])[position - seen])
        seen += count
    return sum(found) / len(found)


def _rows(session: Session, stmt: Any) -> Any:
    """The rows of ``stmt`` as mappings, read on the session's connection: the statistics' statements name
    no ORM entity, and the ORM's result processing took 50 ms of the banks' view on the rows of its
    histogram."""
    return session.connection().execute(stmt).mappings()


def _first(rows: Any) -> Figures:
    return _figures(rows[0]) if rows else {}


def _figures(row: Any) -> Figures:
    return {name: value for name, value in row.items() if name != KEY}
