"""Discrimination and calibration metrics, stratified cross-validation, and the calibration/ROC plot.

Calibration slope and intercept come from a logistic regression of the outcome on logit(PD) (Cox 1958): a
slope of 1 and an intercept of 0 mean the PDs are right; a slope below 1 means they are too extreme.
"""

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""fit_predict(X_train, y_train, X_test) -> PD for X_test."""

_EPS = 1e-6


def logit(pd: np.ndarray) -> np.ndarray:
    p = np.clip(pd, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def logistic_line(y: np.ndarray, x: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """(intercept, slope) of the unpenalised logistic regression y ~ a + b x, by Newton's method."""
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.array([0.0, 1.0])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(design @ beta)))
        hessian = (design * (p * (1 - p))[:, None]).T @ design + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, design.T @ (y - p))
        beta += step
        if not np.all(np.isfinite(beta)) or np.abs(step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def calibration_line(y: np.ndarray, pd: np.ndarray) -> tuple[float, float]:
    """(calibration intercept, calibration slope) of PDs against outcomes."""
    return logistic_line(y, logit(pd))


def ks_statistic(y: np.ndarray, pd: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of bads and goods."""
    fpr, tpr, _ = roc_curve(y, pd)
    return float(np.max(tpr - fpr))


def evaluate(y: np.ndarray, pd: np.ndarray) -> dict[str, float]:
    """ROC AUC, KS, Brier score, calibration slope and intercept, and mean PD against the observed rate."""
    y = np.asarray(y, dtype=int)
    pd = np.asarray(pd, dtype=float)
    intercept, slope = calibration_line(y, pd)
    return {
        "auc": float(roc_auc_score(y, pd)),
        "ks": ks_statistic(y, pd),
        "brier": float(brier_score_loss(y, pd)),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "mean_pd": float(pd.mean()),
        "bad_rate": float(y.mean()),
    }


def cross_validate(
    fit_predict: FitPredict, x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Stratified k-fold: metrics per fold, their mean, and the out-of-fold PDs (``oof``) for plots."""
    oof = np.empty(len(y))
    per_fold = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        oof[test] = fit_predict(x[train], y[train], x[test])
        per_fold.append(evaluate(y[test], oof[test]))
    mean = {key: float(np.mean([fold[key] for fold in per_fold])) for key in per_fold[0]}
    return {"folds": per_fold, "mean": mean, "oof": oof}


def decile_table(y: np.ndarray, pd: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted PD and observed default rate per PD decile (fewer bins when PDs tie)."""
    order = np.argsort(pd, kind="stable")
    return [
        {"mean_pd": float(pd[part].mean()), "observed": float(y[part].mean()), "n": len(part)}
        for part in np.array_split(order, bins)
        if len(part)
    ]


def plot_png(y: np.ndarray, curves: dict[str, np.ndarray]) -> bytes:
    """A PNG with a calibration curve (by decile) and a ROC curve for each named set of PDs."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4.5))
    top = max(float(np.quantile(pd, 0.99)) for pd in curves.values())
    left.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1)
    right.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for name, pd in curves.items():
        table = decile_table(y, pd)
        left.plot([row["mean_pd"] for row in table], [row["observed"] for row in table], marker="o", label=name)
        fpr, tpr, _ = roc_curve(y, pd)
        right.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, pd):.3f})")
    left.set(title="Calibration (deciles)", xlabel="mean predicted PD", ylabel="observed default rate")
    right.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    left.legend()
    right.legend(loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    pyplot.close(figure)
    return buffer.getvalue()
