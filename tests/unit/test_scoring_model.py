"""The platform model on synthetic data: calibration, monotonicity, scores, reasons, what would change."""

from collections.abc import Iterator

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from scoring import metrics, scorecard, training
from scoring.features import MONOTONE_SPEC, feature_columns
from scoring.model import TrainedModel
from scoring.synthetic import LoanBook, generate


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    book = generate(6_000, seed=1)
    columns = {**feature_columns(book.applicants), "default_12m": book.default_12m}
    with threadpool_limits(limits=1, user_api="openmp"):
        return training.train(columns, "default_12m", 1, training.Spec(monotone=MONOTONE_SPEC))


@pytest.fixture(scope="module")
def held_out() -> LoanBook:
    return generate(20_000, seed=2)


def test_pd_is_calibrated_on_held_out_data_with_a_known_pd(model: TrainedModel, held_out: LoanBook) -> None:
    pd = model.predict_pd(feature_columns(held_out.applicants))
    result = metrics.evaluate(held_out.default_12m, pd)
    assert 0.8 <= result["calibration_slope"] <= 1.2
    assert result["auc"] > 0.68
    assert abs(pd.mean() - held_out.default_12m.mean()) < 0.01
    for row in metrics.decile_table(held_out.default_12m, pd):
        assert abs(row["mean_pd"] - row["observed"]) < 0.025, row
    assert np.corrcoef(metrics.logit(pd), metrics.logit(held_out.true_pd))[0, 1] > 0.6


def test_pd_never_moves_against_the_declared_direction(model: TrainedModel, held_out: LoanBook) -> None:
    x = model.matrix(feature_columns(held_out.applicants))
    rows = x[np.random.default_rng(0).choice(len(x), 300, replace=False)]
    for j, name in enumerate(model.columns):
        direction = model.monotone[name]
        if not direction:
            continue
        known = x[:, j][~np.isnan(x[:, j])]
        grid = np.unique(
            np.concatenate([np.quantile(known, np.linspace(0, 1, 25)), [known.min() - 1, known.max() + 1]])
        )
        swept = np.repeat(rows, len(grid), axis=0)
        swept[:, j] = np.tile(grid, len(rows))
        pd = model.pd_from_matrix(swept).reshape(len(rows), len(grid))
        assert (direction * np.diff(pd, axis=1) >= -1e-12).all(), name


def test_score_and_grade_follow_the_stated_scale() -> None:
    assert scorecard.score_from_pd(1 / 51) == 600  # odds 50:1
    assert scorecard.score_from_pd(1 / 101) == 620  # odds doubled
    assert scorecard.score_from_pd(0.9999999) == 300 and scorecard.score_from_pd(1e-9) == 900
    grades = scorecard.grade_from_pd(np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.5]))
    assert grades.tolist() == ["A", "B", "B", "C", "D", "E"]


def _sound_applicant(held_out: LoanBook) -> dict:
    return {
        **held_out.rows()[0],
        "total_assets": 10_000_000,
        "total_liabilities": 3_000_000,
        "overdue_events_24m": 0,
        "annual_revenue": 12_000_000,
        "outstanding_loans": 1_000_000,
    }


def test_every_assessment_has_reasons_and_they_follow_the_driving_feature(
    model: TrainedModel, held_out: LoanBook
) -> None:
    sound = _sound_applicant(held_out)
    before = scorecard.assess(model, sound)
    assert before.reasons and "debt_ratio" not in [r.feature for r in before.reasons]
    indebted = scorecard.assess(model, {**sound, "total_liabilities": 9_500_000})
    assert indebted.pd > before.pd and indebted.score < before.score
    debt = next(r for r in indebted.reasons if r.feature == "debt_ratio")
    assert debt.zh == "资产负债率 95% 偏高" and debt.en == "debt ratio 95% is high" and debt.points > 0
    overdue = scorecard.assess(model, {**sound, "overdue_events_24m": 3})
    assert [r for r in overdue.reasons if r.en == "3 overdue events in 24 months" and r.zh == "近24个月逾期 3 次"]


def test_missing_values_get_their_own_reason_text(model: TrainedModel, held_out: LoanBook) -> None:
    x = model.matrix(feature_columns(held_out.applicants))
    _, effects = scorecard.explain(model, x[:2000])
    tax = model.columns.index("tax_to_revenue")
    missing = np.isnan(x[:2000, tax])
    assert effects[missing, tax].mean() > effects[~missing, tax].mean()
    assert scorecard.reason_text("tax_to_revenue", float("nan")) == (
        "纳税/营业收入未提供",
        "taxes paid to revenue not provided",
    )


def test_what_would_change_finds_a_change_that_brings_pd_under_the_threshold(
    model: TrainedModel, held_out: LoanBook
) -> None:
    applicant = {
        **_sound_applicant(held_out),
        "audited": False,
        "guarantee_available": False,
        "collateral_available": [],
    }
    current = scorecard.assess(model, applicant).pd
    threshold = current * 0.85
    change = scorecard.what_would_change(model, applicant, threshold)
    assert change is not None and change.actions and change.pd < threshold
    improved = dict(applicant)
    for action in change.actions:
        action.apply(improved)
    assert scorecard.assess(model, improved).pd == pytest.approx(change.pd)
    assert scorecard.what_would_change(model, applicant, current * 2).actions == []
    assert scorecard.what_would_change(model, applicant, 1e-6) is None


def test_batch_scores_match_single_assessments(model: TrainedModel, held_out: LoanBook) -> None:
    rows = held_out.rows()[:5]
    batch = scorecard.assess_batch(model, {name: [row.get(name) for row in rows] for name in held_out.applicants})
    for i, row in enumerate(rows):
        single = scorecard.assess(model, row)
        assert (single.pd, single.score, single.grade) == (
            pytest.approx(batch["pd"][i]),
            batch["score"][i],
            batch["grade"][i],
        )


def test_lookup_tables_reproduce_the_booster_exactly(model: TrainedModel, held_out: LoanBook) -> None:
    x = model.matrix(feature_columns(held_out.applicants))[:5000]
    x[::3, 0] = np.nan
    x[::5, model.columns.index("industry")] = float(len(model.levels["industry"]))  # the "other" code
    assert np.allclose(model.tables.decision_function(x), model.booster.decision_function(x), atol=1e-9)
