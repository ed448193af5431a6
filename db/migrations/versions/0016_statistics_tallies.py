"""statistics tallies: sums kept by triggers (db.tallies) for the regulators' statistics over the whole
history: the proposals per bank, product type, status and rejection reason (PROPOSAL_TALLIES), the answered
proposals per bank and hour of response (RESPONSE_HOURS), the loans per bank and product type
(LOAN_TALLIES). Filled here from the proposals and the loans; the triggers append a row per key changed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db import tallies

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_TYPES = {"bank_id": sa.Integer(), "hour": sa.BigInteger()}
KEY_LENGTHS = {"product_type": 40, "status": 16, "rejection_reason": 32}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # no proposal or loan written between the fill and the triggers (SQLite lets one writer in at a time)
        op.execute("LOCK TABLE proposals, loans IN SHARE ROW EXCLUSIVE MODE")
    for tally in tallies.TALLIES:
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
        for statement in tallies.create_statements(tally, dialect):
            op.execute(statement)


def downgrade() -> None:
    for tally in reversed(tallies.TALLIES):
        for statement in tallies.drop_statements(tally, op.get_bind().dialect.name):
            op.execute(statement)
        op.drop_table(tally.table)
