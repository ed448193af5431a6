"""The generic trainer on any table, the CSV path end to end, and model artefacts."""

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sklearn
from threadpoolctl import threadpool_limits

from scoring import artefacts, scorecard, training
from scoring.artefacts import ArtefactError
from scoring.training import Spec, TrainingError


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _loan_table(n: int, seed: int = 0) -> dict[str, list]:
    """A bank's own table: numbers with gaps, a categorical region, an identifier and a yes/no outcome."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    late = rng.poisson(0.5, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    logit = -2.5 + 0.8 * late - 0.8 * (np.log(income) - 10) + np.where(region == "west", 0.7, 0.0)
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    gaps = rng.random(n) < 0.1
    return {
        "loan_id": [f"L{i:05d}" for i in range(n)],
        "income": [None if g else float(v) for g, v in zip(gaps, income, strict=True)],
        "late_payments": late.astype(float).tolist(),
        "region": region.tolist(),
        "outcome": ["yes" if b else "no" for b in bad],
    }


def _write_csv(path: Path, table: dict[str, list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table)
        for row in zip(*table.values(), strict=True):
            writer.writerow(["" if v is None else v for v in row])


def test_train_detects_kinds_keeps_missing_and_applies_the_spec() -> None:
    table = _loan_table(1_500)
    model = training.train(table, "outcome", "yes", Spec(monotone={"late_payments": 1, "income": -1}))
    assert model.columns == ["income", "late_payments", "region"]
    assert model.levels == {"region": ["east", "north", "south", "west"]}
    assert model.excluded == {"loan_id": "identifier-like: most values are distinct"}
    pd = model.predict_pd({"income": [None, 30_000.0], "late_payments": [0.0, 5.0], "region": ["west", "mars"]})
    assert ((pd > 0) & (pd < 1)).all() and pd[1] > pd[0]
    rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]
    assert training.train(rows, "outcome", "yes").columns == model.columns
    late = scorecard.reasons(model, {"income": 30_000.0, "late_payments": 6.0, "region": "east"})
    assert late[0].feature == "late_payments" and late[0].en == "late_payments = 6.0"
    on_time = scorecard.reasons(model, {"income": 30_000.0, "late_payments": 0.0, "region": "east"})
    assert "late_payments" not in [reason.feature for reason in on_time]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"monotone": {"nope": 1}}, "not in the data"),
        ({"monotone": {"income": 2}}, "must be -1, 0 or 1"),
        ({"monotone": {"region": 1}}, "categorical"),
        ({"ignore": []}, "unknown keys"),
    ],
)
def test_a_bad_spec_is_refused_with_the_column_named(spec: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        training.train(_loan_table(300), "outcome", "yes", Spec.from_mapping(spec))


def test_too_few_bad_rows_or_a_missing_target_are_refused() -> None:
    table = _loan_table(300)
    with pytest.raises(TrainingError, match="at least 10 bad"):
        training.train(table, "outcome", "never")
    with pytest.raises(TrainingError, match="target column 'default'"):
        training.train(table, "default", "yes")


def test_load_csv_parses_numbers_and_missing_markers(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_text("\ufeffa,b,c\n1,x,\n2.5,NA,?\n", encoding="utf-8")
    assert training.load_csv(path) == {"a": [1.0, 2.5], "b": ["x", None], "c": [None, None]}
    path.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="line 3"):
        training.load_csv(path)


def test_train_from_csv_writes_report_plot_and_artefact(tmp_path: Path) -> None:
    csv_path, spec_path, out = tmp_path / "loans.csv", tmp_path / "spec.json", tmp_path / "models" / "v1"
    _write_csv(csv_path, _loan_table(1_200, seed=4))
    spec_path.write_text(json.dumps({"monotone": {"late_payments": 1}, "exclude": ["loan_id"]}), encoding="utf-8")
    report = training.train_from_csv(csv_path, "outcome", "yes", out, spec_path=spec_path)
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert saved["model_version"] == report["model_version"]
    assert saved["columns"] == {
        "numeric": ["income", "late_payments"],
        "categorical": ["region"],
        "excluded": {"loan_id": "excluded by the spec"},
    }
    for name in ("model", "logistic_baseline"):
        assert len(saved["cv"][name]["folds"]) == 5
        assert {"auc", "ks", "brier", "calibration_slope"} <= set(saved["cv"][name]["mean"])
    assert saved["cv"]["model"]["mean"]["auc"] > 0.65
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model, metadata = artefacts.load(out)
    assert metadata["version"] == report["model_version"] and metadata["monotone"]["late_payments"] == 1
    metrics = training.evaluate(model, training.load_csv(csv_path), "outcome", "yes")
    assert metrics["auc"] > 0.65
    with pytest.raises(ArtefactError, match="written once"):
        training.train_from_csv(csv_path, "outcome", "yes", out)


def test_artefact_round_trip_and_refusals(tmp_path: Path) -> None:
    table = _loan_table(800, seed=5)
    model = training.train(table, "outcome", "yes")
    metadata = artefacts.save(model, tmp_path / "m", {"auc": 0.7})
    assert metadata["sklearn_version"] == sklearn.__version__ and metadata["features"] == model.columns
    assert metadata["training_data_sha256"] == model.data_sha256 and metadata["created_at"].endswith("+00:00")
    loaded, _ = artefacts.load(tmp_path / "m")
    assert np.array_equal(loaded.predict_pd(table), model.predict_pd(table))

    sidecar = tmp_path / "m" / artefacts.METADATA_FILE
    sidecar.write_text(json.dumps({**metadata, "sklearn_version": "0.24.2"}), encoding="utf-8")
    with pytest.raises(ArtefactError, match=r"saved with scikit-learn 0\.24\.2"):
        artefacts.load(tmp_path / "m")
    sidecar.write_text(json.dumps(metadata), encoding="utf-8")
    with (tmp_path / "m" / artefacts.MODEL_FILE).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtefactError, match="does not match the hash"):
        artefacts.load(tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging directory left behind
