"""Features: the one place that turns an applicant (a financial profile plus enterprise facts) into model inputs.

An *applicant record* is a flat mapping with DESIGN.md's profile field names (``annual_revenue``, ``net_profit``,
``total_assets``, ``total_liabilities``, ``taxes_paid``, ``monthly_settlement_flow``, ``outstanding_loans``,
``overdue_events_24m``, ``patents``, ``trademarks``, ``receivables``, ``collateral_available`` (a list of
``reference.codes.COLLATERAL_KINDS`` codes), ``social_insurance_headcount``, ``audited``) and the enterprise facts
in ``ENTERPRISE_FIELDS`` (``years_in_business``, ``employees``, ``first_time_borrower``,
``previous_annual_revenue`` — last year's revenue, for growth —, ``industry`` — a GB/T 4754 code —, and
``guarantee_available`` from the financing need). Any field may be absent or ``None``.

Missing values stay missing (NaN, or ``None`` for the industry): the gradient-boosting model learns where
missing values go, so "did not report taxes" can carry risk of its own. A ratio whose denominator is zero,
negative or missing is missing too. Ratios are clipped to a plausible range so that one typo does not dominate.

``FEATURES`` documents each feature's direction of effect on the probability of default (+1 raises PD, -1
lowers it, 0 unknown); the trainer uses it as the default monotone specification and the reason codes use its
labels. ``feature_columns`` is vectorised: it takes columns (one array or list per field) so that scoring
100,000 applicants costs a few numpy operations, not a Python loop per row.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.codes import INDUSTRY_SECTIONS

PROFILE_FIELDS: tuple[str, ...] = (
    "annual_revenue",
    "net_profit",
    "total_assets",
    "total_liabilities",
    "taxes_paid",
    "monthly_settlement_flow",
    "outstanding_loans",
    "overdue_events_24m",
    "patents",
    "trademarks",
    "receivables",
    "collateral_available",
    "social_insurance_headcount",
    "audited",
)
ENTERPRISE_FIELDS: tuple[str, ...] = (
    "years_in_business",
    "employees",
    "first_time_borrower",
    "previous_annual_revenue",
    "industry",
    "guarantee_available",
)
RAW_FIELDS: tuple[str, ...] = PROFILE_FIELDS + ENTERPRISE_FIELDS

REAL_ESTATE_CODES = frozenset({"real_estate", "land_use_right"})
GUARANTEE_CODES = frozenset({"third_party_guarantee", "government_guarantee"})
_SECTIONS = frozenset(row.code for row in INDUSTRY_SECTIONS)


@dataclass(frozen=True)
class Feature:
    """One model input. ``fmt`` says how reason texts show its value: percent, count, years, yuan_log
    (log10 of yuan, shown in 万元), people, flag (0/1) or category. ``zh``/``en`` are the reason texts used
    when the feature lowered the score; ``{v}`` is replaced by the formatted value."""

    name: str
    direction: int
    fmt: str
    label_zh: str
    label_en: str
    zh: str
    en: str


FEATURES: tuple[Feature, ...] = (
    Feature("debt_ratio", 1, "percent", "资产负债率", "debt ratio", "资产负债率 {v} 偏高", "debt ratio {v} is high"),
    Feature(
        "loans_to_revenue",
        1,
        "percent",
        "贷款余额/营业收入",
        "outstanding loans to revenue",
        "贷款余额占营业收入 {v}，偏高",
        "outstanding loans are {v} of revenue, which is high",
    ),
    Feature(
        "profit_margin", -1, "percent", "销售利润率", "profit margin", "销售利润率 {v} 偏低", "profit margin {v} is low"
    ),
    Feature(
        "tax_to_revenue",
        -1,
        "percent",
        "纳税/营业收入",
        "taxes paid to revenue",
        "纳税额仅占营业收入 {v}",
        "taxes paid are only {v} of revenue",
    ),
    Feature(
        "flow_to_revenue",
        -1,
        "percent",
        "结算流水/营业收入",
        "settlement flow to revenue",
        "年结算流水仅占营业收入 {v}",
        "yearly settlement flow is only {v} of revenue",
    ),
    Feature(
        "receivables_to_revenue",
        1,
        "percent",
        "应收账款/营业收入",
        "receivables to revenue",
        "应收账款占营业收入 {v}，偏高",
        "receivables are {v} of revenue, which is high",
    ),
    Feature(
        "log_revenue", -1, "yuan_log", "营业收入", "annual revenue", "营业收入 {v} 偏低", "annual revenue {v} is low"
    ),
    Feature(
        "revenue_growth",
        -1,
        "percent",
        "营业收入增长率",
        "revenue growth",
        "营业收入增长率 {v} 偏低",
        "revenue growth {v} is low",
    ),
    Feature(
        "overdue_events_24m",
        1,
        "count",
        "近24个月逾期次数",
        "overdue events in 24 months",
        "近24个月逾期 {v} 次",
        "{v} overdue events in 24 months",
    ),
    Feature(
        "years_in_business",
        -1,
        "years",
        "经营年限",
        "years in business",
        "经营年限仅 {v} 年",
        "{v} year(s) in business only",
    ),
    Feature("employees", 0, "people", "员工人数", "employees", "员工人数 {v} 人", "{v} employees"),
    Feature(
        "insured_share",
        -1,
        "percent",
        "社保缴纳人数占比",
        "share of staff with social insurance",
        "缴纳社保的员工仅占 {v}",
        "only {v} of staff have social insurance",
    ),
    Feature(
        "ip_count",
        -1,
        "count",
        "专利与商标数",
        "patents and trademarks",
        "专利与商标共 {v} 件，偏少",
        "{v} patent(s) and trademark(s) only",
    ),
    Feature(
        "real_estate_collateral",
        -1,
        "flag",
        "不动产抵押物",
        "real-estate collateral",
        "无不动产抵押物",
        "no real-estate collateral",
    ),
    Feature("ip_pledge", -1, "flag", "知识产权质押", "IP pledge", "未提供知识产权质押", "no IP offered as pledge"),
    Feature("guarantor_available", -1, "flag", "担保人", "guarantor", "无担保人", "no guarantor"),
    Feature("audited", -1, "flag", "审计报表", "audited statements", "财务报表未经审计", "statements are not audited"),
    Feature(
        "first_time_borrower",
        0,
        "flag",
        "首贷户",
        "first-time borrower",
        "首贷户：{v}",
        "first-time borrower: {v}",
    ),
    Feature(
        "industry", 0, "category", "行业", "industry", "所属行业（{v}）风险较高", "industry ({v}) carries more risk"
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.fmt == "category")
MONOTONE_SPEC: dict[str, int] = {f.name: f.direction for f in FEATURES if f.fmt != "category"}


def _numeric(values: Any, n: int) -> np.ndarray:
    """A float column; ``None`` and absent fields become NaN."""
    if values is None:
        return np.full(n, np.nan)
    try:
        return np.array(values, dtype=float)  # None becomes NaN
    except (TypeError, ValueError):
        return np.array([np.nan if v is None or v == "" else float(v) for v in values], dtype=float)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, low: float, high: float) -> np.ndarray:
    """numerator / denominator clipped to [low, high]; NaN where the denominator is not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)
    return np.clip(ratio, low, high)


