"""Population stability and approval-rate ratios (scoring.monitoring), and the reference.json that training writes."""

import json
from pathlib import Path

import numpy as np
import pytest

from scoring import monitoring, training
from scoring.monitoring import (
    approval_ratios,
    categorical_bins,
    numeric_bins,
    psi,
    reference_distribution,
    stability_flag,
    stability_report,
)


def _normal(n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, n)


def test_psi_of_a_sample_against_its_own_reference_is_zero() -> None:
    sample = _normal(5_000, seed=1)
    reference = numeric_bins(sample)
    assert len(reference["edges"]) == 9 and len(reference["shares"]) == 10
    assert sum(reference["shares"]) + reference["missing"] == pytest.approx(1.0)
    assert psi(reference, sample) == pytest.approx(0.0, abs=1e-12)
    assert psi(reference, _normal(5_000, seed=2)) < 0.02  # a fresh draw of the same population


def test_a_shifted_sample_has_psi_above_a_quarter() -> None:
    reference = numeric_bins(_normal(5_000, seed=1))
    value = psi(reference, _normal(2_000, seed=3, shift=1.0))
    assert value > 0.25 and stability_flag(value) == "shifted"


def test_values_outside_the_training_range_fall_into_the_end_bins() -> None:
    reference = numeric_bins(np.arange(100.0))
    above = psi(reference, np.full(50, 1_000.0))
    assert np.isfinite(above) and above > 1.0
    assert psi(reference, np.full(50, -1_000.0)) == pytest.approx(psi(reference, np.zeros(50)))


def test_missing_values_are_a_bucket_of_their_own() -> None:
    sample = _normal(4_000, seed=4)
    with_gaps = np.where(np.arange(4_000) % 10 == 0, np.nan, sample)  # 10% missing
    reference = numeric_bins(with_gaps)
    assert reference["missing"] == pytest.approx(0.1)
    assert psi(reference, with_gaps) == pytest.approx(0.0, abs=1e-12)
    more_gaps = np.where(np.arange(4_000) % 10 < 4, np.nan, sample)  # 40% missing, same known values
    assert psi(reference, more_gaps) > 0.25
    assert psi(reference, list(sample)) > psi(reference, with_gaps)  # no gaps at all is a change too
    assert psi(reference, [None if i % 10 == 0 else v for i, v in enumerate(sample)]) < 0.01  # None is missing


def test_flags_and_counts_get_a_bin_per_value() -> None:
    flags = np.array([0.0] * 70 + [1.0] * 30)
    reference = numeric_bins(flags)
    assert reference["edges"] == [0.0, 1.0] and reference["shares"] == pytest.approx([0.7, 0.3, 0.0])
    assert psi(reference, np.array([0.0] * 30 + [1.0] * 70)) > 0.25


def test_categorical_levels_other_and_missing() -> None:
    values = ["C"] * 50 + ["F"] * 30 + ["Q"] * 10 + [None] * 10
    reference = categorical_bins(values, levels=["C", "F"])
    assert reference["shares"] == pytest.approx([0.5, 0.3]) and reference["other"] == pytest.approx(0.1)
    assert reference["missing"] == pytest.approx(0.1)
    assert psi(reference, values) == pytest.approx(0.0, abs=1e-12)
    assert psi(reference, ["C"] * 50 + ["F"] * 30 + ["Z"] * 10 + [None] * 10) == pytest.approx(0.0, abs=1e-12)
    assert psi(reference, ["C"] * 20 + ["F"] * 20 + ["Z"] * 60) > 0.25  # unseen levels count as "other"
    assert categorical_bins(["b", "a", "b"])["levels"] == ["a", "b"]


