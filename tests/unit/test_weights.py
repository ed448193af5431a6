"""The edge weight: in (0, 1], monotone where it must be, the same vectorised as scalar, explained factor by
factor, and set by a validated operator policy."""

import math
import random
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from matchmaker.eligibility import Applicant, ProductTerms
from matchmaker.weights import (
    BONUSES,
    NEUTRAL_SCORE,
    SCORES,
    PolicyError,
    WeightPolicy,
    applicant_columns,
    edge_top_factors,
    edge_weight,
    edge_weights,
    product_columns,
    top_factors,
    weight_factors,
)

POLICY = WeightPolicy()


def product(**changes) -> ProductTerms:
    base = ProductTerms(
        id=1,
        bank_id=1,
        bank_code="ICBC",
        type="credit_loan",
        amount_min=100_000,
        amount_max=10_000_000,
        term_min_months=6,
        term_max_months=36,
        rate_min=3.45,
        rate_max=6.0,
        quota=100_000_000,
        max_pd=0.03,
        approval_days=15,
    )
    return replace(base, **changes)


def applicant(**changes) -> Applicant:
    base = Applicant(
        need_id=1,
        enterprise_id=1,
        amount=1_000_000,
        term_months=21,
        industry="C39",
        region="某市甲县",
        size_class="medium",
        founded_on=date(2018, 1, 1),
        first_time_borrower=False,
        pd=0.01,
        max_rate=5.0,
    )
    return replace(base, **changes)


def _random_pairs(seed: int, count: int) -> tuple[list[ProductTerms], list[Applicant]]:
    rng = random.Random(seed)
    products, applicants = [], []
    for index in range(count):
        low = rng.choice((50_000, 100_000, 1_000_000))
        products.append(
            product(
                id=index,
                type=rng.choice(("credit_loan", "mortgage_loan", "e_loan", "unknown_type")),
                amount_min=low,
                amount_max=low * rng.choice((1, 3, 100)),
                term_min_months=rng.choice((1, 12)),
                term_max_months=rng.choice((12, 60)),
                rate_min=rng.choice((0.0, 2.5, 3.45, 8.0, 20.0)),
                max_pd=rng.choice((None, 0.001, 0.03, 0.2)),
                approval_days=rng.choice((None, 0, 3, 30, 90)),
                first_loan_friendly=rng.random() < 0.5,
                risk_compensation_eligible=rng.random() < 0.5,
            )
        )
        applicants.append(
            applicant(
                need_id=index,
                amount=low * rng.choice((1, 2, 3, 100, 500)),
                term_months=rng.choice((1, 12, 24, 60)),
                pd=rng.choice((None, 0.0, 1e-9, 0.01, 0.2, 0.999, 1.0)),
                max_rate=rng.choice((None, 0.0, 3.0, 24.0)),
                size_class=rng.choice(("micro", "small", "medium", "large")),
                first_time_borrower=rng.random() < 0.5,
                specialised_innovative=rng.random() < 0.5,
            )
        )
    return products, applicants


def test_weights_are_in_the_unit_interval_even_at_extremes():
    products, applicants = _random_pairs(1, 500)
    heavy = WeightPolicy(approval=10, amount_fit=10, term_fit=10, rate_fit=10, bonus_micro=10)
    for policy in (POLICY, heavy):
        for p, a in zip(products, applicants, strict=True):
            weight = edge_weight(p, a, policy)
            assert 0 < weight <= 1, (p, a, weight)


def test_the_best_pair_with_every_priority_weighs_about_one():
    best_product = product(amount_min=1_000_000, amount_max=1_000_000, term_min_months=12, term_max_months=12)
    best = replace(best_product, rate_min=0.0, approval_days=0, first_loan_friendly=True)
    best = replace(best, risk_compensation_eligible=True)
    micro = applicant(term_months=12, pd=0.0, size_class="micro", first_time_borrower=True)
    micro = replace(micro, specialised_innovative=True)
    small_bonus_free = WeightPolicy(bonus_small=0)  # an enterprise is micro or small, never both
    assert edge_weight(best, micro, small_bonus_free) == pytest.approx(1.0, abs=1e-5)


