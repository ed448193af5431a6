"""statistics tallies: sums kept by triggers (db.tallies) for the regulators' statistics over the whole
history: the proposals per bank, product type, status and rejection reason (PROPOSAL_TALLIES), the answered
proposals per bank and hour of response (RESPONSE_HOURS), the loans per bank and product type
(LOAN_TALLIES). Filled here from the proposals and the loans; the triggers append a row per key changed.
(0018 keys them by size class and industry section too.)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 20:20:00
"""

from collections.abc import Sequence

from db import tally_tables

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tally_tables.lock("proposals", "loans")
    for tally in tally_tables.before_classification():
        tally_tables.create(tally)


def downgrade() -> None:
    for tally in reversed(tally_tables.before_classification()):
        tally_tables.drop(tally)
