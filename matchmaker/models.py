"""Tables of the matchmaker: scoring models in use and the scores computed with them."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


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
