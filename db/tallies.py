"""Tally tables: sums over a table's rows per key, kept by triggers in the transaction of every write to the
table, on SQLite and PostgreSQL alike, so that a statistic over the whole table reads some thousands of tally
rows instead of every row (matchmaker.stats reads the tallies below for the banks' view and the funnel by bank or
product type over the whole history, of every enterprise or of one size class or industry section).

A :class:`Tally` names the source table, the key columns and the figures, each as an SQL expression over one
source row written with ``{row}`` where the row's name goes. PostgreSQL runs one statement trigger per write
statement over its transition tables (an ``UPDATE`` of thousands of proposals adds up its changes once);
SQLite, which has row triggers only, one per row; a tally of some rows only (``counted``) has row triggers on
both, which fire for those rows only. Either way the changes are summed per key, old rows
subtracted and new ones added, and a key whose figures moved gets a new tally row holding the change: the
tally is append-only for the writers, so that two transactions writing rows of the same key never wait for
each other (updating one shared row per key made a grant that withdraws proposals at other banks wait for,
and deadlock with, another bank's grant). A key's figures are the sum of its rows; :func:`compact` replaces
them by one row per key, and matchmaker.rounds and the expiry run it after they commit.

The migration creating a tally calls :func:`create_statements` and fills the table with :func:`recount`;
:func:`discrepancies` compares the table with :func:`recount`. A change of a tally's definition takes a
migration that drops the triggers, creates them anew and fills the table again.

PostgreSQL's TRUNCATE fires no statement trigger of these: the tests empty every table, tallies included."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Tally:
    table: str  # the tally table: an id, the keys (a key may have several rows) and one column per figure
    source: str  # the table whose rows it sums
    keys: dict[str, str]  # column -> SQL expression over a source row ({row}.column), never NULL
    figures: dict[str, str]  # column -> SQL expression over a source row, summed
    # The source rows that count at all (SQL over a row; None: all). With it the triggers are row triggers
    # that fire only for such rows: most writes then cost the tally nothing.
    counted: str | None = None

    def _function(self) -> str:
        return f"{self.table}_keep"

    def _triggers(self) -> dict[str, str]:
        return {verb: f"{self.table}_{verb.lower()}" for verb in ("INSERT", "UPDATE", "DELETE")}


def recount(tally: Tally) -> str:
    """The tally's rows as summed from the source table now (SELECT keys, figures), the keys whose figures
    are all zero left out as the triggers leave them out."""
    return (
        f"SELECT {_summed(tally, tally.source)} FROM {tally.source} GROUP BY {_key_positions(tally)}"
        f" HAVING {_any_sum_nonzero(expression.format(row=tally.source) for expression in tally.figures.values())}"
    )


def summed(tally: Tally) -> str:
    """The tally's figures per key (SELECT keys, figures): the sums of its rows, zero keys left out."""
    figures = ", ".join(f"sum({column}) AS {column}" for column in tally.figures)
    nonzero = _any_sum_nonzero(tally.figures)
    return f"SELECT {_key_list(tally)}, {figures} FROM {tally.table} GROUP BY {_key_positions(tally)} HAVING {nonzero}"


def compact(connection: Connection, tally: Tally) -> None:
    """Replace the tally's rows by one per key (its figures unchanged), in the connection's transaction: one
    DELETE takes the rows it sees and returns them, and their sums per key go back in. Writers keep appending
    meanwhile; their rows stay. A compaction running at the same time waits for this one and then finds
    those rows gone (PostgreSQL). On SQLite the DELETE, a write before any read, takes the one writer's lock
    at once, so no other write comes between the two (a read first could leave the transaction unable to
    write after another writer's commit)."""
    columns = [*tally.keys, *tally.figures]
    gone = connection.execute(text(f"DELETE FROM {tally.table} RETURNING {', '.join(columns)}")).all()
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in gone:
        key, figures = tuple(row[: len(tally.keys)]), row[len(tally.keys) :]
        total = sums.setdefault(key, [0] * len(tally.figures))
        for position, value in enumerate(figures):
            total[position] += value
    rows = [dict(zip(columns, (*key, *total), strict=True)) for key, total in sums.items() if any(total)]
    if rows:
        names = ", ".join(columns)
        values = ", ".join(f":{column}" for column in columns)
        connection.execute(text(f"INSERT INTO {tally.table} ({names}) VALUES ({values})"), rows)


def discrepancies(connection: Connection, tally: Tally) -> list[tuple[Any, ...]]:
    """The keys whose figures in the tally differ from :func:`recount`, with the kept and the recounted
    figures; [] when the triggers kept the tally."""
    kept = _by_key(connection, summed(tally), len(tally.keys))
    recounted = _by_key(connection, recount(tally), len(tally.keys))
    zeros = (0,) * len(tally.figures)
    found = []
    for key in sorted(kept.keys() | recounted.keys()):
        ours, theirs = kept.get(key, zeros), recounted.get(key, zeros)
        if tuple(ours) != tuple(theirs):
            found.append((key, ours, theirs))
    return found


