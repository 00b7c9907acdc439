"""Forecast accuracy metrics as the M4 competition and fpp3 define them.

Scaled metrics (MASE, RMSSE, MSIS) divide by the in-sample error of the seasonal naive forecast,
so scores are comparable across series of any magnitude.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def _pair(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    if a.shape != f.shape or a.size == 0:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} must be equal and non-empty")
    return a, f


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200), M4 definition; a step where both are 0 scores 0."""
    a, f = _pair(actual, forecast)
    denominator = np.abs(a) + np.abs(f)
    terms = np.divide(2.0 * np.abs(a - f), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(100.0 * terms.mean())


def naive_scale(insample: np.ndarray, season_length: int, power: int = 1) -> float:
    """Mean |y_t - y_{t-m}|**power over the history (the seasonal naive in-sample error)."""
    y = np.asarray(insample, dtype=float)
    m = season_length if len(y) > season_length else 1
    if len(y) <= m:
        raise ValueError(f"need more than {m} observations to scale errors, got {len(y)}")
    return float(np.mean(np.abs(y[m:] - y[:-m]) ** power))


def _safe_scale(scale: float, insample: np.ndarray, power: int) -> float:
    # A flat history has zero naive error; fall back to its level so the metric stays finite.
    if scale > _EPS:
        return scale
    level = float(np.mean(np.abs(insample)) ** power)
    return level if level > _EPS else 1.0


def mase(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season_length: int) -> float:
    a, f = _pair(actual, forecast)
    scale = _safe_scale(naive_scale(insample, season_length), insample, 1)
    return float(np.mean(np.abs(a - f)) / scale)


def rmsse(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season_length: int) -> float:
    a, f = _pair(actual, forecast)
    scale = _safe_scale(naive_scale(insample, season_length, power=2), insample, 2)
    return float(np.sqrt(np.mean((a - f) ** 2) / scale))


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error: sum|error| / sum|actual|, in percent."""
    a, f = _pair(actual, forecast)
    total = np.abs(a).sum()
    error = np.abs(a - f).sum()
    if total <= _EPS:
        return 0.0 if error <= _EPS else float("inf")
    return float(100.0 * error / total)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper], 0-1."""
    a, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    return float(np.mean((a >= lo) & (a <= hi)))


def msis(
    actual: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    insample: np.ndarray,
    season_length: int,
    alpha: float = 0.05,
) -> float:
    """Mean scaled interval score (M4) of the (1 - alpha) interval: width plus miss penalties."""
    a, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    penalty_low = (2.0 / alpha) * (lo - a) * (a < lo)
    penalty_high = (2.0 / alpha) * (a - hi) * (a > hi)
    score = np.mean((hi - lo) + penalty_low + penalty_high)
    return float(score / _safe_scale(naive_scale(insample, season_length), insample, 1))


def pinball(actual: np.ndarray, quantile_forecast: np.ndarray, quantile: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the ``quantile`` quantile."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    a, q = _pair(actual, quantile_forecast)
    diff = a - q
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def owa(smape_value: float, mase_value: float, smape_naive2: float, mase_naive2: float) -> float:
    """M4's overall weighted average: the mean of sMAPE and MASE, each relative to Naive2.

    Pass the metrics already averaged over all series (the M4 way), not per-series ratios.
    """
    if smape_naive2 <= 0 or mase_naive2 <= 0:
        raise ValueError("Naive2 sMAPE and MASE must be positive to compute OWA")
    return 0.5 * (smape_value / smape_naive2 + mase_value / mase_naive2)
