"""The regulators' dashboard page and its CSV downloads: who may see them, the filters, figures that equal
matchmaker.stats for the same filter, charts fed from a JSON block (no inline script), small groups hidden,
and bad filter values answered with the form and a message, never a 500."""

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import ApiToken
from accounts.tokens import hash_token
from api.formatting import wan
from enterprises.models import FinancingNeed
from matchmaker import stats
from matchmaker.decisions import grant
from reference.china_time import china_today
from tests.conftest import make_enterprise
from tests.integration.credit_book import WAN, propose
from tests.integration.stats_world import World, build_world

REGION = "110105"
LONE_REGION = "某市孤岛区"


@pytest.fixture
def world(db_session: Session) -> World:
    """The statistics tests' seeded market, plus one enterprise alone in its region with a loan."""
    built = build_world(db_session, seed=8, enterprises=40)
    enterprise = make_enterprise(db_session, "孤岛科技有限公司")
    enterprise.region = LONE_REGION
    need = FinancingNeed(
        enterprise_id=enterprise.id,
        amount=50 * WAN,
        purpose="working_capital",
        term_months=12,
        needed_by=china_today() + timedelta(days=30),
        collateral_offered=[],
    )
    db_session.add(need)
    db_session.flush()
    product = built.products[0]
    proposal = propose(db_session, need, product)
    grant(
        db_session, proposal, built.officers[product.bank_id], 50 * WAN, product.rate_min, 12, china_today(), "new_loan"
    )
    db_session.commit()
    return built


