"""statistics indexes: ledger events by kind and the corrections, loans by grant date, needs and proposals by
the day they were made (the regulators' statistics, matchmaker.stats)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CORRECTIONS = sa.text("kind = 'corrected'")


def upgrade() -> None:
    op.create_index("ix_credit_events_kind_loan_id", "credit_events", ["kind", "loan_id", "amount"])
    op.create_index(
        "ix_credit_events_corrections",
        "credit_events",
        ["corrects_event_id"],
        sqlite_where=CORRECTIONS,
        postgresql_where=CORRECTIONS,
    )
    op.create_index("ix_loans_granted_on", "loans", ["granted_on"])
    op.create_index("ix_financing_needs_created_at", "financing_needs", ["created_at"])
    op.create_index("ix_proposals_created_at", "proposals", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_proposals_created_at", table_name="proposals")
    op.drop_index("ix_financing_needs_created_at", table_name="financing_needs")
    op.drop_index("ix_loans_granted_on", table_name="loans")
    op.drop_index("ix_credit_events_corrections", table_name="credit_events")
    op.drop_index("ix_credit_events_kind_loan_id", table_name="credit_events")
