"""Helpers for the HTML page tests: products straight into the database, CSRF tokens read from the
page as a browser would, and signing in through the real form."""

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from products.models import Bank, LoanProduct
from products.schemas import ProductSchema
from products.service import create_product
from tests.api.product_samples import product_body
from tests.conftest import TEST_ACTOR

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_product(app: Flask, bank_code: str = "BANK1", code: str = "P1", **overrides: Any) -> int:
    """Create a product (and its bank if needed) through the service; returns its id."""
    raw = product_body(code, **overrides)
    with app.extensions["session_factory"]() as session, session.begin():
        bank = session.scalar(select(Bank).where(Bank.code == bank_code))
        if bank is None:
            bank = Bank(code=bank_code, name=f"{bank_code} 银行")
            session.add(bank)
            session.flush()
        return create_product(session, bank.id, ProductSchema().load(raw), actor=TEST_ACTOR).id


def product_row(db_session: Session, product_id: int) -> LoanProduct:
    db_session.expire_all()
    return db_session.get_one(LoanProduct, product_id)


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of a form on ``path``, as the browser gets it."""
    found = _CSRF.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, token: str) -> None:
    response = client.post("/login", data={"token": token, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None, page: str = "/portal") -> Any:
    """POST a form with the CSRF token read from ``page`` (where the form is)."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})
