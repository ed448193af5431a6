"""An SME owner's first visit, in a real browser against a real server."""

from datetime import timedelta

from playwright.sync_api import Page, expect

from reference.china_time import china_today
from tests.conftest import valid_uscc


def fill_registration(page: Page, uscc: str) -> None:
    page.fill("#f-uscc", uscc)
    page.fill("#f-name", "某市云杉软件有限公司")
    page.select_option("#f-industry", "I")
    page.fill("#f-industry_detail", "I65")
    page.fill("#f-region", "某市高新区")
    page.fill("#f-founded_on", "2019-04-01")
    page.fill("#f-employees", "35")
    page.fill("#f-registered_capital", "300")
    page.fill("#f-contact_person", "赵会计")
    page.fill("#f-phone", "13700001111")
    page.fill("#f-email", "zhao@yunshan.example.cn")
    page.fill("#f-password", "yunshan-2026!")
    page.fill("#f-password_confirm", "yunshan-2026!")


def test_register_fill_the_profile_submit_a_need_and_see_it(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}/register")
    expect(page.locator("h1")).to_have_text("企业注册")
    fill_registration(page, valid_uscc())
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("某市云杉软件有限公司")

    year = china_today().year - 1
    page.click(f"a[href='/enterprise/profiles/{year}']")
    page.fill("#f-annual_revenue", "1,800")
    page.fill("#f-net_profit", "120.5")
    page.fill("#f-total_assets", "2,400")
    page.fill("#f-total_liabilities", "900")
    page.check("#f-collateral_available-ip_pledge")
    page.click("form.form button[type=submit]")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text(str(year))
    expect(row).to_contain_text("1,800")
    expect(row).to_contain_text("37.5%")  # debt ratio 900 / 2,400

    page.click("a[href='/enterprise']")
    expect(page.locator(".size-class")).to_have_text("小型")  # software, 35 people, 1,800 万元 revenue

    page.click("a[href='/needs/new']")
    page.fill("#f-amount", "80")
    page.select_option("#f-purpose", "technology_upgrade")
    page.fill("#f-term_months", "24")
    page.fill("#f-needed_by", (china_today() + timedelta(days=45)).isoformat())
    page.check("#f-collateral_offered-ip_pledge")
    page.fill("#f-max_rate", "4.5")
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(f"{live_server}/needs")
    need = page.locator(".need").first
    expect(need.locator("h2")).to_contain_text("80")
    expect(need.locator("h2")).to_contain_text("技术改造升级")
    expect(need.locator(".status")).to_have_text("待匹配")


def test_an_invalid_credit_code_is_shown_beside_the_field_with_the_other_values_kept(
    live_server: str, page: Page
) -> None:
    page.goto(f"{live_server}/register")
    code = valid_uscc()
    fill_registration(page, code[:17] + ("0" if code[17] != "0" else "1"))
    page.click("form.form button[type=submit]")
    error = page.locator("#f-uscc-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("校验码错误")
    expect(page.locator("#f-uscc")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-name")).to_have_value("某市云杉软件有限公司")
    expect(page.locator("#f-industry_detail")).to_have_value("I65")
    expect(page.locator("#f-password")).to_have_value("")


def test_switching_the_language(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}/register")
    expect(page.locator("h1")).to_have_text("企业注册")
    page.click(".lang-switch a[hreflang=en]")
    expect(page.locator("h1")).to_have_text("Register your enterprise")
    expect(page.locator("label[for=f-uscc]")).to_contain_text("Unified social credit code")
    page.goto(f"{live_server}/enterprise/login")  # the choice sticks
    expect(page.locator("h1")).to_have_text("Enterprise sign-in")
    page.click(".lang-switch a[hreflang=zh-CN]")
    expect(page.locator("h1")).to_have_text("企业登录")
