"""The catalogue's answer cache (api/catalogue_cache.py) and the catalogue version behind it
(products/catalogue_version.py): repeated public reads are served without querying the products, and every kind
of write shows in the next read, on this app and on another sharing the database (another gunicorn worker)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, text
from werkzeug.test import TestResponse

from api import create_app
from api.catalogue_cache import AnswerCache, Entry
from db.base import utcnow
from matchmaker.ledger import charge_quota
from products.catalogue_version import CatalogueVersion, current_token
from products.models import Bank, LoanProduct
from products.service import update_product
from tests.api.page_helpers import add_product
from tests.api.product_samples import CSV_HEADER, csv_line, product_body
from tests.conftest import TEST_ACTOR, auth, make_app

URL = "/api/v1/products"
PAGE = f"{URL}?page=1&per_page=20"


@pytest.fixture(autouse=True)
def version_row(app: Flask) -> None:
    """The row the migration made (the previous test's cleanup emptied every table): caching is on from the
    start, so that a write that failed to move the version would be seen serving a stale answer."""
    with app.extensions["engine"].begin() as connection:
        if current_token(connection) is None:
            connection.execute(insert(CatalogueVersion).values(id=1, token="initial", changed_at=utcnow()))


@pytest.fixture
def bank(make_token: Callable[..., str]) -> str:
    return make_token("bank", bank_code="B1")


@pytest.fixture
def other_app(database_url: str) -> Iterator[Flask]:
    """A second app on the same database: another gunicorn worker, with a cache of its own."""
    app = make_app(database_url)
    yield app
    app.extensions["engine"].dispose()


def publish(client: FlaskClient, token: str, code: str = "P1", **overrides: Any) -> dict[str, Any]:
    response = client.post(URL, json=product_body(code, **overrides), headers=auth(token))
    assert response.status_code == 201, response.json
    return response.json


def selects(app: Flask, client: FlaskClient, path: str, **kwargs: Any) -> tuple[TestResponse, list[str]]:
    """The answer to ``GET path`` and the SELECT statements it ran."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = app.extensions["engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(path, **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return response, statements


def names(response: TestResponse) -> list[str]:
    return [item["name"] for item in response.json["items"]]


def test_a_repeated_public_read_is_served_from_the_cache(app: Flask, client: FlaskClient, bank: str) -> None:
    created = publish(client, bank)
    for path in (PAGE, f"{URL}/{created['id']}"):
        first, _ = selects(app, client, path)
        again, statements = selects(app, client, path)
        assert again.status_code == 200 and again.get_data() == first.get_data()
        assert len(statements) == 1 and "catalogue_version" in statements[0]  # no product query
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"] == "public, no-cache"
        assert "Authorization" in again.headers["Vary"]
        assert again.headers["Content-Type"] == first.headers["Content-Type"] == "application/json"
        assert again.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in again.headers
    page = client.get(PAGE)
    reordered, statements = selects(app, client, f"{URL}?per_page=20&page=1")  # the same query, another order
    assert len(statements) == 1 and reordered.get_data() == page.get_data()


def _edit(client: FlaskClient, token: str, product: dict[str, Any], app: Flask) -> None:
    assert client.patch(f"{URL}/{product['id']}", json={"name": "改名产品"}, headers=auth(token)).status_code == 200


def _pause(client: FlaskClient, token: str, product: dict[str, Any], app: Flask) -> None:
    assert client.patch(f"{URL}/{product['id']}", json={"status": "paused"}, headers=auth(token)).status_code == 200


def _withdraw(client: FlaskClient, token: str, product: dict[str, Any], app: Flask) -> None:
    assert client.delete(f"{URL}/{product['id']}", headers=auth(token)).status_code == 200


def _import(client: FlaskClient, token: str, product: dict[str, Any], app: Flask) -> None:
    body = f"{CSV_HEADER}\n{csv_line(product['code'], amount_min='200000')}\n{csv_line('NEW')}\n".encode()
    answer = client.post(f"{URL}/import", data=body, content_type="text/csv", headers=auth(token))
    assert answer.status_code == 200 and answer.json["created"] == 1 and answer.json["updated"] == 1


def _grant(client: FlaskClient, token: str, product: dict[str, Any], app: Flask) -> None:
    """The ledger's conditional UPDATE of granted_total (a statement, not an ORM flush)."""
    with app.extensions["session_factory"]() as session, session.begin():
        charge_quota(session, product["id"], 1_000_000)


def _rename_bank(client: FlaskClient, token: str, product: dict[str, Any], app: Flask) -> None:
    with app.extensions["session_factory"]() as session, session.begin():
        session.get_one(Bank, product["bank_id"]).name = "改名银行"


WRITES = {"edit": _edit, "pause": _pause, "withdraw": _withdraw, "import": _import, "grant": _grant}
WRITES["bank renamed"] = _rename_bank


@pytest.mark.parametrize("kind", WRITES)
@pytest.mark.parametrize("reader", ["same app", "other app"])
def test_every_write_shows_in_the_next_read(
    app: Flask, client: FlaskClient, other_app: Flask, bank: str, kind: str, reader: str
) -> None:
    product = publish(client, bank)
    reading = client if reader == "same app" else other_app.test_client()
    detail = f"{URL}/{product['id']}"
    before = {path: reading.get(path) for path in (PAGE, detail)}
    for path, answer in before.items():
        again, statements = selects(other_app if reader == "other app" else app, reading, path)
        assert again.get_data() == answer.get_data() and len(statements) == 1  # cached now
    WRITES[kind](client, bank, product, app)
    page, one = reading.get(PAGE), reading.get(detail)
    assert page.headers["ETag"] != before[PAGE].headers["ETag"]
    assert one.headers["ETag"] != before[detail].headers["ETag"]
    expected = {
        "edit": lambda: names(page) == ["改名产品"] and one.json["name"] == "改名产品",
        "pause": lambda: names(page) == [] and one.json["status"] == "paused",
        "withdraw": lambda: names(page) == [] and one.json["status"] == "withdrawn",
        "import": lambda: names(page) == ["产品 P1", "产品 NEW"] and one.json["amount_min"] == 200_000,
        "grant": lambda: page.json["items"][0]["granted_total"] == one.json["granted_total"] == 1_000_000,
        "bank renamed": lambda: page.json["items"][0]["bank_name"] == one.json["bank_name"] == "改名银行",
    }
    assert expected[kind](), (page.json, one.json)


def test_a_publication_shows_on_every_worker(app: Flask, client: FlaskClient, other_app: Flask, bank: str) -> None:
    other = other_app.test_client()
    publish(client, bank, "P1")
    assert names(other.get(PAGE)) == names(client.get(PAGE)) == ["产品 P1"]
    publish(client, bank, "P2")
    assert names(other.get(PAGE)) == names(client.get(PAGE)) == ["产品 P1", "产品 P2"]


def test_a_write_outside_the_web_app_shows_too(app: Flask, client: FlaskClient, other_app: Flask) -> None:
    """A CLI or a script writing through the domain functions moves the version like a request does."""
    product_id = add_product(app)
    other = other_app.test_client()
    assert other.get(f"{URL}/{product_id}").json["quota"] == 500_000_000
    with app.extensions["session_factory"]() as session, session.begin():
        product = session.get_one(LoanProduct, product_id)
        update_product(session, product, {"quota": 400_000_000}, actor=TEST_ACTOR)
    assert other.get(f"{URL}/{product_id}").json["quota"] == 400_000_000


def token(app: Flask) -> str | None:
    with app.extensions["engine"].connect() as connection:
        return current_token(connection)


def test_reads_refusals_and_dry_runs_leave_the_version_alone(app: Flask, client: FlaskClient, bank: str) -> None:
    product = publish(client, bank)
    version = token(app)
    assert version is not None
    client.get(PAGE), client.get(f"{URL}/{product['id']}")
    assert client.patch(f"{URL}/{product['id']}", json={"amount_min": 10**10}, headers=auth(bank)).status_code == 422
    dry = client.post(
        f"{URL}/import?dry_run=true",
        data=f"{CSV_HEADER}\n{csv_line('DRY')}\n",
        content_type="text/csv",
        headers=auth(bank),
    )
    assert dry.status_code == 200 and dry.json["created"] == 1
    assert token(app) == version
    _, statements = selects(app, client, PAGE)
    assert len(statements) == 1  # still cached


def test_if_none_match_answers_304_until_the_body_changes(app: Flask, client: FlaskClient, bank: str) -> None:
    product = publish(client, bank)
    detail = f"{URL}/{product['id']}"
    etag = client.get(detail).headers["ETag"]
    cold = make_app(app.config["DATABASE_URL"])  # a miss answers 304 too
    try:
        for reader in (client, cold.test_client()):
            unchanged = reader.get(detail, headers={"If-None-Match": etag})
            assert unchanged.status_code == 304 and unchanged.get_data() == b""
            assert unchanged.headers["ETag"] == etag and unchanged.headers["Cache-Control"] == "public, no-cache"
    finally:
        cold.extensions["engine"].dispose()
    assert client.get(detail, headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    assert client.get(detail, headers={"If-None-Match": '"other"'}).status_code == 200
    _edit(client, bank, product, app)
    changed = client.get(detail, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["name"] == "改名产品" and changed.headers["ETag"] != etag


def test_a_banks_drafts_never_reach_the_public_and_the_public_answer_never_reaches_the_bank(
    app: Flask, client: FlaskClient, bank: str, make_token: Callable[..., str]
) -> None:
    draft = publish(client, bank, "D1", status="draft")
    drafts, detail = f"{URL}?status=draft", f"{URL}/{draft['id']}"
    for _ in range(2):  # the public first, then the bank, then the public again: each from its own source
        assert client.get(drafts).json["items"] == [] and client.get(detail).status_code == 404
        own = client.get(drafts, headers=auth(bank))
        assert names(own) == ["产品 D1"] and own.headers["Cache-Control"] == "private, no-cache"
        assert "Authorization" in own.headers["Vary"] and "ETag" not in own.headers
        assert client.get(detail, headers=auth(bank)).json["status"] == "draft"
    other_bank = make_token("bank", bank_code="B2")
    assert client.get(drafts, headers=auth(other_bank)).json["items"] == []
    assert client.get(detail, headers=auth(other_bank)).status_code == 404


def test_the_answers_do_not_depend_on_the_language(database_url: str, bank: str, app: Flask) -> None:
    """Why the locale is not in the cache's key: the API answers codes and figures, never translated text. If a
    translated field is ever added, this fails: the key must then hold the locale."""
    product_id = add_product(app)
    uncached = create_app({**app.config, "CATALOGUE_CACHE_BYTES": 0})
    try:
        for path in (PAGE, f"{URL}/{product_id}"):
            zh, en = uncached.test_client(), uncached.test_client()
            zh.get("/?lang=zh_CN"), en.get("/?lang=en")  # the language each visitor chose, kept in its session
            assert (
                zh.get(path).get_data()
                == en.get(path).get_data()
                == en.get(f"{path}{'&' if '?' in path else '?'}lang=en").get_data()
            )
    finally:
        uncached.extensions["engine"].dispose()


def test_token_rate_limits_still_count_catalogue_reads(database_url: str, bank: str, app: Flask) -> None:
    add_product(app)
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "MATCHMAKER_RATE_LIMIT_TOKEN": "3 per minute"})
    try:
        client = limited.test_client()
        assert [client.get(PAGE, headers=auth(bank)).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert [client.get(PAGE).status_code for _ in range(5)] == [200] * 5  # anonymous reads: not per token
    finally:
        limited.extensions["engine"].dispose()


def test_without_the_version_row_nothing_is_cached(app: Flask, client: FlaskClient, bank: str) -> None:
    publish(client, bank)
    with app.extensions["session_factory"]() as session, session.begin():
        session.query(CatalogueVersion).delete()
    client.get(PAGE)
    _, statements = selects(app, client, PAGE)
    assert len(statements) > 1  # read from the products every time
    publish(client, bank, "P2")  # the next write makes the row again
    assert token(app) is not None and names(client.get(PAGE)) == ["产品 P1", "产品 P2"]


def entry(size: int) -> Entry:
    return Entry(b"x" * size, "application/json", "etag")


def test_the_cache_keeps_the_most_recently_used_answers_of_one_version_within_its_bytes() -> None:
    cache = AnswerCache(max_bytes=100)
    assert cache.get("v1", "a") is None
    cache.put("v1", "a", entry(40))
    cache.put("v1", "b", entry(40))
    assert cache.get("v1", "a") is not None  # a is now the most recent
    cache.put("v1", "c", entry(40))
    assert cache.get("v1", "b") is None and cache.get("v1", "a") is not None and len(cache) == 2
    cache.put("v1", "huge", entry(101))
    assert cache.get("v1", "huge") is None
    assert cache.get("v2", "a") is None and len(cache) == 0  # a new version drops everything
    cache.put("v1", "a", entry(10))  # a request that read the old version is late: not stored
    assert len(cache) == 0


def test_a_broken_kept_connection_is_replaced(app: Flask, client: FlaskClient, bank: str) -> None:
    """The token is read on a connection each thread keeps; after the database cut it (a restart, a failover),
    the next read takes a new one instead of failing."""
    publish(client, bank)
    assert client.get(PAGE).status_code == 200
    reader = app.extensions["catalogue_token_reader"]
    if app.extensions["engine"].dialect.name != "postgresql":
        reader._connection().connection.dbapi_connection.close()  # no server to cut it: close it under SQLAlchemy
    else:
        pid = reader._connection().execute(text("SELECT pg_backend_pid()")).scalar()
        with app.extensions["engine"].connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    assert names(client.get(PAGE)) == ["产品 P1"]
    _, statements = selects(app, client, PAGE)
    assert len(statements) == 1
