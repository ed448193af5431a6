"""Import a bank's products from a CSV or JSON file: parse, validate every row with ProductSchema and the
service rules, then create or update by product code. All or nothing: one bad row rejects the file.

Line numbers are what a spreadsheet shows: the header is line 1, the first product line 2 (a cell with a
line break inside still counts as one line). In a JSON array the "line" of an item is its position, from 1.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from accounts.audit import Actor
from products.csv_format import COLUMNS, HEADER_LOOKUP, from_cell, normalise_header
from products.errors import ProductError
from products.models import LoanProduct
from products.schemas import ProductSchema
from products.service import create_product, find_by_code, update_product

REQUIRED_COLUMNS = [name for name, schema_field in ProductSchema().fields.items() if schema_field.required]
# Keys the API adds to a product it returns; a JSON file made from an API answer may carry them.
RESPONSE_ONLY_KEYS = frozenset({"id", "bank_id", "granted_total", "bank_name", "bank_code"})
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class RowError:
    line: int | None  # None: the problem is the file as a whole
    field: str
    message: str
    column: str | None = None  # the header as written in the file, when it differs from ``field``

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"line": self.line, "field": self.field, "message": self.message}
        if self.column is not None and self.column != self.field:
            answer["column"] = self.column
        return answer


class ImportRejected(Exception):
    """The file cannot be imported. The rows already written to the session must be rolled back by the
    caller (as after any failed service call); nothing has been committed."""

    def __init__(self, message: str, errors: Sequence[RowError]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)


@dataclass(frozen=True)
class ParsedRow:
    line: int
    data: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)  # field name → header as written


@dataclass(frozen=True)
class CsvLayout:
    """What a CSV file of one kind of record looks like, so that every import reads files the same way.
    ``noun`` names a record in messages ("product"); ``lookup`` maps a normalised header (English or
    Chinese) to its field; ``headers`` gives each field's Chinese header; ``read_cell(field, cell)`` is the
    cell's value, None when empty; ``fallback_encoding`` is tried when the bytes are not UTF-8."""

    noun: str
    lookup: Mapping[str, str]
    headers: Mapping[str, str]
    required: Sequence[str]
    read_cell: Callable[[str, str], Any]
    fallback_encoding: str | None = None


PRODUCT_LAYOUT = CsvLayout("product", HEADER_LOOKUP, COLUMNS, REQUIRED_COLUMNS, from_cell)


@dataclass
class ImportResult:
    outcomes: list[tuple[LoanProduct, Outcome]] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for _, found in self.outcomes if found == outcome)

    @property
    def products(self) -> list[LoanProduct]:
        return [product for product, _ in self.outcomes]


def _file_error(message: str, line: int | None = None) -> ImportRejected:
    return ImportRejected(message, [RowError(line, "file", message)])