def test_lower_pd_never_lowers_the_weight():
    for p in (product(), product(max_pd=None, type="mortgage_loan"), product(max_pd=0.2)):
        weights = [edge_weight(p, applicant(pd=pd), POLICY) for pd in np.linspace(0.0, 1.0, 201)]
        assert np.all(np.diff(weights) <= 0)
        assert weights[0] > weights[-1]


def test_unknown_pd_counts_as_even_odds_at_the_products_appetite():
    p = product(max_pd=0.04)
    assert edge_weight(p, applicant(pd=None), POLICY) == pytest.approx(edge_weight(p, applicant(pd=0.04), POLICY))
    parts = weight_factors(p, applicant(pd=None), POLICY)
    assert parts["approval"]["score"] == pytest.approx(0.5)
    assert "even odds" in parts["approval"]["en"]


def test_a_laxer_risk_appetite_raises_the_weight():
    a = applicant(pd=0.02)
    assert edge_weight(product(max_pd=0.05), a, POLICY) > edge_weight(product(max_pd=0.02), a, POLICY)


FIRST_TIME = {"applicant": {"first_time_borrower": True}}
BONUS_CASES = {
    "first_time_borrower": ({}, FIRST_TIME),
    "first_loan_friendly": (FIRST_TIME, {**FIRST_TIME, "product": {"first_loan_friendly": True}}),
    "micro": ({}, {"applicant": {"size_class": "micro"}}),
    "small": ({}, {"applicant": {"size_class": "small"}}),
    "risk_compensation": ({}, {"product": {"risk_compensation_eligible": True}}),
    "fast_approval_known": ({"product": {"approval_days": None}}, {"product": {"approval_days": 3}}),
    "fast_approval_faster": ({"product": {"approval_days": 20}}, {"product": {"approval_days": 3}}),
    "specialised_innovative": ({}, {"applicant": {"specialised_innovative": True}}),
}


@pytest.mark.parametrize(("without", "with_bonus"), BONUS_CASES.values(), ids=BONUS_CASES.keys())
def test_each_policy_bonus_raises_the_weight(without, with_bonus):
    def pair(changes):
        return product(**changes.get("product", {})), applicant(**changes.get("applicant", {}))

    assert edge_weight(*pair(with_bonus), POLICY) > edge_weight(*pair(without), POLICY)
    no_bonuses = WeightPolicy(**{f"bonus_{name}": 0 for name in BONUSES})
    assert edge_weight(*pair(with_bonus), no_bonuses) == pytest.approx(edge_weight(*pair(without), no_bonuses))


def test_micro_enterprises_come_before_small_ones_by_default():
    p = product()
    assert edge_weight(p, applicant(size_class="micro"), POLICY) > edge_weight(p, applicant(size_class="small"), POLICY)


def test_a_cheaper_product_weighs_more_for_the_sme():
    a = applicant()
    assert edge_weight(product(rate_min=3.0), a, POLICY) > edge_weight(product(rate_min=4.5), a, POLICY)
    assert edge_weight(product(), applicant(max_rate=None), POLICY) > 0


def test_amount_fit_is_best_at_the_log_centre_of_the_range():
    p = product(amount_min=100_000, amount_max=10_000_000)
    centre, low_end, top_end = (edge_weight(p, applicant(amount=x), POLICY) for x in (1_000_000, 100_000, 10_000_000))
    assert centre > low_end and centre > top_end
    assert low_end == pytest.approx(top_end)
    assert weight_factors(p, applicant(amount=1_000_000), POLICY)["amount_fit"]["score"] == pytest.approx(1.0)


def test_vectorised_weights_equal_the_scalar_ones():
    products, applicants = _random_pairs(7, 300)
    rng = np.random.default_rng(7)
    edge_need = rng.integers(0, len(applicants), 70_000)  # more than one chunk
    edge_product = rng.integers(0, len(products), 70_000)
    policy = WeightPolicy(bonus_fast_approval=0.5, approval_slope=2.0)
    vectorised = edge_weights(product_columns(products), applicant_columns(applicants), edge_need, edge_product, policy)
    sample = np.concatenate([np.arange(1000), rng.integers(1000, 70_000, 1000), [69_999]])
    scalar = [edge_weight(products[edge_product[e]], applicants[edge_need[e]], policy) for e in sample]
    np.testing.assert_allclose(vectorised[sample], scalar, rtol=1e-12, atol=0)
    assert vectorised.shape == (70_000,) and vectorised.dtype == np.float64
    assert np.all((vectorised > 0) & (vectorised <= 1))


