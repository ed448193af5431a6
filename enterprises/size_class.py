"""An enterprise's size class (大/中/小/微) under 工信部联企业〔2011〕300号; the thresholds are data in
reference/size_classes.py.

The classes are tried largest first and the first whose lower bounds are all met is the answer, so an
enterprise meeting only some bounds of a class drops to the next one (下划一档) and micro is the rest.

A figure the row needs but that is not known (None) counts as not meeting any lower bound: the standard
grants a class only on figures that reach every bound, so the result is the largest class the known figures
prove. Revenue and total assets arrive with the financial profile, after registration; callers re-classify
then. size_basis() names the missing figure, so that a provisional class is never mistaken for a final one.
"""

from dataclasses import dataclass
from decimal import Decimal

from reference.codes import SIZE_CLASSES, is_industry_code, label
from reference.size_classes import (
    CRITERIA,
    DEFAULT_ROW,
    INDUSTRY_ROWS,
    SIZE_STANDARD,
    SizeClass,
    SizeStandardRow,
)

_ROWS = {row.code: row for row in SIZE_STANDARD}


@dataclass(frozen=True)
class SizeAssessment:
    """A classification with what it rests on. ``short_of`` lists the lower bounds of the class just above
    the result that the figures did not reach (empty for large)."""

    row: SizeStandardRow
    size_class: SizeClass
    figures: tuple[tuple[str, int | None], ...]
    short_of: tuple[tuple[str, int], ...]


def standard_row(industry: str) -> SizeStandardRow:
    """The standard's industry row for a GB/T 4754-2017 code ("C", "F52", "K702", ...): longest prefix."""
    if not is_industry_code(industry):
        raise ValueError(f"not a GB/T 4754-2017 industry code: {industry!r}")
    for end in range(len(industry), 0, -1):
        if (code := INDUSTRY_ROWS.get(industry[:end])) is not None:
            return _ROWS[code]
    return _ROWS[DEFAULT_ROW]


def assess_size(industry: str, employees: int, revenue: int | None, total_assets: int | None) -> SizeAssessment:
    """Classify, keeping the row, the figures it used and the bounds that kept the class from being larger."""
    row = standard_row(industry)
    given = {"employees": employees, "revenue": revenue, "total_assets": total_assets}
    for name, value in given.items():
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative (got {value})")
    used = tuple((name, given[name]) for name, _ in row.large.items())
    short_of: tuple[tuple[str, int], ...] = ()
    for size_class, bounds in (
        (SizeClass.LARGE, row.large),
        (SizeClass.MEDIUM, row.medium),
        (SizeClass.SMALL, row.small),
    ):
        unmet = tuple((name, bound) for name, bound in bounds.items() if given[name] is None or given[name] < bound)
        if not unmet:
            return SizeAssessment(row, size_class, used, short_of)
        short_of = unmet
    return SizeAssessment(row, SizeClass.MICRO, used, short_of)


def classify_size(industry: str, employees: int, revenue: int | None, total_assets: int | None) -> SizeClass:
    """大/中/小/微 as a SizeClass ("large", "medium", "small", "micro"); see the module docstring for
    missing figures. Raises ValueError for a malformed industry code or a negative figure."""
    return assess_size(industry, employees, revenue, total_assets).size_class


# The words of size_basis() per language: zh for any locale not starting with "en".
_WORDS = {
    "zh": {
        "colon": "：",
        "comma": "，",
        "and": "、",
        "missing": "{criterion}未提供（视为未达下限）",
        "people": "{criterion} {value:,} 人",
        "amount": "{criterion} {value:,f} 万元",
        "short_of": "（未达{size_class}下限：{bounds}）",
    },
    "en": {
        "colon": ": ",
        "comma": ", ",
        "and": ", ",
        "missing": "{criterion} not given (counts as below every bound)",
        "people": "{criterion} {value:,}",
        "amount": "{criterion} CNY {value:,f} million",
        "short_of": " (below the {size_class} lower bounds: {bounds})",
    },
}


def _figure(name: str, value: int | None, locale: str, words: dict[str, str]) -> str:
    criterion = label(CRITERIA, name, locale)
    if value is None:
        return words["missing"].format(criterion=criterion)
    if name == "employees":
        return words["people"].format(criterion=criterion, value=value)
    shift = -6 if locale.startswith("en") else -4  # yuan to millions or to 万
    return words["amount"].format(criterion=criterion, value=Decimal(value).scaleb(shift).normalize())


def size_basis(
    industry: str, employees: int, revenue: int | None, total_assets: int | None, locale: str = "zh_CN"
) -> str:
    """The classification in words, e.g. "工业：从业人员 250 人，营业收入 1,500 万元 → 小型（未达中型下限：
    从业人员 300 人、营业收入 2,000 万元）"; in English when ``locale`` starts with "en"."""
    result = assess_size(industry, employees, revenue, total_assets)
    words = _WORDS["en" if locale.startswith("en") else "zh"]
    figures = words["comma"].join(_figure(name, value, locale, words) for name, value in result.figures)
    text = f"{result.row.label(locale)}{words['colon']}{figures} → {label(SIZE_CLASSES, result.size_class, locale)}"
    if result.short_of:
        classes = list(SizeClass)
        above = classes[classes.index(result.size_class) - 1]
        bounds = words["and"].join(_figure(name, bound, locale, words) for name, bound in result.short_of)
        text += words["short_of"].format(size_class=label(SIZE_CLASSES, above, locale), bounds=bounds)
    return text
