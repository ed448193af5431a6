"""catalogue version: one row whose token changes with every write the public catalogue shows
(products.catalogue_version), read by the catalogue's answer cache

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 12:00:32
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import db.base  # the custom column types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_version")),
    )
    op.bulk_insert(table, [{"id": 1, "token": uuid.uuid4().hex, "changed_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("catalogue_version")
