"""The audit log: every change of state of a product, a proposal or a loan, with who made it, when, and the
values before and after.

An entry is written by the domain function that makes the change, in the same transaction (``record_change``
adds it to the caller's session), so a refused or rolled-back change leaves no entry and a committed one
always has its entry. ``before`` and ``after`` hold only the fields that changed, plus the identifiers that
name the record (a product's code and bank, a proposal's need and product, a loan event's id): ``before`` is
null for a creation.

The actor is an account, or — for what no account does, such as the expiry of unanswered proposals or the
proposals of a matching round started from the command line — the system, with what acted (the command or
the process) in ``system_actor``.

The table is append-only: database triggers refuse UPDATE and DELETE on SQLite and PostgreSQL alike
(migration 0007), like the credit ledger's. This module sits in ``accounts`` (who acted) so that products,
enterprises and the matchmaker, all above it, can write to it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    cast,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from accounts.models import Account
from db.base import Base, UTCDateTime, utcnow
from reference.codes import AUDIT_ACTIONS, AUDIT_ENTITY_KINDS, codes

# An account, or what acted as the system (a command such as "matchmaker match expire", a process).
Actor = Account | str
SYSTEM = "system"


def _one_of(column: str, allowed: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


class AuditEntry(Base):
    """One change of one record. Never updated, never deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_one_of("entity_kind", codes(AUDIT_ENTITY_KINDS)), name="entity_kind_known"),
        CheckConstraint(_one_of("action", codes(AUDIT_ACTIONS)), name="action_known"),
        CheckConstraint("(actor_account_id IS NULL) <> (system_actor IS NULL)", name="one_actor"),
        Index("ix_audit_log_entity", "entity_kind", "entity_id"),
        Index("ix_audit_log_occurred_at_id", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    system_actor: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # SQL NULL: a creation
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    note: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Account | None] = relationship()

    @property
    def actor_role(self) -> str:
        """The acting account's role, or "system"."""
        return self.actor.role if self.actor is not None else SYSTEM

    @property
    def actor_name(self) -> str:
        """The acting account's name, or what acted as the system."""
        return self.actor.name if self.actor is not None else self.system_actor or ""


def actor_columns(actor: Actor) -> dict[str, Any]:
    """The entry's actor columns: the account's id, or the system's description."""
    if isinstance(actor, Account):
        return {"actor_account_id": actor.id, "system_actor": None}
    if not actor.strip():
        raise ValueError("a system actor says what acted")
    return {"actor_account_id": None, "system_actor": actor}


def jsonable(value: Any) -> Any:
    """A stored value as JSON: dates and times in ISO 8601, enums by value, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of ``after`` whose value differs from ``before``: (their old values, their new values)."""
    names = [name for name, value in after.items() if before.get(name) != value]
    return {name: before.get(name) for name in names}, {name: after[name] for name in names}


def record_change(
    session: Session,
    entity_kind: str,
    entity_id: int,
    action: str,
    actor: Actor,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    ids: Mapping[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    """Add an entry to the caller's transaction (flushed with the change it records). ``ids`` are the
    identifiers written into both ``before`` and ``after`` (when present) beside the changed fields."""
    if entity_kind not in codes(AUDIT_ENTITY_KINDS) or action not in codes(AUDIT_ACTIONS):
        raise ValueError(f"unknown audit entity kind or action: {entity_kind} {action}")
    named = dict(ids or {})
    entry = AuditEntry(
        entity_kind=entity_kind,
        entity_id=entity_id,
        action=action,
        **actor_columns(actor),
        occurred_at=utcnow(),
        before=None if before is None else jsonable(named | dict(before)),
        after=None if after is None else jsonable(named | dict(after)),
        note=note,
    )
    session.add(entry)
    return entry


def record_created_rows(session: Session, entity_kind: str, rows: Select[Any], actor: Actor, note: str = "") -> None:
    """A ``created`` entry for each row of ``rows``, written by one INSERT ... SELECT inside the database:
    the rows' first column is the entity's id, the other (labelled) columns become ``after``. For the
    thousands of proposals of a matching round, where an entry per ORM object would cost seconds."""
    if entity_kind not in codes(AUDIT_ENTITY_KINDS):
        raise ValueError(f"unknown audit entity kind: {entity_kind}")
    sqlite = session.get_bind().dialect.name == "sqlite"

    def constant(value: Any, type_: Any) -> Any:
        # PostgreSQL types a bare parameter of a SELECT list (or of json_build_object) as unknown, hence the
        # CAST; SQLite's CAST ... AS DATETIME would turn a timestamp into a number.
        bound = literal(value, type_)
        return bound if sqlite else cast(bound, type_)

    entity_id, *fields = rows.selected_columns
    build_object = func.json_object if sqlite else func.json_build_object
    after = build_object(*[part for column in fields for part in (constant(column.key, String), column)])
    who = actor_columns(actor)
    values = rows.with_only_columns(
        entity_id,
        constant(entity_kind, String),
        constant("created", String),
        constant(who["actor_account_id"], Integer),
        constant(who["system_actor"], String),
        constant(utcnow(), UTCDateTime()),
        after,
        constant(note, Text),
    )
    columns = ["entity_id", "entity_kind", "action", "actor_account_id", "system_actor", "occurred_at", "after", "note"]
    session.execute(insert(AuditEntry).from_select(columns, values))


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list; ``since`` is inclusive, ``until`` exclusive."""

    entity_kind: str | None = None
    entity_id: int | None = None
    actor_account_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.entity_kind is not None:
            query = query.where(AuditEntry.entity_kind == self.entity_kind)
        if self.entity_id is not None:
            query = query.where(AuditEntry.entity_id == self.entity_id)
        if self.actor_account_id is not None:
            query = query.where(AuditEntry.actor_account_id == self.actor_account_id)
        if self.since is not None:
            query = query.where(AuditEntry.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(AuditEntry.occurred_at < self.until)
        return query


def list_entries(session: Session, filters: AuditFilter, page: int, per_page: int) -> tuple[list[AuditEntry], int]:
    """One page of the entries matching ``filters``, newest first, with their actors loaded; and the total."""
    total = session.scalar(filters.apply(select(func.count()).select_from(AuditEntry))) or 0
    query = (
        filters.apply(select(AuditEntry))
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(session.scalars(query)), total
