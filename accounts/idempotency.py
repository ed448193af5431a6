"""Idempotency keys: the first answer to a write, kept per caller so that a retried request gets the same
answer and writes nothing more.

A key is claimed (inserted) at the start of the write's transaction and its answer stored in that same
transaction, so an acknowledged write and its key are committed together or not at all. The unique
(account, key) constraint decides between concurrent requests with one key: the database makes the second
claim wait for the first transaction and then fail, after which the second request reads the stored answer.
Keys are kept at least ``RETENTION`` (``purge_idempotency_keys`` removes older ones)."""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, UTCDateTime, utcnow

RETENTION = timedelta(hours=24)
CLAIM_WAIT = timedelta(seconds=5)  # how long a request waits for a concurrent one with the same key
KEY_MAX_LENGTH = 255


class IdempotencyKey(Base):
    """One caller's key with the request it was first used for and the answer given (status code and JSON
    body). ``status_code`` and ``response_body`` are empty only inside the claiming transaction."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_keys_account_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


@dataclass(frozen=True)
class Fingerprint:
    """What makes two requests "the same request": method, path and the canonical JSON body."""

    method: str
    path: str
    body_sha256: str

    def matches(self, record: IdempotencyKey) -> bool:
        return (self.method, self.path, self.body_sha256) == (record.method, record.path, record.body_sha256)


def body_sha256(body: Any) -> str:
    """Hash of the body as canonical JSON (sorted keys, no spaces), so that key order and whitespace do not
    make a retry look like another request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_valid_key(key: str) -> bool:
    """1 to 255 printable ASCII characters (space to tilde)."""
    return 1 <= len(key) <= KEY_MAX_LENGTH and all(" " <= char <= "~" for char in key)


class KeyInProgress(Exception):
    """Another transaction held the key (or, on SQLite, the database's write lock) longer than the wait."""


def find_key(db: Session, account_id: int, key: str) -> IdempotencyKey | None:
    return db.scalar(select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key))


def claim_or_find(
    db: Session, account_id: int, key: str, fingerprint: Fingerprint, wait: timedelta = CLAIM_WAIT
) -> IdempotencyKey:
    """The caller's record for ``key``: the one committed earlier (its ``status_code`` is set: answer it), or
    a new one inserted in the current transaction (``status_code`` None: do the work, store the answer with
    ``record_answer``, commit).

    When another transaction is claiming the same key, the insert waits for it (at most ``wait``): if it
    commits, its record is returned (after a rollback of this transaction, which holds nothing yet); if it
    rolls back, the key is claimed here; if it outlasts the wait, ``KeyInProgress`` (also after a rollback)."""
    found = find_key(db, account_id, key)
    if found is not None:
        return found
    record = IdempotencyKey(
        account_id=account_id,
        key=key,
        method=fingerprint.method,
        path=fingerprint.path,
        body_sha256=fingerprint.body_sha256,
    )
    try:
        with _waiting_at_most(db, wait):
            db.add(record)
            db.flush()
    except IntegrityError:
        db.rollback()
        found = find_key(db, account_id, key)
        if found is None:
            raise
        return found
    except OperationalError as error:
        db.rollback()
        if not _is_lock_timeout(error):
            raise
        raise KeyInProgress(key) from error
    return record


def record_answer(db: Session, record: IdempotencyKey, status_code: int, body: str) -> None:
    """Store the answer of a claimed key; the caller commits it with the work it answers for."""
    record.status_code = status_code
    record.response_body = body
    db.flush()


@contextmanager
def _waiting_at_most(db: Session, wait: timedelta) -> Iterator[None]:
    """Bound lock waits inside the block: PostgreSQL's ``lock_timeout`` for this transaction, SQLite's busy
    timeout for this connection; the previous setting is restored afterwards (on PostgreSQL a failure's
    rollback restores it)."""
    connection = db.connection()
    milliseconds = max(1, int(wait / timedelta(milliseconds=1)))
    if connection.dialect.name == "sqlite":
        previous = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {previous}")
        return
    setting = text("SELECT set_config('lock_timeout', :value, true)")
    previous = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    connection.execute(setting, {"value": f"{milliseconds}ms"})
    yield
    connection.execute(setting, {"value": previous})


def _is_lock_timeout(error: OperationalError) -> bool:
    """PostgreSQL's lock_not_available (SQLSTATE 55P03) or SQLite's "database is locked"."""
    return getattr(error.orig, "sqlstate", None) == "55P03" or "database is locked" in str(error.orig)


def purge_idempotency_keys(db: Session, older_than: timedelta = RETENTION, now: datetime | None = None) -> int:
    """Delete keys created more than ``older_than`` ago (never less than ``RETENTION``); return how many."""
    if older_than < RETENTION:
        raise ValueError(f"idempotency keys are kept at least {RETENTION}")
    cutoff = (now or utcnow()) - older_than
    result = db.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return result.rowcount
