"""Benchmarks every forecaster must beat: seasonal naive and naive."""

from __future__ import annotations

import numpy as np

from models.base import Forecast, LocalForecaster, seasonal_period
from models.frame import Series


class SeasonalNaive(LocalForecaster):
    """Repeat the last season; intervals grow with the number of seasons ahead (fpp3 5.5)."""

    name = "seasonal_naive"

    def _fit(self, series: Series) -> None:
        self._m = seasonal_period(self.season_length, len(series), cycles=1)
        y = series.y
        residuals = y[self._m :] - y[: -self._m]
        self._last = y[-self._m :]
        self._sigma = float(np.sqrt(np.mean(residuals**2))) if residuals.size else 0.0

    def _forecast(self, horizon: int) -> Forecast:
        steps = np.arange(horizon)
        mean = self._last[steps % self._m]
        seasons_ahead = steps // self._m + 1
        return Forecast(mean.astype(float), self._sigma * np.sqrt(seasons_ahead))


class Naive(SeasonalNaive):
    """Random walk: repeat the last value."""

    name = "naive"

    def __init__(self, season_length: int = 1) -> None:
        super().__init__(season_length=1)
