"""The catalogue version: one row whose token changes in the same transaction as every write to what the public
catalogue shows, so that answers cached under a token are never served once a write has committed, in any
process or on any machine that shares the database (api/catalogue_cache.py keys its cache by it).

What moves it: no writer calls anything. Listeners on every SQLAlchemy ``Session`` note a write to a watched
table — an ORM flush that adds, changes or deletes a ``Bank`` or ``LoanProduct`` (create, edit, pause, withdraw,
CSV/JSON import, the demo), or an INSERT/UPDATE/DELETE statement on their tables run through the session (the
ledger's conditional UPDATE of ``granted_total`` on a grant) — and, as that transaction commits, a new token is
written in it. A writer added later is covered without having to remember a call. Not seen: SQL run on a bare
``Connection`` (no such writer exists; a data migration that changes products must set a new token too).

Why a random token, not a counter: the row may be deleted and created again (the tests empty every table); a
counter starting again at 1 could meet answers cached under the old 1, a 128-bit random token never repeats.
Why at commit, not at the first write: on PostgreSQL the UPDATE holds the row's lock until the transaction
ends, so concurrent catalogue writers (grants on different products) queue on it; taken last, the lock is held
only for the commit itself. A rolled-back transaction leaves the token as it was.
"""

import uuid
from datetime import datetime

from sqlalchemy import Connection, String, event, insert, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, SessionTransaction, UOWTransaction, mapped_column

from db.base import Base, UTCDateTime, utcnow

WATCHED_TABLES = frozenset({"banks", "loan_products"})  # every column the catalogue answers show comes from these
ROW_ID = 1
_PENDING = "catalogue_version_pending"  # Session.info key: this transaction wrote a watched table


class CatalogueVersion(Base):
    """A single row (id 1): the token of the catalogue's current state, and when it last changed."""

    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


_CURRENT = select(CatalogueVersion.token).where(CatalogueVersion.id == ROW_ID)


def current_token(connection: Connection) -> str | None:
    """The committed token (one primary-key read); None when the row is missing, which callers must treat as
    "unknown, do not cache"."""
    return connection.execute(_CURRENT).scalar()


def bump(session: Session) -> str:
    """Give the catalogue a new token in the session's transaction (creating the row if it is missing)."""
    token = uuid.uuid4().hex
    changed = session.execute(
        update(CatalogueVersion).where(CatalogueVersion.id == ROW_ID).values(token=token, changed_at=utcnow())
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(insert(CatalogueVersion).values(id=ROW_ID, token=token, changed_at=utcnow()))
    return token


def _is_watched(instance: object) -> bool:
    return getattr(instance, "__tablename__", None) in WATCHED_TABLES


@event.listens_for(Session, "after_flush")
def _note_flushed_writes(session: Session, _flush: UOWTransaction) -> None:
    """After a flush the session still lists what it flushed (new, dirty, deleted)."""
    if session.info.get(_PENDING):
        return
    if any(_is_watched(item) for item in (*session.new, *session.deleted)) or any(
        _is_watched(item) and session.is_modified(item, include_collections=False) for item in session.dirty
    ):
        session.info[_PENDING] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement_writes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        state.session.info[_PENDING] = True


@event.listens_for(Session, "before_commit")
def _bump_on_commit(session: Session) -> None:
    """Runs for the outermost commit and for each savepoint's; the token is written once, at the outermost."""
    if session.get_nested_transaction() is not None:
        return
    session.flush()  # writes still pending are flushed by the commit after this hook: note them now
    if session.info.pop(_PENDING, False):
        bump(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
