"""The regulators' statistics as CSV files for Excel: UTF-8 with a BOM, Chinese or English headers, the
overall row first and then one row per group, suppressed figures as empty cells, and every text cell a
spreadsheet would run as a formula neutralised (products.csv_format.neutralise)."""

import csv
import io
from collections.abc import Sequence
from typing import Any

from matchmaker.stats import BankResponseRow, Column, FunnelRow, RiskRow, TotalsRow
from products.csv_format import neutralise
from products.exporting import BOM
from reference.codes import REJECT_REASONS

Row = TotalsRow | FunnelRow | BankResponseRow | RiskRow

GROUP_COLUMNS = (
    Column("group_key", "分组代码", "group key"),
    Column("group", "分组", "group"),
    Column("suppressed", "不足3家企业未显示", "suppressed (fewer than 3 enterprises)"),
)
TOTAL_LABEL = {"zh": "合计", "en": "total"}
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}


def reason_columns() -> tuple[Column, ...]:
    """One column per rejection reason code (bank responsiveness)."""
    return tuple(Column(f"rejected_{r.code}", f"未受理：{r.zh}", f"rejected: {r.en}") for r in REJECT_REASONS)


def stats_csv(overall: Row, groups: Sequence[Row], columns: Sequence[Column], locale: str) -> str:
    """The rows as CSV text starting with a BOM; ``columns`` are the figures after the group columns (a
    bank-responsiveness table gets one more column per rejection reason)."""
    lang = "en" if locale.startswith("en") else "zh"
    reasons = reason_columns() if isinstance(overall, BankResponseRow) else ()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header(lang) for column in (*GROUP_COLUMNS, *columns, *reasons)])
    for row in (overall, *groups):
        label = row.group.label(lang) if row.group else TOTAL_LABEL[lang]
        cells = [row.group.key if row.group else "", label, YES_NO[lang][0 if row.suppressed else 1]]
        cells += [_cell(getattr(row, column.name)) for column in columns]
        if reasons:
            counts = {reason.code: reason.count for reason in row.rejections or ()}  # type: ignore[union-attr]
            cells += [
                "" if row.suppressed else str(counts.get(column.name.removeprefix("rejected_"), 0))
                for column in reasons
            ]
        writer.writerow([neutralise(cell) for cell in cells])
    return BOM + buffer.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
