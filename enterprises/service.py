"""Registering enterprises, keeping their profiles and needs. Inputs are already validated by the schemas
in enterprises/schemas.py; these functions apply the rules that need the database. The caller commits."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.models import Account, Role
from accounts.passwords import hash_password, verify_password
from enterprises.errors import EnterpriseError
from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from enterprises.size_class import classify_size

WITHDRAWABLE = ("open", "matched")


def register(session: Session, data: dict[str, Any]) -> tuple[Enterprise, Account]:
    """Create the enterprise and its SME account. One account per credit code."""
    fields = dict(data)
    password = fields.pop("password")
    had_bank_loan = fields.pop("had_bank_loan", False)
    if session.scalar(select(Enterprise.id).where(Enterprise.uscc == fields["uscc"])) is not None:
        raise EnterpriseError("already registered", {"uscc": [_ALREADY_REGISTERED]}, status=409)
    enterprise = Enterprise(**fields, first_time_borrower=not had_bank_loan)
    refresh_size_class(enterprise)
    account = Account(name=enterprise.name, role=Role.SME.value, password_hash=hash_password(password))
    try:
        session.add(enterprise)
        session.flush()
        account.enterprise_id = enterprise.id
        session.add(account)
        session.flush()
    except IntegrityError as error:  # a concurrent registration won the race; the caller must roll back
        raise EnterpriseError("already registered", {"uscc": [_ALREADY_REGISTERED]}, status=409) from error
    return enterprise, account


_ALREADY_REGISTERED = "this credit code is already registered / 该统一社会信用代码已注册"


def authenticate(session: Session, uscc: str, password: str) -> Account | None:
    """The SME account for a credit code and password, or None (same answer for unknown code and bad password)."""
    account = session.scalar(
        select(Account).join(Enterprise, Account.enterprise_id == Enterprise.id).where(Enterprise.uscc == uscc)
    )
    stored = account.password_hash if account is not None else None
    return account if verify_password(password, stored) else None


def latest_profile(enterprise: Enterprise) -> FinancialProfile | None:
    return enterprise.profiles[-1] if enterprise.profiles else None


def refresh_size_class(enterprise: Enterprise) -> None:
    """Size class from industry, employees and the latest year's revenue and assets (2011 standard)."""
    profile = latest_profile(enterprise)
    enterprise.size_class = classify_size(
        enterprise.industry,
        enterprise.employees,
        profile.annual_revenue if profile else None,
        profile.total_assets if profile else None,
    )


def update_enterprise(session: Session, enterprise: Enterprise, changes: dict[str, Any]) -> Enterprise:
    for name, value in changes.items():
        setattr(enterprise, name, value)
    refresh_size_class(enterprise)
    session.flush()
    return enterprise


def save_profile(
    session: Session, enterprise: Enterprise, fiscal_year: int, data: dict[str, Any]
) -> tuple[FinancialProfile, bool]:
    """Create or replace one fiscal year's profile; other years are kept. Returns (profile, created)."""
    profile = session.scalar(
        select(FinancialProfile).where(
            FinancialProfile.enterprise_id == enterprise.id, FinancialProfile.fiscal_year == fiscal_year
        )
    )
    created = profile is None
    if profile is None:
        profile = FinancialProfile(enterprise=enterprise, fiscal_year=fiscal_year)
        session.add(profile)
    sources = data.get("figure_sources") or {}
    default_source = "audited" if data.get("audited") else "self_declared"
    figures = [
        name for name in data if name not in ("figure_sources", "audited", "main_debtor", "collateral_available")
    ]
    for name, value in data.items():
        setattr(profile, name, value)
    profile.figure_sources = {name: sources.get(name, default_source) for name in figures if data[name] is not None}
    session.flush()
    session.refresh(enterprise, ["profiles"])
    refresh_size_class(enterprise)
    if profile is latest_profile(enterprise) and profile.outstanding_loans > 0:
        enterprise.first_time_borrower = False
    session.flush()
    return profile, created


def create_need(session: Session, enterprise: Enterprise, data: dict[str, Any]) -> FinancingNeed:
    need = FinancingNeed(enterprise=enterprise, status="open", **data)
    session.add(need)
    session.flush()
    return need


def withdraw_need(session: Session, need: FinancingNeed) -> FinancingNeed:
    if need.status not in WITHDRAWABLE:
        raise EnterpriseError(
            f"a need that is {need.status} cannot be withdrawn", {"status": [f"need is {need.status}"]}, status=409
        )
    need.status = "withdrawn"
    session.flush()
    return need


def own_need(session: Session, enterprise_id: int, need_id: int) -> FinancingNeed | None:
    """A need of this enterprise, or None (another SME's need is indistinguishable from a missing one)."""
    return session.scalar(
        select(FinancingNeed).where(FinancingNeed.id == need_id, FinancingNeed.enterprise_id == enterprise_id)
    )
