"""The statistics API: who may read it, bad filters answered 422 naming the field, and the CSV exports
(Chinese or English headers, BOM, formulas neutralised) carrying exactly the JSON's figures."""

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.config import from_environment
from matchmaker.models import ProposalTally
from matchmaker.stats import (
    BANK_RESPONSE_COLUMNS,
    FUNNEL_COLUMNS,
    RISK_COLUMNS,
    TOTALS_COLUMNS,
    SharingRule,
    StatsFilterError,
)
from matchmaker.stats_csv import GROUP_COLUMNS, reason_columns
from tests.conftest import auth
from tests.integration.stats_world import build_small_world

REPORTS = ("totals", "funnel", "banks", "risk")
COLUMNS = {"totals": TOTALS_COLUMNS, "funnel": FUNNEL_COLUMNS, "banks": BANK_RESPONSE_COLUMNS, "risk": RISK_COLUMNS}
INJECTED_REGION = '=HYPERLINK("http://evil.example","点击")'


@pytest.fixture
def world(app: Flask) -> None:
    with app.extensions["session_factory"]() as session:
        build_small_world(session, region_two=INJECTED_REGION)


@pytest.fixture
def regulator(make_token: Callable[..., str]) -> dict[str, str]:
    return auth(make_token("regulator"))


@pytest.mark.parametrize("path", [f"/api/v1/stats/{report}{ext}" for report in REPORTS for ext in ("", ".csv")])
def test_only_regulators_and_admins_read_statistics(
    client: FlaskClient, make_token: Callable[..., str], path: str
) -> None:
    assert client.get(path).status_code == 401
    for role, status in (("bank", 403), ("sme", 403), ("regulator", 200), ("admin", 200)):
        assert client.get(path, headers=auth(make_token(role, bank_code="B9"))).status_code == status, role


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=enterprise", "group_by"),
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-01&to=2026-02-01", "from"),
        ("bank=0", "bank"),
        ("product_type=cash", "product_type"),
        ("size_class=huge", "size_class"),
        ("industry=Z", "industry"),
        ("lang=fr", "lang"),
    ],
)
def test_bad_filters_get_422_naming_the_field(
    client: FlaskClient, regulator: dict[str, str], query: str, field: str
) -> None:
    for path in ("/api/v1/stats/totals", "/api/v1/stats/funnel.csv"):
        response = client.get(f"{path}?{query}", headers=regulator)
        assert response.status_code == 422, (path, query)
        assert field in response.json["errors"]["query"], response.json


