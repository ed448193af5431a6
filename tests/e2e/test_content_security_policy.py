"""The strict Content-Security-Policy breaks nothing in a real browser: the pages and Swagger UI load their
scripts and styles from this origin and the browser reports no violation."""

from playwright.sync_api import Page, expect


def test_pages_and_api_docs_run_under_the_policy(live_server: str, page: Page) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    for path in ("/", "/products", "/login", "/register"):
        response = page.goto(f"{live_server}{path}")
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator("h1")).to_be_visible()
    page.goto(f"{live_server}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Bank–SME financing matchmaker")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert violations == []
