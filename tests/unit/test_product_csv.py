"""The product CSV format: cells, headers, formula neutralisation, and file parsing (no database)."""

from datetime import date

import pytest

from products.csv_format import COLUMNS, HEADER_LOOKUP, from_cell, neutralise, restore, to_cell
from products.importing import REQUIRED_COLUMNS, ImportRejected, parse_csv, parse_json
from products.schemas import ProductSchema


def test_the_columns_are_exactly_the_writable_product_fields() -> None:
    writable = [name for name, field in ProductSchema().fields.items() if not field.dump_only]
    assert list(COLUMNS) == writable
    assert len(set(COLUMNS.values())) == len(COLUMNS)


def test_english_and_chinese_headers_resolve_to_the_same_field() -> None:
    assert HEADER_LOOKUP["amount_min"] == "amount_min"
    assert HEADER_LOOKUP["贷款金额下限(元)"] == "amount_min"  # NFKC: full-width brackets match half-width


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (["real_estate", "ip_pledge"], "real_estate;ip_pledge"),
        (date(2025, 1, 31), "2025-01-31"),
        (3.45, "3.45"),
        (1_000_000, "1000000"),
        ("=1+1", "'=1+1"),
        (["-x"], "'-x"),
    ],
)
def test_values_become_cells(value: object, cell: str) -> None:
    assert to_cell(value) == cell


@pytest.mark.parametrize("text", ["=A1", "+1", "-1", "@x", "'=A1", "''+1", "'plain", "plain", "a=b", ""])
def test_neutralise_and_restore_round_trip(text: str) -> None:
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@"))


def test_cells_become_schema_values() -> None:
    assert from_cell("name", "  ") is None
    assert from_cell("collateral", "real_estate；ip_pledge | none") == ["real_estate", "ip_pledge", "none"]
    assert from_cell("type", "结算贷") == "settlement_loan"
    assert from_cell("type", "Mortgage Loan") == "mortgage_loan"
    assert from_cell("size_classes", "小型;micro") == ["small", "micro"]
    assert from_cell("name", "'@home") == "@home"
    assert from_cell("name", "it's") == "it's"
    assert from_cell("type", "unknown") == "unknown"  # left for ProductSchema to refuse


def test_line_numbers_count_records_not_physical_lines() -> None:
    header = ",".join(["code", "name", "description", *REQUIRED_COLUMNS[2:]])
    content = f'{header}\nA,"two\nlines",x\n\nB,b,y\n'
    rows = parse_csv(content.encode())
    assert [(row.line, row.data["code"]) for row in rows] == [(2, "A"), (4, "B")]
    assert rows[0].data == {"code": "A", "name": "two\nlines", "description": "x"}


def test_a_non_utf8_file_is_refused_at_the_line_of_the_first_bad_byte() -> None:
    with pytest.raises(ImportRejected) as refused:
        parse_csv("code,name\nA,a\nB,产品\n".encode("gbk"))
    assert refused.value.errors[0].line == 3


def test_json_items_drop_the_read_only_keys_of_an_api_answer() -> None:
    rows = parse_json(b'[{"id": 1, "bank_id": 2, "granted_total": 0, "bank_name": "n", "bank_code": "c", "code": "A"}]')
    assert rows[0].data == {"code": "A"}
