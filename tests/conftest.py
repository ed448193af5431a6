"""Shared fixtures.

Database tests run once on SQLite and, when TEST_DATABASE_URL is set, once more on PostgreSQL (in a
database of their own, created and dropped by the run). The schema is built by the Alembic migrations,
never by ``create_all``; every test starts from empty tables."""

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from accounts.models import Role
from accounts.tokens import create_account, issue_token
from api import create_app
from db import migrate
from db.base import Base
from enterprises.models import Enterprise
from enterprises.uscc import check_character
from matchmaker.credit_scores import activate, register_model
from products.models import Bank
from scoring.platform import train_synthetic_model

os.environ.setdefault("OMP_NUM_THREADS", "1")

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    server = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"matchmaker_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_all_tables(app: Flask) -> None:
    engine = app.extensions["engine"]
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True})
    yield app
    _empty_all_tables(app)
    app.extensions["engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    session = app.extensions["session_factory"]()
    yield session
    session.close()


@pytest.fixture
def make_token(app: Flask) -> Callable[..., str]:
    """``make_token("bank", bank_code="ICBC")`` creates the account (and its bank, or for "sme" its
    enterprise) and returns a bearer token."""

    def make(role: str, bank_code: str | None = None, name: str | None = None) -> str:
        with app.extensions["session_factory"]() as session, session.begin():
            bank_id = enterprise_id = None
            if role == Role.SME:
                enterprise_id = make_enterprise(session, name or "测试企业有限公司").id
            if role == Role.BANK:
                code = bank_code or "BANK1"
                bank = session.query(Bank).filter_by(code=code).one_or_none()
                if bank is None:
                    bank = Bank(code=code, name=f"{code} bank")
                    session.add(bank)
                    session.flush()
                bank_id = bank.id
            account = create_account(session, name or f"{role} user", Role(role), bank_id, enterprise_id)
            return issue_token(session, account)

    return make


_codes = iter(range(10**8))


def valid_uscc() -> str:
    """A fresh, valid 统一社会信用代码 (a made-up organisation code under Beijing's division code)."""
    first17 = f"91110000{next(_codes):08d}X"
    return first17 + check_character(first17)


def make_enterprise(session: Session, name: str, industry: str = "C39", employees: int = 50) -> Enterprise:
    enterprise = Enterprise(
        uscc=valid_uscc(),
        name=name,
        industry=industry,
        region="110105",
        founded_on=date(2015, 6, 1),
        employees=employees,
        registered_capital=5_000_000,
        contact_person="张三",
        phone="13800138000",
        email="cfo@example.cn",
        size_class="small",
    )
    session.add(enterprise)
    session.flush()
    return enterprise


@pytest.fixture(scope="session")
def synthetic_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small platform model trained once per test run on a synthetic loan book."""
    directory = tmp_path_factory.mktemp("models") / "synthetic"
    train_synthetic_model(4_000, seed=7, out_dir=directory, folds=2)
    return directory


@pytest.fixture
def active_model(app: Flask, synthetic_model_dir: Path) -> str:
    """Register and activate the synthetic model in this test's database; returns its version."""
    with app.extensions["session_factory"]() as session, session.begin():
        return activate(session, register_model(session, synthetic_model_dir).version).version


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
