"""The trained model: a monotone gradient-boosting booster and a sign-constrained logistic regression, the
calibrated non-negative stack of their log-odds, and how columns become their input matrix. Built by
``scoring.training``, saved and loaded by ``scoring.artefacts``."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from scoring.additive import AdditiveTables
from scoring.linear import MonotoneLogistic

OTHER = "other"


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def category_codes(values: Sequence[Any], levels: Sequence[str]) -> np.ndarray:
    """Codes of a categorical column: the index of the level, ``len(levels)`` ("other") for rare or unseen
    levels, NaN for missing values."""
    lookup = {level: float(code) for code, level in enumerate(levels)}
    other = float(len(levels))
    return np.array([np.nan if is_missing(v) else lookup.get(str(v), other) for v in values], dtype=float)


def encode(data: Mapping[str, Any], columns: Sequence[str], levels: Mapping[str, Sequence[str]]) -> np.ndarray:
    """The input matrix for ``columns``: floats, category codes, NaN where missing or absent."""
    n = len(next(iter(data.values()))) if data else 0
    x = np.full((n, len(columns)), np.nan)
    for j, name in enumerate(columns):
        values = data.get(name)
        if values is None:
            continue
        if name in levels:
            x[:, j] = category_codes(values, levels[name])
        else:
            try:
                x[:, j] = np.array(values, dtype=float)
            except (TypeError, ValueError) as error:
                raise ValueError(f"column {name!r} must be numeric ({error})") from error
    return x


@dataclass
class TrainedModel:
    """A fitted model and what is needed to apply and explain it.

    ``tables`` are the booster read off as exact per-column lookup tables (the booster is additive), used for
    prediction because they are much faster. ``stack`` is (booster weight, linear weight, intercept) with
    weights >= 0: logit(PD) = weight_b * booster log-odds + weight_l * linear log-odds + intercept. Both parts
    are monotone in the declared directions, so the PD is too. ``references`` holds, per column, the candidate
    "best" values (encoded) that reason codes compare a row against: a high or low training quantile for
    monotone columns, several quantiles or every level for the others."""

    columns: list[str]
    levels: dict[str, list[str]]
    monotone: dict[str, int]
    booster: HistGradientBoostingClassifier
    tables: AdditiveTables
    linear: MonotoneLogistic
    stack: tuple[float, float, float]
    references: dict[str, np.ndarray]
    excluded: dict[str, str]
    settings: dict[str, Any]
    data_sha256: str

    def matrix(self, data: Mapping[str, Any]) -> np.ndarray:
        return encode(data, self.columns, self.levels)

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        boosted, linear, intercept = self.stack
        log_odds = np.full(len(x), intercept)
        if boosted:
            log_odds += boosted * self.tables.decision_function(x)
        if linear:
            log_odds += linear * self.linear.decision_function(x)
        return log_odds

    def pd_from_matrix(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.log_odds(x)))

    def predict_pd(self, data: Mapping[str, Any]) -> np.ndarray:
        """Calibrated 12-month PD for each row of ``data`` (columns; absent columns count as missing)."""
        return self.pd_from_matrix(self.matrix(data))

    def category_label(self, column: str, code: float) -> str:
        levels = self.levels[column]
        return levels[int(code)] if code < len(levels) else OTHER
