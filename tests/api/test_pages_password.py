"""Passwords on the pages: an enterprise changes its password (current one first, the new one twice) and
its other browser sessions end; the platform operator issues a one-time reset link (page or CLI) whose
page sets a new password once, before it expires and unless a newer link or a change replaced it."""

import hashlib
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts import credentials
from accounts.models import Account, PasswordResetLink
from accounts.passwords import verify_password
from accounts.tokens import issue_token
from api import create_app
from api.config import from_environment
from api.log_privacy import HIDDEN
from db.base import utcnow
from enterprises.schemas import RegistrationSchema
from enterprises.service import register
from tests.api.page_helpers import csrf_token, sign_in
from tests.conftest import auth, valid_uscc

OLD, NEW = "old-password-1", "new-password-2"
CHANGE = "/enterprise/password"
ISSUE = "/admin/password-reset-links"


@pytest.fixture
def enterprise(app: Flask) -> dict[str, Any]:
    """A registered enterprise: its credit code, its account's id and its password (OLD)."""
    uscc = valid_uscc()
    form = {
        "uscc": uscc,
        "name": "某市改密测试有限公司",
        "industry": "C34",
        "region": "某市城区",
        "founded_on": "2015-01-01",
        "employees": 60,
        "registered_capital": 5_000_000,
        "contact_person": "张会计",
        "phone": "13800000000",
        "email": "owner@example.cn",
        "password": OLD,
    }
    with app.extensions["session_factory"]() as session, session.begin():
        _enterprise, account = register(session, RegistrationSchema().load(form))
    return {"uscc": uscc, "account_id": account.id}


def sme_sign_in(client: FlaskClient, uscc: str, password: str) -> int:
    """The status of a sign-in through the enterprise form (302 signed in, 422 refused)."""
    form = {"uscc": uscc, "password": password, "csrf_token": csrf_token(client, "/enterprise/login")}
    return client.post("/enterprise/login", data=form).status_code


def signed_in_client(app: Flask, enterprise: dict[str, Any], password: str = OLD) -> FlaskClient:
    client = app.test_client()
    assert sme_sign_in(client, enterprise["uscc"], password) == 302
    return client


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/enterprise").status_code == 200


def account_row(db_session: Session, account_id: int) -> Account:
    db_session.expire_all()
    return db_session.get_one(Account, account_id)


def change(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> Any:
    form = {
        "current_password": current,
        "new_password": new,
        "new_password_confirm": new if confirm is None else confirm,
    }
    return client.post(CHANGE, data=form | {"csrf_token": csrf_token(client, CHANGE)})


def test_the_change_page_is_linked_for_a_signed_in_enterprise_only(
    app: Flask, client: FlaskClient, enterprise: dict[str, Any]
) -> None:
    anonymous = client.get(CHANGE)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/enterprise/login?next=/enterprise/password")
    assert 'href="/enterprise/password"' not in client.get("/").get_data(as_text=True)
    owner = signed_in_client(app, enterprise)
    assert 'href="/enterprise/password"' in owner.get("/enterprise").get_data(as_text=True)
    page = owner.get(CHANGE).get_data(as_text=True)
    for name, autocomplete in (
        ("current_password", "current-password"),
        ("new_password", "new-password"),
        ("new_password_confirm", "new-password"),
    ):
        assert f'type="password" id="f-{name}" name="{name}"' in page
        assert f'autocomplete="{autocomplete}"' in page


def test_a_bank_officer_has_no_password_to_change(
    app: Flask, client: FlaskClient, make_token: Callable[..., str]
) -> None:
    sign_in(client, make_token("bank"))
    assert 'href="/enterprise/password"' not in client.get("/portal").get_data(as_text=True)
    assert client.get(CHANGE).headers["Location"].startswith("/enterprise/login")


def test_a_wrong_current_password_changes_nothing(app: Flask, enterprise: dict[str, Any], db_session: Session) -> None:
    client = signed_in_client(app, enterprise)
    before = account_row(db_session, enterprise["account_id"])
    stored, version = before.password_hash, before.credentials_version
    response = change(client, "not-the-password", NEW)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="f-current_password-error"' in page and 'aria-invalid="true"' in page
    after = account_row(db_session, enterprise["account_id"])
    assert (after.password_hash, after.credentials_version) == (stored, version)
    assert is_signed_in(client)
    assert sme_sign_in(app.test_client(), enterprise["uscc"], NEW) == 422


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        (NEW, "new-password-3", "new_password_confirm", "两次输入的密码不一致。"),
        ("short", "short", "new_password", "长度须为 8 到 128 个字符。"),
        ("x" * 129, "x" * 129, "new_password", "长度须为 8 到 128 个字符。"),
        ("", "", "new_password", "必填。"),
    ],
    ids=["mismatched", "too-short", "too-long", "empty"],
)
def test_a_bad_new_password_is_refused_naming_the_field(
    app: Flask, enterprise: dict[str, Any], db_session: Session, new: str, confirm: str, field: str, message: str
) -> None:
    client = signed_in_client(app, enterprise)
    stored = account_row(db_session, enterprise["account_id"]).password_hash
    response = change(client, OLD, new, confirm)
    assert response.status_code == 422
    assert f'<p class="field-error" id="f-{field}-error">{message}</p>' in response.get_data(as_text=True)
    assert account_row(db_session, enterprise["account_id"]).password_hash == stored
    assert sme_sign_in(app.test_client(), enterprise["uscc"], OLD) == 302