@pytest.fixture
def regulator(client: FlaskClient, db_session: Session, make_token: Callable[..., str]) -> FlaskClient:
    return signed_in_client(client, db_session, make_token("regulator"))


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def table_rows(html: str, table_id: str) -> dict[str, list[str]]:
    """A figures table as {row label: [cells]} (label without the small-group marker)."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert table, f"no table {table_id}"
    rows = {}
    for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", table.group(1), re.S):
        label = unescape(re.sub(r"<sup>.*?</sup>", "", row[0]).strip())
        rows[label] = [unescape(cell) for cell in re.findall(r'<td class="number">(.*?)</td>', row[1])]
    return rows


def glance(html: str, figure: str) -> str:
    found = re.search(rf'<dd data-figure="{figure}">(.*?)</dd>', html, re.S)
    assert found, figure
    return unescape(found.group(1)).strip()


def quarter() -> tuple[str, str]:
    """The last 300 days, as the bounds the form takes."""
    return (china_today() - timedelta(days=300)).isoformat(), china_today().isoformat()


def signed_in_client(client: FlaskClient, db_session: Session, token: str) -> FlaskClient:
    """A new browser whose session holds the token, as the sign-in pages leave it (the SME's sign-in takes a
    credit code and password, so the session is set directly here)."""
    browser = client.application.test_client()
    row = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    with browser.session_transaction() as cookie:
        cookie["token_id"] = row.id
    return browser


def test_anonymous_visitors_are_sent_to_sign_in_and_other_roles_are_refused(
    client: FlaskClient, db_session: Session, make_token: Callable[..., str]
) -> None:
    response = client.get("/regulator?region=110105")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/regulator?region%3D110105"
    assert client.get("/regulator/totals.csv").status_code == 302
    for role in ("bank", "sme"):
        other = signed_in_client(client, db_session, make_token(role))
        assert other.get("/regulator").status_code == 403
        assert other.get("/regulator/funnel.csv").status_code == 403
        assert 'href="/regulator"' not in page_text(other.get("/products"))  # no link in the menu either


def test_regulators_and_admins_see_the_dashboard_linked_in_the_menu(
    client: FlaskClient, db_session: Session, make_token: Callable[..., str], world: World
) -> None:
    for role in ("regulator", "admin"):
        visitor = signed_in_client(client, db_session, make_token(role))
        response = visitor.get("/regulator")
        assert response.status_code == 200
        html = page_text(response)
        assert 'id="glance"' in html and 'id="table-totals"' in html
        assert 'href="/regulator" aria-current="page"' in html


def test_the_figures_equal_the_statistics_for_the_same_filter(
    regulator: FlaskClient, db_session: Session, world: World
) -> None:
    start, end = quarter()
    html = page_text(regulator.get(f"/regulator?region={REGION}&from={start}&to={end}&group_by=bank"))
    flt = stats.StatsFilter(date_from=china_today() - timedelta(days=300), date_to=china_today(), region=REGION)
    overall, by_bank = stats.totals(db_session, flt, "bank")
    assert overall.loans and not overall.suppressed
    assert glance(html, "granted_amount") == wan(overall.granted_amount)
    assert glance(html, "loans") == f"{overall.loans:,}"
    assert glance(html, "enterprises") == f"{overall.enterprises:,}"
    assert glance(html, "outstanding") == wan(overall.outstanding)

    rows = table_rows(html, "table-totals")
    granted_column = [column.name for column in stats.TOTALS_COLUMNS].index("granted_amount")
    for row in by_bank:
        expected = "—" if row.suppressed else wan(row.granted_amount)
        assert rows[row.group.zh][granted_column] == expected
    assert list(rows.values())[-1][granted_column] == wan(overall.granted_amount)  # the total, last

    funnel = stats.funnel(db_session, flt)[0]  # the whole funnel, though the tables are by bank
    steps = re.findall(r"<li><span>(.*?)</span> <strong>(.*?)</strong></li>", html)
    assert [value for _label, value in steps] == [
        f"{getattr(funnel, step):,}"
        for step in ("needs_submitted", "needs_proposed", "proposals", "accepted", "granted")
    ]

    unfiltered = stats.totals(db_session, stats.StatsFilter(), None)[0]
    assert unfiltered.granted_amount != overall.granted_amount  # the filter was applied


def test_the_charts_are_fed_by_a_json_block_and_no_script_is_inline(
    regulator: FlaskClient, db_session: Session, world: World
) -> None:
    html = page_text(regulator.get("/regulator?group_by=region"))
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all('src="' in attributes or 'type="application/json"' in attributes for attributes, _ in scripts)
    assert any("/static/vendor/chart.umd.min.js" in attributes for attributes, _ in scripts)
    assert any("/static/js/dashboard.js" in attributes for attributes, _ in scripts)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):  # served here, offline
        assert regulator.get(asset).status_code == 200, asset
    assert not re.search(r'(src|href)="(https?:)?//', html) and " style=" not in html
    fields = set(re.findall(r'<(?:input|select)[^>]*\sid="([^"]+)"', html))
    assert fields and fields <= set(re.findall(r'<label for="([^"]+)"', html))  # every filter has its label
    block = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', html, re.S)
    charts = {chart["canvas"]: chart for chart in json.loads(block.group(1))}
    assert set(charts) == {"chart-groups", "chart-months", "chart-funnel"}
    for canvas in charts:
        assert f'<canvas id="{canvas}"' in html

    _overall, by_region = stats.totals(db_session, stats.StatsFilter(), "region")
    bars = dict(zip(charts["chart-groups"]["labels"], charts["chart-groups"]["series"][0]["values"], strict=True))
    for row in by_region:
        assert bars[row.group.zh] == (None if row.suppressed else round(row.granted_amount / WAN, 2))
    funnel = stats.funnel(db_session, stats.StatsFilter(), "region")[0]
    assert charts["chart-funnel"]["series"][0]["values"] == [
        funnel.needs_submitted,
        funnel.needs_proposed,
        funnel.proposals,
        funnel.accepted,
        funnel.granted,
    ]


def test_a_group_of_fewer_than_three_enterprises_shows_dashes_and_the_note(
    regulator: FlaskClient, world: World
) -> None:
    html = page_text(regulator.get("/regulator?group_by=region"))
    lone = table_rows(html, "table-totals")[LONE_REGION]
    assert set(lone) == {"—"}
    assert 'id="small-groups"' in html
    assert "孤岛科技有限公司" not in html  # never an enterprise's name


def test_the_csv_downloads_carry_the_filters_and_the_same_figures(
    regulator: FlaskClient, db_session: Session, world: World
) -> None:
    start, end = quarter()
    query = f"region={REGION}&from={start}&to={end}&group_by=size_class"
    html = page_text(regulator.get(f"/regulator?{query}"))
    link = re.search(r'href="(/regulator/totals\.csv\?[^"]*headers=en[^"]*)"', unescape(html))
    assert link, "no English CSV link"
    response = regulator.get(link.group(1))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, total, groups = rows[0], rows[1], rows[2:]
    assert header[3:] == [column.en for column in stats.TOTALS_COLUMNS]  # after group key, group, suppressed
    flt = stats.StatsFilter(date_from=china_today() - timedelta(days=300), date_to=china_today(), region=REGION)
    overall, by_size = stats.totals(db_session, flt, "size_class")
    granted = header.index("credit granted (yuan)")
    assert total[granted] == str(overall.granted_amount)
    expected = {row.group.en: row.granted_amount for row in by_size}
    assert {line[1]: line[granted] for line in groups} == {
        label: "" if amount is None else str(amount) for label, amount in expected.items()
    }

    chinese = regulator.get(f"/regulator/funnel.csv?{query}&headers=zh")
    assert next(csv.reader(io.StringIO(chinese.get_data(as_text=True).lstrip("\ufeff"))))[3:] == [
        column.zh for column in stats.FUNNEL_COLUMNS
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-06-01&to=2026-01-01", "from"),
        ("bank=abc", "bank"),
        ("bank=99999999999", "bank"),
        ("product_type=<script>", "product_type"),
        ("size_class=huge", "size_class"),
        ("industry=ZZ", "industry"),
        ("group_by=enterprise", "group_by"),
        ("region=" + "区" * 101, "region"),
    ],
)
def test_a_bad_filter_value_shows_the_form_with_a_message(regulator: FlaskClient, query: str, field: str) -> None:
    response = regulator.get(f"/regulator?{query}")
    assert response.status_code == 422
    html = page_text(response)
    assert f'id="f-{field}-error"' in html
    assert 'aria-invalid="true"' in html
    assert "dashboard-charts" not in html  # no figures for a filter that was not understood
    assert "<script>" not in html.split("</header>", 1)[1]
    assert regulator.get(f"/regulator/totals.csv?{query}").status_code == 422


def test_the_page_in_english(regulator: FlaskClient, world: World) -> None:
    html = page_text(regulator.get("/regulator?group_by=product_type&lang=en"))
    assert "<h1>Financing statistics</h1>" in html
    assert "credit granted (10,000 yuan)" in html
    assert "Total" in table_rows(html, "table-totals")


def test_an_empty_platform_shows_zeros_and_empty_tables(regulator: FlaskClient) -> None:
    html = page_text(regulator.get("/regulator"))
    assert glance(html, "loans") == "0"
    assert glance(html, "granted_amount") == "0"
    assert len(table_rows(html, "table-totals")) == 1  # the total row only
    assert 'id="small-groups"' not in html  # nothing was hidden
