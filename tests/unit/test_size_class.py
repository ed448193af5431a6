"""Size classes under 工信部联企业〔2011〕300号. The thresholds below are transcribed again from the standard's
text, independently of reference/size_classes.py, so that a wrong number in the data fails a test."""

import json

import pytest

from enterprises.size_class import assess_size, classify_size, size_basis, standard_row
from reference.codes import SIZE_CLASSES, codes
from reference.size_classes import DEFAULT_ROW, INDUSTRY_ROWS, SIZE_STANDARD, SizeClass, SizeStandardRow

W = 10_000  # yuan per 万元

# industry code used in the tests -> (row, {class: lower bounds as (employees, revenue 万元, total assets 万元)})
STANDARD_TEXT = {
    "A01": ("agriculture", {"large": (None, 20000, None), "medium": (None, 500, None), "small": (None, 50, None)}),
    "C39": ("industry", {"large": (1000, 40000, None), "medium": (300, 2000, None), "small": (20, 300, None)}),
    "E47": ("construction", {"large": (None, 80000, 80000), "medium": (None, 6000, 5000), "small": (None, 300, 300)}),
    "F51": ("wholesale", {"large": (200, 40000, None), "medium": (20, 5000, None), "small": (5, 1000, None)}),
    "F52": ("retail", {"large": (300, 20000, None), "medium": (50, 500, None), "small": (10, 100, None)}),
    "G54": ("transport", {"large": (1000, 30000, None), "medium": (300, 3000, None), "small": (20, 200, None)}),
    "G592": ("warehousing", {"large": (200, 30000, None), "medium": (100, 1000, None), "small": (20, 100, None)}),
    "G60": ("postal", {"large": (1000, 30000, None), "medium": (300, 2000, None), "small": (20, 100, None)}),
    "H61": ("accommodation", {"large": (300, 10000, None), "medium": (100, 2000, None), "small": (10, 100, None)}),
    "H62": ("catering", {"large": (300, 10000, None), "medium": (100, 2000, None), "small": (10, 100, None)}),
    "I64": (
        "information_transmission",
        {"large": (2000, 100000, None), "medium": (100, 1000, None), "small": (10, 100, None)},
    ),
    "I65": ("software_it", {"large": (300, 10000, None), "medium": (100, 1000, None), "small": (10, 50, None)}),
    "K701": (
        "real_estate_development",
        {"large": (None, 200000, 10000), "medium": (None, 1000, 5000), "small": (None, 100, 2000)},
    ),
    "K702": (
        "property_management",
        {"large": (1000, 5000, None), "medium": (300, 1000, None), "small": (100, 500, None)},
    ),
    "L72": (
        "leasing_business_services",
        {"large": (300, None, 120000), "medium": (100, None, 8000), "small": (10, None, 100)},
    ),
    "M73": ("other", {"large": (300, None, None), "medium": (100, None, None), "small": (10, None, None)}),
}
BELOW = {"large": "medium", "medium": "small", "small": "micro"}
FIGURES = ("employees", "revenue", "total_assets")


def _in_yuan(bounds: tuple[int | None, int | None, int | None]) -> dict[str, int | None]:
    employees, revenue, assets = bounds
    return {
        "employees": employees,
        "revenue": None if revenue is None else revenue * W,
        "total_assets": None if assets is None else assets * W,
    }


def _figures_at(bounds: tuple[int | None, int | None, int | None]) -> dict[str, int]:
    """Figures exactly at the bounds; criteria the row does not use get 0 (they must not matter)."""
    return {name: value or 0 for name, value in _in_yuan(bounds).items()}


def _boundary_cases() -> list[tuple[str, dict[str, int], str]]:
    cases = []
    for industry, (_, classes) in STANDARD_TEXT.items():
        for size_class, bounds in classes.items():
            at = _figures_at(bounds)
            cases.append((industry, at, size_class))
            for name, bound in _in_yuan(bounds).items():
                if bound is not None:  # one person or one yuan short on this criterion only: drop one class
                    cases.append((industry, {**at, name: bound - 1}, BELOW[size_class]))
    return cases


def _case_id(case: tuple[str, dict[str, int], str]) -> str:
    industry, figures, expected = case
    return f"{industry}-{figures['employees']}p-{figures['revenue']}y-{figures['total_assets']}a-{expected}"


@pytest.mark.parametrize(("industry", "figures", "expected"), _boundary_cases(), ids=map(_case_id, _boundary_cases()))
def test_exactly_at_a_bound_and_one_below(industry: str, figures: dict[str, int], expected: str) -> None:
    assert classify_size(industry, figures["employees"], figures["revenue"], figures["total_assets"]) == expected


