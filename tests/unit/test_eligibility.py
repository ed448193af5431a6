"""Eligibility rules: each passes and fails at its boundary with a reason quoting the pair's figures; every
failure is reported; "what would make you eligible" ranks by how little must change; the vectorised
candidate edges agree with ``check`` on random rounds."""

import random
from dataclasses import fields, replace
from datetime import date, timedelta

import pytest

from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from matchmaker.candidates import candidate_edges
from matchmaker.eligibility import (
    RULE_INPUTS,
    RULES,
    Applicant,
    ProductTerms,
    RuleMemo,
    check,
    failed_rules,
    suggestions,
)
from products.models import Bank, LoanProduct

ON = date(2026, 6, 1)


def product(**changes) -> ProductTerms:
    base = ProductTerms(
        id=1,
        bank_id=7,
        bank_code="ICBC",
        bank_name="工商银行",
        type="credit_loan",
        amount_min=100_000,
        amount_max=3_000_000,
        term_min_months=6,
        term_max_months=36,
        rate_min=3.45,
        rate_max=6.0,
        quota=100_000_000,
    )
    return replace(base, **changes)


def applicant(**changes) -> Applicant:
    base = Applicant(
        need_id=11,
        enterprise_id=21,
        amount=1_000_000,
        term_months=12,
        industry="C39",
        region="某市甲县",
        size_class="small",
        founded_on=date(2020, 1, 1),
        fiscal_year=2025,
        annual_revenue=8_000_000,
        debt_ratio=0.5,
        pd=0.02,
    )
    return replace(base, **changes)


def result(rule: str, p: ProductTerms, a: Applicant):
    (found,) = [r for r in check(p, a, ON).results if r.rule == rule]
    return found


def test_rules_are_named_after_their_functions_and_all_run():
    names = [rule.__name__ for rule in RULES]
    outcome = check(product(), applicant(), ON)
    assert [r.rule for r in outcome.results] == names
    assert len(set(names)) == len(names)
    assert outcome.passed and all(r.passed and r.gap is None for r in outcome.results)


def test_amount_above_maximum_quotes_both_figures():
    r = result("amount_in_range", product(), applicant(amount=5_000_000))
    assert not r.passed
    assert "需求金额 500 万元高于本产品上限 300 万元" in r.zh
    assert "the amount 5,000,000 yuan is above this product's maximum 3,000,000 yuan" in r.en
    assert (r.gap.field, r.gap.current, r.gap.required, r.gap.controllable) == ("amount", 5_000_000, 3_000_000, True)
    assert "300 万元" in r.gap.zh and "reduce the amount to 3,000,000 yuan" in r.gap.en


@pytest.mark.parametrize(
    ("amount", "passed", "text"),
    [
        (3_000_000, True, "300 万元"),
        (3_000_001, False, "300.0001 万元"),
        (100_000, True, "10 万元"),
        (99_999, False, "9.9999 万元低于本产品下限 10 万元"),
    ],
)
def test_amount_boundaries(amount, passed, text):
    r = result("amount_in_range", product(), applicant(amount=amount))
    assert r.passed is passed
    assert text in r.zh


@pytest.mark.parametrize(
    ("term", "passed", "en"),
    [
        (36, True, "within this product's 6 to 36 months"),
        (37, False, "the term of 37 months is longer than this product's maximum of 36 months"),
        (6, True, "the term of 6 months"),
        (5, False, "the term of 5 months is shorter than this product's minimum of 6 months"),
    ],
)
def test_term_boundaries(term, passed, en):
    r = result("term_in_range", product(), applicant(term_months=term))
    assert r.passed is passed
    assert en in r.en
    if not passed:
        assert r.gap.controllable and r.gap.required in (6, 36)


def test_unsecured_product_accepts_anyone():
    for collateral in (("none",), ()):
        assert result("collateral_compatible", product(collateral=collateral), applicant()).passed


def test_collateral_must_share_a_kind_with_the_offer():
    secured = product(collateral=("real_estate", "land_use_right"))
    r = result("collateral_compatible", secured, applicant(collateral_offered=("receivables",)))
    assert not r.passed
    assert "不动产抵押" in r.zh and "应收账款质押" in r.zh
    assert "real estate, land-use right" in r.en and "offers: receivables" in r.en
    assert not r.gap.controllable and r.gap.size == 1.0
    assert result("collateral_compatible", secured, applicant(collateral_offered=("land_use_right",))).passed