def _has_any(collateral: Sequence[Any] | None, codes: frozenset[str], n: int) -> np.ndarray:
    """1.0 when the applicant's collateral list holds one of ``codes``, 0.0 when not, NaN when the list is missing."""
    if collateral is None:
        return np.full(n, np.nan)
    return np.array([np.nan if kinds is None else float(not codes.isdisjoint(kinds)) for kinds in collateral])


def _sum_known(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b counting a missing term as 0; missing only when both are."""
    total = np.clip(np.nan_to_num(a), 0.0, None) + np.clip(np.nan_to_num(b), 0.0, None)
    return np.where(np.isnan(a) & np.isnan(b), np.nan, total)


def _section(code: Any) -> str | None:
    if not isinstance(code, str) or not code.strip():
        return None
    letter = code.strip()[0].upper()
    return letter if letter in _SECTIONS else None


def feature_columns(applicants: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Features for many applicants at once. ``applicants`` maps raw field names to columns of equal length
    (numpy arrays or lists; absent fields are missing). Returns ``{feature name: column}``: float arrays, and an
    object array of GB/T 4754 section letters (or ``None``) for ``industry``."""
    n = len(next(iter(applicants.values()))) if applicants else 0
    col = {
        name: _numeric(applicants.get(name), n)
        for name in RAW_FIELDS
        if name not in ("collateral_available", "industry")
    }
    revenue = col["annual_revenue"]
    collateral = applicants.get("collateral_available")
    guarantee_listed = _has_any(collateral, GUARANTEE_CODES, n)
    with np.errstate(invalid="ignore"):
        log_revenue = np.log10(1.0 + np.clip(revenue, 0.0, None))
    return {
        "debt_ratio": _ratio(col["total_liabilities"], col["total_assets"], 0.0, 3.0),
        "loans_to_revenue": _ratio(col["outstanding_loans"], revenue, 0.0, 10.0),
        "profit_margin": _ratio(col["net_profit"], revenue, -1.0, 1.0),
        "tax_to_revenue": _ratio(col["taxes_paid"], revenue, 0.0, 0.5),
        "flow_to_revenue": _ratio(12.0 * col["monthly_settlement_flow"], revenue, 0.0, 5.0),
        "receivables_to_revenue": _ratio(col["receivables"], revenue, 0.0, 5.0),
        "log_revenue": log_revenue,
        "revenue_growth": _ratio(revenue, col["previous_annual_revenue"], 0.0, 4.0) - 1.0,
        "overdue_events_24m": np.clip(col["overdue_events_24m"], 0.0, 50.0),
        "years_in_business": np.clip(col["years_in_business"], 0.0, 100.0),
        "employees": np.clip(col["employees"], 0.0, None),
        "insured_share": _ratio(col["social_insurance_headcount"], col["employees"], 0.0, 1.5),
        "ip_count": _sum_known(col["patents"], col["trademarks"]),
        "real_estate_collateral": _has_any(collateral, REAL_ESTATE_CODES, n),
        "ip_pledge": _has_any(collateral, frozenset({"ip_pledge"}), n),
        "guarantor_available": np.fmax(guarantee_listed, col["guarantee_available"]),
        "audited": col["audited"],
        "first_time_borrower": col["first_time_borrower"],
        "industry": np.array([_section(code) for code in applicants.get("industry", [None] * n)], dtype=object),
    }


def columns_from_records(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Turn applicant records (one mapping per applicant) into the columns ``feature_columns`` takes."""
    rows = list(records)
    return {name: [row.get(name) for row in rows] for name in RAW_FIELDS}


def applicant_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """Features of one applicant: ``{name: float (NaN when missing) or industry section / None}``."""
    columns = feature_columns({name: [record.get(name)] for name in RAW_FIELDS})
    return {name: column[0] if name in CATEGORICAL_FEATURES else float(column[0]) for name, column in columns.items()}
