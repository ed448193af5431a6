"""Monitoring: is the model still scoring the population it was trained on, and are approvals spread fairly?

Pure: plain columns in, plain dicts out (JSON-ready).

**Reference distribution** (``reference.json``, written beside the model by ``scoring.training.train_and_save``):

- a numeric column is cut at the training data's deciles (observed values, unique: a 0/1 flag or a count that
  is mostly 0 gets fewer bins, one per value). The bins are (-inf, c1], (c1, c2], ..., (ck, +inf), so a current
  value outside the training range still falls into an end bin. Missing values are a bucket of their own:
  missingness carries risk in these models, so more applicants leaving a field blank is a shift too;
- a categorical column has one bucket per level (the model's levels), one for "other" (levels the model lumps
  together or never saw) and one for missing;
- the PD (out-of-fold PDs on the training rows) is binned like a numeric column.

Shares are of all rows: the bins plus the missing (and other) buckets add up to 1.

**Population stability index**: PSI = sum over buckets of (current share - reference share) x ln(current share /
reference share), with shares of 0 raised to ``EPSILON`` so that a bucket empty on one side counts without giving
infinity. The thresholds are the usual credit-scorecard rule of thumb: below 0.1 *stable*; 0.1 to 0.25 *watch*
(a moderate shift: look at which features moved); above 0.25 *shifted* (the model is scoring a different
population than it learned from: review it, consider retraining).

**Approval-rate ratios** (the "four-fifths rule" of adverse-impact analysis): each group's approval rate divided by
the highest rate among the groups; a ratio below 0.8 is flagged (exactly 0.8 is not). Groups with fewer than
``MIN_GROUP`` (5) applicants are reported but neither flagged nor taken as the highest rate: one approval out of
two says nothing.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

REFERENCE_FILE = "reference.json"
EPSILON = 1e-4
STABLE_BELOW, SHIFTED_ABOVE = 0.1, 0.25
FOUR_FIFTHS = 0.8
MIN_GROUP = 5
MAX_LEVELS = 64
_DECILES = np.linspace(0.1, 0.9, 9)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def _floats(values: Any) -> np.ndarray:
    try:
        return np.array(values, dtype=float)  # None becomes NaN
    except (TypeError, ValueError) as error:
        raise ValueError(f"a numeric column holds a non-number ({error})") from error


def _is_numeric(values: Any) -> bool:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return True
    return all(isinstance(v, int | float | np.number) for v in values if not _is_missing(v))


def numeric_bins(values: Any) -> dict[str, Any]:
    """The reference of a numeric column: decile cut points, share per bin, share missing."""
    x = _floats(values)
    if not len(x):
        raise ValueError("a reference distribution needs at least one row")
    known = x[~np.isnan(x)]
    edges = np.unique(np.quantile(known, _DECILES, method="inverted_cdf")) if len(known) else np.array([])
    counts = np.bincount(np.searchsorted(edges, known, side="left"), minlength=len(edges) + 1)
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "shares": (counts / len(x)).tolist(),
        "missing": float(np.isnan(x).mean()),
    }


def _labels(values: Sequence[Any]) -> list[str | None]:
    return [None if _is_missing(v) else str(v) for v in values]


def categorical_bins(values: Sequence[Any], levels: Sequence[str] | None = None) -> dict[str, Any]:
    """The reference of a categorical column: share per level, of other levels, of missing. ``levels``
    defaults to the ``MAX_LEVELS`` most frequent values."""
    labels = _labels(values)
    if not labels:
        raise ValueError("a reference distribution needs at least one row")
    counts = Counter(label for label in labels if label is not None)
    if levels is None:
        levels = sorted(level for level, _ in counts.most_common(MAX_LEVELS))
    shares = [counts[level] / len(labels) for level in levels]
    missing = labels.count(None) / len(labels)
    return {
        "kind": "categorical",
        "levels": list(levels),
        "shares": shares,
        "other": max(0.0, 1.0 - missing - sum(shares)),
        "missing": missing,
    }


def reference_distribution(
    columns: Mapping[str, Any], pd: Any, levels: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """What ``reference.json`` holds: the distribution of each training column and of the PD on the training
    rows. ``levels`` names the categorical columns' levels (the model's); a column not named there is
    categorical when its values are not numbers."""
    levels = levels or {}
    distributions = {
        name: categorical_bins(values, levels.get(name))
        if name in levels or not _is_numeric(values)
        else numeric_bins(values)
        for name, values in columns.items()
    }
    return {"rows": len(pd), "columns": distributions, "pd": numeric_bins(pd)}


def _buckets(reference_bins: Mapping[str, Any], values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(reference shares, current shares) over the same buckets, missing last."""
    if reference_bins["kind"] == "categorical":
        reference = [*reference_bins["shares"], reference_bins["other"], reference_bins["missing"]]
        index = {level: i for i, level in enumerate(reference_bins["levels"])}
        other, missing = len(index), len(index) + 1
        codes = [missing if label is None else index.get(label, other) for label in _labels(values)]
        counts = np.bincount(np.array(codes, dtype=int), minlength=len(reference))
    else:
        reference = [*reference_bins["shares"], reference_bins["missing"]]
        x = _floats(values)
        bins = np.searchsorted(np.array(reference_bins["edges"], dtype=float), x, side="left")
        counts = np.bincount(np.where(np.isnan(x), len(reference) - 1, bins), minlength=len(reference))
    if not counts.sum():
        raise ValueError("no current values to compare with the reference")
    return np.array(reference, dtype=float), counts / counts.sum()


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    r, c = np.maximum(reference, EPSILON), np.maximum(current, EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def psi(reference_bins: Mapping[str, Any], current_values: Any) -> float:
    """Population stability index of current values against one column's reference bins."""
    return _psi(*_buckets(reference_bins, current_values))


def stability_flag(value: float) -> str:
    if value < STABLE_BELOW:
        return "stable"
    return "watch" if value <= SHIFTED_ABOVE else "shifted"


def _stability_row(name: str, kind: str, reference_bins: Mapping[str, Any], values: Any) -> dict[str, Any]:
    reference, current = _buckets(reference_bins, values)
    value = _psi(reference, current)
    return {
        "name": name,
        "kind": kind,
        "psi": value,
        "flag": stability_flag(value),
        "reference_missing": float(reference[-1]),
        "current_missing": float(current[-1]),
    }


def stability_report(
    reference: Mapping[str, Any], current_columns: Mapping[str, Any], current_pd: Any
) -> list[dict[str, Any]]:
    """PSI and flag of the PD (first row, ``name`` "pd", ``kind`` "score") and of each reference column. A
    column absent from ``current_columns`` counts as missing for every applicant, as it does for the model."""
    n = len(current_pd)
    rows = [_stability_row("pd", "score", reference["pd"], current_pd)]
    for name, bins in reference["columns"].items():
        values = current_columns.get(name)
        rows.append(_stability_row(name, bins["kind"], bins, [None] * n if values is None else values))
    return rows


def approval_ratios(groups: Sequence[Any], approved: Sequence[bool] | np.ndarray) -> list[dict[str, Any]]:
    """Approval rate per group (sorted by group; a missing group is "unknown") and its ratio to the highest rate
    among groups of at least ``MIN_GROUP`` applicants. ``flag``: "below_four_fifths" when the ratio is below 0.8,
    "too_small" for groups under ``MIN_GROUP`` applicants, else "ok". ``ratio`` is None when no group large
    enough to judge has an approval (nothing to compare with)."""
    labels = ["unknown" if _is_missing(g) or g == "" else str(g) for g in groups]
    decisions = np.asarray(approved, dtype=bool)
    if len(labels) != len(decisions):
        raise ValueError(f"{len(labels)} groups but {len(decisions)} decisions")
    applicants = Counter(labels)
    approvals = Counter(label for label, yes in zip(labels, decisions, strict=True) if yes)
    rows = [
        {"group": group, "applicants": count, "approved": approvals[group], "rate": approvals[group] / count}
        for group, count in sorted(applicants.items())
    ]
    best = max((row["rate"] for row in rows if row["applicants"] >= MIN_GROUP), default=0.0)
    for row in rows:
        row["ratio"] = row["rate"] / best if best > 0 else None
        if row["applicants"] < MIN_GROUP:
            row["flag"] = "too_small"
        elif row["ratio"] is not None and row["ratio"] < FOUR_FIFTHS:
            row["flag"] = "below_four_fifths"
        else:
            row["flag"] = "ok"
    return rows