@pytest.mark.parametrize("industry", STANDARD_TEXT)
def test_each_industry_maps_to_its_row_with_the_standards_numbers(industry: str) -> None:
    row_code, classes = STANDARD_TEXT[industry]
    row = standard_row(industry)
    assert row.code == row_code
    for size_class, bounds in classes.items():
        expected = [(name, value) for name, value in _in_yuan(bounds).items() if value is not None]
        assert getattr(row, size_class).items() == expected


def test_the_data_has_one_row_per_industry_of_the_standard() -> None:
    assert sorted(row.code for row in SIZE_STANDARD) == sorted(row for row, _ in STANDARD_TEXT.values())
    assert [row.zh for row in SIZE_STANDARD] == [
        "农、林、牧、渔业",
        "工业",
        "建筑业",
        "批发业",
        "零售业",
        "交通运输业",
        "仓储业",
        "邮政业",
        "住宿业",
        "餐饮业",
        "信息传输业",
        "软件和信息技术服务业",
        "房地产开发经营",
        "物业管理",
        "租赁和商务服务业",
        "其他未列明行业",
    ]


@pytest.mark.parametrize("row", SIZE_STANDARD, ids=lambda row: row.code)
def test_bounds_use_the_same_criteria_and_shrink_class_by_class(row: SizeStandardRow) -> None:
    large, medium, small = row.large.items(), row.medium.items(), row.small.items()
    assert [name for name, _ in large] == [name for name, _ in medium] == [name for name, _ in small]
    for (_, big), (_, mid), (_, little) in zip(large, medium, small, strict=True):
        assert big > mid > little > 0


def test_every_mapping_target_is_a_row() -> None:
    rows = {row.code for row in SIZE_STANDARD}
    assert set(INDUSTRY_ROWS.values()) | {DEFAULT_ROW} <= rows


def test_size_class_codes_are_the_code_list() -> None:
    assert [member.value for member in SizeClass] == codes(SIZE_CLASSES)
    result = classify_size("C39", 250, 15_000_000, None)
    assert result == "small"
    assert json.dumps({"size_class": result}) == '{"size_class": "small"}'


@pytest.mark.parametrize(
    ("industry", "row"),
    [
        ("A", "agriculture"),
        ("A05", "agriculture"),
        ("B06", "industry"),
        ("C", "industry"),
        ("C3911", "industry"),
        ("D44", "industry"),
        ("E", "construction"),
        ("F", "wholesale"),  # section alone: wholesale
        ("F5", "wholesale"),
        ("F51", "wholesale"),
        ("F52", "retail"),
        ("F5211", "retail"),
        ("G", "transport"),
        ("G53", "transport"),  # railways: outside the standard, classified as transport
        ("G5311", "transport"),
        ("G55", "transport"),
        ("G56", "transport"),
        ("G57", "transport"),
        ("G58", "transport"),
        ("G59", "warehousing"),
        ("G591", "transport"),  # 装卸搬运
        ("G5910", "transport"),
        ("G592", "warehousing"),
        ("G599", "warehousing"),
        ("G60", "postal"),
        ("H", "catering"),
        ("H61", "accommodation"),
        ("H62", "catering"),
        ("I", "software_it"),
        ("I63", "information_transmission"),
        ("I64", "information_transmission"),
        ("I65", "software_it"),
        ("K", "real_estate_development"),
        ("K70", "real_estate_development"),
        ("K701", "real_estate_development"),
        ("K7010", "real_estate_development"),
        ("K702", "property_management"),
        ("K703", "other"),
        ("K704", "other"),
        ("K709", "other"),
        ("L", "leasing_business_services"),
        ("L71", "leasing_business_services"),
        ("J66", "other"),
        ("M", "other"),
        ("O80", "other"),
        ("T", "other"),
    ],
)
def test_industry_codes_map_to_rows(industry: str, row: str) -> None:
    assert standard_row(industry).code == row


@pytest.mark.parametrize("industry", ["", "c39", "Z", "U01", "C3a", "39", " C39"])
def test_malformed_industry_codes_are_refused(industry: str) -> None:
    with pytest.raises(ValueError, match="industry code"):
        classify_size(industry, 10, 1_000_000, 1_000_000)


@pytest.mark.parametrize(("employees", "revenue", "assets"), [(-1, 0, 0), (0, -1, 0), (0, 0, -1)])
def test_negative_figures_are_refused(employees: int, revenue: int, assets: int) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        classify_size("E47", employees, revenue, assets)


