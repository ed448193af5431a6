"""each proposal keeps, overall and at its bank (the scopes the tallies keep), when the need of its
enterprise's next proposal there was submitted and that proposal made (matchmaker.previous_proposals): the
statistics over a period holding most of the history read the tallies less the proposals outside the period,
and count by these the enterprises whose first proposal in the period is not their first ever. Filled here
from the proposals.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (suffix, partition columns after the enterprise) of each scope kept
SCOPES = (("", ""), ("_at_bank", ", bank_id"))
WINDOWS = (
    "lead(need_submitted_at) OVER (PARTITION BY enterprise_id{partition} ORDER BY need_submitted_at, need_id, id)"
    " AS next_need_submitted{suffix}",
    "lead(created_at) OVER (PARTITION BY enterprise_id{partition} ORDER BY created_at, id)"
    " AS next_proposal_made{suffix}",
)
COLUMNS = ("next_need_submitted", "next_proposal_made")
FILL = """
UPDATE proposals SET {assignments}
FROM (SELECT id, {windows} FROM proposals) AS recomputed
WHERE recomputed.id = proposals.id
"""


def _names() -> list[str]:
    return [column + suffix for column in COLUMNS for suffix, _ in SCOPES]


# Plain ALTER TABLE, not a batch: on SQLite a batch copies the table, which would drop the tallies' triggers
# on it (db.tallies).
def upgrade() -> None:
    for name in _names():
        op.add_column("proposals", sa.Column(name, db.base.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        FILL.format(
            assignments=", ".join(f"{name} = recomputed.{name}" for name in _names()),
            windows=", ".join(
                window.format(partition=partition, suffix=suffix) for window in WINDOWS for suffix, partition in SCOPES
            ),
        )
    )


def downgrade() -> None:
    for name in reversed(_names()):
        op.drop_column("proposals", name)
