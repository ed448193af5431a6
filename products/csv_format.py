"""The product CSV format shared by the import and the export: the columns with their English and Chinese
headers, how a value becomes a cell and a cell becomes a value, and the formula-injection guard.

A file written by the export is accepted unchanged by the import, so that export → edit in Excel → import
is the way banks maintain their catalogue."""

import unicodedata
from datetime import date
from typing import Any

from reference.codes import COLLATERAL_KINDS, PRODUCT_STATUSES, PRODUCT_TYPES, SIZE_CLASSES, Code

# English header (the JSON key) → Chinese header, in the order the export writes them.
COLUMNS: dict[str, str] = {
    "code": "产品代码",
    "name": "产品名称",
    "type": "产品类型",
    "description": "产品说明",
    "amount_min": "贷款金额下限（元）",
    "amount_max": "贷款金额上限（元）",
    "term_min_months": "期限下限（月）",
    "term_max_months": "期限上限（月）",
    "rate_min": "年利率下限（%）",
    "rate_max": "年利率上限（%）",
    "collateral": "担保方式",
    "quota": "授信额度（元）",
    "review_capacity": "审批容量（户）",
    "min_years_in_business": "最低经营年限（年）",
    "min_annual_revenue": "最低年营业收入（元）",
    "max_debt_ratio": "最高资产负债率",
    "max_pd": "最高违约概率",
    "industries": "适用行业",
    "excluded_industries": "排除行业",
    "regions": "适用地区",
    "size_classes": "企业规模",
    "requires_settlement_account": "需开立结算账户",
    "first_loan_friendly": "支持首贷",
    "approval_days": "审批时限（天）",
    "online_only": "纯线上办理",
    "supports_renewal": "支持续贷",
    "risk_compensation_eligible": "纳入风险补偿",
    "status": "状态",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
}

LIST_COLUMNS = frozenset({"collateral", "industries", "excluded_industries", "regions", "size_classes"})
LIST_SEPARATORS = (";", "；", "|")

# Columns holding codes from a code list: a cell may also give the code's Chinese or English label
# (产品类型 = 结算贷), which is what a bank typing a file by hand is likely to write.
CODED_COLUMNS: dict[str, tuple[Code, ...]] = {
    "type": PRODUCT_TYPES,
    "collateral": COLLATERAL_KINDS,
    "size_classes": SIZE_CLASSES,
    "status": PRODUCT_STATUSES,
}

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")


def normalise_header(header: str) -> str:
    """Full-width and half-width forms compare equal (（元） and (元)), as do upper and lower case."""
    return unicodedata.normalize("NFKC", header).strip().casefold()


HEADER_LOOKUP: dict[str, str] = {normalise_header(name): name for name in COLUMNS} | {
    normalise_header(zh): name for name, zh in COLUMNS.items()
}

_LABEL_LOOKUP: dict[str, dict[str, str]] = {
    column: {normalise_header(label): row.code for row in table for label in (row.zh, row.en)}
    for column, table in CODED_COLUMNS.items()
}


def neutralise(text: str) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would run as a formula. Cells that already start with
    apostrophes before such a character get one more, so that :func:`restore` gives back the exact text."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def restore(cell: str) -> str:
    """Undo :func:`neutralise`: drop one leading apostrophe from a cell like ``'=A1``."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS) else cell


def to_cell(value: Any) -> str:
    """One product value as the text of a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralise(LIST_SEPARATORS[0].join(value))
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def from_cell(column: str, cell: str) -> str | list[str] | None:
    """A cell's value for ProductSchema: None for an empty cell (the field is absent and its default
    applies), a list for the list columns, labels of coded columns replaced by their codes."""
    text = restore(cell.strip()).strip()
    if not text:
        return None
    if column in LIST_COLUMNS:
        for separator in LIST_SEPARATORS[1:]:
            text = text.replace(separator, LIST_SEPARATORS[0])
        return [_code(column, item.strip()) for item in text.split(LIST_SEPARATORS[0]) if item.strip()]
    return _code(column, text)


def _code(column: str, text: str) -> str:
    labels = _LABEL_LOOKUP.get(column)
    if labels is None:
        return text
    return labels.get(normalise_header(text), text)
