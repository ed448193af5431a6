"""Features from applicant records, and the synthetic loan book."""

import math
import warnings

import numpy as np
import pytest

from scoring.features import FEATURE_NAMES, MONOTONE_SPEC, applicant_features, columns_from_records, feature_columns
from scoring.synthetic import generate

APPLICANT = {
    "annual_revenue": 10_000_000,
    "net_profit": 500_000,
    "total_assets": 8_000_000,
    "total_liabilities": 6_560_000,
    "taxes_paid": 300_000,
    "monthly_settlement_flow": 600_000,
    "outstanding_loans": 2_000_000,
    "overdue_events_24m": 2,
    "patents": 3,
    "trademarks": 1,
    "receivables": 1_500_000,
    "collateral_available": ["land_use_right", "ip_pledge"],
    "social_insurance_headcount": 40,
    "audited": True,
    "years_in_business": 6,
    "employees": 50,
    "first_time_borrower": False,
    "previous_annual_revenue": 8_000_000,
    "industry": "C39",
    "guarantee_available": False,
}


def test_features_of_a_complete_profile() -> None:
    f = applicant_features(APPLICANT)
    assert f["debt_ratio"] == pytest.approx(0.82)
    assert f["loans_to_revenue"] == pytest.approx(0.2)
    assert f["profit_margin"] == pytest.approx(0.05)
    assert f["tax_to_revenue"] == pytest.approx(0.03)
    assert f["flow_to_revenue"] == pytest.approx(0.72)
    assert f["revenue_growth"] == pytest.approx(0.25)
    assert f["log_revenue"] == pytest.approx(math.log10(10_000_001))
    assert f["insured_share"] == pytest.approx(0.8)
    assert f["ip_count"] == 4
    assert (f["real_estate_collateral"], f["ip_pledge"], f["guarantor_available"]) == (1.0, 1.0, 0.0)
    assert (f["audited"], f["first_time_borrower"], f["industry"]) == (1.0, 0.0, "C")
    assert set(f) == set(FEATURE_NAMES)


def test_missing_values_stay_missing_and_zero_revenue_divides_safely() -> None:
    record = {"annual_revenue": 0, "net_profit": 10, "total_assets": 0, "total_liabilities": 5, "patents": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = applicant_features(record)
    for name in ("debt_ratio", "profit_margin", "loans_to_revenue", "revenue_growth", "insured_share", "audited"):
        assert math.isnan(f[name]), name
    assert f["log_revenue"] == 0.0
    assert f["ip_count"] == 2  # trademarks unknown, patents known
    assert math.isnan(f["real_estate_collateral"])  # no collateral list at all
    assert f["industry"] is None


def test_empty_collateral_list_means_none_and_the_need_can_bring_a_guarantor() -> None:
    f = applicant_features({"collateral_available": [], "guarantee_available": True, "industry": "zz"})
    assert (f["real_estate_collateral"], f["ip_pledge"], f["guarantor_available"]) == (0.0, 0.0, 1.0)
    assert f["industry"] is None
    listed = applicant_features({"collateral_available": ["government_guarantee"]})
    assert listed["guarantor_available"] == 1.0


def test_batch_features_equal_single_ones_and_ratios_are_clipped() -> None:
    other = {**APPLICANT, "total_liabilities": 80_000_000, "net_profit": None, "industry": None}
    batch = feature_columns(columns_from_records([APPLICANT, other]))
    assert batch["debt_ratio"][1] == 3.0
    for row, record in enumerate([APPLICANT, other]):
        single = applicant_features(record)
        for name in FEATURE_NAMES:
            expected, got = single[name], batch[name][row]
            assert expected == got or (isinstance(got, float) and math.isnan(got) and math.isnan(expected)), name


def test_every_feature_but_the_categories_has_a_declared_direction() -> None:
    assert set(MONOTONE_SPEC) == set(FEATURE_NAMES) - {"industry"}
    assert MONOTONE_SPEC["debt_ratio"] == 1 and MONOTONE_SPEC["overdue_events_24m"] == 1
    assert MONOTONE_SPEC["log_revenue"] == -1 and MONOTONE_SPEC["guarantor_available"] == -1


def test_synthetic_book_is_seeded_marked_and_has_a_plausible_base_rate() -> None:
    book = generate(20_000, seed=11)
    assert 0.05 <= book.default_12m.mean() <= 0.08
    assert abs(book.true_pd.mean() - book.default_12m.mean()) < 0.01
    again = generate(2_000, seed=3)
    assert np.array_equal(again.default_12m, generate(2_000, seed=3).default_12m)
    assert "SYNTHETIC" in book.note
    row = again.rows()[0]
    assert row["synthetic"] is True and {"default_12m", "true_pd", "annual_revenue"} <= set(row)
