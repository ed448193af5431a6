"""Sample products and CSV text shared by the product API tests."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from products.models import LoanProduct

CSV_HEADER = "code,name,type,amount_min,amount_max,term_min_months,term_max_months,rate_min,rate_max,collateral,quota"


def product_body(code: str = "P1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"产品 {code}",
        "type": "credit_loan",
        "amount_min": 100_000,
        "amount_max": 3_000_000,
        "term_min_months": 6,
        "term_max_months": 36,
        "rate_min": 3.2,
        "rate_max": 4.5,
        "collateral": ["none"],
        "quota": 500_000_000,
    }
    return body | overrides


def csv_line(code: str, amount_min: str = "100000", collateral: str = "none") -> str:
    return f"{code},产品 {code},credit_loan,{amount_min},3000000,6,36,3.2,4.5,{collateral},500000000"


def product_count(db_session: Session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(LoanProduct)) or 0


def snapshot(db_session: Session) -> list[tuple[Any, ...]]:
    """Every product row, to check that a refused call changed nothing."""
    db_session.expire_all()
    rows = db_session.scalars(select(LoanProduct).order_by(LoanProduct.id))
    return [(p.id, p.bank_id, p.code, p.name, p.status, p.amount_max, p.quota, p.updated_at) for p in rows]
