"""Passwords on the HTML pages: a signed-in user changes theirs; the platform operator issues a one-time
reset link (the service sends no e-mail: the operator passes the link on, e.g. by phone); the link's page
sets a new password.

Only enterprise accounts have passwords (the other roles sign in with access tokens), so the change page
asks for an account with a password and otherwise sends the visitor to the enterprise sign-in. The rules,
the hashing and the links themselves are in ``accounts.credentials``."""

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts import credentials
from accounts.credentials import LinkState
from accounts.models import Account, ApiToken, Role
from accounts.passwords import MIN_PASSWORD_LENGTH
from accounts.schemas import PasswordChangeSchema, PasswordResetSchema
from api.auth import cookie_account
from api.database import session
from api.pages.access import session_roles_required
from api.pages.forms import FormField, load, localise
from api.pages.session_pages import restart_session
from api.pages.sme import sign_in
from db.base import utcnow
from enterprises.models import Enterprise
from enterprises.uscc import InvalidCreditCode, validate_uscc

bp = Blueprint("account_pages", __name__)

NEW_PASSWORD_FIELDS = [
    FormField(
        "new_password",
        _l("New password"),
        "password",
        True,
        _l("At least %(low)s characters.", low=MIN_PASSWORD_LENGTH),
        attrs={"autocomplete": "new-password"},
    ),
    FormField(
        "new_password_confirm", _l("New password again"), "password", True, attrs={"autocomplete": "new-password"}
    ),
]
CHANGE_FIELDS = [
    FormField("current_password", _l("Current password"), "password", True, attrs={"autocomplete": "current-password"}),
    *NEW_PASSWORD_FIELDS,
]

# What a link that cannot be used answers: unknown is 404, one that existed and is over 410 Gone.
LINK_REFUSALS = {
    LinkState.UNKNOWN: (
        404,
        _l(
            "This password reset link is not valid. Check that it was copied whole, "
            "or ask the platform operator for a new one."
        ),
    ),
    LinkState.EXPIRED: (410, _l("This password reset link has expired. Ask the platform operator for a new one.")),
    LinkState.USED: (
        410,
        _l("This password reset link has already been used. Ask the platform operator for a new one if you need it."),
    ),
    LinkState.REVOKED: (
        410,
        _l(
            "This password reset link was replaced by a newer one, or the password was changed since. "
            "Use the newest link, or ask the platform operator for a new one."
        ),
    ),
}


def confirm_new_password(data: dict[str, Any], errors: dict[str, str]) -> None:
    if data.pop("new_password_confirm", None) != data.get("new_password"):
        errors["new_password_confirm"] = _("The two passwords differ.")


def password_form(template: str, fields: list[FormField], errors: dict[str, str], **context: Any) -> tuple[str, int]:
    """The form (never refilled: every field is a password); 422 when shown again with errors."""
    return render_template(template, fields=fields, values={}, errors=errors, **context), 422 if errors else 200


def no_store(page: tuple[str, int]) -> Response:
    """A page carrying a reset link or its token: kept by no cache."""
    response = current_app.make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/enterprise/password", methods=["GET", "POST"])
def change_password():  # type: ignore[no-untyped-def]
    account = cookie_account()
    if account is None or account.password_hash is None:
        return redirect(url_for("sme.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    if request.method == "GET":
        return password_form("account/change_password.html", CHANGE_FIELDS, {})
    data, errors = load(PasswordChangeSchema(), CHANGE_FIELDS, request.form, confirm_new_password)
    if not errors:
        try:
            credentials.change_password(session(), account, data["current_password"], data["new_password"])
        except credentials.WrongPassword:
            errors["current_password"] = _("This is not your current password.")
        else:
            _continue_session(account)
            session().commit()
            flash(_("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for("sme.enterprise_page"))
    return password_form("account/change_password.html", CHANGE_FIELDS, errors)


def _continue_session(account: Account) -> None:
    """Keep this browser signed in on a new session token at the new credentials version; the old session
    row is revoked (a bearer token's row, which a session may also run on, is left alone)."""
    old = session().get(ApiToken, cookie_session["token_id"])
    if old is not None and old.credentials_version is not None:
        old.revoked_at = utcnow()
    sign_in(account)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    state, link = credentials.find_reset_link(session(), token)
    if state != LinkState.LIVE or link is None:
        return _link_refused(state)
    if request.method == "GET":
        return no_store(password_form("account/reset_password.html", NEW_PASSWORD_FIELDS, {}, account=link.account))
    data, errors = load(PasswordResetSchema(), NEW_PASSWORD_FIELDS, request.form, confirm_new_password)
    if errors:
        page = password_form("account/reset_password.html", NEW_PASSWORD_FIELDS, errors, account=link.account)
        return no_store(page)
    try:
        credentials.reset_password(session(), link, data["new_password"])
    except credentials.LinkNotLive:
        session().rollback()
        return _link_refused(LinkState.USED)
    session().commit()
    restart_session()
    flash(_("Your new password is set. Sign in with it."), "success")
    return redirect(url_for("sme.login"))


def _link_refused(state: LinkState) -> Response:
    status, message = LINK_REFUSALS[state]
    return no_store((render_template("account/reset_link_refused.html", message=message), status))


@bp.route("/admin/password-reset-links", methods=["GET", "POST"])
@session_roles_required(
    (Role.ADMIN,),
    _l("Sign in as the platform operator to issue password reset links."),
    _l("Only the platform operator may issue password reset links."),
)
def issue_reset_link(operator: Account):  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return render_template("account/issue_reset_link.html", uscc="", error=None, issued=None)
    typed = request.form.get("uscc", "")
    error, account = _enterprise_account(typed)
    if account is None:
        page = render_template("account/issue_reset_link.html", uscc=typed, error=error, issued=None)
        return page, 422
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    token, row = credentials.issue_reset_link(session(), account, operator, timedelta(hours=hours))
    session().commit()
    issued = {
        "link": url_for("account_pages.reset_password", token=token, _external=True),
        "name": account.name,
        "expires_at": row.expires_at,
    }
    return no_store((render_template("account/issue_reset_link.html", uscc="", error=None, issued=issued), 200))


def _enterprise_account(typed: str) -> tuple[str | None, Account | None]:
    """The account of the enterprise with this credit code, or the message saying why there is none."""
    if not typed.strip():
        return _("Required."), None
    try:
        uscc = validate_uscc(typed)
    except InvalidCreditCode as invalid:
        return localise(str(invalid)), None
    account = session().scalar(
        select(Account).join(Enterprise, Account.enterprise_id == Enterprise.id).where(Enterprise.uscc == uscc)
    )
    if account is None or account.password_hash is None:
        return _("No enterprise is registered with this credit code."), None
    return None, account
