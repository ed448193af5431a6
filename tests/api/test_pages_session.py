"""Signing in and out with an access token; the session cookie; CSRF on every form."""

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from accounts.models import Account, ApiToken, Role
from accounts.tokens import account_for_token, issue_token, new_session_token, revoke
from tests.api.page_helpers import add_product, csrf_token, product_row, sign_in
from tests.conftest import make_enterprise


def test_login_page_has_a_labelled_token_field(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="token">访问令牌</label>' in page
    assert 'id="token" name="token"' in page
    assert 'name="csrf_token"' in page
    assert 'href="/enterprise/login"' in page  # enterprises have their own sign-in


def test_bank_signs_in_with_its_token_and_lands_on_the_portal(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    token = make_token("bank", bank_code="ICBC", name="工行产品经理")
    response = client.post("/login", data={"token": token, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    portal = client.get("/portal").get_data(as_text=True)
    assert "已登录：工行产品经理" in portal
    assert ">银行门户</a>" in portal and ">退出</button>" in portal


def test_regulator_signs_in_to_the_statistics_without_the_bank_portal(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    response = client.post("/login", data={"token": make_token("regulator"), "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/regulator"
    home = client.get("/regulator").get_data(as_text=True)
    assert ">退出</button>" in home and ">银行门户</a>" not in home


def test_wrong_or_empty_token_shows_the_error_beside_the_field(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    make_token("bank")
    for token, message in (("mm_not-a-real-token", "访问令牌无效"), ("", "请输入访问令牌")):
        response = client.post("/login", data={"token": token, "csrf_token": csrf_token(client)})
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert 'aria-invalid="true"' in page
        assert f'<p class="field-error" id="token-error">{message}' in page
        with client.session_transaction() as cookie_session:
            assert "token_id" not in cookie_session


def test_signing_in_starts_a_fresh_session_but_keeps_the_language(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    client.get("/?lang=en")
    with client.session_transaction() as cookie_session:
        cookie_session["planted"] = "by an attacker"
    sign_in(client, make_token("bank"))
    with client.session_transaction() as cookie_session:
        assert "planted" not in cookie_session
        assert cookie_session["lang"] == "en"
        assert isinstance(cookie_session["token_id"], int)


def test_sign_in_returns_to_a_local_next_page_only(client: FlaskClient, make_token: Callable[..., str]) -> None:
    token = make_token("bank")
    local = client.post(
        "/login", data={"token": token, "next": "/products?type=e_loan", "csrf_token": csrf_token(client)}
    )
    assert local.headers["Location"] == "/products?type=e_loan"
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"token": token, "next": target, "csrf_token": csrf_token(client)})
        assert response.headers["Location"] == "/portal", target


def test_sign_out_ends_the_session(client: FlaskClient, make_token: Callable[..., str]) -> None:
    sign_in(client, make_token("bank"))
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/portal")})
    assert response.status_code == 302
    with client.session_transaction() as cookie_session:
        assert "token_id" not in cookie_session
    assert client.get("/portal").status_code == 302
    assert "您已退出登录" in client.get("/").get_data(as_text=True)


def test_revoking_the_token_ends_the_browser_session(
    client: FlaskClient, make_token: Callable[..., str], db_session: Session
) -> None:
    token = make_token("bank")
    sign_in(client, token)
    assert client.get("/portal").status_code == 200
    revoke(db_session, token)
    db_session.commit()
    assert client.get("/portal").status_code == 302


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], db_session: Session
) -> None:
    token = make_token("bank", bank_code="BANK1")
    refused = client.post("/login", data={"token": token})
    assert refused.status_code == 400
    with client.session_transaction() as cookie_session:
        assert "token_id" not in cookie_session

    product_id = add_product(app, bank_code="BANK1")
    sign_in(client, token)
    assert client.post(f"/portal/products/{product_id}/withdraw").status_code == 400
    assert client.post(f"/portal/products/{product_id}/withdraw", data={"csrf_token": "forged"}).status_code == 400
    assert product_row(db_session, product_id).status == "active"
    assert client.post("/logout").status_code == 400
    with client.session_transaction() as cookie_session:
        assert "token_id" in cookie_session


def test_language_link_on_a_refused_sign_in_reloads_the_form(client: FlaskClient) -> None:
    page = client.post("/login", data={"token": "", "csrf_token": csrf_token(client)}).get_data(as_text=True)
    assert 'href="/login?lang=en"' in page


def test_signing_out_keeps_a_banks_api_token_but_revokes_an_smes_session_token(
    client: FlaskClient, make_token: Callable[..., str], db_session: Session
) -> None:
    bank_token = make_token("bank")
    sign_in(client, bank_token)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/portal")})
    assert account_for_token(db_session, bank_token) is not None

    enterprise = make_enterprise(db_session, "登出测试有限公司")
    account = Account(name=enterprise.name, role=Role.SME, enterprise_id=enterprise.id)
    db_session.add(account)
    row = new_session_token(db_session, account)
    db_session.commit()
    with client.session_transaction() as cookie_session:
        cookie_session["token_id"] = row.id
    assert 'href="/enterprise">我的企业</a>' in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    db_session.expire_all()
    assert db_session.get_one(ApiToken, row.id).revoked_at is not None


def test_an_sme_token_cannot_sign_in_here(client: FlaskClient, db_session: Session) -> None:
    """Enterprises sign in with their credit code and password on their own page."""
    enterprise = make_enterprise(db_session, "令牌测试有限公司")
    account = Account(name=enterprise.name, role=Role.SME, enterprise_id=enterprise.id)
    db_session.add(account)
    token = issue_token(db_session, account)
    db_session.commit()
    response = client.post("/login", data={"token": token, "csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert "此处供银行、监管部门和平台运营账户登录" in response.get_data(as_text=True)
    with client.session_transaction() as cookie_session:
        assert "token_id" not in cookie_session


def test_an_operator_lands_on_the_statistics_too(client: FlaskClient, make_token: Callable[..., str]) -> None:
    response = client.post("/login", data={"token": make_token("admin"), "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/regulator"
    assert client.get("/regulator").status_code == 200
