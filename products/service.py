"""Changing products: create, update, withdraw. The caller validates the body with ProductSchema and
commits the transaction; these functions enforce the rules that need the stored product, and write each
change to the audit log (``accounts.audit``) in the same transaction, naming the actor."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.audit import Actor, changed, record_change
from products.errors import DuplicateCode, ProductError, ProductWithdrawn
from products.models import LoanProduct
from products.schemas import ProductSchema, consistency_errors

_FIELDS = [name for name, field in ProductSchema().fields.items() if not field.dump_only]


def find_by_code(session: Session, bank_id: int, code: str) -> LoanProduct | None:
    return session.scalar(select(LoanProduct).where(LoanProduct.bank_id == bank_id, LoanProduct.code == code))


def _state(product: LoanProduct) -> dict[str, Any]:
    """The product's writable fields, as the audit log records them."""
    return {name: getattr(product, name) for name in _FIELDS}


def _ids(product: LoanProduct) -> dict[str, Any]:
    return {"code": product.code, "bank_id": product.bank_id}


def create_product(
    session: Session, bank_id: int, data: dict[str, Any], *, actor: Actor, note: str = ""
) -> LoanProduct:
    """``data`` is the output of ``ProductSchema().load``; the bank is the caller's, never the body's."""
    if find_by_code(session, bank_id, data["code"]) is not None:
        raise DuplicateCode(
            f"product code {data['code']!r} already exists", {"code": ["already used by another of your products"]}
        )
    product = LoanProduct(bank_id=bank_id, granted_total=0, **data)
    session.add(product)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent writer took the code first; the caller must roll back
        raise DuplicateCode(
            f"product code {data['code']!r} already exists", {"code": ["already used by another of your products"]}
        ) from error
    record_change(session, "product", product.id, "created", actor, after=_state(product), ids=_ids(product), note=note)
    return product


def update_product(
    session: Session, product: LoanProduct, changes: dict[str, Any], *, actor: Actor, note: str = ""
) -> LoanProduct:
    """Apply a partial update (``ProductSchema().load(..., partial=True)``) after checking the cross-field
    rules on the merged product. The audit entry holds the fields whose value changed (none: no entry); a
    change of the status alone (pause, activate) is a ``status_changed`` entry."""
    if product.status == "withdrawn":
        raise ProductWithdrawn("a withdrawn product cannot be changed; publish a new product instead")
    if "code" in changes and changes["code"] != product.code:
        other = find_by_code(session, product.bank_id, changes["code"])
        if other is not None:
            raise DuplicateCode("product code already used", {"code": ["already used by another of your products"]})
    current = _state(product)
    merged = current | changes
    errors = consistency_errors(merged)
    if product.granted_total and merged["quota"] < product.granted_total:
        errors.setdefault("quota", []).append(f"quota cannot go below the {product.granted_total} yuan already granted")
    if errors:
        raise ProductError("the product would be inconsistent", errors)
    ids = _ids(product)
    before, after = changed(current, changes)
    for name, value in changes.items():
        setattr(product, name, value)
    session.flush()
    if after:
        action = "status_changed" if set(after) == {"status"} else "updated"
        record_change(session, "product", product.id, action, actor, before, after, ids=ids, note=note)
    return product


def withdraw_product(session: Session, product: LoanProduct, *, actor: Actor) -> LoanProduct:
    """Withdraw (下架): the row stays, so that proposals, grants and statistics keep their history."""
    if product.status != "withdrawn":
        before = {"status": product.status}
        product.status = "withdrawn"
        record_change(
            session, "product", product.id, "status_changed", actor, before, {"status": "withdrawn"}, _ids(product)
        )
    session.flush()
    return product
