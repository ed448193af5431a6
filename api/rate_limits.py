"""Rate limits (Flask-Limiter): sign-in, registration, uploads, and each bearer token's use of the API.

Over a limit the answer is 429 with ``Retry-After``. Counters live in ``RATELIMIT_STORAGE_URI``: in each
process's memory by default (fine for one machine; each gunicorn worker then counts on its own, so the
effective limit is up to workers × the rule), Redis in production (``redis://host:6379/0``: one count for
all workers and machines). Every rule is a setting (``MATCHMAKER_RATE_LIMIT_<NAME>``, in the
``limits`` notation: "10 per minute", "100/hour;1000/day"). Clients are told apart by address
(``REMOTE_ADDR``; behind a proxy, configure it to pass the client's address) and, for token use, by the
token itself."""

import hashlib

from flask import Flask, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address

DEFAULT_RULES = {
    "LOGIN": "10 per minute;50 per hour",  # password guessing, per address
    "REGISTRATION": "20 per hour",  # account creation, per address
    "UPLOAD": "30 per hour",  # CSV imports, per address
    "TOKEN": "1200 per minute",  # any API call with a bearer token, per token
}
# (endpoint, methods limited, rule name): the views each rule guards.
GUARDED_VIEWS = (
    ("session_pages.login_submit", ("POST",), "LOGIN"),
    ("sme.login", ("POST",), "LOGIN"),
    ("account_pages.change_password", ("POST",), "LOGIN"),  # guessing the current password
    ("account_pages.reset_password", ("GET", "POST"), "LOGIN"),  # guessing a reset link's token
    ("enterprises.Registration", ("POST",), "REGISTRATION"),
    ("sme.register_page", ("POST",), "REGISTRATION"),
    ("products.import_file", ("POST",), "UPLOAD"),
    ("portal.import_file", ("POST",), "UPLOAD"),
    ("loans.import_events_file", ("POST",), "UPLOAD"),
    ("portal_loans.import_file", ("POST",), "UPLOAD"),
)


def bearer_token_key() -> str:
    """A digest of the bearer token (the token itself never reaches the counter store)."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _without_bearer_token() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() != "bearer" or not token.strip()


def init_rate_limits(app: Flask) -> Limiter:
    """Attach the limiter and its rules; call after every blueprint is registered."""
    rules = {name: app.config.get(f"MATCHMAKER_RATE_LIMIT_{name}", rule) for name, rule in DEFAULT_RULES.items()}
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    token_use = ApplicationLimit(rules["TOKEN"], key_function=bearer_token_key, exempt_when=_without_bearer_token)
    limiter = Limiter(get_remote_address, app=app, application_limits=[token_use])
    for endpoint, methods, rule in GUARDED_VIEWS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(rules[rule], methods=list(methods))(view)
    # The decorated views hold the limiter only weakly, and a disabled limiter (RATELIMIT_ENABLED=False) does
    # not register itself in app.extensions: without this, the first garbage collection makes them answer 500.
    app.extensions["rate_limiter"] = limiter
    return limiter
