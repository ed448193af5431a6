"""Importing products from CSV/JSON files and exporting them as CSV, through the HTTP API."""

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api import create_app
from tests.api.product_samples import CSV_HEADER, csv_line, product_body, product_count, snapshot
from tests.conftest import auth

URL = "/api/v1/products"
GOOD_CSV = "\n".join([CSV_HEADER, csv_line("P1"), csv_line("P2"), csv_line("P3")]) + "\n"


@pytest.fixture
def bank1(make_token: Callable[..., str]) -> str:
    return make_token("bank", bank_code="B1")


@pytest.fixture
def bank2(make_token: Callable[..., str]) -> str:
    return make_token("bank", bank_code="B2")


def upload(
    client: FlaskClient, token: str, content: bytes | str, filename: str = "products.csv", query: str = ""
) -> TestResponse:
    raw = content.encode() if isinstance(content, str) else content
    return client.post(
        f"{URL}/import{query}",
        data={"file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
        headers=auth(token),
    )


def export(client: FlaskClient, token: str, query: str = "") -> str:
    response = client.get(f"{URL}/export.csv{query}", headers=auth(token))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return response.get_data(as_text=True)


def test_a_csv_file_with_three_good_rows_creates_three_products(
    client: FlaskClient, bank1: str, db_session: Session
) -> None:
    response = upload(client, bank1, GOOD_CSV)
    assert response.status_code == 200, response.json
    assert response.json["created"] == 3
    assert (response.json["updated"], response.json["unchanged"], response.json["dry_run"]) == (0, 0, False)
    assert [item["code"] for item in response.json["items"]] == ["P1", "P2", "P3"]
    assert all(item["bank_code"] == "B1" and item["id"] for item in response.json["items"])
    assert product_count(db_session) == 3


def test_one_bad_row_rejects_the_whole_file_naming_its_line_and_field(
    client: FlaskClient, bank1: str, db_session: Session
) -> None:
    content = "\n".join([CSV_HEADER, csv_line("P1"), csv_line("P2", amount_min="lots"), csv_line("P3")])
    response = upload(client, bank1, content)
    assert response.status_code == 422
    assert response.json["code"] == 422
    assert response.json["errors"]["rows"] == [{"line": 3, "field": "amount_min", "message": "Not a valid integer."}]
    assert product_count(db_session) == 0


def test_every_bad_line_is_listed(client: FlaskClient, bank1: str, db_session: Session) -> None:
    content = "\n".join(
        [
            CSV_HEADER,
            csv_line("P1", collateral="none;real_estate"),
            csv_line("P2"),
            csv_line("P2"),
            csv_line("P4", collateral="gold"),
            csv_line("P5", amount_min="9000000"),
        ]
    )
    rows = upload(client, bank1, content).json["errors"]["rows"]
    assert [(row["line"], row["field"]) for row in rows] == [
        (2, "collateral"),
        (4, "code"),
        (5, "collateral"),
        (6, "amount_min"),
    ]
    assert "line 3" in rows[1]["message"]
    assert rows[2]["message"].startswith("item 1: ")
    assert product_count(db_session) == 0


def test_uploading_the_same_file_twice_changes_nothing_the_second_time(
    client: FlaskClient, bank1: str, db_session: Session
) -> None:
    assert upload(client, bank1, GOOD_CSV).json["created"] == 3
    before = snapshot(db_session)
    again = upload(client, bank1, GOOD_CSV).json
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert snapshot(db_session) == before


def test_a_row_with_a_known_code_updates_that_product(client: FlaskClient, bank1: str) -> None:
    upload(client, bank1, GOOD_CSV)
    changed = "\n".join([CSV_HEADER, csv_line("P1"), csv_line("P2", amount_min="200000"), csv_line("P4")])
    result = upload(client, bank1, changed).json
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 1)
    assert result["items"][1]["amount_min"] == 200_000
    assert client.get(f"{URL}?per_page=100").json["total"] == 4


def test_a_row_naming_a_withdrawn_product_is_an_error(client: FlaskClient, bank1: str, db_session: Session) -> None:
    product = upload(client, bank1, GOOD_CSV).json["items"][1]
    client.delete(f"{URL}/{product['id']}", headers=auth(bank1))
    before = snapshot(db_session)
    response = upload(client, bank1, GOOD_CSV)
    assert response.status_code == 422
    assert [(row["line"], row["field"]) for row in response.json["errors"]["rows"]] == [(3, "code")]
    assert snapshot(db_session) == before


