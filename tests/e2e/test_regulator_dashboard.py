"""A regulator's first look at the dashboard, in a real browser against a real server: sign in, filter by a
region and a quarter, read the totals and the funnel (charts drawn, tables filled), download the CSV, and
find the same figures in the CSV, on the page and in the API."""

import csv
import json
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from accounts.models import Role
from accounts.tokens import create_account, issue_token
from api.formatting import wan
from api.pages.regulator import quarters
from db import migrate
from db.engine import make_engine, make_session_factory
from matchmaker import stats
from reference.china_time import china_today
from tests.e2e.conftest import gunicorn_server
from tests.integration.stats_world import REGIONS, build_world

TOKEN = "mm_e2e_regulator_dashboard"
REGION = REGIONS[0]


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server on a database holding the statistics tests' seeded market and a regulator; yields its base
    URL and the database URL."""
    directory = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{directory / 'dashboard.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        build_world(session, seed=11, enterprises=40)
        issue_token(session, create_account(session, "某市地方金融监督管理局", Role.REGULATOR), token=TOKEN)
        session.commit()
    engine.dispose()
    with gunicorn_server(url, 2, directory / "gunicorn.log") as server:
        yield server.base, url


def busiest_quarter(database_url: str) -> tuple[date, date, stats.TotalsRow, stats.FunnelRow]:
    """Of the quarters the page offers, the one with the most enterprises granted credit in REGION (the
    seeded needs lie in the last 250 days, whatever today is), with its expected totals and funnel."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        candidates = []
        for _label, first, last in quarters(china_today()):
            flt = stats.StatsFilter(date_from=first, date_to=last, region=REGION)
            candidates.append((first, last, stats.totals(session, flt)[0], stats.funnel(session, flt)[0]))
    engine.dispose()
    return max(candidates, key=lambda candidate: candidate[2].enterprises or 0)


def canvas_drawn(page: Page, canvas_id: str) -> bool:
    """Chart.js owns the canvas and has painted at least one pixel on it."""
    return page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            if (!window.Chart || !window.Chart.getChart(canvas)) return false;
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            return pixels.some((value, index) => index % 4 === 3 && value > 0);
        }""",
        canvas_id,
    )


def api_json(base: str, path: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_filter_read_and_download(dashboard_server: tuple[str, str], page: Page) -> None:
    base, database_url = dashboard_server
    failures: list[str] = []  # script errors and policy violations, and the files asked for in vain by address

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            failures.append(message.text)

    page.on("console", console)
    page.on("response", lambda response: failures.append(response.url) if response.status >= 400 else None)

    page.goto(f"{base}/regulator")
    expect(page).to_have_url(f"{base}/login?next=/regulator")
    page.fill("#token", TOKEN)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{base}/regulator")
    expect(page.locator("nav.site-nav a[href='/regulator']")).to_have_attribute("aria-current", "page")

    page.select_option("#f-region", REGION)
    page.click("form.filters button[type=submit]")
    first, last, totals, funnel = busiest_quarter(database_url)
    page.click(f"a.quarter[href*='from={first.isoformat()}']")
    expect(page.locator("#f-from")).to_have_value(first.isoformat())
    expect(page.locator("#f-to")).to_have_value(last.isoformat())
    expect(page.locator("#f-region")).to_have_value(REGION)

    assert totals.loans and not totals.suppressed, "the seeded market has loans in this region and quarter"
    expect(page.locator("dd[data-figure=granted_amount]")).to_have_text(wan(totals.granted_amount))
    expect(page.locator("dd[data-figure=loans]")).to_have_text(f"{totals.loans:,}")
    expect(page.locator("dd[data-figure=enterprises]")).to_have_text(f"{totals.enterprises:,}")
    steps = page.locator("#funnel-steps strong")
    expect(steps).to_have_text(
        [
            f"{getattr(funnel, step):,}"
            for step in ("needs_submitted", "needs_proposed", "proposals", "accepted", "granted")
        ]
    )
    for canvas in ("chart-groups", "chart-months", "chart-funnel"):
        expect(page.locator(f"#{canvas}")).to_have_attribute("data-drawn", "true")
        assert canvas_drawn(page, canvas), canvas

    table = page.locator("#table-totals tbody tr")
    page_rows = {row.locator("th").inner_text().rstrip("*"): row.locator("td").all_inner_texts() for row in table.all()}
    assert page_rows, "the table under the chart is filled"

    with page.expect_download() as download:
        page.click("#groups-title ~ .downloads a[href*='headers=zh']")
    lines = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()))
    header, csv_total, csv_groups = lines[0], lines[1], lines[2:]
    granted = header.index("授信金额（元）")
    assert csv_total[granted] == str(totals.granted_amount)
    column = [c.name for c in stats.TOTALS_COLUMNS].index("granted_amount")
    as_on_page = {line[1]: wan(int(line[granted])) if line[granted] else "—" for line in csv_groups}
    assert {label: cells[column] for label, cells in page_rows.items()} == as_on_page | {
        list(page_rows)[-1]: wan(totals.granted_amount)  # the page's total row, last
    }

    api = api_json(base, f"/api/v1/stats/totals?group_by=bank&region={REGION}&from={first}&to={last}")
    assert api["overall"]["granted_amount"] == int(csv_total[granted])
    assert [str(row["granted_amount"]) if row["granted_amount"] is not None else "" for row in api["groups"]] == [
        line[granted] for line in csv_groups
    ]
    assert [failure for failure in failures if "favicon" not in failure] == []