def decode(data: bytes, fallback_encoding: str | None = None) -> str:
    """The file's text: UTF-8 with or without a BOM, else ``fallback_encoding`` when given (GB18030 is what
    Excel's plain "CSV" writes on Chinese Windows). Binary files and other encodings are refused."""
    if data.startswith(b"PK\x03\x04"):
        raise _file_error("this is an Excel workbook or another zip file; save it as 'CSV UTF-8' first")
    if b"\x00" in data:
        raise _file_error("this is a binary file, not CSV or JSON text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if fallback_encoding is None:
            line = data[: error.start].count(b"\n") + 1
            raise _file_error(
                "the file is not UTF-8 text (in Excel choose 'CSV UTF-8 (逗号分隔)' when saving)", line=line
            ) from error
        text = _decode_fallback(data, fallback_encoding)
    if not text.strip():
        raise _file_error("the file is empty")
    return text


def _decode_fallback(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _file_error(f"the file is neither UTF-8 nor {encoding.upper()} text", line=line) from error


def parse_csv(data: bytes, layout: CsvLayout = PRODUCT_LAYOUT) -> list[ParsedRow]:
    """Rows of a CSV file keyed by field name; an empty cell leaves its field out."""
    records = numbered_records(decode(data, layout.fallback_encoding))
    header = [cell.strip() for cell in records[0][1]]
    columns = _columns(header, layout)
    headers = {name: written for name, written in zip(columns, header, strict=True) if name}
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    for line, cells in records[1:]:
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets leave blank lines at the end
        if len(cells) > len(columns):
            errors.append(RowError(line, "file", f"{len(cells)} cells but the header has {len(columns)} columns"))
            continue
        data_row: dict[str, Any] = {}
        for name, cell in zip(columns, cells, strict=False):
            if not name and cell.strip():
                errors.append(RowError(line, "file", f"a value under a column without a header: {cell.strip()!r}"))
            value = layout.read_cell(name, cell) if name else None
            if value is not None:
                data_row[name] = value
        rows.append(ParsedRow(line, data_row, headers))
    if errors:
        raise ImportRejected(
            f"{len({error.line for error in errors})} lines cannot be read; nothing was imported", errors
        )
    if not rows:
        raise _file_error(f"the file has a header but no {layout.noun} lines", line=2)
    return rows


def numbered_records(text: str) -> list[tuple[int, list[str]]]:
    """The CSV records numbered as a spreadsheet numbers its rows."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            records.append((len(records) + 1, cells))
    except csv.Error as error:  # e.g. a cell longer than the csv module's field size limit
        raise _file_error(f"not readable as CSV: {error}", line=len(records) + 1) from error
    return records


def _columns(header: list[str], layout: CsvLayout) -> list[str]:
    """The field name of each column; "" for a column without a header (spreadsheets add empty ones)."""
    errors: list[RowError] = []
    columns: list[str] = []
    for written in header:
        name = layout.lookup.get(normalise_header(written), "") if written else ""
        if written and not name:
            errors.append(RowError(1, written, f"unknown column {written!r}", written))
        elif name and name in columns:
            errors.append(RowError(1, name, f"column {name!r} appears twice", written))
        columns.append(name)
    for name in layout.required:
        if name not in columns:
            errors.append(RowError(1, name, f"required column missing: {name} ({layout.headers[name]})"))
    if errors:
        raise ImportRejected(f"the header line is not a {layout.noun} file header; nothing was imported", errors)
    return columns


def parse_json(data: bytes) -> list[ParsedRow]:
    """Items of a JSON array of product objects; the read-only keys of an API answer are ignored."""
    try:
        items = json.loads(decode(data))
    except json.JSONDecodeError as error:
        raise _file_error(f"not valid JSON: {error.msg}", line=error.lineno) from error
    if not isinstance(items, list) or not items:
        raise _file_error("expected a non-empty JSON array of product objects")
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    for line, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(RowError(line, "file", "each item must be a JSON object"))
            continue
        errors += [RowError(line, key, "must not contain the NUL character") for key in item if _holds_nul(item[key])]
        rows.append(ParsedRow(line, {key: value for key, value in item.items() if key not in RESPONSE_ONLY_KEYS}))
    if errors:
        raise ImportRejected(f"{len({error.line for error in errors})} items are invalid; nothing was imported", errors)
    return rows


def _holds_nul(value: Any) -> bool:
    """A NUL character, which a CSV file cannot carry (it is refused as binary) but a JSON escape can, and
    which PostgreSQL text cannot store."""
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return isinstance(value, str) and "\x00" in value


def import_products(session: Session, bank_id: int, rows: Iterable[ParsedRow], *, actor: Actor) -> ImportResult:
    """Validate every row and create or update the bank's products by code (a row describes the whole
    product: fields it leaves out take their defaults). The changes are flushed, not committed; on
    ImportRejected every bad row is listed and the caller rolls back."""
    schema = ProductSchema()
    result = ImportResult()
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for row in rows:
        try:
            data = schema.load(row.data)
        except ValidationError as error:
            errors.extend(validation_errors(row, error.messages))
            continue
        code = data["code"]
        if code in first_line:
            errors.append(row_error(row, "code", f"product code {code!r} already on line {first_line[code]}"))
            continue
        first_line[code] = row.line
        try:
            note = f"文件导入第 {row.line} 行 / import, line {row.line}"
            result.outcomes.append(_upsert(session, bank_id, data, actor, note))
        except ProductError as error:
            errors.extend(_product_errors(row, error))
    if errors:
        lines = len({error.line for error in errors})
        raise ImportRejected(f"{lines} lines are invalid; nothing was imported", errors)
    return result


def _upsert(
    session: Session, bank_id: int, data: dict[str, Any], actor: Actor, note: str
) -> tuple[LoanProduct, Outcome]:
    existing = find_by_code(session, bank_id, data["code"])
    if existing is None:
        return create_product(session, bank_id, data, actor=actor, note=note), "created"
    if existing.status == "withdrawn":
        raise ProductError(
            "withdrawn product", {"code": ["this product was withdrawn; give the new product another code"]}
        )
    changes = {name: value for name, value in data.items() if getattr(existing, name) != value}
    if not changes:
        return existing, "unchanged"
    return update_product(session, existing, changes, actor=actor, note=note), "updated"


def row_error(row: ParsedRow, field_name: str, message: str) -> RowError:
    return RowError(row.line, field_name, message, row.headers.get(field_name))


def _product_errors(row: ParsedRow, error: ProductError) -> list[RowError]:
    if not error.errors:
        return [row_error(row, "code", error.message)]
    return [row_error(row, name, message) for name, messages in error.errors.items() for message in messages]


def validation_errors(row: ParsedRow, messages: Any, field_name: str = "", prefix: str = "") -> list[RowError]:
    """Flatten marshmallow's nested messages ({"collateral": {0: ["..."]}}) into one error per message."""
    if isinstance(messages, Mapping):
        found: list[RowError] = []
        for key, nested in messages.items():
            if isinstance(key, int):
                found += validation_errors(row, nested, field_name, f"{prefix}item {key + 1}: ")
            else:
                found += validation_errors(row, nested, field_name or str(key), prefix)
        return found
    if isinstance(messages, list):
        return [error for message in messages for error in validation_errors(row, message, field_name, prefix)]
    return [row_error(row, field_name or "file", f"{prefix}{messages}")]