def test_another_banks_import_never_touches_the_first_banks_products(
    client: FlaskClient, bank1: str, bank2: str, db_session: Session
) -> None:
    upload(client, bank1, GOOD_CSV)
    bank1_rows = snapshot(db_session)
    response = upload(client, bank2, GOOD_CSV.replace("100000,", "150000,"))
    assert response.json["created"] == 3
    assert {item["bank_code"] for item in response.json["items"]} == {"B2"}
    assert snapshot(db_session)[:3] == bank1_rows
    exported = list(csv.DictReader(io.StringIO(export(client, bank2).removeprefix("\ufeff"))))
    assert [(row["code"], row["amount_min"]) for row in exported] == [(f"P{n}", "150000") for n in (1, 2, 3)]


def test_dry_run_reports_but_writes_nothing(client: FlaskClient, bank1: str, db_session: Session) -> None:
    response = upload(client, bank1, GOOD_CSV, query="?dry_run=1")
    assert response.status_code == 200
    assert (response.json["created"], response.json["dry_run"]) == (3, True)
    assert [item["code"] for item in response.json["items"]] == ["P1", "P2", "P3"]
    assert product_count(db_session) == 0

    upload(client, bank1, GOOD_CSV)
    before = snapshot(db_session)
    changed = GOOD_CSV.replace("产品 P1", "新名字")
    response = upload(client, bank1, changed, query="?dry_run=true")
    assert (response.json["updated"], response.json["items"][0]["name"]) == (1, "新名字")
    assert snapshot(db_session) == before


def test_chinese_headers_bom_and_chinese_values_are_read(client: FlaskClient, bank1: str) -> None:
    content = (
        "\ufeff产品代码,产品名称,产品类型,贷款金额下限(元),贷款金额上限（元）,期限下限（月）,期限上限（月）,"
        "年利率下限（%）,年利率上限（%）,担保方式,授信额度（元）,支持首贷,适用行业,企业规模\n"
        "ZH1,政帮贷,担保贷（政府增信）,100000,2000000,3,12,3.0,3.8,政府性融资担保；第三方保证,100000000,是,C|F,小型;微型\n"
    )
    response = upload(client, bank1, content.encode("utf-8"))
    assert response.status_code == 200, response.json
    item = response.json["items"][0]
    assert item["type"] == "guarantee_loan"
    assert item["collateral"] == ["government_guarantee", "third_party_guarantee"]
    assert item["first_loan_friendly"] is True
    assert item["industries"] == ["C", "F"]
    assert item["size_classes"] == ["small", "micro"]


def test_errors_in_a_chinese_file_also_give_the_column_as_written(client: FlaskClient, bank1: str) -> None:
    content = (
        "产品代码,产品名称,产品类型,贷款金额下限（元）,贷款金额上限（元）,期限下限（月）,期限上限（月）,"
        "年利率下限（%）,年利率上限（%）,授信额度（元）\nX,名,credit_loan,abc,1,1,1,1,1,1\n"
    )
    row = upload(client, bank1, content).json["errors"]["rows"][0]
    assert row == {"line": 2, "field": "amount_min", "column": "贷款金额下限（元）", "message": "Not a valid integer."}


def test_empty_cells_take_the_defaults(client: FlaskClient, bank1: str) -> None:
    content = CSV_HEADER + ",review_capacity,online_only\n" + csv_line("P1").replace(",none,", ",,") + ",,\n"
    item = upload(client, bank1, content).json["items"][0]
    assert (item["collateral"], item["review_capacity"], item["online_only"]) == (["none"], 100, False)


@pytest.mark.parametrize(
    ("content", "line", "field"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "file"),
        (b"PK\x03\x04" + b"\x14" * 40, None, "file"),
        ("code,name\n产品,名字\n".encode("gbk"), 2, "file"),
        (b"", None, "file"),
        (b"\xef\xbb\xbf \n\n", None, "file"),
        (CSV_HEADER.encode() + b"\n", 2, "file"),
        (CSV_HEADER.replace("quota", "colour").encode() + b"\n", 1, "colour"),
        (CSV_HEADER.replace(",quota", "").encode() + b"\n", 1, "quota"),
        (CSV_HEADER.replace("name", "code").encode() + b"\n", 1, "code"),
        ((CSV_HEADER + "\n" + csv_line("P1") + ",extra\n").encode(), 2, "file"),
    ],
    ids=["binary", "xlsx", "gbk", "empty", "blank", "no-rows", "unknown-column", "missing-column", "twice", "wide"],
)
def test_unreadable_files_answer_422_naming_the_problem(
    client: FlaskClient, bank1: str, db_session: Session, content: bytes, line: int | None, field: str
) -> None:
    response = upload(client, bank1, content)
    assert response.status_code == 422
    assert (response.json["errors"]["rows"][0]["line"], response.json["errors"]["rows"][0]["field"]) == (line, field)
    assert product_count(db_session) == 0


