"""From PD to score, grade, reason codes and "what would change the outcome".

Score: 600 points at good:bad odds of 50:1, 20 more points each time the odds double, rounded and clipped to
300–900 (higher is safer): score = 600 + 20 * log2(odds / 50), odds = (1 - PD) / PD.

Grades by PD band (upper bounds exclusive): A < 1%, B < 3%, C < 7%, D < 15%, E from 15%.

Reason codes come from the model itself: for each column, the row's calibrated log-odds minus the log-odds
with that column set to its best reference value (a high or low training quantile in the column's monotone
direction; the best of several quantiles or of every level where the direction is free). The columns with
the largest positive differences are the factors that lowered the score; the texts are built from the row's
actual values. ``what_would_change`` searches the changes an SME controls for the cheapest that brings the PD
under a threshold.
"""

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reference.codes import INDUSTRY_SECTIONS, label
from scoring.features import FEATURES_BY_NAME, Feature, applicant_features, columns_from_records, feature_columns
from scoring.model import TrainedModel

BASE_SCORE, BASE_ODDS, POINTS_TO_DOUBLE = 600.0, 50.0, 20.0
MIN_SCORE, MAX_SCORE = 300, 900
GRADE_BANDS: tuple[tuple[str, float], ...] = (("A", 0.01), ("B", 0.03), ("C", 0.07), ("D", 0.15), ("E", math.inf))
MIN_CONTRIBUTION = 0.02  # log-odds; smaller effects are not worth a reason code


def score_from_pd(pd: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(pd, dtype=float), 1e-9, 1 - 1e-9)
    score = BASE_SCORE + POINTS_TO_DOUBLE * np.log2((1 - p) / p / BASE_ODDS)
    return np.clip(np.round(score), MIN_SCORE, MAX_SCORE).astype(int)


def grade_from_pd(pd: np.ndarray | float) -> np.ndarray:
    bounds = np.array([upper for _, upper in GRADE_BANDS])
    letters = np.array([letter for letter, _ in GRADE_BANDS])
    return letters[np.searchsorted(bounds, np.asarray(pd, dtype=float), side="right")]


@dataclass(frozen=True)
class Reason:
    feature: str
    value: Any
    log_odds: float
    points: int
    zh: str
    en: str


@dataclass(frozen=True)
class Assessment:
    pd: float
    score: int
    grade: str
    reasons: list[Reason]


