"""Tables of the matchmaker: scoring models and scores, matching rounds and their proposals."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime, utcnow
from products.models import LoanProduct


class ScoringModel(Base):
    """A trained model registered with the service. ``directory`` is on the operator's model store (a trusted
    path written by the CLI, never by a request); ``meta`` is the artefact's metadata.json sidecar."""

    __tablename__ = "scoring_models"
    __table_args__ = (
        Index(
            "ix_scoring_models_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    directory: Mapped[str] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    platform: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EnterpriseScore(Base):
    """A score as computed: which model, from which profile, when. History is kept; the newest row for the
    active model and the latest profile is the current score."""

    __tablename__ = "enterprise_scores"
    __table_args__ = (Index("ix_enterprise_scores_enterprise_computed", "enterprise_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("financial_profiles.id"))
    model_version: Mapped[str] = mapped_column(String(64))
    pd: Mapped[float] = mapped_column(Float)
    score: Mapped[int]
    grade: Mapped[str] = mapped_column(String(1))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MatchingRound(Base):
    """One run of the matching: its parameters, what it found and how long it took. At most one round runs at
    a time (a unique partial index on the running status), so a second request gets a clear refusal."""

    __tablename__ = "matching_rounds"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'dry_run', 'failed')", name="status_known"),
        Index(
            "ix_matching_rounds_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Proposal(Base):
    """A product proposed for a need in a round, with why (``explanation``) and the enterprise's score at the
    time (``score``). At most one pending proposal per need and product."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected', 'granted', 'expired', 'withdrawn')", name="status_known"
        ),
        Index("ix_proposals_need_status", "need_id", "status"),
        Index("ix_proposals_bank_status", "bank_id", "status"),
        Index("ix_proposals_product_status", "product_id", "status"),
        Index(
            "ix_proposals_one_pending_per_pair",
            "need_id",
            "product_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("matching_rounds.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_needs.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    rank: Mapped[int]
    weight: Mapped[float] = mapped_column(Float)
    rate_min: Mapped[float] = mapped_column(Float)
    rate_max: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[LoanProduct] = relationship()
