"""The public pages: home, the product catalogue with its filters, a product's page."""

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.pages.catalogue import PER_PAGE
from products.models import Bank
from tests.api.page_helpers import add_product, sign_in


def test_home_page_says_what_the_platform_does(client: FlaskClient, app: Flask) -> None:
    add_product(app, code="A1")
    page = client.get("/").get_data(as_text=True)
    assert "银企融资对接平台" in page
    assert 'href="/products"' in page
    assert "在售产品：1 个，来自 1 家银行" in page


def test_catalogue_lists_active_products_only(client: FlaskClient, app: Flask) -> None:
    add_product(app, code="ON", name="在售产品甲")
    add_product(app, code="PA", name="暂停产品乙", status="paused")
    add_product(app, code="DR", name="草稿产品丙", status="draft")
    add_product(app, code="WD", name="下架产品丁", status="withdrawn")
    response = client.get("/products")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "在售产品甲" in page
    assert "共找到 1 个产品" in page
    for hidden in ("暂停产品乙", "草稿产品丙", "下架产品丁"):
        assert hidden not in page


def test_card_shows_bank_type_amounts_in_wan_term_rate_collateral_and_flags(client: FlaskClient, app: Flask) -> None:
    add_product(
        app,
        bank_code="CCB",
        code="K1",
        name="科创贷",
        type="ip_pledge_loan",
        amount_min=500_000,
        amount_max=12_345_678,
        term_min_months=12,
        term_max_months=36,
        rate_min=3.45,
        rate_max=4.0,
        collateral=["ip_pledge", "third_party_guarantee"],
        approval_days=7,
        first_loan_friendly=True,
        supports_renewal=True,
        online_only=True,
    )
    page = client.get("/products").get_data(as_text=True)
    for text in (
        "CCB 银行",
        "知识产权质押贷",
        "50–1,234.57 万元",
        "12–36 个月",
        "3.45%–4%",
        "知识产权质押、第三方保证",
        "7 天",
        "首贷友好",
        "无还本续贷",
        "纯线上",
    ):
        assert text in page, text


def test_filters_by_type_bank_amount_collateral_and_text(client: FlaskClient, app: Flask) -> None:
    add_product(app, bank_code="ABC", code="E1", name="快贷一号", type="e_loan", amount_min=100_000, amount_max=500_000)
    add_product(
        app,
        bank_code="BOC",
        code="M1",
        name="抵押二号",
        type="mortgage_loan",
        amount_min=1_000_000,
        amount_max=20_000_000,
        collateral=["real_estate"],
        description="厂房抵押",
    )

    def names(query: str) -> set[str]:
        page = client.get(f"/products?{query}").get_data(as_text=True)
        return {name for name in ("快贷一号", "抵押二号") if name in page}

    assert names("type=e_loan") == {"快贷一号"}
    assert names("amount=50") == {"快贷一号"}  # 50 万元 = 500,000 yuan, inside 10–50 万元
    assert names("amount=100") == {"抵押二号"}
    assert names("amount=1%2C000") == {"抵押二号"}  # "1,000" with a thousands separator
    assert names("collateral=real_estate") == {"抵押二号"}
    assert names("q=厂房") == {"抵押二号"}
    assert names("type=e_loan&collateral=real_estate") == set()


def test_filter_by_bank_uses_the_bank_list(client: FlaskClient, app: Flask, db_session: Session) -> None:
    add_product(app, bank_code="ABC", code="E1", name="甲行产品")
    add_product(app, bank_code="BOC", code="E1", name="乙行产品")
    boc = db_session.scalars(select(Bank).where(Bank.code == "BOC")).one()
    page = client.get("/products").get_data(as_text=True)
    assert f'<option value="{boc.id}">BOC 银行</option>' in page
    filtered = client.get(f"/products?bank={boc.id}").get_data(as_text=True)
    assert "乙行产品" in filtered and "甲行产品" not in filtered
    assert f'value="{boc.id}" selected' in filtered


