"""A bank's credit officer, in a real browser against a real server: signs in with the bank's token, opens a
proposal from the proposals page, grants less than the enterprise asked; the enterprise then signs in and
reads the grant on its needs page, in Chinese."""

from dataclasses import dataclass

from playwright.sync_api import Page, expect

from accounts.tokens import issue_token
from db import make_engine, make_session_factory
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import make_book, propose


@dataclass
class Case:
    token: str  # the credit officer's access token
    bank: str
    enterprise: str
    uscc: str
    password: str


def seed(database_url: str) -> Case:
    """In the live server's database: a bank with a product and an officer, an enterprise asking for
    100 万元 over 12 months, and the matching's proposal of the product for that need, waiting for an answer."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session, session.begin():
        book = make_book(session, "JOURNEY")
        need = enterprise_with_need(session, 77)
        propose(session, need, book.product)
        case = Case(
            issue_token(session, book.officer),
            book.bank.name,
            need.enterprise.name,
            need.enterprise.uscc,
            "password-123",
        )
    engine.dispose()
    return case


def test_an_officer_grants_less_than_asked_and_the_enterprise_sees_the_grant(
    live_server: str, live_database_url: str, page: Page
) -> None:
    case = seed(live_database_url)
    # The officer, on the sign-in page for banks.
    page.goto(f"{live_server}/login")
    page.fill("#token", case.token)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{live_server}/portal")

    page.click("a[href='/portal/proposals']")
    expect(page.locator("h1")).to_contain_text("本行产品的推荐企业")
    page.get_by_role("link", name=case.enterprise).click()
    expect(page.locator("h1")).to_contain_text(case.enterprise)
    expect(page.locator(".proposal")).to_contain_text("100")  # the amount asked, in 万元

    grant = page.locator("form[action$='/grant']")
    expect(grant.locator("[name=amount]")).to_have_value("100")  # the form starts from the need
    grant.locator("[name=amount]").fill("60")
    grant.locator("[name=rate]").fill("4.35")
    grant.locator("[name=term_months]").fill("12")
    granted_on = grant.locator("[name=granted_on]").input_value()  # today, as the form proposes
    grant.locator("[name=kind]").select_option("first_loan")
    grant.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_have_text("授信成功，已记入授信台账。")
    expect(page.locator(".loan-amount")).to_have_text("60")
    expect(page.locator(".loan-rate")).to_have_text("4.35")
    expect(page.locator("form[action$='/grant']")).to_have_count(0)  # decided: no form any more

    # The officer signs out; the enterprise signs in (on the same phone, for brevity).
    page.click(".account button[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    page.goto(f"{live_server}/enterprise/login")
    page.fill("#uscc", case.uscc)
    page.fill("#password", case.password)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{live_server}/needs")
    proposal = page.locator(".proposal").first
    expect(proposal).to_contain_text(case.bank)
    expect(proposal.locator(".status")).to_have_text("已授信")
    expect(proposal.locator(".granted")).to_contain_text(
        f"已获授信：60 万元，年利率 4.35%，期限 12 个月，授信日期 {granted_on}。"
    )
