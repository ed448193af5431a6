"""How the regulators' figures (matchmaker.stats rows) are shown on the dashboard: each column's unit, its
header and its cells in the page's language, and the chart specifications that api/static/js/dashboard.js
draws. Amounts are stored and exported in yuan and shown in 万元, as everywhere on the pages."""

from dataclasses import dataclass
from enum import Enum
from typing import Any

from flask_babel import gettext as _

from api.formatting import YUAN_PER_WAN, rate, wan
from matchmaker.stats import Column

SUPPRESSED = "—"


class Unit(Enum):
    YUAN = "yuan"
    PERCENT = "percent"  # an annual rate, already in percent
    FRACTION = "fraction"  # a share or a conversion, 0..1
    DAYS = "days"
    COUNT = "count"


def unit_of(column: Column) -> Unit:
    """The unit a column's figures are in, as matchmaker.stats declares it in its English header ("(yuan)",
    "(%)") and names ("..._share", "..._rate" for fractions, "...days..." for days)."""
    if column.en.endswith("(yuan)"):
        return Unit.YUAN
    if column.en.endswith("(%)"):
        return Unit.PERCENT
    if column.name.endswith(("_share", "_rate")):
        return Unit.FRACTION
    if "days" in column.name:
        return Unit.DAYS
    return Unit.COUNT


def header(column: Column, locale: str) -> str:
    """The column's header as the page shows it: amounts in 万元 (the CSV keeps yuan)."""
    text = column.header(locale)
    if unit_of(column) is Unit.YUAN:
        return text.replace("（元）", "（万元）").replace("(yuan)", "(10,000 yuan)")
    return text


def cell(value: Any, unit: Unit) -> str:
    """One figure as text; None (a suppressed group, or a figure that does not apply) is a dash."""
    if value is None:
        return SUPPRESSED
    if unit is Unit.YUAN:
        return wan(value)
    if unit is Unit.PERCENT:
        return rate(value)
    if unit is Unit.FRACTION:
        return f"{value * 100:.1f}%"
    if unit is Unit.DAYS:
        return f"{value:.1f}"
    return f"{value:,}"


def chart_value(value: Any, unit: Unit) -> float | int | None:
    """A figure for a chart: amounts in 万元, fractions in percent, None stays a gap."""
    if value is None:
        return None
    if unit is Unit.YUAN:
        return round(value / YUAN_PER_WAN, 2)
    if unit is Unit.FRACTION:
        return round(value * 100, 1)
    return value


@dataclass(frozen=True)
class Table:
    """A table of stats rows: the columns' headers and, per row, its label, whether it is suppressed, and
    its cells."""

    headers: list[str]
    rows: list[tuple[str, bool, list[str]]]


def table(rows: list[Any], columns: tuple[Column, ...], locale: str, overall: Any = None) -> Table:
    """Rows (their ``group`` labelled in ``locale``) and, last, the overall row labelled "Total"."""
    units = [unit_of(column) for column in columns]
    body = [
        (
            row.group.label(locale),
            row.suppressed,
            [cell(getattr(row, c.name), u) for c, u in zip(columns, units, strict=True)],
        )
        for row in rows
    ]
    if overall is not None:
        cells = [cell(getattr(overall, c.name), u) for c, u in zip(columns, units, strict=True)]
        body.append((_("Total"), overall.suppressed, cells))
    return Table([header(column, locale) for column in columns], body)


def chart(canvas: str, kind: str, labels: list[str], series: list[tuple[str, list[Any]]], axis: str) -> dict[str, Any]:
    """One chart for dashboard.js: ``kind`` bar, line or funnel (horizontal bars); ``series`` as (label,
    values) with None for a gap."""
    return {
        "canvas": canvas,
        "kind": kind,
        "labels": labels,
        "series": [{"label": label, "values": values} for label, values in series],
        "axis": axis,
    }


def column_chart_values(rows: list[Any], column: Column) -> list[float | int | None]:
    unit = unit_of(column)
    return [chart_value(getattr(row, column.name), unit) for row in rows]
