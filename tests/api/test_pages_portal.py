"""The bank portal: only for a signed-in bank; its own products only; status buttons; file upload;
CSV download."""

import io
import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from products import importing
from products.models import LoanProduct
from tests.api.page_helpers import add_product, csrf_token, post_form, product_row, sign_in

CSV_HEADER = "code,name,type,amount_min,amount_max,term_min_months,term_max_months,rate_min,rate_max,collateral,quota"


def csv_line(code: str, amount_min: str = "100000") -> str:
    return f"{code},上传产品 {code},credit_loan,{amount_min},3000000,6,36,3.2,4.5,none,500000000"


def upload(
    client: FlaskClient, content: str | bytes, filename: str = "products.csv", dry_run: bool = False
) -> TestResponse:
    raw = content.encode() if isinstance(content, str) else content
    data = {"csrf_token": csrf_token(client, "/portal"), "file": (io.BytesIO(raw), filename)}
    if dry_run:
        data["dry_run"] = "1"
    return client.post("/portal/import", data=data, content_type="multipart/form-data")


def product_count(db_session: Session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(LoanProduct)) or 0


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    for path in ("/portal", "/portal/export.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=/portal")
    refused = client.post("/portal/products/1/pause", data={"csrf_token": csrf_token(client)})
    assert refused.headers["Location"] == "/login?next=/portal"  # back to a page, not to a POST-only URL


def test_other_roles_get_403(client: FlaskClient, make_token: Callable[..., str]) -> None:
    sign_in(client, make_token("regulator"))
    response = client.get("/portal")
    assert response.status_code == 403
    assert "银行门户仅供银行账户使用" in response.get_data(as_text=True)


def test_portal_lists_the_banks_own_products_with_quota_use(
    client: FlaskClient, app: Flask, make_token: Callable[..., str]
) -> None:
    add_product(app, bank_code="MINE", code="A1", name="本行在售", quota=100_000_000)
    add_product(app, bank_code="MINE", code="A2", name="本行草稿", status="draft")
    add_product(app, bank_code="MINE", code="A3", name="本行已下架", status="withdrawn")
    add_product(app, bank_code="OTHER", code="B1", name="他行产品")
    sign_in(client, make_token("bank", bank_code="MINE"))
    page = client.get("/portal").get_data(as_text=True)
    assert "本行在售" in page and "本行草稿" in page
    assert "本行已下架" not in page and "他行产品" not in page
    assert "0 / 10,000" in page  # granted / quota in 万元
    with_withdrawn = client.get("/portal?withdrawn=1").get_data(as_text=True)
    assert "本行已下架" in with_withdrawn and "他行产品" not in with_withdrawn


def test_pause_resume_and_withdraw(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], db_session: Session
) -> None:
    product_id = add_product(app, bank_code="MINE", name="状态产品")
    sign_in(client, make_token("bank", bank_code="MINE"))

    response = post_form(client, f"/portal/products/{product_id}/pause")
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
    assert product_row(db_session, product_id).status == "paused"
    assert "「状态产品」当前状态：暂停" in client.get("/portal").get_data(as_text=True)

    post_form(client, f"/portal/products/{product_id}/activate")
    assert product_row(db_session, product_id).status == "active"

    post_form(client, f"/portal/products/{product_id}/withdraw")
    assert product_row(db_session, product_id).status == "withdrawn"


def test_a_withdrawn_product_cannot_be_put_back_on_sale(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], db_session: Session
) -> None:
    product_id = add_product(app, bank_code="MINE", name="已下架产品", status="withdrawn")
    sign_in(client, make_token("bank", bank_code="MINE"))
    response = post_form(client, f"/portal/products/{product_id}/activate")
    assert response.status_code == 409
    assert "「已下架产品」未修改" in response.get_data(as_text=True)
    assert product_row(db_session, product_id).status == "withdrawn"


def test_another_banks_product_is_404_and_unchanged(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], db_session: Session
) -> None:
    theirs = add_product(app, bank_code="OTHER", code="B1")
    sign_in(client, make_token("bank", bank_code="MINE"))
    for action in ("pause", "activate", "withdraw"):
        assert post_form(client, f"/portal/products/{theirs}/{action}").status_code == 404
    assert post_form(client, "/portal/products/999999/pause").status_code == 404
    assert post_form(client, f"/portal/products/{theirs}/delete").status_code == 404
    assert product_row(db_session, theirs).status == "active"


def test_upload_with_good_rows_creates_them(
    client: FlaskClient, make_token: Callable[..., str], db_session: Session
) -> None:
    sign_in(client, make_token("bank", bank_code="MINE"))
    response = upload(client, "\n".join([CSV_HEADER, csv_line("U1"), csv_line("U2")]))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "新增 2 个，更新 0 个，未变 0 个" in page
    assert "上传产品 U1" in page  # listed in the table right away
    assert product_count(db_session) == 2

    again = upload(client, "\n".join([CSV_HEADER, csv_line("U1"), csv_line("U2", amount_min="200000")]))
    assert "新增 0 个，更新 1 个，未变 1 个" in again.get_data(as_text=True)