def test_a_raw_csv_body_is_accepted(client: FlaskClient, bank1: str) -> None:
    response = client.post(f"{URL}/import", data=GOOD_CSV, content_type="text/csv; charset=utf-8", headers=auth(bank1))
    assert response.status_code == 200
    assert response.json["created"] == 3


def test_a_json_array_is_accepted_raw_or_as_a_file(client: FlaskClient, bank1: str, db_session: Session) -> None:
    products = [product_body("J1"), product_body("J2", collateral=["real_estate"], type="mortgage_loan")]
    response = client.post(f"{URL}/import", json=products, headers=auth(bank1))
    assert response.status_code == 200, response.json
    assert response.json["created"] == 2
    # The API's own answers can be sent back: their read-only keys are ignored.
    listed = client.get(URL, headers=auth(bank1)).json["items"]
    listed[0]["name"] = "改名"
    result = upload(client, bank1, json.dumps(listed), filename="products.json").json
    assert (result["updated"], result["unchanged"]) == (1, 1)
    assert product_count(db_session) == 2


def test_bad_json_items_are_listed_by_position(client: FlaskClient, bank1: str, db_session: Session) -> None:
    items: list[Any] = [product_body("J1"), product_body("J2", colour="red"), "not an object"]
    response = client.post(f"{URL}/import", json=items, headers=auth(bank1))
    assert response.status_code == 422
    assert response.json["errors"]["rows"] == [
        {"line": 3, "field": "file", "message": "each item must be a JSON object"}
    ]
    response = client.post(f"{URL}/import", json=items[:2], headers=auth(bank1))
    assert response.json["errors"]["rows"] == [{"line": 2, "field": "colour", "message": "Unknown field."}]
    for body in (b"{not json", b"{}", b"[]"):
        response = client.post(f"{URL}/import", data=body, content_type="application/json", headers=auth(bank1))
        assert response.status_code == 422
        assert response.json["errors"]["rows"][0]["field"] == "file"
    assert product_count(db_session) == 0


def test_a_multipart_upload_without_the_file_field_and_other_media_types_are_refused(
    client: FlaskClient, bank1: str
) -> None:
    response = client.post(
        f"{URL}/import", data={"other": "x"}, content_type="multipart/form-data", headers=auth(bank1)
    )
    assert response.status_code == 422
    assert response.json["errors"]["rows"][0]["field"] == "file"
    response = client.post(f"{URL}/import", data="x", content_type="application/xml", headers=auth(bank1))
    assert response.status_code == 415


def test_an_upload_over_the_limit_answers_413(database_url: str, make_token: Callable[..., str]) -> None:
    small = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True, "MAX_CONTENT_LENGTH": 1024}
    )
    token = make_token("bank", bank_code="B1")
    big = GOOD_CSV + "\n".join(csv_line(f"X{number}") for number in range(100))
    for response in (
        upload(small.test_client(), token, big),
        small.test_client().post(f"{URL}/import", data=big, content_type="text/csv", headers=auth(token)),
    ):
        assert response.status_code == 413
        assert response.json["code"] == 413
    small.extensions["engine"].dispose()


def test_export_writes_the_import_format_with_a_bom(client: FlaskClient, bank1: str, bank2: str) -> None:
    upload(client, bank1, GOOD_CSV)
    upload(client, bank2, GOOD_CSV.replace("P1", "OTHER"))
    text = export(client, bank1)
    assert text.startswith("\ufeffcode,name,type,description,amount_min,amount_max,")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [row["code"] for row in rows] == ["P1", "P2", "P3"]
    assert (rows[0]["collateral"], rows[0]["online_only"], rows[0]["valid_to"]) == ("none", "false", "")
    zh = export(client, bank1, "?headers=zh")
    assert zh.startswith("\ufeff产品代码,产品名称,产品类型,产品说明,贷款金额下限（元）")