def compact_tallies(session_factory: sessionmaker[Session]) -> None:
    """:func:`compact` every tally, in a transaction of its own (for after a big write has committed)."""
    with session_factory() as session, session.begin():
        for tally in TALLIES:
            compact(session.connection(), tally)


def _by_key(connection: Connection, query: str, keys: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {row[:keys]: row[keys:] for row in connection.execute(text(query))}


def create_statements(tally: Tally, dialect: str) -> list[str]:
    """The SQL creating the triggers that keep ``tally`` for ``dialect`` ("sqlite" or "postgresql")."""
    row_changes = {"INSERT": [("NEW", 1)], "UPDATE": [("NEW", 1), ("OLD", -1)], "DELETE": [("OLD", -1)]}
    when = _when(tally)
    if dialect == "sqlite":
        # SQLite's row triggers name the rows NEW and OLD; a SELECT without FROM reads them
        return [
            f"CREATE TRIGGER {name} AFTER {verb} ON {tally.source} FOR EACH ROW{when[verb]}"
            f" BEGIN {_appended(tally, row_changes[verb])}; END"
            for verb, name in tally._triggers().items()
        ]
    if tally.counted is not None:
        body = {verb: _appended(tally, changes) for verb, changes in row_changes.items()}
        level = {verb: f"FOR EACH ROW{when[verb]}" for verb in row_changes}
    else:
        body = {
            "INSERT": _appended(tally, [("new_rows", 1)], "new_rows"),
            "UPDATE": _appended(tally, [("new_rows", 1), ("old_rows", -1)], "new_rows", "old_rows"),
            "DELETE": _appended(tally, [("old_rows", -1)], "old_rows"),
        }
        # a trigger with transition tables is for one event only
        level = {
            "INSERT": "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
            "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT",
            "DELETE": "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
        }
    function = f"""CREATE FUNCTION {tally._function()}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN {body["INSERT"]};
        ELSIF TG_OP = 'UPDATE' THEN {body["UPDATE"]};
        ELSE {body["DELETE"]};
        END IF;
        RETURN NULL;
    END $$"""
    return [function] + [
        f"CREATE TRIGGER {name} AFTER {verb} ON {tally.source} {level[verb]} EXECUTE FUNCTION {tally._function()}()"
        for verb, name in tally._triggers().items()
    ]


def _when(tally: Tally) -> dict[str, str]:
    """The WHEN clause of each row trigger: the rows written that count (nothing when all do)."""
    if tally.counted is None:
        return {"INSERT": "", "UPDATE": "", "DELETE": ""}
    new, old = tally.counted.format(row="NEW"), tally.counted.format(row="OLD")
    return {"INSERT": f" WHEN ({new})", "UPDATE": f" WHEN (({new}) OR ({old}))", "DELETE": f" WHEN ({old})"}


def drop_statements(tally: Tally, dialect: str) -> list[str]:
    """The SQL dropping what :func:`create_statements` created."""
    triggers = tally._triggers().values()
    if dialect == "sqlite":
        return [f"DROP TRIGGER {name}" for name in triggers]
    return [f"DROP TRIGGER {name} ON {tally.source}" for name in triggers] + [f"DROP FUNCTION {tally._function()}()"]


def _appended(tally: Tally, changes: list[tuple[str, int]], *tables: str) -> str:
    """Append the ``changes`` (each a row name, or a transition table's name, and a sign) summed per key, for
    the keys whose figures moved. ``tables``: the transition tables read (none on SQLite, where the row names
    need no FROM)."""
    parts = []
    for name, sign in changes:
        values = [f"{expression.format(row=name)} AS {column}" for column, expression in tally.keys.items()]
        values += [
            f"{'-' if sign < 0 else ''}({expression.format(row=name)}) AS {column}"
            for column, expression in tally.figures.items()
        ]
        parts.append(f"SELECT {', '.join(values)}" + (f" FROM {name}" if name in tables else ""))
    columns = [*tally.keys, *tally.figures]
    moved = _any_sum_nonzero(tally.figures)
    return (
        f"INSERT INTO {tally.table} ({', '.join(columns)})"
        f" SELECT {_key_list(tally)}, {', '.join(f'sum({column})' for column in tally.figures)}"
        f" FROM ({' UNION ALL '.join(parts)}) AS changes GROUP BY {_key_positions(tally)} HAVING {moved}"
    )


def _summed(tally: Tally, row: str) -> str:
    keys = [f"{expression.format(row=row)} AS {column}" for column, expression in tally.keys.items()]
    figures = [f"sum({expression.format(row=row)}) AS {column}" for column, expression in tally.figures.items()]
    return ", ".join(keys + figures)


def _any_sum_nonzero(expressions: Iterable[str]) -> str:
    """A HAVING condition: the sum of one of ``expressions`` is not zero."""
    return " OR ".join(f"sum({expression}) <> 0" for expression in expressions)


def _key_list(tally: Tally) -> str:
    return ", ".join(tally.keys)


def _key_positions(tally: Tally) -> str:
    """The keys as positions in the select list: a key's name in a GROUP BY would mean the source's column
    of that name where there is one (``rejection_reason``, not its COALESCE)."""
    return ", ".join(str(position) for position in range(1, len(tally.keys) + 1))


def flag(condition: str) -> str:
    """A figure counting the rows where ``condition`` holds."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


# The proposals per bank, product type, status, rejection reason and their enterprises' size class and
# industry section (which every proposal of an enterprise shares: matchmaker.classification_copies), with
# what the regulators' banks' view and funnel by bank or product type count of them over the whole history
# (matchmaker.stats: _bank_statement, _funnel_proposal_columns): the proposals, answered and taken up, the
# seconds to their first answers, and the distinct enterprises and needs, as the rows that are the first of
# their enterprise or need at the bank, of the type, or anywhere (matchmaker.previous_proposals).
PROPOSAL_TALLIES = Tally(
    table="proposal_tallies",
    source="proposals",
    keys={
        "bank_id": "{row}.bank_id",
        "product_type": "{row}.product_type",
        "status": "{row}.status",
        "rejection_reason": "COALESCE({row}.rejection_reason, '')",
        "enterprise_size_class": "{row}.enterprise_size_class",
        "enterprise_industry": "{row}.enterprise_industry",
    },
    figures={
        "proposals": "1",
        "answered": flag("{row}.first_answered_at IS NOT NULL"),
        "accepted": flag("{row}.taken_up"),
        # whole microseconds (what the timestamps hold), so that adding and taking away is exact
        "response_microseconds": "CAST(ROUND(COALESCE({row}.response_seconds, 0) * 1000000) AS BIGINT)",
        "enterprises_at_bank": flag("{row}.previous_proposal_made_at_bank IS NULL"),
        "enterprises": flag("{row}.previous_proposal_made IS NULL"),
        "need_enterprises_at_bank": flag("{row}.previous_need_submitted_at_bank IS NULL"),
        "need_enterprises_of_type": flag("{row}.previous_need_submitted_of_type IS NULL"),
        "need_enterprises": flag("{row}.previous_need_submitted IS NULL"),
        "needs_at_bank": flag("{row}.first_for_need_at_bank"),
        "needs_of_type": flag("{row}.first_for_need_of_type"),
        "needs": flag("{row}.first_for_need"),
    },
)

# The answered proposals per bank, hour of response and size class (the seconds to the first answer made
# whole, rounded on PostgreSQL and truncated on SQLite, then divided by 3600 in whole numbers:
# stats_sql.bucket_medians' buckets), from which matchmaker.stats finds the banks' exact median response time
# over the whole history.
# Unanswered proposals (hour -1) count nothing.
RESPONSE_HOURS = Tally(
    table="response_hour_tallies",
    source="proposals",
    keys={
        "bank_id": "{row}.bank_id",
        "hour": "CAST(COALESCE({row}.response_seconds, -3600) AS BIGINT) / 3600",
        "enterprise_size_class": "{row}.enterprise_size_class",
    },
    figures={"answered": flag("{row}.response_seconds IS NOT NULL")},
    counted="{row}.response_seconds IS NOT NULL",
)

# The loans per bank, product type, size class and industry section, with what the funnel by bank or product
# type counts of them over the whole history (matchmaker.stats._funnel_loans): the distinct needs granted, as
# the loans that are their need's first at the bank, of the type or anywhere (matchmaker.previous_loans), and
# the amount granted with its corrections (kept on the loan by matchmaker.ledger).
LOAN_TALLIES = Tally(
    table="loan_tallies",
    source="loans",
    keys={
        "bank_id": "{row}.bank_id",
        "product_type": "{row}.product_type",
        "enterprise_size_class": "{row}.enterprise_size_class",
        "enterprise_industry": "{row}.enterprise_industry",
    },
    figures={
        "loans": "1",
        "needs_at_bank": flag("{row}.first_for_need_at_bank"),
        "needs_of_type": flag("{row}.first_for_need_of_type"),
        "needs": flag("{row}.first_for_need"),
        "granted_amount": "{row}.granted_amount",
    },
)


# Every tally, in the order the migrations create them.
TALLIES = (PROPOSAL_TALLIES, RESPONSE_HOURS, LOAN_TALLIES)
