"""Banks and their loan products."""

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

import products.catalogue_version  # noqa: F401  (its listeners version every write to these tables)
from db.base import Base, UTCDateTime, utcnow


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    products: Mapped[list["LoanProduct"]] = relationship(back_populates="bank")


class LoanProduct(Base):
    """A loan product a bank publishes. Amounts in integer yuan, rates in annual percent, terms in months,
    ratios (debt ratio, PD) as fractions between 0 and 1. The list columns hold codes from reference.codes."""

    __tablename__ = "loan_products"
    __table_args__ = (
        CheckConstraint("amount_min > 0 AND amount_min <= amount_max", name="amount_range"),
        CheckConstraint("term_min_months > 0 AND term_min_months <= term_max_months", name="term_range"),
        CheckConstraint("rate_min >= 0 AND rate_min <= rate_max", name="rate_range"),
        CheckConstraint("granted_total >= 0 AND granted_total <= quota", name="granted_within_quota"),
        CheckConstraint("review_capacity >= 0", name="review_capacity_non_negative"),
        CheckConstraint("status IN ('draft', 'active', 'paused', 'withdrawn')", name="status_known"),
        Index("ix_loan_products_bank_id_code", "bank_id", "code", unique=True),
        Index("ix_loan_products_status_type", "status", "type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_min: Mapped[int] = mapped_column(BigInteger)
    amount_max: Mapped[int] = mapped_column(BigInteger)
    term_min_months: Mapped[int]
    term_max_months: Mapped[int]
    rate_min: Mapped[float] = mapped_column(Float)
    rate_max: Mapped[float] = mapped_column(Float)
    collateral: Mapped[list[str]] = mapped_column(JSON, default=list)
    quota: Mapped[int] = mapped_column(BigInteger)
    granted_total: Mapped[int] = mapped_column(BigInteger, default=0)
    review_capacity: Mapped[int]
    min_years_in_business: Mapped[float | None] = mapped_column(Float)
    min_annual_revenue: Mapped[int | None] = mapped_column(BigInteger)
    max_debt_ratio: Mapped[float | None] = mapped_column(Float)
    max_pd: Mapped[float | None] = mapped_column(Float)
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    size_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    requires_settlement_account: Mapped[bool] = mapped_column(Boolean, default=False)
    first_loan_friendly: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_days: Mapped[int | None]
    online_only: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_compensation_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    bank: Mapped[Bank] = relationship(back_populates="products")