def test_collateral_gap_is_controllable_when_the_profile_lists_an_accepted_kind():
    secured = product(collateral=("real_estate",))
    r = result("collateral_compatible", secured, applicant(collateral_available=("real_estate",)))
    assert not r.passed
    assert r.gap.controllable and r.gap.required == ["real_estate"]
    assert "offer real estate (listed in your profile)" in r.gap.en


def test_guarantee_available_satisfies_guarantee_kinds_only():
    guaranteed = product(collateral=("government_guarantee",))
    assert result("collateral_compatible", guaranteed, applicant(guarantee_available=True)).passed
    assert not result("collateral_compatible", guaranteed, applicant()).passed
    mortgage = product(collateral=("real_estate",))
    assert not result("collateral_compatible", mortgage, applicant(guarantee_available=True)).passed


def test_industry_prefix_match_and_exclusion_wins():
    assert result("industry_allowed", product(industries=("C",)), applicant(industry="C39")).passed
    assert result("industry_allowed", product(), applicant(industry="F51")).passed
    excluded = result("industry_allowed", product(industries=("C",), excluded_industries=("C39",)), applicant())
    assert not excluded.passed
    assert "C39" in excluded.zh and "excluded by this product (C39)" in excluded.en
    outside = result("industry_allowed", product(industries=("C", "I65")), applicant(industry="F51"))
    assert not outside.passed
    assert "F51" in outside.en and "C, I65" in outside.en and not outside.gap.controllable


@pytest.mark.parametrize(
    ("regions", "region", "passed"),
    [
        ((), "任意地区", True),
        (("某市甲县",), "某市甲县", True),
        (("某市",), "某市甲县", False),
        (("330000",), "330106", True),
        (("330100",), "330106", True),
        (("330106",), "330106", True),
        (("330106",), "330107", False),
        (("330100",), "330200", False),
        (("某市乙县", "330100"), "330102", True),
    ],
)
def test_region_by_name_or_division_code(regions, region, passed):
    r = result("region_allowed", product(regions=regions), applicant(region=region))
    assert r.passed is passed
    assert region in r.zh
    if not passed:
        assert regions[0] in r.en


def test_size_class():
    assert result("size_class_allowed", product(size_classes=("small", "micro")), applicant()).passed
    r = result("size_class_allowed", product(size_classes=("small", "micro")), applicant(size_class="medium"))
    assert not r.passed
    assert "中型" in r.zh and "小型、微型" in r.zh and "small, micro" in r.en


def test_years_in_business_reason_and_wait():
    founded = ON - timedelta(days=768)  # 2.10 years
    r = result("years_in_business", product(min_years_in_business=3), applicant(founded_on=founded))
    assert not r.passed
    assert "成立 2.1 年，本产品要求至少 3 年" in r.zh
    assert "in business 2.1 years; the product requires 3" in r.en
    assert r.gap.en == "wait 0.9 years" and not r.gap.controllable


def test_years_in_business_boundary():
    required = product(min_years_in_business=3)
    assert result("years_in_business", required, applicant(founded_on=ON - timedelta(days=1096))).passed
    just_short = result("years_in_business", required, applicant(founded_on=ON - timedelta(days=1095)))
    assert not just_short.passed and "成立 2.9 年" in just_short.zh
    assert result("years_in_business", product(), applicant(founded_on=ON)).passed


def test_revenue_boundary_and_missing_profile():
    required = product(min_annual_revenue=8_000_000)
    assert result("revenue_sufficient", required, applicant()).passed
    low = result("revenue_sufficient", required, applicant(annual_revenue=7_999_999))
    assert not low.passed
    assert "2025 年营业收入 799.9999 万元低于本产品要求的 800 万元" in low.zh
    assert "7,999,999 yuan" in low.en and not low.gap.controllable
    missing = result("revenue_sufficient", required, applicant(fiscal_year=None, annual_revenue=None, debt_ratio=None))
    assert not missing.passed
    assert "尚未填报财务资料" in missing.zh and "no financial profile" in missing.en
    assert missing.gap.controllable
    assert result("revenue_sufficient", product(), applicant(fiscal_year=None, annual_revenue=None)).passed


def test_debt_ratio_boundary_and_missing():
    limited = product(max_debt_ratio=0.7)
    assert result("debt_ratio_within_limit", limited, applicant(debt_ratio=0.7)).passed
    high = result("debt_ratio_within_limit", limited, applicant(debt_ratio=0.725))
    assert not high.passed and "资产负债率 72.5%高于本产品上限 70%" in high.zh
    no_profile = result("debt_ratio_within_limit", limited, applicant(fiscal_year=None, debt_ratio=None))
    assert not no_profile.passed and "no financial profile" in no_profile.en
    no_assets = result("debt_ratio_within_limit", limited, applicant(debt_ratio=None))
    assert not no_assets.passed and "total assets are zero" in no_assets.en