def test_a_change_lets_the_new_password_in_and_signs_out_the_other_sessions(
    app: Flask, enterprise: dict[str, Any], db_session: Session, make_token: Callable[..., str]
) -> None:
    here, elsewhere = signed_in_client(app, enterprise), signed_in_client(app, enterprise)
    with app.extensions["session_factory"]() as session, session.begin():
        bearer = issue_token(session, session.get_one(Account, enterprise["account_id"]))
    response = change(here, OLD, NEW)
    assert response.status_code == 302 and response.headers["Location"] == "/enterprise"
    assert "密码已修改，其他已登录的会话均已退出。" in here.get("/enterprise").get_data(as_text=True)
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert sme_sign_in(app.test_client(), enterprise["uscc"], OLD) == 422
    assert sme_sign_in(app.test_client(), enterprise["uscc"], NEW) == 302
    assert verify_password(NEW, account_row(db_session, enterprise["account_id"]).password_hash)
    # A bearer token is a credential of its own (issued and revoked with the CLI): it keeps working.
    assert app.test_client().get("/api/v1/enterprises/me", headers=auth(bearer)).status_code == 200


def test_the_change_form_needs_its_csrf_token(app: Flask, enterprise: dict[str, Any], db_session: Session) -> None:
    client = signed_in_client(app, enterprise)
    stored = account_row(db_session, enterprise["account_id"]).password_hash
    form = {"current_password": OLD, "new_password": NEW, "new_password_confirm": NEW}
    assert client.post(CHANGE, data=form).status_code == 400
    assert account_row(db_session, enterprise["account_id"]).password_hash == stored


# The reset links.


def admin_client(app: Flask, make_token: Callable[..., str]) -> FlaskClient:
    client = app.test_client()
    sign_in(client, make_token("admin", name="平台运营"))
    return client


