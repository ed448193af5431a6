"""Catalogue queries: which products a caller may see, filtered and paginated."""

from dataclasses import dataclass

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session, joinedload

from products.models import Bank, LoanProduct

PUBLIC_STATUSES = ("active", "paused", "withdrawn")


@dataclass(frozen=True)
class ProductFilter:
    type: str | None = None
    bank: str | None = None  # a bank's id or code
    amount: int | None = None  # a need's amount: amount_min <= amount <= amount_max
    collateral: str | None = None  # the product accepts this kind
    status: str = "active"
    q: str | None = None  # text in the name or description


def visible_to(viewer_bank_id: int | None) -> object:
    """Drafts are seen only by their own bank; everything else is public."""
    condition = LoanProduct.status.in_(PUBLIC_STATUSES)
    if viewer_bank_id is not None:
        condition = or_(condition, LoanProduct.bank_id == viewer_bank_id)
    return condition


def _filtered(filters: ProductFilter, viewer_bank_id: int | None) -> Select[tuple[LoanProduct]]:
    query = select(LoanProduct).where(visible_to(viewer_bank_id), LoanProduct.status == filters.status)
    if filters.type:
        query = query.where(LoanProduct.type == filters.type)
    if filters.bank:
        bank_ids = select(Bank.id).where(
            Bank.code == filters.bank if not filters.bank.isdigit() else Bank.id == int(filters.bank)
        )
        query = query.where(LoanProduct.bank_id.in_(bank_ids))
    if filters.amount is not None:
        query = query.where(LoanProduct.amount_min <= filters.amount, LoanProduct.amount_max >= filters.amount)
    if filters.collateral:
        # The JSON list is written by json.dumps on both SQLite and PostgreSQL, and the codes are plain
        # identifiers, so matching the quoted code in its text is exact.
        query = query.where(cast(LoanProduct.collateral, String).contains(f'"{filters.collateral}"'))
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        query = query.where(or_(LoanProduct.name.ilike(pattern), LoanProduct.description.ilike(pattern)))
    return query


def list_products(
    session: Session, filters: ProductFilter, page: int, per_page: int, viewer_bank_id: int | None = None
) -> tuple[list[LoanProduct], int]:
    query = _filtered(filters, viewer_bank_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(joinedload(LoanProduct.bank))
        .order_by(LoanProduct.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def get_product(session: Session, product_id: int, viewer_bank_id: int | None = None) -> LoanProduct | None:
    query = select(LoanProduct).where(LoanProduct.id == product_id, visible_to(viewer_bank_id))
    return session.scalar(query.options(joinedload(LoanProduct.bank)))  # every view of a product names its bank


def bank_products(session: Session, bank_id: int, include_withdrawn: bool = False) -> list[LoanProduct]:
    query = select(LoanProduct).where(LoanProduct.bank_id == bank_id).order_by(LoanProduct.code)
    if not include_withdrawn:
        query = query.where(LoanProduct.status != "withdrawn")
    return list(session.scalars(query))