def test_risk_shares_must_make_a_whole(client: FlaskClient, regulator: dict[str, str], app: Flask) -> None:
    response = client.get("/api/v1/stats/risk?fund_share=0.5", headers=regulator)
    assert response.status_code == 422 and "fund_share" in response.json["errors"]["query"]
    assert app.config["RISK_SHARING"] == SharingRule(0.4, 0.4, 0.2)
    shared = client.get("/api/v1/stats/risk?fund_share=0.5&bank_share=0.3&guarantor_share=0.2", headers=regulator)
    assert shared.status_code == 200


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def json_cells(row: dict[str, Any], names: list[str], lang: str) -> list[str]:
    group = row["group"]
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    cells = [group["key"] if group else "", group[lang] if group else ("合计" if lang == "zh" else "total")]
    cells.append(yes if row["suppressed"] else no)
    reasons = {r["code"]: r["count"] for r in row.get("rejections") or ()}
    for name in names:
        if name.startswith("rejected_"):
            cells.append("" if row["suppressed"] else str(reasons.get(name.removeprefix("rejected_"), 0)))
        else:
            cells.append("" if row[name] is None else str(row[name]))
    return ["'" + cell if cell[:1] in ("=", "+", "-", "@") else cell for cell in cells]


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("group_by", ["region", "bank"])
def test_the_csv_carries_the_json_figures(
    client: FlaskClient, regulator: dict[str, str], world: None, report: str, group_by: str
) -> None:
    query = f"group_by={group_by}"
    answer = client.get(f"/api/v1/stats/{report}?{query}", headers=regulator).json
    columns = (*COLUMNS[report], *(reason_columns() if report == "banks" else ()))
    names = [column.name for column in columns]
    for lang, url, headers in (
        ("zh", f"/api/v1/stats/{report}.csv?{query}", regulator),
        ("en", f"/api/v1/stats/{report}.csv?{query}&lang=en", regulator),
        ("zh", f"/api/v1/stats/{report}?{query}", regulator | {"Accept": "text/csv"}),
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        header, *rows = parse_csv(response.data)
        assert header == [column.header(lang) for column in (*GROUP_COLUMNS, *columns)]
        expected = [json_cells(row, names, lang) for row in (answer["overall"], *answer["groups"])]
        assert rows == expected


def test_csv_headers_are_chinese_by_default_and_formulas_are_neutralised(
    client: FlaskClient, regulator: dict[str, str], world: None
) -> None:
    answer = client.get("/api/v1/stats/funnel?group_by=region", headers=regulator).json
    assert [group["group"]["key"] for group in answer["groups"]] == [INJECTED_REGION, "R1"]  # by key
    header, overall, injected, _r1 = parse_csv(
        client.get("/api/v1/stats/funnel.csv?group_by=region", headers=regulator).data
    )
    assert header[:5] == ["分组代码", "分组", "不足3家企业未显示", "企业数（家）", "提交需求数"]
    assert overall[:5] == ["", "合计", "否", "6", "6"]
    assert injected[:2] == ["'" + INJECTED_REGION] * 2  # a spreadsheet shows it as text, runs nothing
    filtered = client.get("/api/v1/stats/funnel", query_string={"region": INJECTED_REGION}, headers=regulator).json
    assert filtered["overall"]["needs_submitted"] == 3


def test_totals_answer_the_json_shape(client: FlaskClient, regulator: dict[str, str], world: None) -> None:
    answer = client.get("/api/v1/stats/funnel?group_by=bank", headers=regulator).json
    assert answer["group_by"] == "bank"
    assert [(g["group"]["dimension"], g["group"]["zh"]) for g in answer["groups"]] == [
        ("bank", "B1银行"),
        ("bank", "B2银行"),
    ]
    assert answer["groups"][0]["granted_amount"] == 1_150_000 and answer["groups"][0]["needs_submitted"] is None
    banks = client.get("/api/v1/stats/banks", headers=regulator).json
    assert banks["groups"][1]["rejections"][0] == {
        "code": "credit_history",
        "zh": "信用记录不良",
        "en": "credit history",
        "count": 1,
    }
    totals = client.get("/api/v1/stats/totals?group_by=month", headers=regulator).json
    assert totals["overall"]["suppressed"] is True and totals["overall"]["granted_amount"] is None


def test_the_sharing_rule_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHMAKER_RISK_SHARING", "0.5,0.3,0.2")
    assert from_environment()["RISK_SHARING"] == SharingRule(0.5, 0.3, 0.2)
    monkeypatch.setenv("MATCHMAKER_RISK_SHARING", "0.5,0.5,0.5")
    with pytest.raises(StatsFilterError, match="sum to 1"):
        from_environment()


def test_a_period_holding_the_whole_book_is_read_from_the_tallies(
    client: FlaskClient, regulator: dict[str, str], world: None, app: Flask
) -> None:
    """The API drops a period that holds every day of the book (the same rows) and so reads the tallies: a
    row added to a tally by hand shows in ``from=2000-01-01`` as in no period at all."""
    before = client.get("/api/v1/stats/banks?from=2000-01-01", headers=regulator).json["overall"]["proposals"]
    with app.extensions["session_factory"]() as session, session.begin():
        tally = session.scalars(select(ProposalTally).limit(1)).one()
        columns = [column.name for column in ProposalTally.__table__.columns if column.name != "id"]
        session.add(ProposalTally(**{name: getattr(tally, name) for name in columns}))
        added = tally.proposals
    assert added > 0
    for path in ("/api/v1/stats/banks?from=2000-01-01", "/api/v1/stats/banks"):
        assert client.get(path, headers=regulator).json["overall"]["proposals"] == before + added, path
