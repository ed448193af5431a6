"""Who is calling: a bearer token on /api, a signed session cookie on the HTML pages.

``protected(blp, *roles)`` both enforces the roles and documents the bearer scheme and the 401/403
answers in the OpenAPI document, so that the docs cannot drift from the checks."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask import session as cookie_session
from flask_smorest import Blueprint, abort

from accounts.models import Account, ApiToken
from accounts.tokens import account_for_token
from api.database import session

F = TypeVar("F", bound=Callable[..., Any])

BEARER_SCHEME = {"type": "http", "scheme": "bearer", "description": "A token printed by `matchmaker accounts ...`"}


def bearer_account() -> Account | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return account_for_token(session(), token.strip())


def cookie_account() -> Account | None:
    """The account signed in on the HTML pages; the session remembers the token row, so revoking the
    token also ends the browser session, and so does a password change after the session began (the row's
    credentials version is behind the account's; a bearer token's row counts as version 0)."""
    token_id = cookie_session.get("token_id")
    if token_id is None:
        return None
    row = session().get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or (row.credentials_version or 0) != row.account.credentials_version:
        cookie_session.clear()
        return None
    return row.account


def current_account() -> Account | None:
    """The bearer token's account (None when anonymous); public endpoints use it to show a bank its drafts."""
    if "account" not in g:
        g.account = bearer_account()
    return g.account


def require_roles(*roles: str) -> Account:
    account = current_account()
    if account is None:
        abort(401, message="Authentication required: send 'Authorization: Bearer <token>'.")
    if roles and account.role not in roles:
        abort(403, message=f"This action needs the role {' or '.join(roles)}.")
    return account


def protected(blp: Blueprint, *roles: str) -> Callable[[F], F]:
    """Decorator for API views: enforce the roles and document the security scheme and errors."""

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_roles(*roles)
            return func(*args, **kwargs)

        documented = blp.doc(security=[{"bearerAuth": []}])(wrapper)
        documented = blp.alt_response(401, response="DEFAULT_ERROR", description="Missing or invalid token")(documented)
        documented = blp.alt_response(403, response="DEFAULT_ERROR", description="Wrong role")(documented)
        return documented  # type: ignore[return-value]

    return decorator
