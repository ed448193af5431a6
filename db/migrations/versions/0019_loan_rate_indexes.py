"""loans indexed by each grouping of the statistics and the rate: the median rate per bank, product type,
industry section, region, size class or month over the whole history is read from an index alone, in its
order (matchmaker.stats_sql.histogram_medians; about half the time of a hashed pass over the loans); the
bank's and the month's hold the grant date on PostgreSQL, for a period too. The bank's index with the rate
replaces the bank's alone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# matchmaker.models.RATE_HISTOGRAM_KEYS as this migration made them
KEYS = ("bank_id", "product_type", "enterprise_industry", "enterprise_region", "enterprise_size_class", "granted_month")
INCLUDING_GRANT_DATE = ("bank_id", "granted_month")


def upgrade() -> None:
    for column in KEYS:
        include = ["granted_on"] if column in INCLUDING_GRANT_DATE else []
        op.create_index(f"ix_loans_{column}_rate", "loans", [column, "rate"], unique=False, postgresql_include=include)
    op.drop_index("ix_loans_bank_id", table_name="loans")


def downgrade() -> None:
    op.create_index("ix_loans_bank_id", "loans", ["bank_id"], unique=False)
    for column in reversed(KEYS):
        op.drop_index(f"ix_loans_{column}_rate", table_name="loans")
