"""Product service rules that need the database."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from products import service
from products.errors import DuplicateCode
from products.models import Bank, LoanProduct
from products.schemas import ProductSchema
from tests.conftest import TEST_ACTOR

BODY = {
    "code": "E1",
    "name": "首付e贷",
    "type": "e_loan",
    "amount_min": 100_000,
    "amount_max": 3_000_000,
    "term_min_months": 1,
    "term_max_months": 36,
    "rate_min": 3.5,
    "rate_max": 5.0,
    "quota": 50_000_000,
}


def test_a_code_taken_by_a_concurrent_writer_is_a_duplicate_not_a_crash(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = Bank(code="B1", name="某银行")
    db_session.add(bank)
    db_session.commit()
    first = service.create_product(db_session, bank.id, ProductSchema().load(BODY), actor=TEST_ACTOR)
    db_session.commit()
    # A concurrent writer checked for the code before this one was written: its look-up saw nothing.
    monkeypatch.setattr(service, "find_by_code", lambda *args: None)
    with pytest.raises(DuplicateCode):
        service.create_product(db_session, bank.id, ProductSchema().load(BODY), actor=TEST_ACTOR)
    db_session.rollback()
    assert db_session.scalars(select(LoanProduct.id)).all() == [first.id]
    assert db_session.scalar(select(func.count()).select_from(LoanProduct)) == 1
