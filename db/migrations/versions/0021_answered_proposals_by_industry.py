"""the answered proposals indexed by their enterprise's industry section, bank and response time: the banks'
median response times for one section over the whole history, which the response-hour tallies (by size class
only) do not answer, read from this index alone instead of every proposal.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERED = sa.text("response_seconds IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_proposals_answered_industry",
        "proposals",
        ["enterprise_industry", "bank_id", "response_seconds"],
        unique=False,
        sqlite_where=ANSWERED,
        postgresql_where=ANSWERED,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_proposals_answered_industry", table_name="proposals", sqlite_where=ANSWERED, postgresql_where=ANSWERED
    )