def test_pd_boundary_and_missing_score():
    limited = product(max_pd=0.03)
    assert result("pd_within_appetite", limited, applicant(pd=0.03)).passed
    high = result("pd_within_appetite", limited, applicant(pd=0.045))
    assert not high.passed and "4.5%" in high.zh and "3%" in high.en
    missing = result("pd_within_appetite", limited, applicant(pd=None))
    assert not missing.passed and "no credit score" in missing.en
    assert result("pd_within_appetite", product(), applicant(pd=None)).passed


def test_settlement_account_by_code_or_name():
    required = product(requires_settlement_account=True)
    assert result("settlement_account", required, applicant(settlement_banks=(" icbc ",))).passed
    assert result("settlement_account", required, applicant(settlement_banks=("工商银行",))).passed
    r = result("settlement_account", required, applicant(settlement_banks=("农业银行",)))
    assert not r.passed
    assert "本产品要求在工商银行开立结算账户，企业登记的结算银行为：农业银行" in r.zh
    assert r.gap.controllable and r.gap.required == "ICBC"
    assert result("settlement_account", product(), applicant()).passed


def test_max_rate_boundary():
    assert result("rate_acceptable", product(rate_min=4.2), applicant(max_rate=4.2)).passed
    r = result("rate_acceptable", product(rate_min=4.2), applicant(max_rate=4.19))
    assert not r.passed
    assert "可接受的最高利率 4.19%低于本产品最低利率 4.2%" in r.zh
    assert r.gap.en == "raise max_rate to 4.2%" and r.gap.controllable
    assert result("rate_acceptable", product(rate_min=9), applicant(max_rate=None)).passed


def test_quota_and_review_capacity():
    assert result("quota_available", product(quota=5_000_000, granted_total=4_999_999), applicant()).passed
    used = result("quota_available", product(quota=5_000_000, granted_total=5_000_000), applicant())
    assert not used.passed and "500 万元" in used.zh and used.gap is None
    closed = result("quota_available", product(review_capacity=0), applicant())
    assert not closed.passed and "review capacity 0" in closed.en


def test_product_status_and_validity_dates():
    assert result("product_available", product(valid_from=ON, valid_to=ON), applicant()).passed
    paused = result("product_available", product(status="paused"), applicant())
    assert not paused.passed and "暂停" in paused.zh and paused.gap is None
    ended = result("product_available", product(valid_to=ON - timedelta(days=1)), applicant())
    assert not ended.passed and "2026-05-31" in ended.en and ended.gap is None
    early = result("product_available", product(valid_from=ON + timedelta(days=10)), applicant())
    assert not early.passed and "2026-06-11" in early.zh
    assert early.gap.en.startswith("wait 10 days") and not early.gap.controllable


def test_a_pair_failing_several_rules_reports_all_of_them():
    p = product(industries=("F",), max_pd=0.01, requires_settlement_account=True)
    a = applicant(amount=5_000_000, term_months=60, pd=0.05)
    outcome = check(p, a, ON)
    assert not outcome.passed
    assert len(outcome.results) == len(RULES)
    assert {r.rule for r in outcome.failed} == {
        "amount_in_range",
        "term_in_range",
        "industry_allowed",
        "pd_within_appetite",
        "settlement_account",
    }
    assert [r.rule for r in failed_rules(p, a, ON)] == [r.rule for r in outcome.failed]


def test_suggestions_rank_by_how_little_must_change():
    a = applicant(amount=3_500_000, founded_on=ON - timedelta(days=800))
    only_amount = product(id=1)
    only_years = product(id=2, amount_max=5_000_000, min_years_in_business=3)
    two_rules = product(id=3, min_years_in_business=3)
    paused = product(id=4, status="paused")
    eligible = product(id=5, amount_max=5_000_000)
    bigger_cut = product(id=6, amount_max=2_000_000)
    ranked = suggestions([two_rules, only_years, paused, eligible, bigger_cut, only_amount], a, ON, top=5)
    assert [s.product_id for s in ranked] == [1, 6, 2, 3]
    first = ranked[0]
    assert first.controllable and [r.rule for r in first.failed] == ["amount_in_range"]
    assert first.failed[0].gap.required == 3_000_000
    assert not ranked[2].controllable
    assert [s.product_id for s in suggestions([two_rules, only_years, only_amount], a, ON, top=2)] == [1, 2]
    assert first.as_dict()["failed"][0]["gap"]["field"] == "amount"


