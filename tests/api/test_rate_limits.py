"""Rate limits: sign-in, registration, uploads and each token's API use answer 429 with Retry-After once a
rule is used up; other clients and other tokens go on. The rules are settings (small ones here)."""

import io
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from tests.api.page_helpers import csrf_token


@pytest.fixture
def limited(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps with rate limits on and the given MATCHMAKER_RATE_LIMIT_<NAME> rules."""
    apps: list[Flask] = []

    def build(**settings: Any) -> Flask:
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True} | settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["engine"].dispose()


def assert_limited(response: Any) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_sign_in_attempts_are_limited_per_address(limited: Callable[..., Flask]) -> None:
    client = limited(MATCHMAKER_RATE_LIMIT_LOGIN="3 per minute").test_client()
    form = {"uscc": "91110000000000000X", "password": "guess", "csrf_token": csrf_token(client, "/enterprise/login")}
    for _ in range(3):
        assert client.post("/enterprise/login", data=form).status_code == 422
    refused = client.post("/enterprise/login", data=form)
    assert_limited(refused)
    assert "请求过于频繁" in refused.get_data(as_text=True)  # the page's heading, in the page's language
    assert client.get("/enterprise/login").status_code == 200  # only the POST counts
    other = {"REMOTE_ADDR": "10.0.0.7"}
    assert client.post("/enterprise/login", data=form, environ_base=other).status_code == 422


def test_token_sign_in_is_limited_too(limited: Callable[..., Flask]) -> None:
    client = limited(MATCHMAKER_RATE_LIMIT_LOGIN="2 per minute").test_client()
    form = {"token": "not-a-token", "csrf_token": csrf_token(client)}
    assert [client.post("/login", data=form).status_code for _ in range(2)] == [422, 422]
    assert_limited(client.post("/login", data=form))


def test_registrations_are_limited_per_address(limited: Callable[..., Flask]) -> None:
    client = limited(MATCHMAKER_RATE_LIMIT_REGISTRATION="2 per hour").test_client()
    assert [client.post("/api/v1/enterprises", json={}).status_code for _ in range(2)] == [422, 422]
    refused = client.post("/api/v1/enterprises", json={})
    assert_limited(refused)
    assert refused.json["message"].startswith("请求过于频繁")
    assert client.get("/api/v1/products").status_code == 200


def test_each_token_has_its_own_budget(limited: Callable[..., Flask], make_token: Callable[..., str]) -> None:
    client = limited(MATCHMAKER_RATE_LIMIT_TOKEN="3 per minute").test_client()
    first, second = make_token("sme", name="甲公司"), make_token("sme", name="乙公司")
    for _ in range(3):
        assert client.get("/api/v1/enterprises/me", headers={"Authorization": f"Bearer {first}"}).status_code == 200
    assert_limited(client.get("/api/v1/needs", headers={"Authorization": f"Bearer {first}"}))
    assert client.get("/api/v1/enterprises/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert all(client.get("/api/v1/products").status_code == 200 for _ in range(5))  # anonymous reads


def test_uploads_are_limited(limited: Callable[..., Flask], make_token: Callable[..., str]) -> None:
    client = limited(MATCHMAKER_RATE_LIMIT_UPLOAD="1 per hour").test_client()
    headers = {"Authorization": f"Bearer {make_token('bank', bank_code='BANK1')}"}

    def upload() -> Any:
        return client.post("/api/v1/products/import", headers=headers, data={"file": (io.BytesIO(b"x"), "p.csv")})

    assert upload().status_code == 422
    assert_limited(upload())


def _redis_answers() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.skipif(not _redis_answers(), reason="no Redis server on 127.0.0.1:6379")
def test_workers_share_one_count_in_redis(limited: Callable[..., Flask]) -> None:
    """Two apps stand for two gunicorn workers: with Redis storage the rule holds across both."""
    settings = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "MATCHMAKER_RATE_LIMIT_REGISTRATION": "3 per hour",
    }
    workers: list[FlaskClient] = [limited(**settings).test_client(), limited(**settings).test_client()]
    codes = [workers[i % 2].post("/api/v1/enterprises", json={}).status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