def issue_on_page(client: FlaskClient, uscc: str) -> str:
    """The link the operator's page shows once."""
    response = client.post(ISSUE, data={"uscc": uscc, "csrf_token": csrf_token(client, ISSUE)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    start = page.index('<code class="reset-link">') + len('<code class="reset-link">')
    link = page[start : page.index("</code>", start)]
    assert link.startswith("http://localhost/password/reset/")
    return link.removeprefix("http://localhost")


def reset(client: FlaskClient, path: str, new: str = NEW, confirm: str | None = None) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    form = {"new_password": new, "new_password_confirm": new if confirm is None else confirm}
    return client.post(path, data=form | {"csrf_token": csrf_token(client, path)})


def test_a_reset_link_sets_a_new_password_once(
    app: Flask, enterprise: dict[str, Any], db_session: Session, make_token: Callable[..., str]
) -> None:
    signed_in = signed_in_client(app, enterprise)
    path = issue_on_page(admin_client(app, make_token), enterprise["uscc"])
    token = path.rsplit("/", 1)[1]
    row = db_session.scalars(select(PasswordResetLink)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is stored
    assert timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=24)
    assert is_signed_in(signed_in)  # issuing a link ends no session: the owner may still be signed in

    visitor = app.test_client()
    form = visitor.get(path)
    assert form.headers["Cache-Control"] == "no-store"
    assert "某市改密测试有限公司" in form.get_data(as_text=True)
    response = reset(visitor, path)
    assert response.status_code == 302 and response.headers["Location"] == "/enterprise/login"
    assert sme_sign_in(app.test_client(), enterprise["uscc"], NEW) == 302
    assert sme_sign_in(app.test_client(), enterprise["uscc"], OLD) == 422
    assert not is_signed_in(signed_in)

    again = app.test_client().get(f"{path}?lang=en")
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    replayer = app.test_client()
    form = {"new_password": "third-password", "new_password_confirm": "third-password"}
    replay = replayer.post(path, data=form | {"csrf_token": csrf_token(replayer, "/enterprise/login")})
    assert replay.status_code == 410
    assert sme_sign_in(app.test_client(), enterprise["uscc"], NEW) == 302


def test_an_expired_link_is_refused(app: Flask, enterprise: dict[str, Any], db_session: Session) -> None:
    with app.extensions["session_factory"]() as session, session.begin():
        account = session.get_one(Account, enterprise["account_id"])
        token, _row = credentials.issue_reset_link(
            session, account, "test", timedelta(hours=1), now=utcnow() - timedelta(hours=2)
        )
    response = app.test_client().get(f"/password/reset/{token}?lang=en")
    assert response.status_code == 410
    assert "has expired" in response.get_data(as_text=True)


def test_a_newer_link_or_a_password_change_replaces_a_link(
    app: Flask, enterprise: dict[str, Any], make_token: Callable[..., str]
) -> None:
    operator = admin_client(app, make_token)
    first = issue_on_page(operator, enterprise["uscc"])
    second = issue_on_page(operator, enterprise["uscc"])
    refused = app.test_client().get(f"{first}?lang=en")
    assert refused.status_code == 410 and "replaced by a newer one" in refused.get_data(as_text=True)
    assert change(signed_in_client(app, enterprise), OLD, NEW).status_code == 302
    assert app.test_client().get(second).status_code == 410
    assert sme_sign_in(app.test_client(), enterprise["uscc"], NEW) == 302


def test_an_unknown_link_is_a_clear_404(app: Flask, client: FlaskClient) -> None:
    for token in ("no-such-link", "x" * 500):
        response = client.get(f"/password/reset/{token}?lang=en")
        assert response.status_code == 404
        assert "This password reset link is not valid" in response.get_data(as_text=True)


def test_a_bad_new_password_on_the_reset_page_keeps_the_link_live(
    app: Flask, enterprise: dict[str, Any], db_session: Session, make_token: Callable[..., str]
) -> None:
    path = issue_on_page(admin_client(app, make_token), enterprise["uscc"])
    visitor = app.test_client()
    assert visitor.post(path, data={"new_password": NEW, "new_password_confirm": NEW}).status_code == 400  # no CSRF
    for new, confirm, field in ((NEW, "other-password", "new_password_confirm"), ("short", "short", "new_password")):
        response = reset(visitor, path, new, confirm)
        assert response.status_code == 422
        assert f'id="f-{field}-error"' in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.scalars(select(PasswordResetLink.used_at)).one() is None
    assert sme_sign_in(app.test_client(), enterprise["uscc"], OLD) == 302
    assert reset(visitor, path).status_code == 302


def test_a_link_replaced_while_its_form_was_open_writes_nothing(app: Flask, enterprise: dict[str, Any]) -> None:
    with app.extensions["session_factory"]() as session:
        account = session.get_one(Account, enterprise["account_id"])
        token, _row = credentials.issue_reset_link(session, account, "test")
        session.commit()
        _state, link = credentials.find_reset_link(session, token)
        assert link is not None
        credentials.issue_reset_link(session, account, "test")  # revokes the first in this transaction
        stored = account.password_hash
        with pytest.raises(credentials.LinkNotLive):
            credentials.reset_password(session, link, NEW)
        session.rollback()
        session.expire_all()
        assert account.password_hash == stored
        live = select(func.count()).where(PasswordResetLink.used_at.is_(None), PasswordResetLink.revoked_at.is_(None))
        assert session.scalar(live) == 1  # the first link again, as committed


def test_only_the_operator_issues_links(
    app: Flask, enterprise: dict[str, Any], db_session: Session, make_token: Callable[..., str]
) -> None:
    anonymous = app.test_client()
    response = anonymous.post(ISSUE, data={"uscc": enterprise["uscc"], "csrf_token": csrf_token(anonymous)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    for role in ("bank", "regulator"):
        client = app.test_client()
        sign_in(client, make_token(role))
        assert client.get(ISSUE).status_code == 403
        assert (
            client.post(ISSUE, data={"uscc": enterprise["uscc"], "csrf_token": csrf_token(client)}).status_code == 403
        )
    owner = signed_in_client(app, enterprise)
    assert owner.post(ISSUE, data={"uscc": enterprise["uscc"], "csrf_token": csrf_token(owner)}).status_code == 403
    operator = admin_client(app, make_token)
    assert 'href="/admin/password-reset-links"' in operator.get("/regulator").get_data(as_text=True)
    assert operator.post(ISSUE, data={"uscc": enterprise["uscc"]}).status_code == 400  # no CSRF token
    assert db_session.scalar(select(func.count()).select_from(PasswordResetLink)) == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "必填。"), ("91110000", "统一社会信用代码应为18位"), (None, "没有以该统一社会信用代码注册的企业")],
    ids=["empty", "invalid", "unregistered"],
)
def test_the_operator_page_names_a_bad_credit_code(
    app: Flask, db_session: Session, make_token: Callable[..., str], typed: str | None, message: str
) -> None:
    operator = admin_client(app, make_token)
    response = operator.post(
        ISSUE, data={"uscc": typed if typed is not None else valid_uscc()} | {"csrf_token": csrf_token(operator, ISSUE)}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="field-error" id="uscc-error">' + message in page
    assert db_session.scalar(select(func.count()).select_from(PasswordResetLink)) == 0


@pytest.fixture
def invoke(app: Flask) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        with app.app_context():
            return app.test_cli_runner().invoke(args=list(args))

    return run


def test_the_cli_prints_a_working_link(
    app: Flask, enterprise: dict[str, Any], db_session: Session, invoke: Callable[..., Any]
) -> None:
    result = invoke(
        "accounts",
        "issue-reset-link",
        str(enterprise["account_id"]),
        "--hours",
        "2",
        "--base-url",
        "https://mm.example",
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://mm.example/password/reset/")
    row = db_session.scalars(select(PasswordResetLink)).one()
    assert (row.issued_by_account_id, row.issued_by_system) == (None, "matchmaker accounts issue-reset-link")
    assert row.expires_at - row.created_at == timedelta(hours=2)
    assert reset(app.test_client(), link.removeprefix("https://mm.example")).status_code == 302
    assert sme_sign_in(app.test_client(), enterprise["uscc"], NEW) == 302


def test_the_cli_refuses_accounts_without_a_password(
    app: Flask, db_session: Session, invoke: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    make_token("bank")
    bank_account = db_session.scalars(select(Account.id)).one()
    for account_id, message in ((bank_account, "use issue-token"), (999_999, "no account 999999")):
        result = invoke("accounts", "issue-reset-link", str(account_id))
        assert result.exit_code != 0 and message in result.output
    assert db_session.scalar(select(func.count()).select_from(PasswordResetLink)) == 0


@pytest.fixture
def limited_app(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "MATCHMAKER_RATE_LIMIT_LOGIN": "2 per minute",
        }
    )
    yield app
    app.extensions["engine"].dispose()


def test_reset_links_and_changes_are_rate_limited_like_sign_in(
    limited_app: Flask, app: Flask, enterprise: dict[str, Any]
) -> None:
    guesser = limited_app.test_client()
    assert [guesser.get(f"/password/reset/guess-{n}").status_code for n in range(2)] == [404, 404]
    assert guesser.get("/password/reset/guess-3").status_code == 429
    client = limited_app.test_client()
    assert sme_sign_in(client, enterprise["uscc"], OLD) == 302  # counted by the sign-in's own limit
    assert [change(client, f"guess-{n}-password", NEW).status_code for n in range(2)] == [422, 422]
    assert change(client, OLD, NEW).status_code == 429


@pytest.mark.parametrize("hours", ["0", "-3", "1.5", "a day"])
def test_a_reset_link_lifetime_that_is_not_whole_hours_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, hours: str
) -> None:
    monkeypatch.setenv("MATCHMAKER_PASSWORD_RESET_HOURS", hours)
    with pytest.raises(ValueError, match="MATCHMAKER_PASSWORD_RESET_HOURS"):
        from_environment()
    monkeypatch.setenv("MATCHMAKER_PASSWORD_RESET_HOURS", "48")
    assert from_environment()["PASSWORD_RESET_HOURS"] == 48


def test_an_error_on_a_reset_link_is_logged_without_its_token(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(credentials, "find_reset_link", broken)
    secret = "a-live-reset-token"
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        assert client.get(f"/password/reset/{secret}").status_code == 500
    assert f"unhandled error on GET /password/reset/{HIDDEN}" in caplog.text
    assert secret not in caplog.text