def test_built_from_orm_rows_without_a_database():
    bank = Bank(id=3, code="ABC", name="农业银行")
    row = LoanProduct(
        id=9, code="P1", bank_id=3, bank=bank, name="首贷", type="credit_loan", amount_min=1, amount_max=2,
        term_min_months=1, term_max_months=12, rate_min=3.1, rate_max=4.0, collateral=["none"], quota=10,
        granted_total=0, review_capacity=5, industries=["C"], excluded_industries=[], regions=[], size_classes=[],
        requires_settlement_account=True, first_loan_friendly=True, approval_days=3, status="active",
        risk_compensation_eligible=False, max_pd=0.04,
    )  # fmt: skip
    terms = ProductTerms.from_product(row)
    assert (terms.bank_code, terms.bank_name, terms.industries, terms.max_pd) == ("ABC", "农业银行", ("C",), 0.04)
    enterprise = Enterprise(
        id=4, industry="C39", region="某市甲县", size_class="micro", founded_on=date(2021, 3, 1),
        first_time_borrower=True, specialised_innovative=True, settlement_banks=["ABC"],
    )  # fmt: skip
    profile = FinancialProfile(
        fiscal_year=2025, annual_revenue=2_000_000, total_assets=1_000_000, total_liabilities=600_000,
        collateral_available=["real_estate"],
    )  # fmt: skip
    need = FinancingNeed(id=8, amount=1_500_000, term_months=12, collateral_offered=[], max_rate=5.0)
    a = Applicant.from_rows(enterprise, profile, need, 0.012)
    assert (a.need_id, a.enterprise_id, a.debt_ratio, a.pd, a.fiscal_year) == (8, 4, 0.6, 0.012, 2025)
    assert a.collateral_available == ("real_estate",) and a.settlement_banks == ("ABC",)
    bare = Applicant.from_rows(enterprise, None, need, None)
    assert (bare.fiscal_year, bare.annual_revenue, bare.debt_ratio, bare.collateral_available) == (None, None, None, ())


def _random_round(rng: random.Random, needs: int, products: int) -> tuple[list[ProductTerms], list[Applicant]]:
    """Criteria and figures drawn from small sets so that every rule both passes and fails somewhere."""
    kinds = ("real_estate", "receivables", "ip_pledge", "third_party_guarantee", "government_guarantee")
    regions = ("某市甲县", "某市乙县", "330106", "330205", "330100")
    offer = []
    for j in range(products):
        low = rng.choice((100_000, 500_000, 1_000_000))
        offer.append(
            product(
                id=j,
                bank_id=j % 4,
                bank_code=f"B{j % 4}",
                bank_name=f"银行{j % 4}",
                type=rng.choice(("credit_loan", "mortgage_loan")),
                amount_min=low,
                amount_max=low * rng.choice((2, 10, 20)),
                term_min_months=rng.choice((1, 6, 12)),
                term_max_months=rng.choice((12, 24, 36)),
                rate_min=rng.choice((3.0, 3.45, 4.2)),
                quota=10_000_000,
                granted_total=rng.choice((0,) * 9 + (10_000_000,)),
                review_capacity=rng.choice((0,) + (50,) * 9),
                collateral=rng.choice((("none",), ("none",), (), tuple(rng.sample(kinds, 2)))),
                min_years_in_business=rng.choice((None, None, 1.0, 3.0, 4.0)),
                min_annual_revenue=rng.choice((None, None, 0, 2_000_000)),
                max_debt_ratio=rng.choice((None, None, 0.6)),
                max_pd=rng.choice((None, None, 0.03)),
                industries=rng.choice(((), (), ("C",), ("C39", "F"))),
                excluded_industries=rng.choice(((), (), (), ("C13",))),
                regions=rng.choice(((), (), (), ("某市甲县",), ("330000",), ("330100", "某市乙县"))),
                size_classes=rng.choice(((), (), ("small", "micro"))),
                requires_settlement_account=rng.random() < 0.2,
                status=rng.choice(("active",) * 9 + ("paused",)),
                valid_from=rng.choice((None,) * 5 + (ON - timedelta(days=30), ON, ON + timedelta(days=1))),
                valid_to=rng.choice((None,) * 5 + (ON, ON - timedelta(days=1), ON + timedelta(days=300))),
            )
        )
    seekers = []
    for i in range(needs):
        has_profile = rng.random() < 0.85
        seekers.append(
            applicant(
                need_id=i,
                amount=rng.choice((99_999, 100_000, 999_999, 2_000_000, 12_000_000) + (1_000_000,) * 5),
                term_months=rng.choice((1, 6, 36, 48) + (12,) * 6),
                industry=rng.choice(("C13", "C39", "F51", "I65")),
                region=rng.choice(regions),
                size_class=rng.choice(("micro", "small", "medium")),
                founded_on=ON
                - timedelta(days=rng.choice((100, 365, 366, 1095, 1096, 1461, 3000))),  # 1461 days: 4.0 years
                collateral_offered=tuple(rng.sample(kinds, rng.choice((0, 1, 2)))),
                guarantee_available=rng.random() < 0.2,
                max_rate=rng.choice((None, None, None, 3.0, 3.45, 4.0, 5.0)),
                settlement_banks=tuple(rng.sample(("B0", "b1 ", "银行2", "其他银行"), rng.choice((0, 1, 2)))),
                fiscal_year=2025 if has_profile else None,
                annual_revenue=rng.choice((1_999_999, 2_000_000, 9_000_000)) if has_profile else None,
                debt_ratio=rng.choice((None, 0.3, 0.6, 0.61)) if has_profile else None,
                pd=rng.choice((None, 0.01, 0.03, 0.031)) if has_profile else None,
            )
        )
    return offer, seekers


