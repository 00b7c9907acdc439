"""Naive2, the M4 competition's reference: naive on seasonally adjusted data.

Follows the organisers' R code (M4-methods, ``Benchmarks and Evaluation.R``): a series is
seasonal when its autocorrelation at the season lag passes a 90% one-sided test (and it has at
least three seasons of history); seasonal series are divided by the indices of a classical
multiplicative decomposition (R's ``decompose``), forecast with the last adjusted value, and
multiplied back by the last season's indices. With ``season_length`` 1 it is the plain naive.
"""

from __future__ import annotations

import numpy as np

from models.base import Forecast, LocalForecaster
from models.frame import Series

_T_CRIT = 1.645  # the M4 code's critical value: a two-sided 90% band, qnorm(0.95)


def autocorrelation(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..max_lag, biased (divided by n), as R's ``acf``."""
    x = np.asarray(y, dtype=float) - np.mean(y)
    denominator = float(np.dot(x, x))
    if denominator == 0.0:
        return np.zeros(max_lag)
    return np.array([np.dot(x[lag:], x[:-lag]) / denominator for lag in range(1, max_lag + 1)])


def is_seasonal(y: np.ndarray, season_length: int) -> bool:
    """The M4 seasonality test: |acf(m)| beyond the 90% limit of Bartlett's formula."""
    n = len(y)
    if season_length <= 1 or n < 3 * season_length:
        return False
    acf = autocorrelation(y, season_length)
    limit = _T_CRIT / np.sqrt(n) * np.sqrt(1.0 + 2.0 * np.sum(acf[: season_length - 1] ** 2))
    return bool(abs(acf[season_length - 1]) > limit)


def multiplicative_indices(y: np.ndarray, season_length: int) -> np.ndarray:
    """Seasonal index of every observation from a classical multiplicative decomposition.

    The trend is the centred moving average of order ``season_length`` (a 2xm average when m is
    even); the index of each position in the season is the mean ratio of data to trend, scaled
    so the indices average one. Matches R's ``decompose(type = "multiplicative")$seasonal``.
    """
    m = season_length
    n = len(y)
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(y, weights, mode="valid")
    ratio = y / trend
    figure = np.array([np.nanmean(ratio[position::m]) for position in range(m)])
    figure = figure / figure.mean()
    return figure[np.arange(n) % m]


class Naive2(LocalForecaster):
    """Naive on the seasonally adjusted series (M4's Naive2); plain naive when not seasonal."""

    name = "naive2"

    def _fit(self, series: Series) -> None:
        y = series.y
        m = self.season_length
        # Multiplicative indices need a positive series; otherwise adjust nothing.
        indices = multiplicative_indices(y, m) if is_seasonal(y, m) and (y > 0).all() else np.ones(len(y))
        adjusted = y / indices
        self._last_season = indices[-m:] if m > 1 else indices[-1:]
        self._level = float(adjusted[-1])
        steps = np.diff(adjusted)
        self._sigma = float(np.sqrt(np.mean(steps**2))) if steps.size else 0.0

    def _forecast(self, horizon: int) -> Forecast:
        season = np.resize(self._last_season, horizon)
        steps_ahead = np.arange(1, horizon + 1)
        return Forecast(self._level * season, self._sigma * np.sqrt(steps_ahead) * season)