def test_export_leaves_out_withdrawn_products_unless_asked(client: FlaskClient, bank1: str) -> None:
    product = upload(client, bank1, GOOD_CSV).json["items"][0]
    client.delete(f"{URL}/{product['id']}", headers=auth(bank1))
    assert "P1" not in export(client, bank1)
    assert "withdrawn" in export(client, bank1, "?include_withdrawn=1")


@pytest.mark.parametrize("headers", ["en", "zh"])
def test_export_then_import_is_idempotent(client: FlaskClient, bank1: str, db_session: Session, headers: str) -> None:
    rich = product_body(
        "RICH",
        description='含逗号, "引号"\n和换行',
        collateral=["real_estate", "third_party_guarantee"],
        industries=["C39", "I"],
        excluded_industries=["K"],
        regions=["浙江省杭州市", "上海市"],
        size_classes=["small", "micro"],
        min_years_in_business=2.5,
        min_annual_revenue=1_000_000,
        max_debt_ratio=0.7,
        max_pd=0.035,
        first_loan_friendly=True,
        approval_days=7,
        status="paused",
        valid_from="2025-01-01",
        valid_to="2027-12-31",
        rate_min=3.05,
    )
    for body in (rich, product_body("PLAIN"), product_body("DRAFT", status="draft")):
        assert client.post(URL, json=body, headers=auth(bank1)).status_code == 201
    before = snapshot(db_session)
    exported = export(client, bank1, f"?headers={headers}")
    result = upload(client, bank1, exported.encode("utf-8")).json
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 3)
    assert snapshot(db_session) == before
    assert export(client, bank1, f"?headers={headers}") == exported


def test_formula_cells_are_neutralised_on_export_and_restored_on_import(
    client: FlaskClient, bank1: str, db_session: Session
) -> None:
    dangerous = {
        "F1": '=HYPERLINK("http://evil","x")',
        "F2": "+1+1",
        "F3": "-2",
        "F4": "@SUM(A1)",
        "F5": "'=already quoted",
    }
    for code, name in dangerous.items():
        body = product_body(code, name=name, regions=["=1+2", "上海市"])
        assert client.post(URL, json=body, headers=auth(bank1)).status_code == 201
    exported = export(client, bank1)
    rows = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
    for row in rows:
        assert not row["name"].startswith(("=", "+", "-", "@"))
        assert row["regions"].startswith("'=")
    assert rows[4]["name"] == "''=already quoted"
    before = snapshot(db_session)
    result = upload(client, bank1, exported).json
    assert result["unchanged"] == 5
    assert snapshot(db_session) == before
    assert [item["name"] for item in client.get(URL).json["items"]] == list(dangerous.values())


def test_a_hand_written_apostrophe_before_a_formula_character_is_dropped(client: FlaskClient, bank1: str) -> None:
    item = upload(client, bank1, CSV_HEADER + "\n" + csv_line("P1").replace("产品 P1", "'-折扣贷")).json["items"][0]
    assert item["name"] == "-折扣贷"


def test_json_import_is_not_unquoted(client: FlaskClient, bank1: str) -> None:
    response = client.post(f"{URL}/import", json=[product_body("J1", name="'=x")], headers=auth(bank1))
    assert response.json["items"][0]["name"] == "'=x"


def test_a_nul_character_in_a_json_file_is_refused(client: FlaskClient, bank1: str, db_session: Session) -> None:
    response = client.post(f"{URL}/import", json=[product_body("J1", regions=["\x00"])], headers=auth(bank1))
    assert response.status_code == 422
    assert response.json["errors"]["rows"] == [
        {"line": 1, "field": "regions", "message": "must not contain the NUL character"}
    ]
    assert product_count(db_session) == 0


def test_columns_without_a_header_are_ignored_when_empty(client: FlaskClient, bank1: str) -> None:
    content = CSV_HEADER + ",,\n" + csv_line("P1") + ",,\n"
    assert upload(client, bank1, content).json["created"] == 1
    response = upload(client, bank1, CSV_HEADER + ",\n" + csv_line("P2") + ",lost\n")
    assert response.status_code == 422
    assert response.json["errors"]["rows"][0]["line"] == 2


def test_a_cell_beyond_the_csv_field_limit_answers_422(client: FlaskClient, bank1: str) -> None:
    content = CSV_HEADER + "\n" + csv_line("P1") + "\n" + csv_line("P2").replace("产品 P2", '"' + "长" * 200_000 + '"')
    response = upload(client, bank1, content)
    assert response.status_code == 422
    assert response.json["errors"]["rows"][0]["line"] == 3
