"""Signing in and out of the HTML pages with an access token (bank, regulator and operator accounts).

The browser session keeps only the token row's id: revoking the token ends the session too."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts.models import ApiToken, Role
from accounts.tokens import account_for_token, hash_token
from api.auth import cookie_account
from api.database import session
from db.base import utcnow

bp = Blueprint("session_pages", __name__)

TOKEN_SIGN_IN_ROLES = (Role.BANK, Role.REGULATOR, Role.ADMIN)


def safe_next(target: str | None) -> str | None:
    """A local path to return to after signing in; anything pointing to another site is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


def live_token(token: str) -> ApiToken | None:
    if account_for_token(session(), token) is None:
        return None
    return session().scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    )


def restart_session() -> None:
    """A fresh session on every sign-in and sign-out (no fixation); only the language choice survives."""
    lang = cookie_session.get("lang")
    cookie_session.clear()
    if lang is not None:
        cookie_session["lang"] = lang


def _form(token_error: str | None = None, status: int = 200) -> tuple[str, int]:
    next_path = safe_next(request.values.get("next"))
    return render_template("session/login.html", token_error=token_error, next_path=next_path), status


@bp.get("/login")
def login() -> tuple[str, int]:
    return _form()


# Where each role lands after signing in (unless the sign-in came from a page it returns to).
HOME_PAGES = {Role.BANK: "portal.index", Role.REGULATOR: "regulator.dashboard", Role.ADMIN: "regulator.dashboard"}


@bp.post("/login")
def login_submit() -> Response | tuple[str, int]:
    token = request.form.get("token", "").strip()
    if not token:
        return _form(_("Enter your access token."), 422)
    row = live_token(token)
    if row is None:
        return _form(_("This access token is not valid. Check it, or ask the platform operator for a new one."), 422)
    if row.account.role not in TOKEN_SIGN_IN_ROLES:
        return _form(_("This sign-in is for bank, regulator and platform operator accounts."), 422)
    restart_session()
    cookie_session["token_id"] = row.id
    flash(_("Signed in as %(name)s.", name=row.account.name), "success")
    default = url_for(HOME_PAGES.get(row.account.role, "catalogue.home"))
    return redirect(safe_next(request.form.get("next")) or default)


@bp.post("/logout")
def logout() -> Response:
    """Sign out. An SME's session runs on a token made for that session alone (see the SME sign-in), which
    is revoked here; the other roles sign in with their long-lived API token, which must keep working."""
    account = cookie_account()
    if account is not None and account.role == Role.SME:
        row = session().get_one(ApiToken, cookie_session["token_id"])
        row.revoked_at = utcnow()
        session().commit()
    restart_session()
    flash(_("You have signed out."), "success")
    return redirect(url_for("catalogue.home"))
