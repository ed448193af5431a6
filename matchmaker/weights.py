"""The weight of an eligible need–product edge: how good a match it is. The one formula, in one place.

    weight = approval^a · amount_fit^m · term_fit^t · rate_fit^r  ·  Π_b (1 + β_b·x_b) / Π_b (1 + β_b)

The exponents a, m, t, r and the bonuses β_b are the operator's ``WeightPolicy`` (all >= 0; 0 switches a
part off). Every score is in (0, 1] and each bonus factor's numerator is at most its denominator, so the
weight is in (0, 1]: 1 is a certain, perfectly fitting, free loan to an applicant with every priority.

Scores (each floored at MIN_SCORE so that the weight stays > 0):
- approval = σ(slope · (logit(appetite) − logit(pd))): the estimated chance the bank approves. ``appetite`` is
  the product's max_pd, or DEFAULT_APPETITE by product type when it sets none (secured and guaranteed products
  tolerate more risk: a default costs the bank less). An applicant exactly at the appetite gets even odds; a
  lower PD raises the score, never lowers it. Without a PD (a product with max_pd never gets here) the odds
  are even.
- amount_fit = 1 − 0.5·(2u − 1)², u = where the amount sits in the product's range on a log scale (0 at the
  minimum, 1 at the maximum). The middle is best: a product's range is built around its typical ticket; near
  the maximum banks often approve less than asked, near the minimum the product is oversized for the need
  (its review and collateral were designed for larger loans), and a log scale because a range of 10 万 to
  1000 万 is centred on 100 万, not 505 万. The penalty is mild (at worst 0.5): both ends are eligible.
- term_fit = 1 − 0.3·(2v − 1)², v the term's linear position in the product's term range, for the same reason
  with a milder penalty (a term is easier to adjust than an amount).
- rate_fit = exp(−rate_min / reference): the SME's cost, lower is better. ``reference`` is the need's max_rate
  when it sets one (a product at exactly the SME's ceiling scores e^-1), else the policy's reference_rate.
Bonuses x_b in [0, 1]: first-time borrower (首贷户); first-time borrower on a first-loan-friendly product;
micro enterprise; small enterprise; product eligible for the risk-compensation fund (风险补偿资金); fast
approval, 1 − approval_days / fast_approval_days clipped to [0, 1] (0 when unknown); specialised and
innovative enterprise (专精特新).

``weight_factors`` explains one edge: each part's score and its contribution to log(weight) relative to a
neutral pair (exponent · ln(score / NEUTRAL_SCORE) for a score, ln(1 + β·x) for a bonus), so that the largest
positive and negative contributions say "why this product". The offset between log(weight) and the sum of
contributions is the same for every pair.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from matchmaker.eligibility import Applicant, ProductTerms
from matchmaker.figures import fraction, percent, wan_zh, yuan_en

MIN_SCORE = 1e-6
NEUTRAL_SCORE = 0.7
AMOUNT_EDGE_PENALTY = 0.5
TERM_EDGE_PENALTY = 0.3
_PD_CLIP = 1e-6
MAX_POLICY_WEIGHT = 10.0
_CHUNK = 65_536

# Assumed risk appetite (maximum PD) of a product that sets no max_pd, by product type.
DEFAULT_APPETITE: Mapping[str, float] = {
    "e_loan": 0.02,
    "credit_loan": 0.02,
    "settlement_loan": 0.03,
    "renewal_loan": 0.03,
    "supply_chain_loan": 0.04,
    "receivables_pledge_loan": 0.04,
    "ip_pledge_loan": 0.05,
    "mortgage_loan": 0.06,
    "guarantee_loan": 0.06,
}
FALLBACK_APPETITE = 0.03

SCORES = ("approval", "amount_fit", "term_fit", "rate_fit")
BONUSES = (
    "first_time_borrower",
    "first_loan_friendly",
    "micro",
    "small",
    "risk_compensation",
    "fast_approval",
    "specialised_innovative",
)
FACTORS = SCORES + BONUSES


_SHAPE = frozenset({"approval_slope", "reference_rate", "fast_approval_days"})


class PolicyError(ValueError):
    """A policy that cannot be used; ``errors`` maps each bad key to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{key}: {', '.join(messages)}" for key, messages in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class WeightPolicy:
    """The operator's weights. Score exponents and bonuses are in [0, MAX_POLICY_WEIGHT]; approval_slope,
    reference_rate (annual percent) and fast_approval_days must be > 0."""

    approval: float = 1.0
    amount_fit: float = 0.3
    term_fit: float = 0.2
    rate_fit: float = 0.5
    bonus_first_time_borrower: float = 0.3
    bonus_first_loan_friendly: float = 0.1
    bonus_micro: float = 0.2
    bonus_small: float = 0.1
    bonus_risk_compensation: float = 0.1
    bonus_fast_approval: float = 0.1
    bonus_specialised_innovative: float = 0.1
    approval_slope: float = 1.5
    reference_rate: float = 6.0
    fast_approval_days: float = 30.0

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                errors[item.name] = ["must be a finite number"]
            elif item.name in _SHAPE and value <= 0:
                errors[item.name] = ["must be greater than 0"]
            elif item.name not in _SHAPE and not 0 <= value <= MAX_POLICY_WEIGHT:
                errors[item.name] = [f"must be between 0 and {MAX_POLICY_WEIGHT:g}"]
        if errors:
            raise PolicyError(errors)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "WeightPolicy":
        """Defaults overridden by ``data``; an unknown key or a bad value raises PolicyError naming it."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyError({key: ["unknown policy weight"] for key in unknown})
        return cls(**data)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def bonus(self, name: str) -> float:
        return getattr(self, f"bonus_{name}")


def appetite(product: ProductTerms) -> float:
    if product.max_pd is not None:
        return product.max_pd
    return DEFAULT_APPETITE.get(product.type, FALLBACK_APPETITE)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _PD_CLIP, 1 - _PD_CLIP)
    return np.log(p) - np.log1p(-p)


def _position(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Where value sits in [low, high], in [0, 1]; 0.5 when the range is a single point."""
    span = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        position = np.where(span > 0, (value - low) / np.where(span > 0, span, 1), 0.5)
    return np.clip(position, 0.0, 1.0)