def test_factor_contributions_add_up_to_the_log_weight():
    products, applicants = _random_pairs(11, 50)
    offset = sum(getattr(POLICY, name) * math.log(NEUTRAL_SCORE) for name in SCORES)
    offset -= sum(math.log1p(POLICY.bonus(name)) for name in BONUSES)
    for p, a in zip(products, applicants, strict=True):
        factors = weight_factors(p, a, POLICY)
        total = sum(factor["contribution"] for factor in factors.values())
        assert math.log(edge_weight(p, a, POLICY)) == pytest.approx(total + offset, abs=1e-9)


def test_top_factors_name_the_pairs_figures():
    p = product(max_pd=0.03, rate_min=3.45)
    risky = applicant(pd=0.06, first_time_borrower=True, amount=9_000_000)
    explained = top_factors(weight_factors(p, risky, POLICY), top=2)
    negative = {item["factor"]: item for item in explained["negative"]}
    assert "approval" in negative
    assert "违约概率 6%" in negative["approval"]["zh"] and "against this product's 3%" in negative["approval"]["en"]
    positive = [item["factor"] for item in explained["positive"]]
    assert "first_time_borrower" in positive
    assert all(item["contribution"] > 0 for item in explained["positive"])
    assert len(explained["positive"]) <= 2 and len(explained["negative"]) <= 2
    factors = weight_factors(p, risky, POLICY)
    assert "900 万元" in factors["amount_fit"]["zh"] and "upper part" in factors["amount_fit"]["en"]
    assert "3.45%" in factors["rate_fit"]["zh"] and "5%" in factors["rate_fit"]["en"]
    assert "micro" not in factors and "fast_approval" in factors


def test_edge_top_factors_are_top_factors_of_each_pair_ties_included():
    """What a round stores: the batch ranks the factors of all edges at once, and must keep what top_factors
    keeps, in the same order, also when contributions tie (equal bonuses, zero exponents)."""
    products, applicants = _random_pairs(12, 400)
    tied = WeightPolicy(
        bonus_first_time_borrower=0.2, bonus_micro=0.2, bonus_small=0.2, bonus_specialised_innovative=0.2, term_fit=0
    )
    for policy in (POLICY, tied):
        for top in (1, 3, 11):
            batched = edge_top_factors(products, applicants, policy, top=top)
            assert batched == [
                top_factors(weight_factors(p, a, policy), top) for p, a in zip(products, applicants, strict=True)
            ]
    assert edge_top_factors([], [], POLICY) == []


def test_default_appetite_by_product_type_is_named_as_such():
    factors = weight_factors(product(max_pd=None, type="mortgage_loan"), applicant(pd=0.02), POLICY)
    assert "the usual 6%" in factors["approval"]["en"]


def test_policy_from_dict_and_validation():
    policy = WeightPolicy.from_dict({"bonus_first_time_borrower": 0.8, "rate_fit": 0})
    assert policy.bonus_first_time_borrower == 0.8 and policy.rate_fit == 0 and policy.approval == 1.0
    assert WeightPolicy.from_dict(policy.as_dict()) == policy
    bad_inputs = [
        ({"bonus_micro": -0.1}, "bonus_micro"),
        ({"approval": -1}, "approval"),
        ({"rate_fit": 11}, "rate_fit"),
        ({"approval_slope": 0}, "approval_slope"),
        ({"reference_rate": -3}, "reference_rate"),
        ({"amount_fit": "high"}, "amount_fit"),
        ({"term_fit": True}, "term_fit"),
        ({"term_fit": float("nan")}, "term_fit"),
        ({"bonus_everyone": 1}, "bonus_everyone"),
    ]
    for data, key in bad_inputs:
        with pytest.raises(PolicyError) as raised:
            WeightPolicy.from_dict(data)
        assert key in raised.value.errors and key in str(raised.value)


def test_a_zero_weight_switches_a_part_off():
    off = WeightPolicy(rate_fit=0)
    a = applicant()
    assert edge_weight(product(rate_min=1.0), a, off) == pytest.approx(edge_weight(product(rate_min=4.9), a, off))
