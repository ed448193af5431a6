"""Train a calibrated, monotone credit-risk model on any table of loan outcomes.

``train(data, target, bad_value, spec)`` takes columns (``{name: values}``) or rows (mappings), detects numeric
and categorical columns, and fits scikit-learn's HistGradientBoostingClassifier:

- missing values stay missing: the trees learn which side they go to, so missingness carries information;
- categorical columns become codes (the ``max_categories - 1`` most frequent levels seen at least
  ``min_category_count`` times; rarer and unseen levels share one "other" code) used as native categorical splits;
- the spec's monotone directions become ``monotonic_cst`` (+1: more of it never lowers the PD);
- each tree splits on one column (``interaction_cst="no_interactions"``): the booster is an additive,
  monotone scorecard — one step function per column, read off into exact lookup tables (``scoring.additive``)
  so that scoring is fast and every point of the score can be traced to a column;
- defaults are not tuned to one data set: small trees (8 leaves), learning rate 0.1, L2 shrinkage, a minimum
  leaf size that grows with the data, and early stopping on a held-out 15% so that the number of trees adapts
  to each book.

A sign-constrained logistic regression (``scoring.linear``) is fitted beside the booster: on small or mostly
additive books it ranks as well as boosting or better. Calibration is a logistic stack of the two models'
out-of-fold log-odds (5 folds; 3 from 50,000 rows) with non-negative weights:
logit(PD) = w_b f_b(x) + w_l f_l(x) + c. It is monotone, so it keeps the constraints, and linear in the
log-odds, so the reason codes stay exact. The final booster is refitted on all rows with the median number
of trees the folds chose.

Fitting runs with one OpenMP thread: on small machines two threads made fitting 100x slower.
"""

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from scoring import artefacts, metrics, monitoring
from scoring.additive import AdditiveTables
from scoring.linear import MonotoneLogistic, fit_logistic
from scoring.model import TrainedModel, encode, is_missing

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
MIN_ROWS_PER_CLASS = 10  # fewer bad or good rows than this cannot be cross-validated and calibrated


class TrainingError(ValueError):
    """The data or the spec cannot be trained on; the message says which column or line."""


@dataclass(frozen=True)
class Spec:
    """What the bank declares about its columns: monotone directions (+1 raises PD, -1 lowers it, 0 free),
    columns to leave out (identifiers, outcomes known only after the decision) and numeric-looking columns that
    are categories (e.g. a region code)."""

    monotone: Mapping[str, int] = field(default_factory=dict)
    exclude: frozenset[str] = frozenset()
    categorical: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Spec":
        unknown = set(data) - {"monotone", "exclude", "categorical"}
        if unknown:
            raise TrainingError(f"spec: unknown keys {sorted(unknown)}; use monotone, exclude, categorical")
        monotone = dict(data.get("monotone", {}))
        for name, direction in monotone.items():
            if direction not in (-1, 0, 1):
                raise TrainingError(f"spec: monotone direction of {name!r} must be -1, 0 or 1, not {direction!r}")
        return cls(monotone, frozenset(data.get("exclude", ())), frozenset(data.get("categorical", ())))

    @classmethod
    def load(cls, path: Path) -> "Spec":
        try:
            return cls.from_mapping(json.loads(Path(path).read_text(encoding="utf-8")))
        except json.JSONDecodeError as error:
            raise TrainingError(f"spec {path}: not valid JSON ({error})") from error


@dataclass(frozen=True)
class Settings:
    """Model defaults. ``min_samples_leaf=None`` means max(20, rows / 500); ``calibration_folds=None`` means 5,
    or 3 from 50,000 rows (out-of-fold predictions are plentiful there, and it keeps training under a minute)."""

    learning_rate: float = 0.1
    max_leaf_nodes: int = 8
    min_samples_leaf: int | None = None
    l2_regularization: float = 1.0
    max_iter: int = 1000
    n_iter_no_change: int = 30
    validation_fraction: float = 0.15
    calibration_folds: int | None = None
    max_categories: int = 64
    min_category_count: int = 10
    seed: int = 0


@dataclass
class Prepared:
    """Training data as the booster sees it."""

    x: np.ndarray
    y: np.ndarray
    columns: list[str]
    levels: dict[str, list[str]]
    monotone: dict[str, int]
    excluded: dict[str, str]

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([name in self.levels for name in self.columns], dtype=bool)

    @property
    def constraints(self) -> list[int]:
        return [self.monotone.get(name, 0) for name in self.columns]


