"""The platform's own model: trained on applicant records (profile fields and enterprise facts) turned into
``scoring.features`` features, so that the service can score any enterprise and explain the score.

A model trained by ``train_from_csv`` on a bank's own columns is fine for evaluation, but the service can only
use a model whose columns are platform features (``is_platform_model``)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scoring import synthetic
from scoring.features import FEATURES_BY_NAME, MONOTONE_SPEC, feature_columns
from scoring.training import Spec, train_and_save

TARGET = "default_12m"


def train_platform_model(
    applicants: Mapping[str, Any], defaults: np.ndarray, out_dir: Path, source: Mapping[str, Any], folds: int = 5
) -> dict[str, Any]:
    """Train on applicant columns and their 12-month default flags (1 = defaulted); returns the report."""
    columns = {**feature_columns(applicants), TARGET: np.asarray(defaults, dtype=int)}
    return train_and_save(columns, TARGET, 1, out_dir, Spec(monotone=MONOTONE_SPEC), source, folds)


def train_synthetic_model(rows: int, seed: int, out_dir: Path, folds: int = 5) -> dict[str, Any]:
    """The demo's model, trained on a synthetic loan book (``scoring.synthetic``; marked as such in the report)."""
    book = synthetic.generate(rows, seed=seed)
    source = {"generator": "scoring.synthetic", "seed": seed, "synthetic": True, "note": book.note}
    return train_platform_model(book.applicants, book.default_12m, out_dir, source, folds)


def is_platform_model(feature_names: list[str]) -> bool:
    return bool(feature_names) and set(feature_names) <= set(FEATURES_BY_NAME)
