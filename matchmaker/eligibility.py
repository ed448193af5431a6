"""Eligibility: the hard rules a need–product pair must pass before a round may propose it.

Each rule is a small named function ``(product, applicant, on) -> RuleResult`` whose reason, in Chinese and
English, quotes the real figures of the pair, and whose ``gap`` says what would have to change for it to pass.
``check`` runs every rule (no short-circuit: the SME is owed every reason). The inputs are plain frozen
dataclasses built from the ORM rows, so that the rules need no database and run fast.

Readings of the issue that the rules fix:
- Collateral: a product whose collateral list is empty or holds ``none`` accepts anyone. Otherwise the list
  names the kinds the bank accepts, and the SME must offer at least one of them (the SME's offer is
  "covered" by the product when they share a kind); a guarantee kind (third-party or government guarantee) is
  also satisfied by the need's ``guarantee_available``. Collateral the SME offers beyond that is harmless.
- Industry: GB/T 4754-2017 codes match by prefix ("C" allows "C39" and "C3911"); an empty list allows every
  industry; an excluded prefix wins over an allowed one.
- Region: an empty list allows every region. Otherwise the enterprise's region must equal one of the product's
  regions (names compared exactly after trimming: "某市甲县" does not match "某市"), or, for GB/T 2260
  division codes (all digits), fall under it: the product's code without its trailing "00" pairs is a prefix of
  the enterprise's ("330000" covers "330106", "330100" covers "330106", "330106" only itself).
- Settlement account: met when the product's bank code or bank name is among the enterprise's settlement
  banks (trimmed, case-insensitive).
- Years in business: (on - founded_on) in days / 365.25.
- A failed rule without a gap is one nothing on the SME's side can fix (a paused or expired product, an
  exhausted quota); ``suggestions`` leaves such products out.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from matchmaker.figures import fraction, percent, wan_zh, years, yuan_en
from reference.codes import COLLATERAL_KINDS, INDUSTRY_SECTIONS, PRODUCT_STATUSES, SIZE_CLASSES, Code, label
from reference.ratios import debt_ratio

if TYPE_CHECKING:
    from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
    from products.models import LoanProduct

DAYS_PER_YEAR = 365.25
GUARANTEE_KINDS = frozenset({"third_party_guarantee", "government_guarantee"})
Figure = int | float | str | list[str] | None
Rendered = TypeVar("Rendered")


@dataclass(frozen=True)
class ProductTerms:
    """A loan product's terms and criteria (products.models.LoanProduct's field names, plus its bank's code
    and name). Amounts in yuan, rates in annual percent, terms in months, ratios and PD as fractions."""

    id: int
    bank_id: int
    bank_code: str
    type: str
    amount_min: int
    amount_max: int
    term_min_months: int
    term_max_months: int
    rate_min: float
    rate_max: float
    quota: int
    bank_name: str = ""
    collateral: tuple[str, ...] = ("none",)
    granted_total: int = 0
    review_capacity: int = 100
    min_years_in_business: float | None = None
    min_annual_revenue: int | None = None
    max_debt_ratio: float | None = None
    max_pd: float | None = None
    industries: tuple[str, ...] = ()
    excluded_industries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    size_classes: tuple[str, ...] = ()
    requires_settlement_account: bool = False
    first_loan_friendly: bool = False
    status: str = "active"
    valid_from: date | None = None
    valid_to: date | None = None
    risk_compensation_eligible: bool = False
    approval_days: int | None = None

    @classmethod
    def from_product(cls, product: "LoanProduct") -> "ProductTerms":
        return cls(
            id=product.id,
            bank_id=product.bank_id,
            bank_code=product.bank.code,
            bank_name=product.bank.name,
            type=product.type,
            amount_min=product.amount_min,
            amount_max=product.amount_max,
            term_min_months=product.term_min_months,
            term_max_months=product.term_max_months,
            rate_min=product.rate_min,
            rate_max=product.rate_max,
            quota=product.quota,
            collateral=tuple(product.collateral or ()),
            granted_total=product.granted_total or 0,
            review_capacity=product.review_capacity,
            min_years_in_business=product.min_years_in_business,
            min_annual_revenue=product.min_annual_revenue,
            max_debt_ratio=product.max_debt_ratio,
            max_pd=product.max_pd,
            industries=tuple(product.industries or ()),
            excluded_industries=tuple(product.excluded_industries or ()),
            regions=tuple(product.regions or ()),
            size_classes=tuple(product.size_classes or ()),
            requires_settlement_account=product.requires_settlement_account,
            first_loan_friendly=product.first_loan_friendly,
            status=product.status,
            valid_from=product.valid_from,
            valid_to=product.valid_to,
            risk_compensation_eligible=product.risk_compensation_eligible,
            approval_days=product.approval_days,
        )


@dataclass(frozen=True)
class Applicant:
    """One financing need with its enterprise and that enterprise's latest profile. ``need_id`` and
    ``enterprise_id`` are the rows' ids; the other names are the models' own. ``fiscal_year`` is None when
    the enterprise has no profile (then revenue and debt ratio are None too); ``pd`` is None when there is
    no score."""

    need_id: int
    enterprise_id: int
    amount: int
    term_months: int
    industry: str
    region: str
    size_class: str
    founded_on: date
    collateral_offered: tuple[str, ...] = ()
    max_rate: float | None = None
    guarantee_available: bool = False
    first_time_borrower: bool = True
    settlement_banks: tuple[str, ...] = ()
    specialised_innovative: bool = False
    fiscal_year: int | None = None
    annual_revenue: int | None = None
    debt_ratio: float | None = None
    collateral_available: tuple[str, ...] = ()
    pd: float | None = None

    @classmethod
    def from_rows(
        cls,
        enterprise: "Enterprise",
        profile: "FinancialProfile | None",
        need: "FinancingNeed",
        pd: float | None,
    ) -> "Applicant":
        return cls(
            need_id=need.id,
            enterprise_id=enterprise.id,
            amount=need.amount,
            term_months=need.term_months,
            industry=enterprise.industry,
            region=enterprise.region,
            size_class=enterprise.size_class,
            founded_on=enterprise.founded_on,
            collateral_offered=tuple(need.collateral_offered or ()),
            max_rate=need.max_rate,
            guarantee_available=need.guarantee_available,
            first_time_borrower=enterprise.first_time_borrower,
            settlement_banks=tuple(enterprise.settlement_banks or ()),
            specialised_innovative=enterprise.specialised_innovative,
            fiscal_year=profile.fiscal_year if profile else None,
            annual_revenue=profile.annual_revenue if profile else None,
            debt_ratio=debt_ratio(profile.total_liabilities, profile.total_assets) if profile else None,
            collateral_available=tuple(profile.collateral_available or ()) if profile else (),
            pd=pd,
        )

    def years_in_business(self, on: date) -> float:
        return (on - self.founded_on).days / DAYS_PER_YEAR


@dataclass(frozen=True)
class Gap:
    """What would have to change for a failed rule to pass: ``field`` from ``current`` to ``required``,
    whether the SME controls that, and ``size`` in [0, 1], the change relative to the figure (1 for a change
    of kind: another industry, a missing profile, collateral the SME does not have)."""

    field: str
    current: Figure
    required: Figure
    controllable: bool
    size: float
    zh: str
    en: str


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    zh: str
    en: str
    gap: Gap | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Eligibility:
    passed: bool
    results: list[RuleResult]

    @property
    def failed(self) -> list[RuleResult]:
        return [result for result in self.results if not result.passed]


@dataclass(frozen=True)
class Suggestion:
    """A product the need could become eligible for, with every rule it fails and that rule's gap."""

    product_id: int
    failed: list[RuleResult]
    controllable: bool  # every failing rule is one the SME controls
    size: float  # sum of the gaps' sizes

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed": [result.as_dict() for result in self.failed]}


