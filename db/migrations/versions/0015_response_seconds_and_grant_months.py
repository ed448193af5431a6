"""response seconds and grant months: each proposal keeps the seconds from when it was made to its first
answer (matchmaker.models.keep_response_seconds), indexed with its bank for the banks' median response time,
and each loan the month of its grant, as a number yyyymm and as its first day (keep_grant_month). Filled here
from the proposals' two timestamps and the loans' grant dates.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERED = "response_seconds IS NOT NULL"


GRANT_MONTHS = {
    "postgresql": "UPDATE loans SET granted_month = CAST(date_part('year', granted_on) * 100"
    " + date_part('month', granted_on) AS INTEGER),"
    " granted_month_start = CAST(date_trunc('month', granted_on) AS DATE)",
    "sqlite": "UPDATE loans SET granted_month = CAST(strftime('%Y%m', granted_on) AS INTEGER),"
    " granted_month_start = date(granted_on, 'start of month')",
}


def upgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_seconds", sa.Float(), nullable=True))
    _fill()
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_month", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("granted_month_start", sa.Date(), nullable=True))
    op.execute(GRANT_MONTHS[op.get_bind().dialect.name])
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.alter_column("granted_month", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("granted_month_start", existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_proposals_response_seconds",
            ["response_seconds", "bank_id"],
            unique=False,
            sqlite_where=sa.text(ANSWERED),
            postgresql_where=sa.text(ANSWERED),
        )


def _fill() -> None:
    """The seconds as Python's ``timedelta.total_seconds`` gives them: on PostgreSQL extract's exact decimal
    rounded once to a double; SQLite keeps timestamps as text and rounds its julian days, so there in Python."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(
            "UPDATE proposals SET response_seconds = CAST(extract(epoch FROM first_answered_at - created_at) AS float8)"
            " WHERE first_answered_at IS NOT NULL"
        )
        return
    stamp = db.base.UTCDateTime()
    proposals = sa.table(
        "proposals",
        sa.column("id", sa.Integer()),
        sa.column("created_at", stamp),
        sa.column("first_answered_at", stamp),
        sa.column("response_seconds", sa.Float()),
    )
    answered = connection.execute(
        sa.select(proposals.c.id, proposals.c.created_at, proposals.c.first_answered_at).where(
            proposals.c.first_answered_at.is_not(None)
        )
    ).all()
    if answered:
        connection.execute(
            proposals.update()
            .where(proposals.c.id == sa.bindparam("proposal_id"))
            .values(response_seconds=sa.bindparam("seconds")),
            [
                {"proposal_id": id_, "seconds": (answered_at - made).total_seconds()}
                for id_, made, answered_at in answered
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("granted_month_start")
        batch_op.drop_column("granted_month")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_response_seconds", sqlite_where=sa.text(ANSWERED))
        batch_op.drop_column("response_seconds")
