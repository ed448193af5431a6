"""The SME's web forms through the Flask test client: register, sign in, profile, needs."""

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from reference.china_time import china_today
from tests.conftest import valid_uscc


@pytest.fixture
def forms(app: Flask) -> FlaskClient:
    """A browser-like client for tests that are not about CSRF (tested on its own below)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def registration_form(**changes: str) -> dict[str, str]:
    form = {
        "uscc": valid_uscc(),
        "name": "某市绿源食品有限公司",
        "industry": "C",
        "industry_detail": "C14",
        "region": "某市经开区",
        "founded_on": "2018-05-20",
        "employees": "120",
        "registered_capital": "500",
        "contact_person": "王经理",
        "phone": "0471-6612345",
        "email": "wang@lvyuan.example.cn",
        "settlement_banks": "农业银行、建设银行",
        "password": "a good password",
        "password_confirm": "a good password",
    }
    return form | changes


def count(db_session: Session, model: type) -> int:
    return db_session.scalar(select(func.count()).select_from(model)) or 0


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="f-{name}-error">([^<]*)</p>', html)
    assert match, f"no error shown beside {name}"
    return match[1]


def test_registration_creates_the_enterprise_and_signs_in(forms: FlaskClient, db_session: Session) -> None:
    response = forms.post("/register", data=registration_form())
    assert response.status_code == 302
    enterprise = db_session.scalar(select(Enterprise))
    assert enterprise.industry == "C14"
    assert enterprise.registered_capital == 5_000_000
    assert enterprise.settlement_banks == ["农业银行", "建设银行"]
    page = forms.get("/enterprise")
    assert page.status_code == 200
    assert "某市绿源食品有限公司" in page.text


def test_a_wrong_credit_code_is_shown_beside_the_field_and_the_typed_values_are_kept(
    forms: FlaskClient, db_session: Session
) -> None:
    code = valid_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = forms.post("/register", data=registration_form(uscc=wrong))
    assert response.status_code == 422
    assert "校验码错误" in field_error(response.text, "uscc")
    assert 'value="某市绿源食品有限公司"' in response.text
    assert 'value="0471-6612345"' in response.text
    assert "a good password" not in response.text  # passwords are never echoed
    assert count(db_session, Enterprise) == 0


def test_errors_follow_the_page_language(forms: FlaskClient) -> None:
    response = forms.post("/register?lang=en", data=registration_form(employees="many", password_confirm="x"))
    assert response.status_code == 422
    assert field_error(response.text, "employees") == "Enter a number."
    assert field_error(response.text, "password_confirm") == "The two passwords differ."
    chinese = forms.post("/register?lang=zh_CN", data=registration_form(phone="12"))
    assert field_error(chinese.text, "phone") == "不是有效的手机或座机号码"


def test_a_detail_code_outside_the_chosen_section_is_refused(forms: FlaskClient) -> None:
    response = forms.post("/register", data=registration_form(industry="F", industry_detail="C14"))
    assert response.status_code == 422
    field_error(response.text, "industry_detail")


def test_sign_in_with_credit_code_and_password(app: Flask, forms: FlaskClient) -> None:
    form = registration_form()
    forms.post("/register", data=form)
    other = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    wrong = other.post("/enterprise/login", data={"uscc": form["uscc"], "password": "nope nope"})
    assert wrong.status_code == 422
    assert other.get("/enterprise").status_code == 302
    right = other.post("/enterprise/login", data={"uscc": form["uscc"].lower(), "password": form["password"]})
    assert right.status_code == 302
    assert other.get("/enterprise").status_code == 200


def test_a_password_with_spaces_at_its_ends_signs_in_as_it_was_typed(app: Flask, forms: FlaskClient) -> None:
    form = registration_form(password="  spaces around  ", password_confirm="  spaces around  ")
    assert forms.post("/register", data=form).status_code == 302
    other = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    assert other.post("/enterprise/login", data={"uscc": form["uscc"], "password": "spaces around"}).status_code == 422
    typed = other.post("/enterprise/login", data={"uscc": form["uscc"], "password": "  spaces around  "})
    assert typed.status_code == 302


def test_pages_need_a_signed_in_enterprise(client: FlaskClient) -> None:
    for path in ("/enterprise", "/enterprise/edit", "/enterprise/profiles", "/enterprise/profiles/2025", "/needs"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/enterprise/login" in response.headers["Location"]


def test_profile_form_accepts_amounts_as_people_type_them(forms: FlaskClient, db_session: Session) -> None:
    forms.post("/register", data=registration_form())
    year = china_today().year - 1
    response = forms.post(
        f"/enterprise/profiles/{year}",
        data={
            "annual_revenue": "1,200",
            "net_profit": "-35.5",
            "total_assets": "2,000.25",
            "total_liabilities": "800",
            "monthly_settlement_flow": "90",
            "collateral_available": ["real_estate", "ip_pledge"],
            "audited": "1",
        },
    )
    assert response.status_code == 302
    profile = db_session.scalar(select(FinancialProfile))
    assert profile.annual_revenue == 12_000_000
    assert profile.net_profit == -355_000
    assert profile.total_assets == 20_002_500
    assert profile.taxes_paid is None
    assert profile.audited is True
    assert profile.figure_sources["annual_revenue"] == "audited"
    listing = forms.get("/enterprise/profiles")
    assert "1,200" in listing.text and "40.0%" in listing.text  # debt ratio 800 / 2,000.25
    edit = forms.get(f"/enterprise/profiles/{year}")
    assert 'value="2000.25"' in edit.text


def test_a_bad_profile_is_shown_again_with_errors_and_nothing_stored(forms: FlaskClient, db_session: Session) -> None:
    forms.post("/register", data=registration_form())
    year = china_today().year
    response = forms.post(
        f"/enterprise/profiles/{year}",
        data={"annual_revenue": "abc", "net_profit": "1", "total_assets": "-5", "total_liabilities": ""},
    )
    assert response.status_code == 422
    field_error(response.text, "annual_revenue")
    field_error(response.text, "total_assets")
    assert field_error(response.text, "total_liabilities") == "必填。"
    assert 'value="abc"' in response.text
    assert count(db_session, FinancialProfile) == 0


def need_form(**changes: Any) -> dict[str, Any]:
    form = {
        "amount": "50.5",
        "purpose": "equipment",
        "term_months": "24",
        "needed_by": (china_today() + timedelta(days=20)).isoformat(),
        "collateral_offered": ["real_estate"],
        "max_rate": "4.8",
        "note": "<script>alert('x')</script>",
    }
    return form | changes


def test_a_need_is_submitted_listed_and_withdrawn(forms: FlaskClient, db_session: Session) -> None:
    forms.post("/register", data=registration_form())
    assert forms.post("/needs/new", data=need_form()).status_code == 302
    need = db_session.scalar(select(FinancingNeed))
    assert need.amount == 505_000
    page = forms.get("/needs")
    assert "50.5" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert forms.post(f"/needs/{need.id}/withdraw").status_code == 302
    db_session.refresh(need)
    assert need.status == "withdrawn"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "0.05"}, "amount"),  # 500 yuan, under the 1,000 yuan minimum
        ({"amount": "2,000,000"}, "amount"),  # 200 亿元
        ({"term_months": "0"}, "term_months"),
        ({"needed_by": (china_today() - timedelta(days=1)).isoformat()}, "needed_by"),
        ({"purpose": ""}, "purpose"),
    ],
)
def test_bad_needs_are_refused_beside_the_field(
    forms: FlaskClient, db_session: Session, changes: dict[str, Any], field: str
) -> None:
    forms.post("/register", data=registration_form())
    response = forms.post("/needs/new", data=need_form(**changes))
    assert response.status_code == 422
    field_error(response.text, field)
    assert count(db_session, FinancingNeed) == 0


def test_another_enterprises_need_cannot_be_withdrawn(app: Flask, forms: FlaskClient, db_session: Session) -> None:
    forms.post("/register", data=registration_form())
    forms.post("/needs/new", data=need_form())
    need = db_session.scalar(select(FinancingNeed))
    intruder = app.test_client()
    intruder.post("/register", data=registration_form(name="另一家公司"))
    assert intruder.post(f"/needs/{need.id}/withdraw").status_code == 404
    db_session.refresh(need)
    assert need.status == "open"


def test_a_form_posted_without_its_csrf_token_is_refused(client: FlaskClient, db_session: Session) -> None:
    response = client.post("/register", data=registration_form())
    assert response.status_code == 400
    assert count(db_session, Enterprise) == 0


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_sme_page_renders_in_both_languages(forms: FlaskClient, lang: str) -> None:
    assert forms.get(f"/register?lang={lang}").status_code == 200
    assert forms.get(f"/enterprise/login?lang={lang}").status_code == 200
    forms.post("/register", data=registration_form())
    forms.post("/needs/new", data=need_form())
    for path in (
        "/enterprise",
        "/enterprise/edit",
        "/enterprise/profiles",
        f"/enterprise/profiles/{china_today().year}",
        "/needs",
        "/needs/new",
    ):
        response = forms.get(f"{path}?lang={lang}")
        assert response.status_code == 200, path


def test_the_enterprise_page_shows_the_score_with_its_reasons(forms: FlaskClient, active_model: str) -> None:
    forms.post("/register", data=registration_form())
    before = forms.get("/enterprise")
    assert "信用评分根据企业财务信息计算" in before.text  # no profile yet
    year = china_today().year - 1
    risky = {
        "annual_revenue": "1,000",
        "net_profit": "-80",
        "total_assets": "800",
        "total_liabilities": "760",
        "overdue_events_24m": "3",
    }
    assert forms.post(f"/enterprise/profiles/{year}", data=risky).status_code == 302
    page = forms.get("/enterprise")
    assert re.search(r'class="grade grade-[A-E]"', page.text)
    assert "资产负债率 95%" in page.text
    assert active_model in page.text
    english = forms.get("/enterprise?lang=en")
    assert "debt ratio 95%" in english.text


def test_the_enterprise_page_says_when_scoring_is_unavailable(forms: FlaskClient) -> None:
    forms.post("/register", data=registration_form())
    year = china_today().year - 1
    forms.post(
        f"/enterprise/profiles/{year}",
        data={"annual_revenue": "100", "net_profit": "5", "total_assets": "80", "total_liabilities": "20"},
    )
    page = forms.get("/enterprise")
    assert page.status_code == 200
    assert "评分服务暂不可用" in page.text


def test_a_control_character_in_a_form_is_refused_beside_its_field(forms: FlaskClient, db_session: Session) -> None:
    response = forms.post("/register", data=registration_form(contact_person="王\x00经理"))
    assert response.status_code == 422
    assert "控制字符" in field_error(response.text, "contact_person")
    assert count(db_session, Enterprise) == 0
