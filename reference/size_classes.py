"""The SME size thresholds of 工信部联企业〔2011〕300号《中小企业划型标准规定》, as data.

Each industry row of the standard (第四条, items 一–十六) is written "X以下或Y以下的为中小微型企业。其中，
X₁及以上，且Y₁及以上的为中型企业；X₂及以上，且Y₂及以上的为小型企业；X₂以下或Y₂以下的为微型企业". Here a row
holds the lower bounds of the large, medium and small classes; a class needs every bound it lists (大型、中型
和小型企业须同时满足所列指标的下限，否则下划一档, as the statistics bureau's 划分办法 puts it) and micro is
whatever remains. Employees are 从业人员 (people); revenue (营业收入) and total assets (资产总额) are integer
yuan, written as 万元 × WAN.

Industries are GB/T 4754-2017 codes, mapped to rows by the longest matching prefix in INDUSTRY_ROWS, following
the statistics bureau's 《统计上大中小微型企业划分办法（2017）》 (国统字〔2017〕213号), which keeps the 2011
thresholds and restates the industries in GB/T 4754-2017 terms.
"""

from dataclasses import dataclass
from enum import StrEnum

from reference.codes import Code

WAN = 10_000  # yuan in one 万元


class SizeClass(StrEnum):
    """The codes of reference.codes.SIZE_CLASSES, largest first."""

    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


# The three criteria the standard uses, in the order they are listed and shown.
CRITERIA: tuple[Code, ...] = (
    Code("employees", "从业人员", "employees"),
    Code("revenue", "营业收入", "operating revenue"),
    Code("total_assets", "资产总额", "total assets"),
)


@dataclass(frozen=True)
class LowerBounds:
    """The lower bounds of one class; None where the row does not use the criterion."""

    employees: int | None = None
    revenue: int | None = None
    total_assets: int | None = None

    def items(self) -> list[tuple[str, int]]:
        """(criterion code, bound) for the criteria used, in CRITERIA order."""
        return [(c.code, bound) for c in CRITERIA if (bound := getattr(self, c.code)) is not None]


@dataclass(frozen=True)
class SizeStandardRow:
    """One industry of the standard with the lower bounds of its large, medium and small classes."""

    code: str
    zh: str
    en: str
    large: LowerBounds
    medium: LowerBounds
    small: LowerBounds

    def label(self, locale: str) -> str:
        return self.en if locale.startswith("en") else self.zh


def _staff_revenue(staff: int, revenue_wan: int) -> LowerBounds:
    return LowerBounds(employees=staff, revenue=revenue_wan * WAN)


