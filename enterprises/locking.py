"""The enterprise's write lock, which every writer that needs it takes first (docs/architecture.md, lock order)."""

from sqlalchemy import update
from sqlalchemy.orm import Session

from enterprises.models import Enterprise


def lock_enterprises(session: Session, enterprise_ids: list[int]) -> None:
    """Take the write lock of the enterprises for the rest of the transaction: a no-op UPDATE (it sets
    updated_at to itself), a row lock on PostgreSQL and the database write lock on SQLite, where SELECT ...
    FOR UPDATE would lock nothing. Issued on the session's connection, so that it can run inside a flush."""
    session.connection().execute(
        update(Enterprise).where(Enterprise.id.in_(enterprise_ids)).values(updated_at=Enterprise.updated_at)
    )