def _amount_position(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    return _position(
        np.log(columns["amount"]),
        np.log(columns["amount_min"]),
        np.log(columns["amount_max"]),
    )


def _term_position(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    return _position(columns["term"], columns["term_min"], columns["term_max"])


def scores(columns: Mapping[str, np.ndarray], policy: WeightPolicy) -> dict[str, np.ndarray]:
    """The four scores and seven bonus inputs x_b of the module docstring, for arrays of edges."""
    pd = columns["pd"]
    known_pd = np.where(np.isnan(pd), columns["appetite"], pd)
    approval = 1.0 / (1.0 + np.exp(-policy.approval_slope * (_logit(columns["appetite"]) - _logit(known_pd))))
    u, v = _amount_position(columns), _term_position(columns)
    max_rate = columns["max_rate"]
    reference = np.where(np.isnan(max_rate) | ~(max_rate > 0), policy.reference_rate, max_rate)
    days = columns["approval_days"]
    first_time = columns["first_time_borrower"]
    result = {
        "approval": approval,
        "amount_fit": 1.0 - AMOUNT_EDGE_PENALTY * (2 * u - 1) ** 2,
        "term_fit": 1.0 - TERM_EDGE_PENALTY * (2 * v - 1) ** 2,
        "rate_fit": np.exp(-columns["rate_min"] / reference),
    }
    result = {name: np.maximum(score, MIN_SCORE) for name, score in result.items()}
    fast = np.where(np.isnan(days), 0.0, np.clip(1.0 - days / policy.fast_approval_days, 0.0, 1.0))
    return result | {
        "first_time_borrower": first_time,
        "first_loan_friendly": first_time * columns["first_loan_friendly"],
        "micro": columns["micro"],
        "small": columns["small"],
        "risk_compensation": columns["risk_compensation"],
        "fast_approval": fast,
        "specialised_innovative": columns["specialised_innovative"],
    }


def combine(parts: Mapping[str, np.ndarray], policy: WeightPolicy) -> np.ndarray:
    """The weight from ``scores``' output: the module docstring's formula."""
    log_weight = sum(getattr(policy, name) * np.log(parts[name]) for name in SCORES)
    for name in BONUSES:
        beta = policy.bonus(name)
        log_weight = log_weight + np.log1p(beta * parts[name]) - math.log1p(beta)
    return np.minimum(np.exp(log_weight), 1.0)


def _column(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def product_columns(products: Sequence[ProductTerms]) -> dict[str, np.ndarray]:
    """The products' figures the formula reads, one array each (NaN for an unknown approval_days)."""

    return {
        "appetite": _column([appetite(p) for p in products]),
        "amount_min": _column([p.amount_min for p in products]),
        "amount_max": _column([p.amount_max for p in products]),
        "term_min": _column([p.term_min_months for p in products]),
        "term_max": _column([p.term_max_months for p in products]),
        "rate_min": _column([p.rate_min for p in products]),
        "first_loan_friendly": _column([p.first_loan_friendly for p in products]),
        "risk_compensation": _column([p.risk_compensation_eligible for p in products]),
        "approval_days": _column([p.approval_days for p in products]),
    }


def applicant_columns(applicants: Sequence[Applicant]) -> dict[str, np.ndarray]:
    """The applicants' figures the formula reads, one array each (NaN for an unknown PD or max_rate)."""

    return {
        "pd": _column([a.pd for a in applicants]),
        "amount": _column([a.amount for a in applicants]),
        "term": _column([a.term_months for a in applicants]),
        "max_rate": _column([a.max_rate for a in applicants]),
        "first_time_borrower": _column([a.first_time_borrower for a in applicants]),
        "micro": _column([a.size_class == "micro" for a in applicants]),
        "small": _column([a.size_class == "small" for a in applicants]),
        "specialised_innovative": _column([a.specialised_innovative for a in applicants]),
    }


def edge_weights(
    products: Mapping[str, np.ndarray],
    applicants: Mapping[str, np.ndarray],
    edge_need: np.ndarray,
    edge_product: np.ndarray,
    policy: WeightPolicy,
) -> np.ndarray:
    """float64[E] weights for a round's edges, from ``product_columns`` and ``applicant_columns``.

    Edges go through in chunks: the formula's temporaries then stay small and their memory is reused, which
    is about three times faster than one pass over millions of edges."""
    edge_need, edge_product = np.asarray(edge_need), np.asarray(edge_product)
    weights = np.empty(len(edge_need), dtype=np.float64)
    for start in range(0, len(edge_need), _CHUNK):
        part = slice(start, start + _CHUNK)
        columns = {name: array[edge_product[part]] for name, array in products.items()}
        columns |= {name: array[edge_need[part]] for name, array in applicants.items()}
        weights[part] = combine(scores(columns, policy), policy)
    return weights


def _single(product: ProductTerms, applicant: Applicant, policy: WeightPolicy) -> dict[str, np.ndarray]:
    return scores(product_columns([product]) | applicant_columns([applicant]), policy)


def edge_weight(product: ProductTerms, applicant: Applicant, policy: WeightPolicy) -> float:
    return float(combine(_single(product, applicant, policy), policy)[0])


class _Edge(NamedTuple):
    """One edge with its scores (``scores``' output as floats) and the amount's and the term's positions in the
    product's ranges (``_position``), which the factor texts quote. A named tuple: a round builds one per
    proposal, and a frozen dataclass costs several times as much to create."""

    product: ProductTerms
    applicant: Applicant
    parts: Mapping[str, float]
    amount_at: float
    term_at: float


def _where(position: float) -> tuple[str, str]:
    if position < 1 / 3:
        return "下段", "lower part"
    if position > 2 / 3:
        return "上段", "upper part"
    return "中段", "middle"


def _approval_text(edge: _Edge) -> tuple[str, str]:
    product, pd = edge.product, edge.applicant.pd
    if pd is None:
        return "尚无信用评分，获批概率按五成估计", "no credit score yet: approval estimated at even odds"
    limit = appetite(product)
    source_zh, source_en = (
        ("本产品可接受", "this product's") if product.max_pd is not None else ("同类产品通常可接受", "the usual")
    )
    chance = fraction(edge.parts["approval"])
    return (
        f"估计获批概率 {chance}（违约概率 {fraction(pd)}，{source_zh}的为 {fraction(limit)}）",
        f"estimated approval chance {chance} (PD {fraction(pd)} against {source_en} {fraction(limit)})",
    )


def _amount_text(edge: _Edge) -> tuple[str, str]:
    product, amount = edge.product, edge.applicant.amount
    where_zh, where_en = _where(edge.amount_at)
    return (
        f"需求金额 {wan_zh(amount)}位于本产品额度（{wan_zh(product.amount_min)}至 "
        f"{wan_zh(product.amount_max)}）的{where_zh}",
        f"the amount {yuan_en(amount)} sits in the {where_en} of this product's range "
        f"({yuan_en(product.amount_min)} to {yuan_en(product.amount_max)})",
    )


def _term_text(edge: _Edge) -> tuple[str, str]:
    product, term = edge.product, edge.applicant.term_months
    where_zh, where_en = _where(edge.term_at)
    return (
        f"期限 {term} 个月位于本产品期限（{product.term_min_months}–{product.term_max_months} 个月）的{where_zh}",
        f"the term of {term} months sits in the {where_en} of this product's "
        f"{product.term_min_months} to {product.term_max_months} months",
    )


def _rate_text(edge: _Edge) -> tuple[str, str]:
    rate, ceiling = percent(edge.product.rate_min), edge.applicant.max_rate
    ceiling_zh = f"，可接受的最高利率 {percent(ceiling)}" if ceiling is not None else ""
    ceiling_en = f" (maximum accepted {percent(ceiling)})" if ceiling is not None else ""
    return f"本产品利率 {rate} 起{ceiling_zh}", f"this product's rate starts at {rate}{ceiling_en}"


def _fast_approval_text(edge: _Edge) -> tuple[str, str]:
    days = edge.product.approval_days
    return f"审批快：约 {days} 天", f"fast approval: about {days} days"


def _fixed(zh: str, en: str) -> Callable[[_Edge], tuple[str, str]]:
    return lambda _edge: (zh, en)


# zh/en text of each factor, quoting the pair's figures; written only for the factors that are shown.
_TEXTS: dict[str, Callable[[_Edge], tuple[str, str]]] = {
    "approval": _approval_text,
    "amount_fit": _amount_text,
    "term_fit": _term_text,
    "rate_fit": _rate_text,
    "first_time_borrower": _fixed("首贷户优先", "priority for first-time borrowers"),
    "first_loan_friendly": _fixed("本产品面向首贷户", "the product welcomes first-time borrowers"),
    "micro": _fixed("微型企业优先", "priority for micro enterprises"),
    "small": _fixed("小型企业优先", "priority for small enterprises"),
    "risk_compensation": _fixed("本产品可纳入风险补偿资金", "the product is covered by the risk-compensation fund"),
    "fast_approval": _fast_approval_text,
    "specialised_innovative": _fixed(
        "专精特新企业优先", "priority for specialised and innovative (专精特新) enterprises"
    ),
}


def _edges(
    products: Sequence[ProductTerms], applicants: Sequence[Applicant], policy: WeightPolicy
) -> tuple[list[_Edge], np.ndarray]:
    """Edge i being (products[i], applicants[i]), with scores from one vectorised pass over the edges (the same
    ``scores`` that ``edge_weights`` uses), and the float64[E, len(FACTORS)] contributions of each factor to
    log(weight) against a neutral pair: exponent · ln(score / NEUTRAL_SCORE) for a score, ln(1 + β·x) for a
    bonus, NaN for a bonus that does not apply (x = 0 or β = 0)."""
    columns = product_columns(products) | applicant_columns(applicants)
    parts = scores(columns, policy)
    contributions = np.empty((len(products), len(FACTORS)), dtype=np.float64)
    for k, name in enumerate(SCORES):
        contributions[:, k] = getattr(policy, name) * np.log(parts[name] / NEUTRAL_SCORE)
    for k, name in enumerate(BONUSES, start=len(SCORES)):
        beta, x = policy.bonus(name), parts[name]
        contributions[:, k] = np.where((x > 0) & (beta > 0), np.log1p(beta * x), np.nan)
    values = zip(*(parts[name].tolist() for name in FACTORS), strict=True)
    amount_at, term_at = _amount_position(columns).tolist(), _term_position(columns).tolist()
    edges = [
        _Edge(product, applicant, dict(zip(FACTORS, row, strict=True)), amount, term)
        for product, applicant, row, amount, term in zip(products, applicants, values, amount_at, term_at, strict=True)
    ]
    return edges, contributions


def _factor(edge: _Edge, policy: WeightPolicy, name: str, contribution: float) -> dict[str, Any]:
    weight = getattr(policy, name) if name in SCORES else policy.bonus(name)
    zh, en = _TEXTS[name](edge)
    return {"score": edge.parts[name], "weight": weight, "contribution": contribution, "zh": zh, "en": en}


def weight_factors(product: ProductTerms, applicant: Applicant, policy: WeightPolicy) -> dict[str, dict[str, Any]]:
    """Each factor of the edge's weight: its score (or bonus input x), its policy weight, its contribution to
    log(weight) against a neutral pair, and its zh/en text. Bonuses that do not apply are left out."""
    return edge_factors([product], [applicant], policy)[0]


def edge_factors(
    products: Sequence[ProductTerms],
    applicants: Sequence[Applicant],
    policy: WeightPolicy,
) -> list[dict[str, dict[str, Any]]]:
    """``weight_factors`` of many edges at once, edge i being (products[i], applicants[i])."""
    edges, contributions = _edges(products, applicants, policy)
    return [
        {
            name: _factor(edge, policy, name, contribution)
            for name, contribution in zip(FACTORS, row, strict=True)
            if not math.isnan(contribution)
        }
        for edge, row in zip(edges, contributions.tolist(), strict=True)
    ]


def top_factors(factors: Mapping[str, Mapping[str, Any]], top: int = 3) -> dict[str, list[dict[str, Any]]]:
    """The ``top`` largest positive and negative contributions, for "why this product"."""
    positive, negative = _top_names({name: factor["contribution"] for name, factor in factors.items()}, top)
    return {
        "positive": [{"factor": name, **factors[name]} for name in positive],
        "negative": [{"factor": name, **factors[name]} for name in negative],
    }


def _top_names(contributions: Mapping[str, float], top: int) -> tuple[list[str], list[str]]:
    """The names of the ``top`` largest positive contributions, largest first, and of the ``top`` most negative,
    most negative first (ties in the mapping's order, reversed for the negative ones)."""
    ranked = sorted(contributions.items(), key=lambda item: item[1], reverse=True)
    positive = [name for name, contribution in ranked if contribution > 0][:top]
    negative = [name for name, contribution in reversed(ranked) if contribution < 0][:top]
    return positive, negative


def edge_top_factors(
    products: Sequence[ProductTerms],
    applicants: Sequence[Applicant],
    policy: WeightPolicy,
    top: int = 3,
) -> list[dict[str, list[dict[str, Any]]]]:
    """``top_factors(weight_factors(product, applicant, policy), top)`` of many edges at once: what a round
    stores with each proposal. The factors are ranked for all edges at once (a stable sort, as ``_top_names``),
    and only the ones kept get their texts."""
    edges, contributions = _edges(products, applicants, policy)
    present = np.nan_to_num(contributions, nan=0.0)  # a bonus that does not apply is neither positive nor negative
    order = np.argsort(-present, axis=1, kind="stable")
    positives = np.minimum((present > 0).sum(axis=1), top).tolist()
    negatives = np.minimum((present < 0).sum(axis=1), top).tolist()
    explained = []
    for edge, ranked, row, positive, negative in zip(
        edges, order.tolist(), contributions.tolist(), positives, negatives, strict=True
    ):
        explained.append(
            {
                "positive": [_named_factor(edge, policy, FACTORS[k], row[k]) for k in ranked[:positive]],
                "negative": [_named_factor(edge, policy, FACTORS[k], row[k]) for k in ranked[::-1][:negative]],
            }
        )
    return explained


def _named_factor(edge: _Edge, policy: WeightPolicy, name: str, contribution: float) -> dict[str, Any]:
    return {"factor": name, **_factor(edge, policy, name, contribution)}
