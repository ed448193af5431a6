"""Logistic regression with sign constraints, the linear half of the model.

On small or mostly additive loan books a logistic regression ranks as well as boosting or better; on large
books with interactions boosting wins. The trainer fits both and lets a non-negative stack weigh them, so it
needs a logistic regression that respects the monotone spec too: a column declared +1 gets a coefficient >= 0,
-1 one <= 0 (after a monotone winsorize-and-standardize transform, so the direction carries over to the raw
value). Missing numbers are imputed with the median and flagged by an indicator column with a free
coefficient; categories are one-hot with free coefficients. Bounds make it L-BFGS-B (scipy) rather than
scikit-learn's LogisticRegression, which cannot constrain signs.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

Bounds = list[tuple[float | None, float | None]]


def fit_logistic(design: np.ndarray, y: np.ndarray, bounds: Bounds, l2: float) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) minimising the log-loss sum plus l2/2 |w|^2 within ``bounds`` (intercept free)."""
    p = design.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ theta[:p] + theta[p]
        log_loss = np.sum(np.logaddexp(0.0, z) - y * z)
        residual = 1.0 / (1.0 + np.exp(-z)) - y
        gradient = np.append(design.T @ residual + l2 * theta[:p], residual.sum())
        return float(log_loss + 0.5 * l2 * theta[:p] @ theta[:p]), gradient

    rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    start = np.append(np.zeros(p), np.log(rate / (1 - rate)))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)])
    return result.x[:p], float(result.x[p])


@dataclass
class MonotoneLogistic:
    """Sign-constrained logistic regression on an encoded matrix (NaN = missing; categorical columns hold codes)."""

    numeric: list[int]
    categorical: list[int]
    low: np.ndarray
    high: np.ndarray
    median: np.ndarray
    scale: np.ndarray
    flagged: list[int]
    levels: list[int]
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, mask: np.ndarray, constraints: Sequence[int], l2: float = 1.0
    ) -> "MonotoneLogistic":
        numeric = [j for j in range(x.shape[1]) if not mask[j]]
        categorical = [j for j in range(x.shape[1]) if mask[j]]
        values = x[:, numeric]
        with np.errstate(all="ignore"):
            low, high = np.nanquantile(values, 0.01, axis=0), np.nanquantile(values, 0.99, axis=0)
            clipped = np.clip(values, low, high)
            median = np.nan_to_num(np.nanmedian(clipped, axis=0))
        filled = np.where(np.isnan(clipped), median, clipped)
        scale = filled.std(axis=0)
        scale[scale == 0] = 1.0
        flagged = [k for k in range(len(numeric)) if np.isnan(values[:, k]).any()]
        levels = [int(np.nanmax(x[:, j], initial=-1)) + 1 for j in categorical]
        model = cls(numeric, categorical, low, high, median, scale, flagged, levels, np.empty(0), 0.0)
        signs = [constraints[j] for j in numeric]
        bounds: Bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs]
        extra = model.design(x).shape[1] - len(numeric)
        model.coef, model.intercept = fit_logistic(model.design(x), y, bounds + [(None, None)] * extra, l2)
        return model

    def design(self, x: np.ndarray) -> np.ndarray:
        values = x[:, self.numeric]
        missing = np.isnan(values)
        standard = (np.where(missing, self.median, np.clip(values, self.low, self.high)) - self.median) / self.scale
        parts = [standard, missing[:, self.flagged].astype(float)]
        for j, count in zip(self.categorical, self.levels, strict=True):
            parts.append((x[:, [j]] == np.arange(count)).astype(float))
        return np.hstack(parts)

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return self.design(x) @ self.coef + self.intercept