def test_bad_filter_values_get_a_message_next_to_the_field(client: FlaskClient, app: Flask) -> None:
    add_product(app, code="P1", name="一个产品")
    response = client.get("/products?amount=abc&type=gold&bank=99&collateral=gold&q=" + "x" * 101)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="filter-amount-error"' in page and "请输入以万元为单位的正数金额" in page
    assert 'id="filter-type-error"' in page and "请从列表中选择产品类型" in page
    assert 'id="filter-bank-error"' in page
    assert 'id="filter-collateral-error"' in page
    assert 'id="filter-q-error"' in page
    assert 'value="abc"' in page  # the input keeps what was typed
    assert "一个产品" in page  # the bad filters are left out, the catalogue still shows


def test_absurd_amounts_and_pages_are_refused_or_ignored_not_a_500(client: FlaskClient, app: Flask) -> None:
    add_product(app)
    for query in ("amount=-5", "amount=0", "amount=1e400", "amount=nan", "amount=99999999999999", "amount=0.00001"):
        assert client.get(f"/products?{query}").status_code == 422, query
    for page in ("abc", "0", "-1", "99999999999999999999"):
        assert client.get(f"/products?page={page}").status_code == 200, page


def test_catalogue_is_paginated_and_keeps_the_filters(client: FlaskClient, app: Flask) -> None:
    for number in range(PER_PAGE + 2):
        add_product(app, code=f"P{number:02d}", name=f"分页产品{number:02d}", type="e_loan")
    first = client.get("/products?type=e_loan").get_data(as_text=True)
    assert "分页产品00" in first and f"分页产品{PER_PAGE:02d}" not in first
    assert "第 1 页，共 2 页" in first
    assert 'href="/products?type=e_loan&amp;page=2"' in first
    second = client.get("/products?type=e_loan&page=2").get_data(as_text=True)
    assert f"分页产品{PER_PAGE:02d}" in second and "分页产品00" not in second


def test_product_page_shows_the_details(client: FlaskClient, app: Flask) -> None:
    product_id = add_product(
        app,
        code="D1",
        name="详情产品",
        description="面向科技企业",
        industries=["C39", "I"],
        size_classes=["small", "micro"],
        min_annual_revenue=1_000_000,
        max_debt_ratio=0.7,
    )
    response = client.get(f"/products/{product_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "详情产品",
        "面向科技企业",
        "制造业 (C39)",
        "信息传输、软件和信息技术服务业",
        "小型、微型",
        "不低于 100 万元",
    ):
        assert text in page, text
    assert "不高于 70%" in page


def test_unknown_and_draft_products_are_404_for_the_public(client: FlaskClient, app: Flask) -> None:
    draft_id = add_product(app, code="DR", name="草稿产品", status="draft")
    missing = client.get("/products/999999")
    assert missing.status_code == 404
    assert "页面不存在" in missing.get_data(as_text=True)
    assert '<html lang="zh-CN">' in missing.get_data(as_text=True)  # the error page uses the layout
    assert client.get(f"/products/{draft_id}").status_code == 404


def test_a_bank_sees_its_own_draft(client: FlaskClient, app: Flask, make_token: Callable[..., str]) -> None:
    draft_id = add_product(app, bank_code="OWN", code="DR", name="草稿产品", status="draft")
    sign_in(client, make_token("bank", bank_code="OWN"))
    page = client.get(f"/products/{draft_id}").get_data(as_text=True)
    assert "草稿产品" in page and "状态：草稿" in page


def test_paused_product_page_says_it_takes_no_applications(client: FlaskClient, app: Flask) -> None:
    paused_id = add_product(app, code="PA", status="paused")
    page = client.get(f"/products/{paused_id}").get_data(as_text=True)
    assert "该产品目前不受理新的申请" in page


def test_html_in_product_fields_is_escaped(client: FlaskClient, app: Flask) -> None:
    product_id = add_product(app, code="X1", name="<script>alert(1)</script>", description='<img src=x onerror="a()">')
    for path in ("/products", f"/products/{product_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page
