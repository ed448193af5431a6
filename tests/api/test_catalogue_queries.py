"""The catalogue's reads, the busiest requests, make a fixed number of queries: no lazy load per product, and
the pages stop looking for the demo's products once they have seen them."""

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from products.demo import SYNTHETIC_MARK
from tests.api.page_helpers import add_product


def _statements(app: Flask, client: FlaskClient, path: str) -> list[str]:
    """The SQL statements that answering ``GET path`` ran."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = app.extensions["engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def _selects(app: Flask, client: FlaskClient, path: str) -> int:
    return sum(statement.lstrip().upper().startswith("SELECT") for statement in _statements(app, client, path))


def _description_scans(app: Flask, client: FlaskClient, path: str) -> int:
    return sum("description LIKE" in statement for statement in _statements(app, client, path))


def test_one_product_is_one_query_with_its_bank(app: Flask, client: FlaskClient) -> None:
    product_id = add_product(app, code="ONE")
    # The catalogue version (api/catalogue_cache.py), then the product with its bank; a second read is a hit.
    assert _selects(app, client, f"/api/v1/products/{product_id}") == 2
    assert _selects(app, client, f"/api/v1/products/{product_id}") == 1


def test_a_catalogue_page_counts_and_lists_in_two_queries_whatever_its_size(app: Flask, client: FlaskClient) -> None:
    for number in range(5):
        add_product(app, bank_code=f"BANK{number}", code=f"P{number}")
    assert _selects(app, client, "/api/v1/products?per_page=20") == 3  # with the catalogue version


def test_pages_look_for_the_demo_until_they_have_seen_it(app: Flask, client: FlaskClient) -> None:
    add_product(app, code="REAL", description="真实产品")
    assert _description_scans(app, client, "/") == 1
    assert _description_scans(app, client, "/") == 1  # not seen yet: asked again, so a demo loaded later is noted
    add_product(app, code="DEMO", description=f"演示产品{SYNTHETIC_MARK}")
    assert _description_scans(app, client, "/") == 1
    assert _description_scans(app, client, "/") == 0
    assert "模拟数据，仅供演示" in client.get("/").get_data(as_text=True)
