"""distinct counts on proposals, loans and needs: each proposal keeps the type its product had when proposed,
a copy of its enterprise's classification (matchmaker.classification_copies) and, per scope (all, at its bank,
of its type, at its bank of its type: matchmaker.scopes), whether it is its need's first and when the need of
its enterprise's previous proposal was submitted and that proposal made (matchmaker.previous_proposals); each
loan keeps whether it is its need's first (matchmaker.previous_loans); each need keeps a copy of its
enterprise's classification and when the enterprise's previous need was submitted (enterprises.need_copies).
Filled here from the products, the enterprises, the proposals, the loans and the needs.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (suffix, partition columns after the leading one) of each scope
SCOPES = (
    ("", ""),
    ("_at_bank", ", bank_id"),
    ("_of_type", ", product_type"),
    ("_at_bank_of_type", ", bank_id, product_type"),
)
PRODUCT_TYPES = """
UPDATE proposals SET product_type = (SELECT type FROM loan_products WHERE loan_products.id = proposals.product_id)
"""
CLASSIFICATION = """
UPDATE proposals SET
    enterprise_region = enterprises.region,
    enterprise_size_class = enterprises.size_class,
    enterprise_industry = substr(enterprises.industry, 1, 1)
FROM enterprises
WHERE enterprises.id = proposals.enterprise_id
"""
COPIES = (
    ("product_type", sa.String(length=40)),
    ("enterprise_region", sa.String(length=100)),
    ("enterprise_size_class", sa.String(length=8)),
    ("enterprise_industry", sa.String(length=1)),
)
FIRST_FOR_NEED = "lag(id) OVER (PARTITION BY need_id{partition} ORDER BY id) IS NULL AS first_for_need{suffix}"
PROPOSAL_WINDOWS = (
    FIRST_FOR_NEED,
    "lag(need_submitted_at) OVER (PARTITION BY enterprise_id{partition} ORDER BY need_submitted_at, need_id, id)"
    " AS previous_need_submitted{suffix}",
    "lag(created_at) OVER (PARTITION BY enterprise_id{partition} ORDER BY created_at, id)"
    " AS previous_proposal_made{suffix}",
)
PROPOSAL_COLUMNS = ("first_for_need", "previous_need_submitted", "previous_proposal_made")
NEED_COPIES = """
UPDATE financing_needs SET
    enterprise_region = recomputed.region,
    enterprise_size_class = recomputed.size_class,
    enterprise_industry = recomputed.industry,
    previous_need_submitted = recomputed.previous_need_submitted
FROM (
    SELECT needs.id, enterprises.region, enterprises.size_class, substr(enterprises.industry, 1, 1) AS industry,
        lag(needs.created_at) OVER (PARTITION BY needs.enterprise_id ORDER BY needs.created_at, needs.id)
            AS previous_need_submitted
    FROM financing_needs AS needs JOIN enterprises ON enterprises.id = needs.enterprise_id
) AS recomputed
WHERE recomputed.id = financing_needs.id
"""
NEED_COLUMNS = (
    ("enterprise_region", sa.String(length=100)),
    ("enterprise_size_class", sa.String(length=8)),
    ("enterprise_industry", sa.String(length=1)),
    ("previous_need_submitted", db.base.UTCDateTime(timezone=True)),
)
UPDATE_FROM_WINDOWS = """
UPDATE {table} SET {assignments}
FROM (SELECT id, {windows} FROM {table}) AS recomputed
WHERE recomputed.id = {table}.id
"""


def _fill(table: str, windows: Sequence[str], columns: Sequence[str]) -> None:
    names = [column + suffix for column in columns for suffix, _ in SCOPES]
    op.execute(
        UPDATE_FROM_WINDOWS.format(
            table=table,
            assignments=", ".join(f"{name} = recomputed.{name}" for name in names),
            windows=", ".join(
                window.format(partition=partition, suffix=suffix) for window in windows for suffix, partition in SCOPES
            ),
        )
    )


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for suffix, _ in SCOPES:
            batch_op.add_column(sa.Column(f"first_for_need{suffix}", sa.Boolean(), server_default=sa.false()))
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        for name, type_ in COPIES:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        for suffix, _ in SCOPES:
            batch_op.add_column(sa.Column(f"first_for_need{suffix}", sa.Boolean(), server_default=sa.false()))
        for column in PROPOSAL_COLUMNS[1:]:
            for suffix, _ in SCOPES:
                batch_op.add_column(sa.Column(column + suffix, db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_proposals_enterprise_id", ["enterprise_id"], unique=False)
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        for name, type_ in NEED_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.execute(PRODUCT_TYPES)
    op.execute(CLASSIFICATION)
    op.execute(NEED_COPIES)
    _fill("proposals", PROPOSAL_WINDOWS, PROPOSAL_COLUMNS)
    _fill("loans", (FIRST_FOR_NEED,), ("first_for_need",))
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        for name, type_ in COPIES:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        for suffix, _ in SCOPES:
            batch_op.alter_column(f"first_for_need{suffix}", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for suffix, _ in SCOPES:
            batch_op.alter_column(f"first_for_need{suffix}", existing_type=sa.Boolean(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        for name, _ in reversed(NEED_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_enterprise_id")
        for column in reversed(PROPOSAL_COLUMNS):
            for suffix, _ in reversed(SCOPES):
                batch_op.drop_column(column + suffix)
        for name, _ in reversed(COPIES):
            batch_op.drop_column(name)
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for suffix, _ in reversed(SCOPES):
            batch_op.drop_column(f"first_for_need{suffix}")
