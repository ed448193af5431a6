"""Every answer carries the security headers, and no page needs what the Content-Security-Policy forbids."""

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from tests.api.page_helpers import add_product, sign_in

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def assert_secure(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_carry_the_headers_and_hold_no_inline_script(
    client: FlaskClient, app: Flask, make_token: Callable[..., str]
) -> None:
    product_id = add_product(app)
    pages = ["/", "/products", f"/products/{product_id}", "/login", "/register", "/enterprise/login", "/api/v1/docs"]
    sign_in(client, make_token("bank", bank_code="BANK1"))
    pages += ["/portal", "/portal/proposals"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secure(response)
        html = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_HANDLER.search(re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)), path


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/products"), ("GET", "/api/v1/openapi.json"), ("GET", "/healthz"), ("GET", "/no-such-page")],
)
def test_api_answers_and_errors_carry_the_headers_too(client: FlaskClient, method: str, path: str) -> None:
    assert_secure(client.open(path, method=method))


def test_hsts_only_when_served_over_https(database_url: str) -> None:
    plain = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "s", "TESTING": True})
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers
    https = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "s", "TESTING": True, "SESSION_COOKIE_SECURE": True}
    )
    assert https.test_client().get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=")