def explain(model: TrainedModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's calibrated log-odds, and (rows, columns): how much each column raises it above the log-odds
    with that column at its best reference value (0 when the row is already at least as good)."""
    blocks, owners = [x], [-1]
    for j, name in enumerate(model.columns):
        for value in model.references[name]:
            changed = x.copy()
            changed[:, j] = value
            blocks.append(changed)
            owners.append(j)
    log_odds = model.log_odds(np.vstack(blocks)).reshape(len(blocks), len(x))
    best = np.full((len(model.columns), len(x)), np.inf)
    np.minimum.at(best, np.array(owners[1:], dtype=int), log_odds[1:])
    effects = np.where(np.isfinite(best), np.clip(log_odds[0][None, :] - best, 0.0, None), 0.0)
    return log_odds[0], effects.T


def _format(feature: Feature, value: Any, locale: str) -> str:
    if feature.fmt == "percent":
        return f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"
    if feature.fmt == "yuan_log":
        amount = (10**value - 1) / 10_000
        return f"{amount:,.0f} 万元" if locale == "zh" else f"{amount * 10_000:,.0f} yuan"
    if feature.fmt == "flag":
        return ("是" if value else "否") if locale == "zh" else ("yes" if value else "no")
    if feature.fmt == "category":
        return label(INDUSTRY_SECTIONS, value, locale)
    return f"{value:g}"


def reason_text(name: str, value: Any) -> tuple[str, str]:
    """(zh, en) text for a column that lowered the score, built from its value."""
    feature = FEATURES_BY_NAME.get(name)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if feature is None:
        shown = "—" if missing else value
        return f"{name} = {shown}", f"{name} = {shown}"
    if missing:
        return f"{feature.label_zh}未提供", f"{feature.label_en} not provided"
    return feature.zh.format(v=_format(feature, value, "zh")), feature.en.format(v=_format(feature, value, "en"))


def reasons(model: TrainedModel, row: Mapping[str, Any], top: int = 4) -> list[Reason]:
    """The top factors that lowered this row's score (``row`` maps the model's columns to values)."""
    _, effects = explain(model, model.matrix({name: [row.get(name)] for name in model.columns}))
    return _reasons(model.columns, row, effects[0], top)


def _reasons(columns: list[str], row: Mapping[str, Any], effects: np.ndarray, top: int) -> list[Reason]:
    result = []
    for j in np.argsort(-effects, kind="stable")[:top]:
        if effects[j] < MIN_CONTRIBUTION:
            break
        name = columns[j]
        zh, en = reason_text(name, row.get(name))
        points = round(float(effects[j]) * POINTS_TO_DOUBLE / math.log(2))
        result.append(Reason(name, row.get(name), float(effects[j]), points, zh, en))
    return result


def _check_platform_model(model: TrainedModel) -> None:
    unknown = set(model.columns) - set(FEATURES_BY_NAME)
    if unknown:
        raise ValueError(f"the model uses columns that scoring.features does not compute: {sorted(unknown)}")


def assess(model: TrainedModel, applicant: Mapping[str, Any], top: int = 4) -> Assessment:
    """PD, score, grade and reasons for one applicant record (profile fields plus enterprise facts)."""
    _check_platform_model(model)
    features = applicant_features(applicant)
    log_odds, effects = explain(model, model.matrix({name: [features[name]] for name in model.columns}))
    pd = float(1.0 / (1.0 + np.exp(-log_odds[0])))
    return Assessment(
        pd, int(score_from_pd(pd)), str(grade_from_pd(pd)), _reasons(model.columns, features, effects[0], top)
    )


def assess_many(model: TrainedModel, applicants: Sequence[Mapping[str, Any]], top: int = 4) -> list[Assessment]:
    """``assess`` for many applicant records with one model call for all of them (reasons included): what a
    matching round needs for thousands of enterprises."""
    _check_platform_model(model)
    if not applicants:
        return []
    features = feature_columns(columns_from_records(applicants))
    log_odds, effects = explain(model, model.matrix(features))
    pds = 1.0 / (1.0 + np.exp(-log_odds))
    results = []
    for row, pd in enumerate(pds.tolist()):
        values = {name: features[name][row] for name in model.columns}
        reasons_ = _reasons(model.columns, values, effects[row], top)
        results.append(Assessment(pd, int(score_from_pd(pd)), str(grade_from_pd(pd)), reasons_))
    return results


def assess_batch(model: TrainedModel, applicants: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """PD, score and grade for many applicants given as columns (no reasons: they cost a model call per column)."""
    _check_platform_model(model)
    pd = model.predict_pd(feature_columns(applicants))
    return {"pd": pd, "score": score_from_pd(pd), "grade": grade_from_pd(pd)}


@dataclass(frozen=True)
class Action:
    """A change the SME itself can make; ``cost`` orders how hard it is (1 easiest)."""

    code: str
    zh: str
    en: str
    cost: int
    applies: Callable[[Mapping[str, Any]], bool] = field(repr=False, compare=False)
    apply: Callable[[dict[str, Any]], None] = field(repr=False, compare=False)


def _collateral(applicant: Mapping[str, Any]) -> list[str]:
    return list(applicant.get("collateral_available") or [])


def _pledge(code: str) -> Callable[[dict[str, Any]], None]:
    def apply(applicant: dict[str, Any]) -> None:
        applicant["collateral_available"] = [*_collateral(applicant), code]

    return apply


def _repay(share: float) -> Callable[[dict[str, Any]], None]:
    """Repay ``share`` of outstanding loans from cash: loans, liabilities and assets all fall by that amount."""

    def apply(applicant: dict[str, Any]) -> None:
        repaid = share * float(applicant["outstanding_loans"])
        applicant["outstanding_loans"] = float(applicant["outstanding_loans"]) - repaid
        for name in ("total_liabilities", "total_assets"):
            if applicant.get(name) is not None:
                applicant[name] = max(0.0, float(applicant[name]) - repaid)

    return apply


def _has_loans(applicant: Mapping[str, Any]) -> bool:
    return (applicant.get("outstanding_loans") or 0) > 0


def _set(name: str) -> Callable[[dict[str, Any]], None]:
    def apply(applicant: dict[str, Any]) -> None:
        applicant[name] = True

    return apply


ACTION_GROUPS: tuple[tuple[Action, ...], ...] = (
    (
        Action(
            "get_audited",
            "请会计师事务所审计财务报表",
            "have the statements audited",
            1,
            lambda a: not a.get("audited"),
            _set("audited"),
        ),
    ),
    (
        Action(
            "add_guarantor",
            "增加担保人（第三方或政府性融资担保）",
            "add a guarantor (third party or government guarantee fund)",
            2,
            lambda a: (
                not a.get("guarantee_available")
                and not {"third_party_guarantee", "government_guarantee"} & set(_collateral(a))
            ),
            _set("guarantee_available"),
        ),
    ),
    (
        Action(
            "pledge_ip",
            "以专利或商标做质押",
            "pledge patents or trademarks",
            2,
            lambda a: (a.get("patents") or 0) + (a.get("trademarks") or 0) > 0 and "ip_pledge" not in _collateral(a),
            _pledge("ip_pledge"),
        ),
    ),
    (
        Action(
            "pledge_real_estate",
            "提供不动产抵押（如有房产）",
            "pledge real estate, if you own any",
            3,
            lambda a: not {"real_estate", "land_use_right"} & set(_collateral(a)),
            _pledge("real_estate"),
        ),
    ),
    (
        Action("repay_25", "偿还 25% 的贷款余额", "repay 25% of outstanding loans", 3, _has_loans, _repay(0.25)),
        Action("repay_50", "偿还 50% 的贷款余额", "repay 50% of outstanding loans", 5, _has_loans, _repay(0.5)),
    ),
)


@dataclass(frozen=True)
class Change:
    """The actions to take (empty when the PD is already under the threshold) and the result they would give."""

    actions: list[Action]
    pd: float
    score: int
    grade: str


def what_would_change(model: TrainedModel, applicant: Mapping[str, Any], threshold_pd: float) -> Change | None:
    """The cheapest combination of actions the SME controls that brings its PD under ``threshold_pd`` (ties:
    the lower PD), or None when no combination does."""
    _check_platform_model(model)
    options = [[None, *(a for a in group if a.applies(applicant))] for group in ACTION_GROUPS]
    plans = [[a for a in plan if a is not None] for plan in itertools.product(*options)]
    variants = []
    for plan in plans:
        variant = dict(applicant)
        for action in plan:
            action.apply(variant)
        variants.append(variant)
    pd = model.predict_pd(feature_columns(columns_from_records(variants)))
    passing = [i for i in range(len(plans)) if pd[i] < threshold_pd]
    if not passing:
        return None
    best = min(passing, key=lambda i: (sum(a.cost for a in plans[i]), pd[i]))
    return Change(plans[best], float(pd[best]), int(score_from_pd(pd[best])), str(grade_from_pd(pd[best])))
