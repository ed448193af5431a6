"""statistics tallies by classification: the proposal, response-hour and loan tallies (db.tallies) are keyed
by the enterprises' size class too, and the proposal and loan tallies by their industry section, so that the
regulators' statistics of one size class or section over the whole history read them; rebuilt here from the
proposals and the loans. And an index of the answered proposals by the day
they were made, holding the bank and the response time: the histogram of the banks' response times over a
period reads it alone (matchmaker.stats.response_medians).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db import tallies, tally_tables

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERED = sa.text("response_seconds IS NOT NULL")


def upgrade() -> None:
    tally_tables.lock("proposals", "loans")
    for tally in reversed(tally_tables.before_classification()):
        tally_tables.drop(tally)
    for tally in tallies.TALLIES:
        tally_tables.create(tally)
    op.create_index(
        "ix_proposals_answered_created_at",
        "proposals",
        ["created_at", "bank_id", "response_seconds"],
        unique=False,
        sqlite_where=ANSWERED,
        postgresql_where=ANSWERED,
    )


def downgrade() -> None:
    op.drop_index("ix_proposals_answered_created_at", table_name="proposals")
    tally_tables.lock("proposals", "loans")
    for tally in reversed(tallies.TALLIES):
        tally_tables.drop(tally)
    for tally in tally_tables.before_classification():
        tally_tables.create(tally)