def test_upload_with_a_bad_row_lists_every_error_and_writes_nothing(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], db_session: Session
) -> None:
    add_product(app, bank_code="MINE", code="KEEP")
    sign_in(client, make_token("bank", bank_code="MINE"))
    content = "\n".join([CSV_HEADER, csv_line("N1"), csv_line("N2", amount_min="abc"), csv_line("KEEP", "-5")])
    response = upload(client, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "文件 products.csv 未导入" in page
    assert "未写入任何数据" in page
    assert '<td class="number">3</td>' in page and '<td class="number">4</td>' in page
    assert "amount_min" in page  # the column as written in the file
    assert product_count(db_session) == 1


def test_upload_error_columns_are_named_in_chinese_in_the_chinese_ui(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    sign_in(client, make_token("bank"))
    page = upload(client, json.dumps([{"code": "J1"}]), filename="p.json").get_data(as_text=True)
    assert "<td>产品名称</td>" in page  # the missing "name" of a JSON item, by its Chinese header


def test_upload_json_and_dry_run(client: FlaskClient, make_token: Callable[..., str], db_session: Session) -> None:
    sign_in(client, make_token("bank"))
    item = {
        "code": "J1",
        "name": "JSON 产品",
        "type": "e_loan",
        "amount_min": 100_000,
        "amount_max": 1_000_000,
        "term_min_months": 1,
        "term_max_months": 12,
        "rate_min": 3.5,
        "rate_max": 5,
        "quota": 10_000_000,
    }
    checked = upload(client, json.dumps([item]), filename="p.json", dry_run=True)
    assert checked.status_code == 200
    assert "检查通过（未写入数据）" in checked.get_data(as_text=True)
    assert product_count(db_session) == 0
    created = upload(client, json.dumps([item]), filename="p.json")
    assert "新增 1 个" in created.get_data(as_text=True)
    assert product_count(db_session) == 1


def test_upload_without_a_file_or_with_a_workbook_is_refused(
    client: FlaskClient, make_token: Callable[..., str], db_session: Session
) -> None:
    sign_in(client, make_token("bank"))
    empty = client.post("/portal/import", data={"csrf_token": csrf_token(client, "/portal")})
    assert empty.status_code == 422
    assert 'id="upload-file-error"' in empty.get_data(as_text=True)
    workbook = upload(client, b"PK\x03\x04 not really a workbook", filename="products.xlsx")
    assert workbook.status_code == 422
    assert "Excel" in workbook.get_data(as_text=True)
    assert product_count(db_session) == 0


def test_export_csv_for_the_cookie_session_follows_the_language(
    client: FlaskClient, app: Flask, make_token: Callable[..., str]
) -> None:
    add_product(app, bank_code="MINE", code="A1", name="本行产品")
    add_product(app, bank_code="MINE", code="A2", name="本行已下架", status="withdrawn")
    add_product(app, bank_code="OTHER", code="B1", name="他行产品")
    sign_in(client, make_token("bank", bank_code="MINE"))
    response = client.get("/portal/export.csv")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="products-MINE.csv"' in response.headers["Content-Disposition"]
    assert text.splitlines()[0].startswith("\ufeff产品代码,产品名称")
    assert "本行产品" in text and "本行已下架" not in text and "他行产品" not in text
    assert "本行已下架" in client.get("/portal/export.csv?withdrawn=1").get_data(as_text=True)
    english = client.get("/portal/export.csv?lang=en").get_data(as_text=True)
    assert english.splitlines()[0].startswith("\ufeffcode,name,type")


def test_exported_file_uploads_back_unchanged(client: FlaskClient, app: Flask, make_token: Callable[..., str]) -> None:
    add_product(app, bank_code="MINE", code="A1", collateral=["real_estate", "land_use_right"])
    sign_in(client, make_token("bank", bank_code="MINE"))
    exported = client.get("/portal/export.csv").get_data()
    page = upload(client, exported).get_data(as_text=True)
    assert "新增 0 个，更新 0 个，未变 1 个" in page


def test_language_links_after_an_upload_lead_to_a_page_that_exists(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    sign_in(client, make_token("bank"))
    page = upload(client, "\n".join([CSV_HEADER, csv_line("U1")])).get_data(as_text=True)
    assert 'href="/portal?lang=en"' in page
    assert client.get("/portal?lang=en").status_code == 200


def test_a_file_over_the_upload_limit_is_refused_with_a_page(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], db_session: Session
) -> None:
    sign_in(client, make_token("bank"))
    token = csrf_token(client, "/portal")
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    content = "\n".join([CSV_HEADER, *(csv_line(f"U{number}") for number in range(100))]).encode()
    response = client.post(
        "/portal/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)
    assert product_count(db_session) == 0


def test_an_upload_racing_another_for_the_same_code_is_refused_not_a_crash(
    client: FlaskClient, make_token: Callable[..., str], db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, make_token("bank", bank_code="MINE"))
    upload(client, "\n".join([CSV_HEADER, csv_line("U1")]))
    # The other upload's row is already there, but this one looked before it was written.
    monkeypatch.setattr(importing, "find_by_code", lambda *args: None)
    response = upload(client, "\n".join([CSV_HEADER, csv_line("U1"), csv_line("U2")]))
    assert response.status_code == 422
    assert "already used by another of your products" in response.get_data(as_text=True)
    assert product_count(db_session) == 1
