"""proposal tallies: the proposals per bank, product type, status and rejection reason, summed
(db.tallies.PROPOSAL_TALLIES), kept by triggers on the proposals, for the regulators' banks' view and funnel
by bank or product type over the whole history. Filled here from the proposals.

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

TALLY = tallies.PROPOSAL_TALLIES


def upgrade() -> None:
    figures = [sa.Column(name, sa.BigInteger(), nullable=False) for name in TALLY.figures]
    op.create_table(
        TALLY.table,
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("product_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rejection_reason", sa.String(length=32), nullable=False),
        *figures,
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_proposal_tallies_bank_id_banks")),
        sa.PrimaryKeyConstraint(*TALLY.keys, name=op.f("pk_proposal_tallies")),
    )
    columns = ", ".join([*TALLY.keys, *TALLY.figures])
    op.execute(f"INSERT INTO {TALLY.table} ({columns}) {tallies.recount(TALLY)}")
    for statement in tallies.create_statements(TALLY, op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in tallies.drop_statements(TALLY, op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table(TALLY.table)