def test_stability_thresholds() -> None:
    assert [stability_flag(v) for v in (0.0, 0.099, 0.1, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "shifted",
    ]


def test_reference_distribution_and_stability_report() -> None:
    rng = np.random.default_rng(5)
    columns = {
        "debt_ratio": rng.uniform(0, 1, 1_000),
        "overdue": rng.poisson(0.3, 1_000).tolist(),
        "industry": rng.choice(["C", "F", "I"], 1_000).tolist(),
    }
    pd = rng.uniform(0.01, 0.2, 1_000)
    reference = reference_distribution(columns, pd)
    reference = json.loads(json.dumps(reference))  # what reference.json holds
    assert reference["rows"] == 1_000
    assert [reference["columns"][name]["kind"] for name in columns] == ["numeric", "numeric", "categorical"]
    assert reference["columns"]["industry"]["levels"] == ["C", "F", "I"]
    assert (
        reference_distribution({"region": [1, 2, 1]}, [0.1] * 3, {"region": ["1"]})["columns"]["region"]["kind"]
        == "categorical"
    )

    report = stability_report(reference, columns, pd)
    assert [row["name"] for row in report] == ["pd", "debt_ratio", "overdue", "industry"]
    assert report[0]["kind"] == "score"
    assert all(row["psi"] == pytest.approx(0.0, abs=1e-12) and row["flag"] == "stable" for row in report)

    riskier = stability_report(reference, {**columns, "debt_ratio": columns["debt_ratio"] + 0.5}, pd * 3)
    assert {row["name"]: row["flag"] for row in riskier} == {
        "pd": "shifted",
        "debt_ratio": "shifted",
        "overdue": "stable",
        "industry": "stable",
    }
    absent = stability_report(reference, {"debt_ratio": columns["debt_ratio"]}, pd)
    assert absent[2]["current_missing"] == 1.0 and absent[2]["flag"] == "shifted"
    with pytest.raises(ValueError, match="no current values"):
        psi(reference["pd"], [])


def _rows(group: str, applicants: int, approved: int) -> tuple[list[str], list[bool]]:
    return [group] * applicants, [True] * approved + [False] * (applicants - approved)


def test_approval_ratios_flag_below_four_fifths() -> None:
    groups, approved = [], []
    for group, n, yes in (("best", 100, 100), ("at_080", 100, 80), ("at_079", 100, 79)):
        g, a = _rows(group, n, yes)
        groups += g
        approved += a
    rows = {row["group"]: row for row in approval_ratios(groups, approved)}
    assert rows["best"]["ratio"] == 1.0 and rows["best"]["flag"] == "ok"
    assert rows["at_080"]["ratio"] == pytest.approx(0.8) and rows["at_080"]["flag"] == "ok"
    assert rows["at_079"]["ratio"] == pytest.approx(0.79) and rows["at_079"]["flag"] == "below_four_fifths"
    assert rows["at_079"]["applicants"] == 100 and rows["at_079"]["approved"] == 79


def test_small_groups_are_reported_but_not_flagged_nor_the_benchmark() -> None:
    groups, approved = [], []
    for group, n, yes in (("big", 10, 5), ("tiny_all", 4, 4), ("tiny_none", 4, 0)):
        g, a = _rows(group, n, yes)
        groups += g
        approved += a
    groups += [None, None]
    approved += [False, False]
    rows = {row["group"]: row for row in approval_ratios(groups, np.array(approved))}
    assert rows["big"]["ratio"] == 1.0 and rows["big"]["flag"] == "ok"  # 4/4 is not the benchmark
    assert rows["tiny_none"]["ratio"] == 0.0 and rows["tiny_none"]["flag"] == "too_small"
    assert rows["tiny_all"]["ratio"] == 2.0 and rows["tiny_all"]["flag"] == "too_small"
    assert rows["unknown"]["applicants"] == 2 and rows["unknown"]["flag"] == "too_small"
    assert list(rows) == sorted(rows)


def test_approval_ratios_without_any_approval_or_with_mismatched_lengths() -> None:
    rows = approval_ratios(["a"] * 5 + ["b"] * 6, [False] * 11)
    assert [(row["ratio"], row["flag"]) for row in rows] == [(None, "ok"), (None, "ok")]
    with pytest.raises(ValueError, match="3 groups but 2 decisions"):
        approval_ratios(["a", "b", "c"], [True, False])


def test_train_and_save_writes_the_reference_distribution(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    n = 300
    debt = rng.uniform(0, 1, n)
    branch = rng.choice(["east", "west"], n).astype(object)
    branch[:3] = "rare"  # under the minimum count: the model lumps it into "other"
    bad = rng.random(n) < 0.1 + 0.3 * debt
    outcome = np.where(bad, "default", "repaid").astype(object)
    outcome[-20:] = None  # rows without an outcome are not trained on
    income = np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(12, 0.5, n))
    data = {"debt": debt, "income": income, "branch": branch, "outcome": outcome}
    training.train_and_save(data, "outcome", "default", tmp_path / "m", folds=2)

    reference = json.loads((tmp_path / "m" / monitoring.REFERENCE_FILE).read_text(encoding="utf-8"))
    assert reference["rows"] == n - 20 and set(reference["columns"]) == {"debt", "income", "branch"}
    assert reference["columns"]["branch"]["levels"] == ["east", "west"]
    assert reference["columns"]["branch"]["other"] == pytest.approx(3 / (n - 20))
    assert reference["columns"]["income"]["missing"] == pytest.approx(np.isnan(income[:-20]).mean())
    assert len(reference["columns"]["debt"]["edges"]) == 9
    assert sum(reference["pd"]["shares"]) == pytest.approx(1.0) and reference["pd"]["missing"] == 0.0