SIZE_STANDARD: tuple[SizeStandardRow, ...] = (
    SizeStandardRow(
        code="agriculture",
        zh="农、林、牧、渔业",
        en="agriculture, forestry, animal husbandry and fishery",
        large=LowerBounds(revenue=20_000 * WAN),
        medium=LowerBounds(revenue=500 * WAN),
        small=LowerBounds(revenue=50 * WAN),
    ),
    SizeStandardRow(
        code="industry",
        zh="工业",
        en="industry (mining, manufacturing, utilities)",
        large=_staff_revenue(1000, 40_000),
        medium=_staff_revenue(300, 2_000),
        small=_staff_revenue(20, 300),
    ),
    SizeStandardRow(
        code="construction",
        zh="建筑业",
        en="construction",
        large=LowerBounds(revenue=80_000 * WAN, total_assets=80_000 * WAN),
        medium=LowerBounds(revenue=6_000 * WAN, total_assets=5_000 * WAN),
        small=LowerBounds(revenue=300 * WAN, total_assets=300 * WAN),
    ),
    SizeStandardRow(
        code="wholesale",
        zh="批发业",
        en="wholesale",
        large=_staff_revenue(200, 40_000),
        medium=_staff_revenue(20, 5_000),
        small=_staff_revenue(5, 1_000),
    ),
    SizeStandardRow(
        code="retail",
        zh="零售业",
        en="retail",
        large=_staff_revenue(300, 20_000),
        medium=_staff_revenue(50, 500),
        small=_staff_revenue(10, 100),
    ),
    SizeStandardRow(
        code="transport",
        zh="交通运输业",
        en="transport (except railways)",
        large=_staff_revenue(1000, 30_000),
        medium=_staff_revenue(300, 3_000),
        small=_staff_revenue(20, 200),
    ),
    SizeStandardRow(
        code="warehousing",
        zh="仓储业",
        en="warehousing",
        large=_staff_revenue(200, 30_000),
        medium=_staff_revenue(100, 1_000),
        small=_staff_revenue(20, 100),
    ),
    SizeStandardRow(
        code="postal",
        zh="邮政业",
        en="postal services",
        large=_staff_revenue(1000, 30_000),
        medium=_staff_revenue(300, 2_000),
        small=_staff_revenue(20, 100),
    ),
    SizeStandardRow(
        code="accommodation",
        zh="住宿业",
        en="accommodation",
        large=_staff_revenue(300, 10_000),
        medium=_staff_revenue(100, 2_000),
        small=_staff_revenue(10, 100),
    ),
    SizeStandardRow(
        code="catering",
        zh="餐饮业",
        en="catering",
        large=_staff_revenue(300, 10_000),
        medium=_staff_revenue(100, 2_000),
        small=_staff_revenue(10, 100),
    ),
    SizeStandardRow(
        code="information_transmission",
        zh="信息传输业",
        en="information transmission",
        large=_staff_revenue(2000, 100_000),
        medium=_staff_revenue(100, 1_000),
        small=_staff_revenue(10, 100),
    ),
    SizeStandardRow(
        code="software_it",
        zh="软件和信息技术服务业",
        en="software and information technology services",
        large=_staff_revenue(300, 10_000),
        medium=_staff_revenue(100, 1_000),
        small=_staff_revenue(10, 50),
    ),
    SizeStandardRow(
        code="real_estate_development",
        zh="房地产开发经营",
        en="real estate development",
        large=LowerBounds(revenue=200_000 * WAN, total_assets=10_000 * WAN),
        medium=LowerBounds(revenue=1_000 * WAN, total_assets=5_000 * WAN),
        small=LowerBounds(revenue=100 * WAN, total_assets=2_000 * WAN),
    ),
    SizeStandardRow(
        code="property_management",
        zh="物业管理",
        en="property management",
        large=_staff_revenue(1000, 5_000),
        medium=_staff_revenue(300, 1_000),
        small=_staff_revenue(100, 500),
    ),
    SizeStandardRow(
        code="leasing_business_services",
        zh="租赁和商务服务业",
        en="leasing and business services",
        large=LowerBounds(employees=300, total_assets=120_000 * WAN),
        medium=LowerBounds(employees=100, total_assets=8_000 * WAN),
        small=LowerBounds(employees=10, total_assets=100 * WAN),
    ),
    SizeStandardRow(
        code="other",
        zh="其他未列明行业",
        en="other industries not listed",
        large=LowerBounds(employees=300),
        medium=LowerBounds(employees=100),
        small=LowerBounds(employees=10),
    ),
)

# GB/T 4754-2017 code prefix -> row code; the longest matching prefix wins, and a code matching none is
# "other" (其他未列明行业). Choices where the standard is silent or a code is too coarse:
# - F alone is wholesale (F51); only F52… is retail.
# - G alone is transport. G53 railways are outside the standard; they are classified as transport, the
#   nearest row (railway operators are large enterprises in practice). G591 装卸搬运 is transport and the rest of G59
#   warehousing, as the 2017 划分办法 lists them.
# - H alone is catering, I alone software and IT services, K alone (and K70) real estate development.
# - K703 房地产中介服务 and K709 其他房地产业 are "other" as the 划分办法 says; so are K704 自有房地产经营活动
#   and the sections the standard leaves out (J finance, P education, Q84 health, S, T), for want of a row.
INDUSTRY_ROWS: dict[str, str] = {
    "A": "agriculture",
    "B": "industry",
    "C": "industry",
    "D": "industry",
    "E": "construction",
    "F": "wholesale",
    "F52": "retail",
    "G": "transport",
    "G59": "warehousing",
    "G591": "transport",
    "G60": "postal",
    "H": "catering",
    "H61": "accommodation",
    "I": "software_it",
    "I63": "information_transmission",
    "I64": "information_transmission",
    "K": "real_estate_development",
    "K702": "property_management",
    "K703": "other",
    "K704": "other",
    "K709": "other",
    "L": "leasing_business_services",
}
DEFAULT_ROW = "other"
