"""Shared fixtures.

Database tests run once on SQLite and, when TEST_DATABASE_URL is set, once more on PostgreSQL (in a
database of their own, created and dropped by the run). The schema is built by the Alembic migrations,
never by ``create_all``; every test starts from empty tables."""

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from accounts import passwords
from accounts.models import Role
from accounts.tokens import create_account, issue_token
from api import create_app
from api.catalogue_cache import AnswerCache
from db import migrate
from db.base import Base
from db.engine import make_engine, make_session_factory
from enterprises.models import Enterprise, FinancingNeed
from enterprises.schemas import NeedSchema, ProfileSchema, RegistrationSchema
from enterprises.service import create_need, register, save_profile
from enterprises.uscc import check_character
from matchmaker.credit_scores import activate, register_model
from products.models import Bank
from products.schemas import ProductSchema
from products.service import create_product
from reference import china_time
from reference.china_time import china_today
from scoring.platform import train_synthetic_model

os.environ.setdefault("OMP_NUM_THREADS", "1")
passwords.SCRYPT_N = 2**8  # registrations by the hundred: keep the slow hash's shape, not its cost
TEST_ACTOR = "test fixture"  # the audit log's actor of what the fixtures write straight through the domain

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of a new, migrated database: an SQLite file in ``directory``, or a PostgreSQL database of its
    own on TEST_DATABASE_URL's server, dropped on exit."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'test.sqlite3'}"
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


@pytest.fixture
def migrated_session(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Session]]:
    """A session on a database of the test's own (migrated down and up again), on the same backend."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        session = make_session_factory(engine)()
        yield url, session
        session.close()
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


def empty_all_tables(app: Flask) -> None:
    """Every table emptied and every id sequence restarted for the next test. The append-only triggers
    (credit_events, audit_log) would refuse the DELETE: PostgreSQL's replica role fires no trigger (it takes a
    superuser, as the test server's postgres is; a TRUNCATE of the thirty-odd tables took 0.1 s, the DELETEs
    a few ms); on SQLite they are dropped for the DELETE and created again."""
    engine = app.extensions["engine"]
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text("; ".join(f"DELETE FROM {table}" for table in tables)))
            connection.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)"
                    " FROM pg_sequences WHERE schemaname = current_schema()"
                )
            )
            return
        triggers = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _sql in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))
        for _name, sql in triggers:
            connection.execute(text(sql))


def make_app(database_url: str) -> Flask:
    """The app as the tests run it. Rate limits are off here (a fuzzer or a page test may sign in many times a
    minute); tests/api/test_rate_limits.py turns them on."""
    settings = {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True, "RATELIMIT_ENABLED": False}
    return create_app(settings)


# One app per database in each test process, with the configuration it was built with: building one takes
# about 0.1 s (flask-smorest writes the OpenAPI document as the blueprints register), which was a fifth of the
# suite's time when every test built its own.
_APPS: dict[str, tuple[Flask, dict[str, Any]]] = {}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The process's app on the test's database, as built: a test may change its configuration, never add to
    it (Flask refuses a route or a hook once it has served; build one with :func:`make_app` for that)."""
    if database_url not in _APPS:
        built = make_app(database_url)
        _APPS[database_url] = built, dict(built.config)
    app, config = _APPS[database_url]
    # Rounds' graphs and trained models go to the test's own directory, not the checkout's instance/ (the suite
    # runs in several processes whose round ids all start at 1).
    app.config["ROUND_DIR"] = str(tmp_path / "rounds")
    app.config["MODEL_DIR"] = str(tmp_path / "models")
    yield app
    empty_all_tables(app)
    app.extensions["engine"].dispose()
    app.config.clear()
    app.config.update(config)
    # what the app learnt about the emptied database
    app.extensions["catalogue_cache"] = AnswerCache(app.extensions["catalogue_cache"].max_bytes)
    app.extensions.pop("synthetic_demo_seen", None)


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
    return token_maker(app)


def token_maker(app: Flask) -> Callable[..., str]:
    """The ``make_token`` of any app (a module's own app too)."""

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


WAN = 10_000


def product(code: str, **changes: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "name": f"产品{code}",
        "type": "credit_loan",
        "amount_min": 10 * WAN,
        "amount_max": 500 * WAN,
        "term_min_months": 6,
        "term_max_months": 36,
        "rate_min": 3.5,
        "rate_max": 6.0,
        "collateral": ["none"],
        "quota": 5_000 * WAN,
        "review_capacity": 10,
    }
    return body | changes


def enterprise_with_need(session: Session, index: int, amount_wan: int = 100, **need: Any) -> FinancingNeed:
    data = RegistrationSchema().load(
        {
            "uscc": valid_uscc(),
            "name": f"测试企业{index}有限公司",
            "industry": "C34",
            "region": "某市城区",
            "founded_on": "2015-01-01",
            "employees": 60,
            "registered_capital": 500 * WAN,
            "contact_person": "张会计",
            "phone": "13800000000",
            "email": f"e{index}@example.cn",
            "password": "password-123",
        }
    )
    enterprise, _ = register(session, data)
    figures = {
        "annual_revenue": 3_000 * WAN,
        "net_profit": 200 * WAN,
        "total_assets": 2_000 * WAN,
        "total_liabilities": 800 * WAN,
        "overdue_events_24m": 0,
    }
    save_profile(session, enterprise, china_today().year - 1, ProfileSchema().load(figures))
    body = {
        "amount": amount_wan * WAN,
        "purpose": "working_capital",
        "term_months": 12,
        "needed_by": (china_today() + timedelta(days=30)).isoformat(),
    } | need
    return create_need(session, enterprise, NeedSchema().load(body))


@pytest.fixture
def market(app: Flask, db_session: Session, active_model: str) -> dict[str, Any]:
    """Two banks with three products, twelve enterprises with one need each."""
    banks = [Bank(code="B1", name="甲银行"), Bank(code="B2", name="乙银行")]
    db_session.add_all(banks)
    db_session.flush()
    schema = ProductSchema()
    bodies = [
        (banks[0], product("P1", review_capacity=5)),
        (banks[0], product("P2", rate_min=4.0)),
        (banks[1], product("P3", quota=400 * WAN, amount_max=300 * WAN)),
    ]
    products = [create_product(db_session, bank.id, schema.load(body), actor=TEST_ACTOR) for bank, body in bodies]
    needs = [enterprise_with_need(db_session, i) for i in range(12)]
    db_session.commit()
    return {"banks": banks, "products": products, "needs": needs}


@pytest.fixture
def china_ahead_of_utc(monkeypatch: pytest.MonkeyPatch) -> date:
    """Stop the business clock at 16:30 UTC today, when China's date is already tomorrow's; return that date.

    Only ``reference.china_time`` reads this clock: rows are still stamped with the real time."""
    instant = datetime.now(UTC).replace(hour=16, minute=30, second=0, microsecond=0)

    class Stopped(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return instant.astimezone(tz)

    monkeypatch.setattr(china_time, "datetime", Stopped)
    assert china_today() == instant.date() + timedelta(days=1)
    return china_today()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