@pytest.mark.parametrize(
    ("industry", "employees", "revenue_wan", "assets_wan", "expected"),
    [
        # 中型须同时满足所列指标的下限，否则下划一档: meeting one bound of a class is not enough.
        ("C39", 500, 1000, None, "small"),  # medium on staff, small on revenue
        ("C39", 1500, 1000, None, "small"),  # large on staff only
        ("C39", 1500, 100, None, "micro"),  # 营业收入300万元以下的为微型
        ("C39", 10, 50000, None, "micro"),  # 从业人员20人以下的为微型, whatever the revenue
        ("C39", 1000, 39999, None, "medium"),
        ("F51", 3, 50000, None, "micro"),
        ("F51", 250, 4000, None, "small"),
        ("F52", 400, 400, None, "small"),
        ("E47", 0, 90000, 1000, "small"),
        ("E47", 0, 5000, 90000, "small"),
        ("G54", 2000, 2500, None, "small"),
        ("H62", 50, 20000, None, "small"),
        ("I65", 9, 20000, None, "micro"),
        ("K701", 0, 300000, 8000, "medium"),  # large needs total assets of 10000万 as well
        ("K701", 0, 50, 20000, "micro"),
        ("M73", 300, None, None, "large"),  # the other industries count employees only
    ],
)
def test_an_enterprise_meeting_only_some_bounds_drops_a_class(
    industry: str, employees: int, revenue_wan: int | None, assets_wan: int | None, expected: str
) -> None:
    revenue = None if revenue_wan is None else revenue_wan * W
    assets = None if assets_wan is None else assets_wan * W
    assert classify_size(industry, employees, revenue, assets) == expected


@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "assets", "expected"),
    [
        ("C39", 500, None, None, "micro"),  # revenue unknown: not shown to reach 300万
        ("C39", 5000, None, None, "micro"),
        ("E47", 0, 10**12, None, "micro"),  # total assets unknown
        ("A01", 0, None, None, "micro"),
        ("L72", 500, 10**12, None, "micro"),  # leasing uses total assets, not revenue
        ("K701", 0, None, 10**12, "micro"),
        ("M73", 150, None, None, "medium"),  # the row needs neither
        ("C39", 0, 10**12, None, "micro"),
    ],
)
def test_a_missing_figure_counts_as_below_every_bound(
    industry: str, employees: int, revenue: int | None, assets: int | None, expected: str
) -> None:
    assert classify_size(industry, employees, revenue, assets) == expected


def test_assessment_keeps_the_figures_and_what_was_short() -> None:
    result = assess_size("C39", 500, 15_000_000, 99)
    assert result.row.code == "industry"
    assert result.size_class is SizeClass.SMALL
    assert result.figures == (("employees", 500), ("revenue", 15_000_000))  # total assets: not used by 工业
    assert result.short_of == (("revenue", 20_000_000),)
    assert assess_size("M73", 300, None, None).short_of == ()


@pytest.mark.parametrize(
    ("args", "locale", "text"),
    [
        (
            ("C39", 250, 15_000_000, None),
            "zh_CN",
            "工业：从业人员 250 人，营业收入 1,500 万元 → 小型（未达中型下限：从业人员 300 人、营业收入 2,000 万元）",
        ),
        (
            ("C39", 250, 15_000_000, None),
            "en",
            "industry (mining, manufacturing, utilities): employees 250, operating revenue CNY 15 million → small "
            "(below the medium lower bounds: employees 300, operating revenue CNY 20 million)",
        ),
        (
            ("C39", 500, None, None),
            "zh_CN",
            "工业：从业人员 500 人，营业收入未提供（视为未达下限） → 微型（未达小型下限：营业收入 300 万元）",
        ),
        (
            ("C39", 500, None, None),
            "en",
            "industry (mining, manufacturing, utilities): employees 500, operating revenue not given "
            "(counts as below every bound) → micro (below the small lower bounds: operating revenue CNY 3 million)",
        ),
        (
            ("K701", 0, 12_345_678, 600_000_000),
            "zh_CN",
            "房地产开发经营：营业收入 1,234.5678 万元，资产总额 60,000 万元 → 中型"
            "（未达大型下限：营业收入 200,000 万元）",
        ),
        (("M73", 1200, None, None), "zh_CN", "其他未列明行业：从业人员 1,200 人 → 大型"),
        (
            ("L72", 10, None, 1_000_000),
            "en",
            "leasing and business services: employees 10, total assets CNY 1 million → small "
            "(below the medium lower bounds: employees 100, total assets CNY 80 million)",
        ),
    ],
)
def test_basis_explains_the_class(args: tuple, locale: str, text: str) -> None:
    assert size_basis(*args, locale=locale) == text