def as_columns(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Columns from columns or from rows (keys in order of first appearance)."""
    if isinstance(data, Mapping):
        return dict(data)
    names = list(dict.fromkeys(key for row in data for key in row))
    return {name: [row.get(name) for row in data] for name in names}


def _is_numeric(values: Any) -> bool:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return True
    return all(isinstance(v, int | float | np.number) for v in values if not is_missing(v))


def _levels(values: Sequence[Any], settings: Settings) -> list[str]:
    counts = Counter(str(v) for v in values if not is_missing(v))
    common = counts.most_common(settings.max_categories - 1)
    return sorted(level for level, count in common if count >= settings.min_category_count)


def _is_bad(value: Any, bad_value: Any) -> bool:
    try:
        return float(value) == float(bad_value)
    except (TypeError, ValueError):
        return str(value).strip() == str(bad_value).strip()


def prepare(data: Mapping[str, Any], target: str, bad_value: Any, spec: Spec, settings: Settings) -> Prepared:
    """Check the spec against the columns, detect column kinds, encode, and build the 0/1 target (1 = bad).
    Rows without a target value are left out."""
    if target not in data:
        raise TrainingError(f"target column {target!r} not found; columns are {sorted(data)}")
    named = set(spec.monotone) | spec.exclude | spec.categorical
    unknown = sorted(named - set(data))
    if unknown:
        raise TrainingError(f"spec names columns that are not in the data: {unknown}")
    keep = np.array([not is_missing(v) for v in data[target]], dtype=bool)
    y = np.array([_is_bad(v, bad_value) for v in data[target]], dtype=int)[keep]
    bad, good = int(y.sum()), int(len(y) - y.sum())
    if min(bad, good) < MIN_ROWS_PER_CLASS:
        raise TrainingError(
            f"target {target!r}: need at least {MIN_ROWS_PER_CLASS} bad and {MIN_ROWS_PER_CLASS} good rows,"
            f" found {bad} and {good}"
        )
    rows = {name: [v for v, k in zip(values, keep, strict=True) if k] for name, values in data.items()}
    excluded = {name: "excluded by the spec" for name in sorted(spec.exclude)}
    levels: dict[str, list[str]] = {}
    columns = []
    for name, values in rows.items():
        if name == target or name in spec.exclude:
            continue
        present = [v for v in values if not is_missing(v)]
        if not present:
            excluded[name] = "no values"
        elif name in spec.categorical or not _is_numeric(present):
            if spec.monotone.get(name, 0):
                raise TrainingError(f"spec: column {name!r} is categorical, so it cannot have a monotone direction")
            if len(set(map(str, present))) > 0.5 * len(values):
                excluded[name] = "identifier-like: most values are distinct"
                continue
            levels[name] = _levels(present, settings)
            columns.append(name)
        else:
            columns.append(name)
    if not columns:
        raise TrainingError("no usable feature columns")
    x = encode(rows, columns, levels)
    monotone = {name: int(spec.monotone.get(name, 0)) for name in columns}
    return Prepared(x, y, columns, levels, monotone, excluded)


def _booster(
    settings: Settings, rows: int, mask: np.ndarray, constraints: list[int], max_iter: int, early: bool
) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=settings.learning_rate,
        max_iter=max_iter,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf or max(20, rows // 500),
        l2_regularization=settings.l2_regularization,
        categorical_features=mask if mask.any() else None,
        monotonic_cst=constraints,
        interaction_cst="no_interactions",
        early_stopping=early,
        validation_fraction=settings.validation_fraction,
        n_iter_no_change=settings.n_iter_no_change,
        random_state=settings.seed,
    )


Fitted = tuple[HistGradientBoostingClassifier, MonotoneLogistic, tuple[float, float, float]]


def fit_stacked(x: np.ndarray, y: np.ndarray, mask: np.ndarray, constraints: list[int], settings: Settings) -> Fitted:
    """Out-of-fold log-odds of the booster (early stopping in each fold) and of the linear model -> a logistic
    stack with non-negative weights (this is the calibration); then both refitted on all rows, the booster with
    the folds' median number of trees."""
    raw = np.empty((len(y), 2))
    trees = []
    count = settings.calibration_folds or (5 if len(y) < 50_000 else 3)
    folds = StratifiedKFold(count, shuffle=True, random_state=settings.seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        for train_rows, test_rows in folds.split(x, y):
            fold = _booster(settings, len(train_rows), mask, constraints, settings.max_iter, early=True)
            fold.fit(x[train_rows], y[train_rows])
            raw[test_rows, 0] = fold.decision_function(x[test_rows])
            linear = MonotoneLogistic.fit(x[train_rows], y[train_rows], mask, constraints)
            raw[test_rows, 1] = linear.decision_function(x[test_rows])
            trees.append(fold.n_iter_)
        booster = _booster(settings, len(y), mask, constraints, int(np.median(trees)), early=False).fit(x, y)
    weights, intercept = fit_logistic(raw, y, [(0.0, None), (0.0, None)], l2=1e-6)
    linear = MonotoneLogistic.fit(x, y, mask, constraints)
    return booster, linear, (float(weights[0]), float(weights[1]), intercept)


def _references(prepared: Prepared) -> dict[str, np.ndarray]:
    references = {}
    for j, name in enumerate(prepared.columns):
        known = prepared.x[:, j][~np.isnan(prepared.x[:, j])]
        if name in prepared.levels:
            references[name] = np.unique(known)
        elif prepared.monotone[name] == 1:
            references[name] = np.quantile(known, [0.05])
        elif prepared.monotone[name] == -1:
            references[name] = np.quantile(known, [0.95])
        else:
            references[name] = np.unique(np.quantile(known, [0.05, 0.25, 0.5, 0.75, 0.95]))
    return references


def _fingerprint(prepared: Prepared) -> str:
    digest = hashlib.sha256(json.dumps(prepared.columns).encode())
    digest.update(np.ascontiguousarray(prepared.x).tobytes())
    digest.update(prepared.y.astype(np.int8).tobytes())
    return digest.hexdigest()


def fit(prepared: Prepared, settings: Settings) -> TrainedModel:
    booster, linear, stack = fit_stacked(
        prepared.x, prepared.y, prepared.categorical_mask, prepared.constraints, settings
    )
    reference = np.nan_to_num(np.nanmedian(prepared.x, axis=0))
    reference[prepared.categorical_mask] = 0.0
    codes = [len(prepared.levels.get(name, ())) + 1 for name in prepared.columns]
    tables = AdditiveTables.from_booster(booster, reference, prepared.categorical_mask, codes)
    tables.check(booster, prepared.x[:: max(1, len(prepared.x) // 2000)])
    return TrainedModel(
        columns=prepared.columns,
        levels=prepared.levels,
        monotone=prepared.monotone,
        booster=booster,
        tables=tables,
        linear=linear,
        stack=stack,
        references=_references(prepared),
        excluded=prepared.excluded,
        settings=asdict(settings),
        data_sha256=_fingerprint(prepared),
    )


def train(
    data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    target: str,
    bad_value: Any,
    spec: Spec | None = None,
    settings: Settings | None = None,
) -> TrainedModel:
    """Train a calibrated monotone model on columns or rows holding the ``target`` column (``bad_value`` = default)."""
    settings = settings or Settings()
    return fit(prepare(as_columns(data), target, bad_value, spec or Spec(), settings), settings)


def _model_fit_predict(prepared: Prepared, settings: Settings) -> metrics.FitPredict:
    def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
        partial = Prepared(x_train, y_train, prepared.columns, prepared.levels, prepared.monotone, {})
        return fit(partial, settings).pd_from_matrix(x_test)

    return fit_predict


def _baseline_fit_predict(mask: np.ndarray) -> metrics.FitPredict:
    """Plain logistic regression: median-imputed (with missing indicators) standardized numbers, one-hot categories."""

    def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
        numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        categorical = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=-1), OneHotEncoder(handle_unknown="ignore")
        )
        columns = ColumnTransformer(
            [("numeric", numeric, np.flatnonzero(~mask)), ("categorical", categorical, np.flatnonzero(mask))]
        )
        model = make_pipeline(columns, LogisticRegression(max_iter=2000))
        return model.fit(x_train, y_train).predict_proba(x_test)[:, 1]

    return fit_predict


def cross_validated(prepared: Prepared, settings: Settings, folds: int = 5) -> dict[str, dict[str, Any]]:
    """Stratified k-fold CV of the model and of the logistic-regression baseline (same folds)."""
    return {
        "model": metrics.cross_validate(_model_fit_predict(prepared, settings), prepared.x, prepared.y, folds),
        "logistic_baseline": metrics.cross_validate(
            _baseline_fit_predict(prepared.categorical_mask), prepared.x, prepared.y, folds
        ),
    }


def evaluate(model: TrainedModel, data: Mapping[str, Any], target: str, bad_value: Any) -> dict[str, float]:
    """The model's metrics on held-out data (rows without a target are left out)."""
    keep = [not is_missing(v) for v in data[target]]
    rows = {name: [v for v, k in zip(values, keep, strict=True) if k] for name, values in data.items()}
    y = np.array([_is_bad(v, bad_value) for v in rows[target]], dtype=int)
    return metrics.evaluate(y, model.predict_pd(rows))


def _parse(cell: str) -> float | str | None:
    text = cell.strip()
    if text.lower() in MISSING_MARKERS:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def load_csv(path: Path) -> dict[str, list[float | str | None]]:
    """Columns of a CSV file with a header row: numbers parsed, empty cells and markers such as NA missing."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        if not header or len(set(header)) != len(header) or "" in header:
            raise TrainingError(f"{path}: the header must name every column once")
        columns: list[list[float | str | None]] = [[] for _ in header]
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise TrainingError(f"{path}: line {reader.line_num} has {len(row)} cells, the header {len(header)}")
            for column, cell in zip(columns, row, strict=True):
                column.append(_parse(cell))
    return dict(zip(header, columns, strict=True))


def _summary(cv: dict[str, Any]) -> dict[str, Any]:
    return {"mean": cv["mean"], "folds": cv["folds"]}


def train_from_csv(
    path: Path, target: str, bad_value: Any, out_dir: Path, spec_path: Path | None = None, folds: int = 5
) -> dict[str, Any]:
    """Cross-validate, train and save a model from a CSV file. ``out_dir`` (new or empty) receives the artefact
    (model.joblib, metadata.json), report.json, calibration.png and reference.json. Paths must be trusted
    (operator input)."""
    artefacts.ensure_new(Path(out_dir))
    spec = Spec.load(spec_path) if spec_path else Spec()
    source = {"file": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    return train_and_save(load_csv(path), target, bad_value, out_dir, spec, source, folds)


def train_and_save(
    data: Mapping[str, Any],
    target: str,
    bad_value: Any,
    out_dir: Path,
    spec: Spec | None = None,
    source: Mapping[str, Any] | None = None,
    folds: int = 5,
) -> dict[str, Any]:
    """Cross-validate and train on columns, then save the artefact, report.json, calibration.png and
    reference.json (the training population's distribution, for ``scoring.monitoring``) into ``out_dir`` (new or
    empty). ``source`` describes where the data came from (file and hash, or generator)."""
    artefacts.ensure_new(Path(out_dir))
    settings = Settings()
    columns = as_columns(data)
    prepared = prepare(columns, target, bad_value, spec or Spec(), settings)
    cv = cross_validated(prepared, settings, folds)
    model = fit(prepared, settings)
    report = {
        "data": {
            **(source or {}),
            "rows": len(prepared.y),
            "bad": int(prepared.y.sum()),
            "bad_rate": float(prepared.y.mean()),
        },
        "target": target,
        "bad_value": bad_value,
        "columns": {
            "numeric": [name for name in prepared.columns if name not in prepared.levels],
            "categorical": sorted(prepared.levels),
            "excluded": prepared.excluded,
        },
        "monotone": prepared.monotone,
        "settings": asdict(settings),
        "cv": {name: _summary(result) for name, result in cv.items()},
    }
    png = metrics.plot_png(
        prepared.y, {"model": cv["model"]["oof"], "logistic baseline": cv["logistic_baseline"]["oof"]}
    )
    reference = monitoring.reference_distribution(
        _trained_columns(columns, target, prepared), cv["model"]["oof"], prepared.levels
    )
    files = {"calibration.png": png, monitoring.REFERENCE_FILE: _json_bytes(reference)}
    metadata = artefacts.save(model, out_dir, cv["model"]["mean"], report=report, files=files)
    return {**report, "model_version": metadata["version"]}


def _trained_columns(data: Mapping[str, Any], target: str, prepared: Prepared) -> dict[str, Any]:
    """The model's columns on the rows trained on (those with a target, as in ``prepare``): numbers as encoded,
    categories as their raw values, so that the reference distribution names the levels."""
    keep = [not is_missing(v) for v in data[target]]
    return {
        name: [v for v, k in zip(data[name], keep, strict=True) if k] if name in prepared.levels else prepared.x[:, j]
        for j, name in enumerate(prepared.columns)
    }


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