def test_candidate_edges_agree_with_check_on_random_rounds():
    rng = random.Random(20260601)
    failing: set[str] = set()
    for _ in range(4):
        offer, seekers = _random_round(rng, needs=100, products=50)
        edge_need, edge_product = candidate_edges(offer, seekers, ON)
        vectorised = set(zip(edge_need.tolist(), edge_product.tolist(), strict=True))
        expected = set()
        for i, a in enumerate(seekers):
            for j, p in enumerate(offer):
                outcome = check(p, a, ON)
                if outcome.passed:
                    expected.add((i, j))
                failing.update(r.rule for r in outcome.failed)
        assert vectorised == expected
        assert len(vectorised) == len(edge_need)
        assert list(zip(edge_need, edge_product, strict=True)) == sorted(vectorised)
        assert 50 < len(expected) < 100 * 50
    assert failing == {rule.__name__ for rule in RULES}


def test_candidate_edges_of_an_empty_round():
    for offer, seekers in (([], [applicant()]), ([product()], [])):
        edge_need, edge_product = candidate_edges(offer, seekers, ON)
        assert edge_need.size == edge_product.size == 0


class _RecordingApplicant(Applicant):
    """An applicant that notes in _READS every field a rule reads."""

    def __getattribute__(self, name: str):
        if name in _APPLICANT_FIELDS:
            _READS.add(name)
        return super().__getattribute__(name)


_APPLICANT_FIELDS = {item.name for item in fields(Applicant)}
_READS: set[str] = set()


def test_rules_read_only_the_applicant_fields_rule_inputs_names():
    rng = random.Random(7)
    read_somewhere: set[str] = set()
    for _ in range(3):
        offer, seekers = _random_round(rng, needs=60, products=40)
        recording = [_RecordingApplicant(**{name: getattr(a, name) for name in _APPLICANT_FIELDS}) for a in seekers]
        for p in offer:
            for a in recording:
                for rule in RULES:
                    _READS.clear()
                    rule(p, a, ON)
                    assert set(RULE_INPUTS[rule.__name__](p)) >= _READS, rule.__name__
                    read_somewhere |= _READS
    assert set(RULE_INPUTS) == {rule.__name__ for rule in RULES}
    assert "pd" in read_somewhere and "collateral_available" in read_somewhere  # the recording works


def test_rule_memo_gives_what_check_gives_and_computes_each_result_once():
    rng = random.Random(11)
    offer, seekers = _random_round(rng, needs=80, products=40)
    computed: list[str] = []
    memo = RuleMemo(ON, render=lambda result: computed.append(result.rule) or result)
    for _ in range(2):  # the second pass is all look-ups
        for p in offer:
            for a in seekers:
                assert memo.results(p, a) == check(p, a, ON).results
    pairs = len(offer) * len(seekers)
    assert len(computed) < pairs * len(RULES) / 2
    for name in ("product_available", "quota_available"):  # they read no applicant field: once per product
        assert computed.count(name) == len(offer)
