"""Creating and dropping a tally's table and triggers (db.tallies) in a migration, filled from its source
table as it stands: migrations 0016 and 0018 build the tallies with it."""

import sqlalchemy as sa
from alembic import op

from db import tallies

KEY_TYPES = {"bank_id": sa.Integer(), "hour": sa.BigInteger()}
KEY_LENGTHS = {
    "product_type": 40,
    "status": 16,
    "rejection_reason": 32,
    "enterprise_size_class": 8,
    "enterprise_industry": 1,
}


def create(tally: tallies.Tally) -> None:
    """Create the tally's table, fill it with :func:`db.tallies.recount` and create its triggers. On
    PostgreSQL the caller locks the source table first (``lock``), so that no row is written in between."""
    op.create_table(
        tally.table,
        sa.Column("id", sa.Integer(), nullable=False),
        *(
            sa.Column(name, KEY_TYPES.get(name) or sa.String(length=KEY_LENGTHS[name]), nullable=False)
            for name in tally.keys
        ),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in tally.figures),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f(f"fk_{tally.table}_bank_id_banks")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{tally.table}")),
    )
    columns = ", ".join([*tally.keys, *tally.figures])
    op.execute(f"INSERT INTO {tally.table} ({columns}) {tallies.recount(tally)}")
    for statement in tallies.create_statements(tally, op.get_bind().dialect.name):
        op.execute(statement)


def drop(tally: tallies.Tally) -> None:
    """Drop the tally's triggers and its table."""
    for statement in tallies.drop_statements(tally, op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table(tally.table)


def lock(*tables: str) -> None:
    """On PostgreSQL, let no row of ``tables`` be written until the migration commits (SQLite lets one writer
    in at a time)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")


def before_classification() -> tuple[tallies.Tally, ...]:
    """The tallies as migration 0016 made them, before 0018 keyed them by size class and industry section."""
    return (
        _keyed_by(tallies.PROPOSAL_TALLIES, "bank_id", "product_type", "status", "rejection_reason"),
        _keyed_by(tallies.RESPONSE_HOURS, "bank_id", "hour"),
        _keyed_by(tallies.LOAN_TALLIES, "bank_id", "product_type"),
    )


def _keyed_by(tally: tallies.Tally, *keys: str) -> tallies.Tally:
    return tallies.Tally(
        table=tally.table,
        source=tally.source,
        keys={name: tally.keys[name] for name in keys},
        figures=tally.figures,
        counted=tally.counted,
    )
