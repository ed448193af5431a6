"""needs' submitted month: each financing need keeps the month in China it was submitted in, as a number
yyyymm and as the month's first instant (enterprises.models.keep_submitted_month), for the funnel by month.
Filled here from the needs' submission times.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base
from reference.china_time import china_month

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# China's wall time of a UTC timestamp is eight hours on (reference.china_time.CHINA).
CHINA_TIME = "(created_at AT TIME ZONE 'UTC' + interval '8 hours')"
POSTGRESQL_FILL = (
    f"UPDATE financing_needs SET submitted_month = CAST(to_char({CHINA_TIME}, 'YYYYMM') AS INTEGER),"
    f" submitted_month_start = (date_trunc('month', {CHINA_TIME}) - interval '8 hours') AT TIME ZONE 'UTC'"
)


def upgrade() -> None:
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_month", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("submitted_month_start", db.base.UTCDateTime(timezone=True), nullable=True))
    _fill()
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        batch_op.alter_column("submitted_month", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("submitted_month_start", existing_type=db.base.UTCDateTime(timezone=True), nullable=False)


def _fill() -> None:
    """In SQL on PostgreSQL; SQLite keeps timestamps as text, so there in Python."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(POSTGRESQL_FILL)
        return
    stamp = db.base.UTCDateTime()
    needs = sa.table(
        "financing_needs",
        sa.column("id", sa.Integer()),
        sa.column("created_at", stamp),
        sa.column("submitted_month", sa.Integer()),
        sa.column("submitted_month_start", stamp),
    )
    rows = connection.execute(sa.select(needs.c.id, needs.c.created_at)).all()
    if rows:
        connection.execute(
            needs.update()
            .where(needs.c.id == sa.bindparam("need_id"))
            .values(submitted_month=sa.bindparam("month"), submitted_month_start=sa.bindparam("start")),
            [
                dict(zip(("need_id", "month", "start"), (need_id, *china_month(created_at)), strict=True))
                for need_id, created_at in rows
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("financing_needs", schema=None) as batch_op:
        batch_op.drop_column("submitted_month_start")
        batch_op.drop_column("submitted_month")
