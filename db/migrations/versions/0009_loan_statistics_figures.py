"""loan statistics figures: each loan keeps the ledger sums and the need's facts the regulators' statistics
read (matchmaker.models.Loan), filled here from the ledger and the needs; the proposals' answers by decision

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("rollovers", "rollover_amount", "defaulted_amount", "reported_overdue", "reported_defaulted")
FROM_THE_GRANT = ("granted_amount", "days_to_grant", "offers_ip_pledge", "offers_receivables")

# Each loan's ledger sums: an event counts under its own kind or, a correction, under the corrected event's.
LEDGER_FIGURES = """
UPDATE loans SET
    granted_amount = figures.granted_amount,
    rollovers = figures.rollovers,
    rollover_amount = figures.rollover_amount,
    defaulted_amount = figures.defaulted_amount,
    reported_overdue = figures.reported_overdue,
    reported_defaulted = figures.reported_defaulted
FROM (
    SELECT e.loan_id AS loan_id,
        sum(CASE WHEN coalesce(c.kind, e.kind) = 'granted' THEN e.amount ELSE 0 END) AS granted_amount,
        sum(CASE WHEN e.kind = 'renewed' THEN 1 ELSE 0 END) AS rollovers,
        sum(CASE WHEN coalesce(c.kind, e.kind) = 'renewed' THEN e.amount ELSE 0 END) AS rollover_amount,
        sum(CASE WHEN coalesce(c.kind, e.kind) = 'defaulted' THEN e.amount ELSE 0 END) AS defaulted_amount,
        max(CASE WHEN e.kind = 'overdue' THEN 1 ELSE 0 END) = 1 AS reported_overdue,
        max(CASE WHEN e.kind = 'defaulted' THEN 1 ELSE 0 END) = 1 AS reported_defaulted
    FROM credit_events AS e LEFT OUTER JOIN credit_events AS c ON c.id = e.corrects_event_id
    GROUP BY e.loan_id
) AS figures
WHERE figures.loan_id = loans.id
"""
# The days from the need's submission (its date in China, UTC+8) to the grant, and the pledges it offered.
NEED_FIGURES = """
UPDATE loans SET
    days_to_grant = {days},
    offers_ip_pledge = CAST(needs.collateral_offered AS TEXT) LIKE '%"ip\\_pledge"%' ESCAPE '\\',
    offers_receivables = CAST(needs.collateral_offered AS TEXT) LIKE '%"receivables"%'
FROM financing_needs AS needs
WHERE needs.id = loans.need_id
"""
DAYS = {
    "postgresql": "loans.granted_on - CAST(timezone('Asia/Shanghai', needs.created_at) AS DATE)",
    "sqlite": "CAST(julianday(loans.granted_on) - julianday(date(needs.created_at, '+8 hours')) AS INTEGER)",
}


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("rollovers", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rollover_amount", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("defaulted_amount", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("reported_overdue", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("reported_defaulted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("days_to_grant", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("offers_ip_pledge", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("offers_receivables", sa.Boolean(), nullable=True))
    op.execute(LEDGER_FIGURES)
    op.execute(NEED_FIGURES.format(days=DAYS[op.get_bind().dialect.name]))
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for name in FROM_THE_GRANT:
            batch_op.alter_column(name, nullable=False)
    op.create_index("ix_proposal_decisions_decision", "proposal_decisions", ["decision", "proposal_id", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_proposal_decisions_decision", table_name="proposal_decisions")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for name in reversed(COUNTERS + FROM_THE_GRANT):
            batch_op.drop_column(name)
