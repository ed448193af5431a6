"""statistics on proposals and needs: each proposal keeps when its bank first answered it, whether the bank
took it up and why it rejected it, and, like each loan, the facts of its need that the regulators' statistics
filter on (matchmaker.models.Proposal, Loan); each need keeps what became of it (its proposals, those taken
up, its loans and their granted amount: enterprises.models.FinancingNeed), so that the funnel and the banks'
response times read one table; filled here from the decisions, the needs, the proposals and the loans

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A bank answers by accepting, rejecting or granting; accepting or granting takes the proposal up. A proposal
# is rejected at most once (a rejected proposal changes no more).
ANSWERS = """
UPDATE proposals SET
    first_answered_at = answers.first_answered_at,
    taken_up = answers.taken_up,
    rejection_reason = answers.rejection_reason
FROM (
    SELECT proposal_id,
        min(decided_at) AS first_answered_at,
        max(CASE WHEN decision IN ('accepted', 'granted') THEN 1 ELSE 0 END) = 1 AS taken_up,
        max(reason) AS rejection_reason
    FROM proposal_decisions
    WHERE decision IN ('accepted', 'rejected', 'granted')
    GROUP BY proposal_id
) AS answers
WHERE answers.proposal_id = proposals.id
"""
NEED_FIGURES = """
UPDATE financing_needs SET
    proposal_count = coalesce((SELECT count(*) FROM proposals WHERE proposals.need_id = financing_needs.id), 0),
    taken_up_count = coalesce(
        (SELECT sum(CASE WHEN taken_up THEN 1 ELSE 0 END) FROM proposals WHERE proposals.need_id = financing_needs.id),
        0
    ),
    loan_count = coalesce((SELECT count(*) FROM loans WHERE loans.need_id = financing_needs.id), 0),
    granted_amount = coalesce((SELECT sum(granted_amount) FROM loans WHERE loans.need_id = financing_needs.id), 0)
"""
NEED_FACTS = """
UPDATE {table} SET {columns}
FROM financing_needs AS needs
WHERE needs.id = {table}.need_id
"""


def upgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("need_submitted_at", db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_answered_at", db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("taken_up", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("rejection_reason", sa.String(length=32), nullable=True))
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("need_submitted_at", db.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposal_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("taken_up_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("loan_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("granted_amount", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(ANSWERS)
    facts = "enterprise_id = needs.enterprise_id, need_submitted_at = needs.created_at"
    op.execute(NEED_FACTS.format(table="proposals", columns=facts))
    op.execute(NEED_FACTS.format(table="loans", columns="need_submitted_at = needs.created_at"))
    op.execute(NEED_FIGURES)
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.alter_column("enterprise_id", nullable=False)
        batch_op.alter_column("need_submitted_at", nullable=False)
        batch_op.create_index("ix_proposals_need_submitted_at", ["need_submitted_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_proposals_enterprise_id_enterprises"), "enterprises", ["enterprise_id"], ["id"]
        )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.alter_column("need_submitted_at", nullable=False)
        batch_op.create_index(batch_op.f("ix_loans_need_submitted_at"), ["need_submitted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        for name in ("granted_amount", "loan_count", "taken_up_count", "proposal_count"):
            batch_op.drop_column(name)
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loans_need_submitted_at"))
        batch_op.drop_column("need_submitted_at")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_proposals_enterprise_id_enterprises"), type_="foreignkey")
        batch_op.drop_index("ix_proposals_need_submitted_at")
        batch_op.drop_column("rejection_reason")
        batch_op.drop_column("taken_up")
        batch_op.drop_column("first_answered_at")
        batch_op.drop_column("need_submitted_at")
        batch_op.drop_column("enterprise_id")