Rule = Callable[[ProductTerms, Applicant, date], RuleResult]


def _ok(rule: str, zh: str, en: str) -> RuleResult:
    return RuleResult(rule, True, zh, en)


def _fail(rule: str, zh: str, en: str, gap: Gap | None) -> RuleResult:
    return RuleResult(rule, False, zh, en, gap)


def _relative(current: float, required: float) -> float:
    """|required - current| relative to the larger of the two, in [0, 1]."""
    scale = max(abs(current), abs(required))
    return min(1.0, abs(required - current) / scale) if scale else 0.0


def _labels(table: tuple[Code, ...], codes: Iterable[str], locale: str) -> str:
    names = [label(table, code, locale) for code in codes]
    if not names:
        return "无" if locale == "zh" else "none"
    return "、".join(names) if locale == "zh" else ", ".join(names)


def product_available(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule = "product_available"
    if product.status != "active":
        zh_status, en_status = (
            label(PRODUCT_STATUSES, product.status, "zh"),
            label(PRODUCT_STATUSES, product.status, "en"),
        )
        return _fail(rule, f"本产品状态为“{zh_status}”，不在售", f"the product is {en_status}, not active", None)
    if product.valid_from is not None and on < product.valid_from:
        wait = (product.valid_from - on).days
        gap = Gap(
            "valid_from",
            on.isoformat(),
            product.valid_from.isoformat(),
            False,
            min(1.0, wait / DAYS_PER_YEAR),
            f"等待 {wait} 天，至 {product.valid_from} 产品开办",
            f"wait {wait} days, until the product opens on {product.valid_from}",
        )
        return _fail(
            rule,
            f"本产品自 {product.valid_from} 起开办，本轮对接日为 {on}",
            f"the product opens on {product.valid_from}; this round is on {on}",
            gap,
        )
    if product.valid_to is not None and on > product.valid_to:
        return _fail(rule, f"本产品已于 {product.valid_to} 到期", f"the product ended on {product.valid_to}", None)
    return _ok(rule, f"本产品在售，{on} 在有效期内", f"the product is active and valid on {on}")


def amount_in_range(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, amount = "amount_in_range", applicant.amount
    low, high = product.amount_min, product.amount_max
    if amount > high or amount < low:
        above = amount > high
        limit = high if above else low
        zh_word, en_word = (
            ("高于本产品上限", "above this product's maximum")
            if above
            else ("低于本产品下限", "below this product's minimum")
        )
        gap = Gap(
            "amount",
            amount,
            limit,
            True,
            _relative(amount, limit),
            f"将需求金额{'降' if above else '提高'}至 {wan_zh(limit)}",
            f"{'reduce' if above else 'raise'} the amount to {yuan_en(limit)}",
        )
        return _fail(
            rule,
            f"需求金额 {wan_zh(amount)}{zh_word} {wan_zh(limit)}",
            f"the amount {yuan_en(amount)} is {en_word} {yuan_en(limit)}",
            gap,
        )
    return _ok(
        rule,
        f"需求金额 {wan_zh(amount)}在本产品额度 {wan_zh(low)}至 {wan_zh(high)}之内",
        f"the amount {yuan_en(amount)} is within this product's range {yuan_en(low)} to {yuan_en(high)}",
    )


def term_in_range(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, term = "term_in_range", applicant.term_months
    low, high = product.term_min_months, product.term_max_months
    if term > high or term < low:
        above = term > high
        limit = high if above else low
        gap = Gap(
            "term_months",
            term,
            limit,
            True,
            _relative(term, limit),
            f"将期限{'缩短' if above else '延长'}至 {limit} 个月",
            f"{'shorten' if above else 'lengthen'} the term to {limit} months",
        )
        return _fail(
            rule,
            f"需求期限 {term} 个月{'长于' if above else '短于'}本产品{'最长' if above else '最短'}期限 {limit} 个月",
            f"the term of {term} months is {'longer' if above else 'shorter'} than this product's "
            f"{'maximum' if above else 'minimum'} of {limit} months",
            gap,
        )
    return _ok(
        rule,
        f"需求期限 {term} 个月在本产品期限 {low}–{high} 个月之内",
        f"the term of {term} months is within this product's {low} to {high} months",
    )


def is_unsecured(collateral: Iterable[str]) -> bool:
    """A product whose collateral list is empty or holds "none" requires no collateral."""
    kinds = set(collateral)
    return not kinds or "none" in kinds


def offered_kinds(collateral_offered: Iterable[str], guarantee_available: bool) -> set[str]:
    """What the SME offers: its listed kinds, plus every guarantee kind when it can bring a guarantee."""
    offered = set(collateral_offered) - {"none"}
    return offered | GUARANTEE_KINDS if guarantee_available else offered


def _ordered_kinds(kinds: Iterable[str]) -> list[str]:
    order = {row.code: index for index, row in enumerate(COLLATERAL_KINDS)}
    return sorted(set(kinds), key=lambda code: (order.get(code, len(order)), code))


def collateral_compatible(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule = "collateral_compatible"
    if is_unsecured(product.collateral):
        return _ok(rule, "本产品为信用类，无需抵押或担保", "the product is unsecured: no collateral is required")
    accepted = _ordered_kinds(product.collateral)
    offered = _ordered_kinds(offered_kinds(applicant.collateral_offered, applicant.guarantee_available))
    shared = [kind for kind in accepted if kind in offered]
    if shared:
        return _ok(
            rule,
            f"提供的{_labels(COLLATERAL_KINDS, shared, 'zh')}为本产品接受的担保方式",
            f"the {_labels(COLLATERAL_KINDS, shared, 'en')} offered is accepted by this product",
        )
    available = [kind for kind in accepted if kind in applicant.collateral_available]
    kind = (available or accepted)[0]
    zh_kind, en_kind = label(COLLATERAL_KINDS, kind, "zh"), label(COLLATERAL_KINDS, kind, "en")
    if available:
        zh_action, en_action = f"在需求中提供{zh_kind}（财务资料中已列明）", f"offer {en_kind} (listed in your profile)"
    else:
        zh_action, en_action = f"落实{zh_kind}", f"obtain {en_kind}"
    gap = Gap("collateral_offered", offered, accepted, bool(available), 0.5 if available else 1.0, zh_action, en_action)
    return _fail(
        rule,
        f"本产品要求以下担保方式之一：{_labels(COLLATERAL_KINDS, accepted, 'zh')}；"
        f"需求提供的是：{_labels(COLLATERAL_KINDS, offered, 'zh')}",
        f"the product requires one of: {_labels(COLLATERAL_KINDS, accepted, 'en')}; "
        f"the need offers: {_labels(COLLATERAL_KINDS, offered, 'en')}",
        gap,
    )


def _first_prefix(code: str, prefixes: Iterable[str]) -> str | None:
    code = code.strip().upper()
    return next((prefix for prefix in prefixes if code.startswith(prefix.strip().upper())), None)


def industry_permitted(industries: Sequence[str], excluded: Sequence[str], code: str) -> bool:
    if _first_prefix(code, excluded) is not None:
        return False
    return not industries or _first_prefix(code, industries) is not None


def industry_allowed(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, code = "industry_allowed", applicant.industry
    zh_name, en_name = label(INDUSTRY_SECTIONS, code[:1], "zh"), label(INDUSTRY_SECTIONS, code[:1], "en")
    excluded = _first_prefix(code, product.excluded_industries)
    allowed = _first_prefix(code, product.industries)
    if excluded is not None or (product.industries and allowed is None):
        gap = Gap(
            "industry",
            code,
            list(product.industries),
            False,
            1.0,
            "行业不符，无法通过调整需求满足",
            "the industry does not fit; no change to the need can fix it",
        )
        if excluded is not None:
            return _fail(
                rule,
                f"行业 {code}（{zh_name}）属于本产品排除的行业 {excluded}",
                f"industry {code} ({en_name}) is excluded by this product ({excluded})",
                gap,
            )
        return _fail(
            rule,
            f"行业 {code}（{zh_name}）不在本产品支持的行业 {'、'.join(product.industries)} 之内",
            f"industry {code} ({en_name}) is not among this product's industries {', '.join(product.industries)}",
            gap,
        )
    if not product.industries:
        return _ok(rule, f"本产品不限行业（企业行业 {code}）", f"the product allows every industry (this one: {code})")
    return _ok(
        rule,
        f"行业 {code}（{zh_name}）属于本产品支持的行业 {allowed}",
        f"industry {code} ({en_name}) falls under this product's industry {allowed}",
    )


def _division_prefix(code: str) -> str:
    """ "330100" -> "3301", "330000" -> "33": a GB/T 2260 code without its trailing "00" pairs."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def region_covers(product_region: str, region: str) -> bool:
    product_region, region = product_region.strip(), region.strip()
    if product_region == region:
        return True
    if product_region.isdigit() and region.isdigit():
        return region.startswith(_division_prefix(product_region))
    return False


def region_permitted(regions: Sequence[str], region: str) -> bool:
    return not regions or any(region_covers(allowed, region) for allowed in regions)


def region_allowed(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, region = "region_allowed", applicant.region
    if not product.regions:
        return _ok(
            rule, f"本产品不限地区（企业所在地 {region}）", f"the product serves every region (this one: {region})"
        )
    if region_permitted(product.regions, region):
        return _ok(rule, f"企业所在地 {region} 在本产品服务地区内", f"the region {region} is served by this product")
    listed = "、".join(product.regions)
    gap = Gap(
        "region",
        region,
        list(product.regions),
        False,
        1.0,
        f"本产品仅服务 {listed}",
        f"the product serves only {', '.join(product.regions)}",
    )
    return _fail(
        rule,
        f"企业所在地 {region} 不在本产品服务地区 {listed} 之内",
        f"the region {region} is not among this product's regions {', '.join(product.regions)}",
        gap,
    )


def size_class_allowed(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, size = "size_class_allowed", applicant.size_class
    zh_size, en_size = label(SIZE_CLASSES, size, "zh"), label(SIZE_CLASSES, size, "en")
    if not product.size_classes or size in product.size_classes:
        return _ok(rule, f"企业规模（{zh_size}）符合本产品要求", f"the enterprise's size ({en_size}) is accepted")
    gap = Gap("size_class", size, list(product.size_classes), False, 1.0, "企业规模不符", "the size class does not fit")
    return _fail(
        rule,
        f"企业规模为{zh_size}，本产品面向{_labels(SIZE_CLASSES, product.size_classes, 'zh')}企业",
        f"the enterprise is {en_size}; the product serves "
        f"{_labels(SIZE_CLASSES, product.size_classes, 'en')} enterprises",
        gap,
    )


def years_in_business(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, required = "years_in_business", product.min_years_in_business
    held = applicant.years_in_business(on)
    shown = years(math.floor(held * 10 + 1e-9) / 10)
    if required is None:
        return _ok(
            rule,
            f"本产品无经营年限要求（已成立 {shown} 年）",
            f"no minimum years in business (in business {shown} years)",
        )
    if held >= required:
        return _ok(
            rule,
            f"成立 {shown} 年，满足本产品至少 {years(required)} 年的要求",
            f"in business {shown} years; the product requires {years(required)}",
        )
    wait = years(math.ceil((required - held) * 10 - 1e-9) / 10)
    gap = Gap(
        "years_in_business",
        round(held, 2),
        required,
        False,
        _relative(held, required),
        f"再经营 {wait} 年",
        f"wait {wait} years",
    )
    return _fail(
        rule,
        f"成立 {shown} 年，本产品要求至少 {years(required)} 年",
        f"in business {shown} years; the product requires {years(required)}",
        gap,
    )


_NO_PROFILE_ZH, _NO_PROFILE_EN = "填报年度财务资料", "submit a financial profile"


def revenue_sufficient(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, required = "revenue_sufficient", product.min_annual_revenue
    if required is None:
        return _ok(rule, "本产品无营业收入要求", "the product sets no minimum revenue")
    revenue = applicant.annual_revenue
    if revenue is None:
        gap = Gap("annual_revenue", None, required, True, 1.0, _NO_PROFILE_ZH, _NO_PROFILE_EN)
        return _fail(
            rule,
            f"尚未填报财务资料，无法核对营业收入（本产品要求至少 {wan_zh(required)}）",
            f"no financial profile: revenue cannot be checked (the product requires at least {yuan_en(required)})",
            gap,
        )
    year = applicant.fiscal_year
    if revenue >= required:
        return _ok(
            rule,
            f"{year} 年营业收入 {wan_zh(revenue)}，不低于本产品要求的 {wan_zh(required)}",
            f"revenue {yuan_en(revenue)} in {year}, at least the {yuan_en(required)} required",
        )
    gap = Gap(
        "annual_revenue",
        revenue,
        required,
        False,
        _relative(revenue, required),
        f"营业收入需达到 {wan_zh(required)}",
        f"revenue must reach {yuan_en(required)}",
    )
    return _fail(
        rule,
        f"{year} 年营业收入 {wan_zh(revenue)}低于本产品要求的 {wan_zh(required)}",
        f"revenue {yuan_en(revenue)} in {year} is below the {yuan_en(required)} this product requires",
        gap,
    )


def debt_ratio_within_limit(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, limit = "debt_ratio_within_limit", product.max_debt_ratio
    if limit is None:
        return _ok(rule, "本产品无资产负债率要求", "the product sets no maximum debt ratio")
    ratio = applicant.debt_ratio
    if ratio is None:
        if applicant.fiscal_year is None:
            zh, en = "尚未填报财务资料，无法核对资产负债率", "no financial profile: the debt ratio cannot be checked"
            gap = Gap("debt_ratio", None, limit, True, 1.0, _NO_PROFILE_ZH, _NO_PROFILE_EN)
        else:
            zh, en = "总资产为零，无法计算资产负债率", "total assets are zero: the debt ratio cannot be computed"
            gap = Gap(
                "debt_ratio", None, limit, True, 1.0, "更正财务资料中的总资产", "correct total assets in the profile"
            )
        return _fail(
            rule, f"{zh}（本产品上限 {fraction(limit)}）", f"{en} (the product's maximum is {fraction(limit)})", gap
        )
    if ratio <= limit:
        return _ok(
            rule,
            f"资产负债率 {fraction(ratio)}，不高于本产品上限 {fraction(limit)}",
            f"debt ratio {fraction(ratio)}, within this product's maximum {fraction(limit)}",
        )
    gap = Gap(
        "debt_ratio",
        ratio,
        limit,
        False,
        _relative(ratio, limit),
        f"资产负债率需降至 {fraction(limit)}",
        f"the debt ratio must fall to {fraction(limit)}",
    )
    return _fail(
        rule,
        f"资产负债率 {fraction(ratio)}高于本产品上限 {fraction(limit)}",
        f"debt ratio {fraction(ratio)} is above this product's maximum {fraction(limit)}",
        gap,
    )


def pd_within_appetite(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, limit = "pd_within_appetite", product.max_pd
    if limit is None:
        return _ok(rule, "本产品未设违约概率上限", "the product sets no maximum probability of default")
    pd = applicant.pd
    if pd is None:
        no_profile = applicant.fiscal_year is None
        zh = "尚无信用评分（需先填报财务资料）" if no_profile else "尚无信用评分"
        en = "no credit score yet (a financial profile is needed first)" if no_profile else "no credit score yet"
        action = (_NO_PROFILE_ZH, _NO_PROFILE_EN) if no_profile else ("等待平台评分", "wait for the platform's score")
        gap = Gap("pd", None, limit, no_profile, 1.0, *action)
        return _fail(
            rule,
            f"{zh}，本产品要求违约概率不高于 {fraction(limit)}",
            f"{en}; the product requires a probability of default of at most {fraction(limit)}",
            gap,
        )
    if pd <= limit:
        return _ok(
            rule,
            f"评估违约概率 {fraction(pd)}，不高于本产品可接受的 {fraction(limit)}",
            f"estimated probability of default {fraction(pd)}, within this product's {fraction(limit)}",
        )
    gap = Gap(
        "pd",
        pd,
        limit,
        False,
        _relative(pd, limit),
        f"违约概率需降至 {fraction(limit)}",
        f"the PD must fall to {fraction(limit)}",
    )
    return _fail(
        rule,
        f"评估违约概率 {fraction(pd)}高于本产品可接受的 {fraction(limit)}",
        f"estimated probability of default {fraction(pd)} is above this product's {fraction(limit)}",
        gap,
    )


def _normalised(names: Iterable[str]) -> set[str]:
    return {name.strip().casefold() for name in names if name and name.strip()}


def has_settlement_account(bank_code: str, bank_name: str, settlement_banks: Iterable[str]) -> bool:
    return bool(_normalised((bank_code, bank_name)) & _normalised(settlement_banks))


def settlement_account(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule = "settlement_account"
    bank = product.bank_name or product.bank_code
    if not product.requires_settlement_account:
        return _ok(rule, "本产品不要求在本行开立结算账户", "the product does not require a settlement account")
    if has_settlement_account(product.bank_code, product.bank_name, applicant.settlement_banks):
        return _ok(rule, f"企业已在{bank}开立结算账户", f"the enterprise has a settlement account with {bank}")
    banks = list(applicant.settlement_banks)
    gap = Gap(
        "settlement_banks",
        banks,
        product.bank_code,
        True,
        0.5,
        f"在{bank}开立结算账户",
        f"open a settlement account with {bank}",
    )
    return _fail(
        rule,
        f"本产品要求在{bank}开立结算账户，企业登记的结算银行为：{'、'.join(banks) or '无'}",
        f"the product requires a settlement account with {bank}; the enterprise's settlement banks: "
        f"{', '.join(banks) or 'none'}",
        gap,
    )


def rate_acceptable(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule, ceiling, floor = "rate_acceptable", applicant.max_rate, product.rate_min
    if ceiling is None:
        return _ok(
            rule,
            f"需求未设利率上限（本产品利率自 {percent(floor)} 起）",
            f"no maximum rate set (this product from {percent(floor)})",
        )
    if ceiling >= floor:
        return _ok(
            rule,
            f"本产品最低利率 {percent(floor)}，不高于可接受的最高利率 {percent(ceiling)}",
            f"this product's lowest rate {percent(floor)} is within the maximum rate {percent(ceiling)}",
        )
    gap = Gap(
        "max_rate",
        ceiling,
        floor,
        True,
        _relative(ceiling, floor),
        f"将可接受的最高利率提高至 {percent(floor)}",
        f"raise max_rate to {percent(floor)}",
    )
    return _fail(
        rule,
        f"可接受的最高利率 {percent(ceiling)}低于本产品最低利率 {percent(floor)}",
        f"the maximum rate {percent(ceiling)} is below this product's lowest rate {percent(floor)}",
        gap,
    )


def quota_available(product: ProductTerms, applicant: Applicant, on: date) -> RuleResult:
    rule = "quota_available"
    if product.granted_total >= product.quota:
        return _fail(
            rule,
            f"本产品额度已用完（已授信 {wan_zh(product.granted_total)}，总额度 {wan_zh(product.quota)}）",
            f"the product's quota is used up ({yuan_en(product.granted_total)} granted of {yuan_en(product.quota)})",
            None,
        )
    if product.review_capacity <= 0:
        return _fail(
            rule,
            "本产品本期不再受理新的申请（审批容量为 0）",
            "the product takes no new applications (review capacity 0)",
            None,
        )
    remaining = product.quota - product.granted_total
    return _ok(
        rule,
        f"剩余额度 {wan_zh(remaining)}，审批容量 {product.review_capacity} 笔",
        f"remaining quota {yuan_en(remaining)}, review capacity {product.review_capacity}",
    )


RULES: tuple[Rule, ...] = (
    product_available,
    amount_in_range,
    term_in_range,
    collateral_compatible,
    industry_allowed,
    region_allowed,
    size_class_allowed,
    years_in_business,
    revenue_sufficient,
    debt_ratio_within_limit,
    pd_within_appetite,
    settlement_account,
    rate_acceptable,
    quota_available,
)


def check(product: ProductTerms, applicant: Applicant, on: date) -> Eligibility:
    """Every rule's result, in RULES order; the pair is eligible when all pass."""
    results = [rule(product, applicant, on) for rule in RULES]
    return Eligibility(all(result.passed for result in results), results)


# The applicant fields each rule reads for a product; besides them a rule reads only the product and the date.
# Where a product sets no criterion the rule's text is the product's alone (no max_pd: "the product sets no
# maximum probability of default"), and no field is read. A unit test records the fields every rule reads on
# random pairs and holds them to this table.
def _always(*names: str) -> Callable[[ProductTerms], tuple[str, ...]]:
    return lambda _product: names


RULE_INPUTS: dict[str, Callable[[ProductTerms], tuple[str, ...]]] = {
    "product_available": _always(),
    "amount_in_range": _always("amount"),
    "term_in_range": _always("term_months"),
    "collateral_compatible": lambda p: (
        () if is_unsecured(p.collateral) else ("collateral_offered", "guarantee_available", "collateral_available")
    ),
    "industry_allowed": _always("industry"),
    "region_allowed": _always("region"),
    "size_class_allowed": _always("size_class"),
    "years_in_business": _always("founded_on"),
    "revenue_sufficient": lambda p: () if p.min_annual_revenue is None else ("annual_revenue", "fiscal_year"),
    "debt_ratio_within_limit": lambda p: () if p.max_debt_ratio is None else ("debt_ratio", "fiscal_year"),
    "pd_within_appetite": lambda p: () if p.max_pd is None else ("pd", "fiscal_year"),
    "settlement_account": lambda p: ("settlement_banks",) if p.requires_settlement_account else (),
    "rate_acceptable": _always("max_rate"),
    "quota_available": _always(),
}


class RuleMemo(Generic[Rendered]):
    """``[render(result) for result in check(product, applicant, on).results]`` for the many pairs of one round.
    A rule's result depends only on the product, the date and the applicant fields RULE_INPUTS names for that
    product, so it is computed and rendered once per product and distinct values of those fields and then
    shared by every pair with them: a round's 30,000 proposals cost a dictionary look-up for most of their 14
    rules instead of formatting (and serialising) two texts each. Products are told apart by ``id``."""

    def __init__(self, on: date, render: Callable[[RuleResult], Rendered]) -> None:
        self.on = on
        self.render = render
        self._slots: dict[int, list[_Slot[Rendered]]] = {}

    def _product_slots(self, product: ProductTerms) -> list["_Slot[Rendered]"]:
        slots = self._slots.get(product.id)
        if slots is None:
            slots = self._slots[product.id] = []
            for rule in RULES:
                names = RULE_INPUTS[rule.__name__](product)
                slots.append(_Slot(rule, attrgetter(*names) if names else None, {}))
        return slots

    def results(self, product: ProductTerms, applicant: Applicant) -> list[Rendered]:
        found: list[Rendered] = []
        for rule, read, known in self._product_slots(product):
            key = None if read is None else read(applicant)  # None: one result for every applicant
            try:
                found.append(known[key])
            except KeyError:
                rendered = known[key] = self.render(rule(product, applicant, self.on))
                found.append(rendered)
        return found


class _Slot(NamedTuple, Generic[Rendered]):
    """A rule of one product in RuleMemo: how to read the applicant fields it reads (None when it reads none)
    and its rendered results by those fields' values."""

    rule: Rule
    read: Callable[[Applicant], Any] | None
    known: dict[Any, Rendered]


def failed_rules(product: ProductTerms, applicant: Applicant, on: date) -> list[RuleResult]:
    return check(product, applicant, on).failed


def suggestions(products: Iterable[ProductTerms], applicant: Applicant, on: date, top: int = 3) -> list[Suggestion]:
    """ "What would make you eligible": the products the need fails, ranked by how little would have to change
    (fewest failing rules, then all of them in the SME's control, then the smallest total change). Products
    that nothing can make eligible (a failure without a gap) and products already eligible are left out."""
    ranked: list[tuple[tuple[int, bool, float, int], Suggestion]] = []
    for product in products:
        failed = failed_rules(product, applicant, on)
        if not failed or any(result.gap is None for result in failed):
            continue
        gaps = [result.gap for result in failed if result.gap is not None]
        controllable = all(gap.controllable for gap in gaps)
        size = sum(gap.size for gap in gaps)
        suggestion = Suggestion(product.id, failed, controllable, size)
        ranked.append(((len(failed), not controllable, size, product.id), suggestion))
    ranked.sort(key=lambda pair: pair[0])
    return [suggestion for _, suggestion in ranked[:top]]
