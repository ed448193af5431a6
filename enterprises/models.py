"""Enterprises (SMEs), their yearly financial profiles and their financing needs."""

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Index, String, Text, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from db.base import Base, UTCDateTime, utcnow
from reference.china_time import china_month


class Enterprise(Base):
    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("employees >= 0", name="employees_non_negative"),
        CheckConstraint("size_class IN ('large', 'medium', 'small', 'micro')", name="size_class_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(8), index=True)
    region: Mapped[str] = mapped_column(String(100), index=True)
    founded_on: Mapped[date] = mapped_column(Date)
    employees: Mapped[int]
    registered_capital: Mapped[int] = mapped_column(BigInteger)
    contact_person: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    size_class: Mapped[str] = mapped_column(String(8), index=True)
    first_time_borrower: Mapped[bool] = mapped_column(Boolean, default=True)
    specialised_innovative: Mapped[bool] = mapped_column(Boolean, default=False)
    settlement_banks: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    profiles: Mapped[list["FinancialProfile"]] = relationship(
        back_populates="enterprise", order_by="FinancialProfile.fiscal_year"
    )
    needs: Mapped[list["FinancingNeed"]] = relationship(back_populates="enterprise", order_by="FinancingNeed.id")


class FinancialProfile(Base):
    """One fiscal year's figures, in integer yuan; NULL means not declared, which scoring treats as
    information. ``figure_sources`` says where each figure comes from (self_declared, audited, tax_record,
    bank_statement): SME statements are often unreliable, so lenders must tell a declared figure from a
    checked one."""

    __tablename__ = "financial_profiles"
    __table_args__ = (
        Index("ix_financial_profiles_enterprise_year", "enterprise_id", "fiscal_year", unique=True),
        CheckConstraint("total_assets >= 0 AND total_liabilities >= 0", name="balance_sheet_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    fiscal_year: Mapped[int]
    annual_revenue: Mapped[int] = mapped_column(BigInteger)
    net_profit: Mapped[int] = mapped_column(BigInteger)
    total_assets: Mapped[int] = mapped_column(BigInteger)
    total_liabilities: Mapped[int] = mapped_column(BigInteger)
    taxes_paid: Mapped[int | None] = mapped_column(BigInteger)
    monthly_settlement_flow: Mapped[int | None] = mapped_column(BigInteger)
    outstanding_loans: Mapped[int] = mapped_column(BigInteger)
    overdue_events_24m: Mapped[int]
    patents: Mapped[int | None]
    trademarks: Mapped[int | None]
    receivables: Mapped[int | None] = mapped_column(BigInteger)
    main_debtor: Mapped[str] = mapped_column(String(200), default="")
    collateral_available: Mapped[list[str]] = mapped_column(JSON, default=list)
    social_insurance_headcount: Mapped[int | None]
    audited: Mapped[bool] = mapped_column(Boolean, default=False)
    figure_sources: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="profiles")


class FinancingNeed(Base):
    __tablename__ = "financing_needs"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months > 0", name="term_positive"),
        CheckConstraint(
            "status IN ('open', 'matched', 'accepted', 'granted', 'withdrawn', 'expired')", name="status_known"
        ),
        Index("ix_financing_needs_enterprise_status", "enterprise_id", "status"),
        Index("ix_financing_needs_created_at", "created_at"),  # statistics by the day a need was submitted
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(32))
    term_months: Mapped[int]
    needed_by: Mapped[date] = mapped_column(Date)
    collateral_offered: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_rate: Mapped[float | None] = mapped_column(Float)
    guarantee_available: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The month in China it was submitted in, as the number yyyymm and its first instant, kept by
    # keep_submitted_month below: computed per need, they took two thirds of the funnel by month.
    submitted_month: Mapped[int]
    submitted_month_start: Mapped[datetime] = mapped_column(UTCDateTime())
    # What became of the need, for the regulators' funnel: kept by the matchmaker in the transaction of each
    # proposal, decision and ledger write (matchmaker.need_figures checks them against those): the proposals
    # made for it, those a bank took up (accepted or granted), its loans, and their granted amount with the
    # ledger's corrections.
    proposal_count: Mapped[int] = mapped_column(default=0, server_default="0")
    taken_up_count: Mapped[int] = mapped_column(default=0, server_default="0")
    loan_count: Mapped[int] = mapped_column(default=0, server_default="0")
    granted_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # For the funnel by need (enterprises.need_copies, written at the end of each flush that adds a need or
    # changes its enterprise): a copy of the enterprise's classification and when its previous need was
    # submitted.
    enterprise_region: Mapped[str | None] = mapped_column(String(100))
    enterprise_size_class: Mapped[str | None] = mapped_column(String(8))
    enterprise_industry: Mapped[str | None] = mapped_column(String(1))
    previous_need_submitted: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise] = relationship(back_populates="needs")


@event.listens_for(FinancingNeed, "before_insert")
@event.listens_for(FinancingNeed, "before_update")
def keep_submitted_month(_mapper: Mapper[FinancingNeed], _connection: Connection, need: FinancingNeed) -> None:
    """Write the need's ``submitted_month`` and ``submitted_month_start`` whenever the ORM writes the need (a
    bulk UPDATE of ``created_at`` must set them itself; need_copies.submitted_month_discrepancies checks)."""
    if need.created_at is None:  # not yet given its default
        need.created_at = utcnow()
    need.submitted_month, need.submitted_month_start = china_month(need.created_at)


# Its listener keeps the needs' copies for the statistics; imported here, after the models, so that every
# session that can write a need or an enterprise has it.
import enterprises.need_copies  # noqa: E402, F401
