"""What every local (one-series) forecaster provides: fit on a history, forecast a horizon."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np

from models.frame import Series


class ForecastError(RuntimeError):
    """A forecaster could not fit or forecast this series; the message says why."""


@dataclass(frozen=True)
class Forecast:
    """Point forecast and the standard deviation of its error, one value per step ahead."""

    mean: np.ndarray
    sigma: np.ndarray

    def __post_init__(self) -> None:
        if self.mean.shape != self.sigma.shape:
            raise ForecastError(f"mean {self.mean.shape} and sigma {self.sigma.shape} differ")
        if not (np.isfinite(self.mean).all() and np.isfinite(self.sigma).all()):
            raise ForecastError("forecast holds NaN or infinite values")


class LocalForecaster(ABC):
    """A model of one series. Subclasses set ``name`` and implement ``_fit``/``_forecast``."""

    name: ClassVar[str]

    def __init__(self, season_length: int = 1) -> None:
        if season_length < 1:
            raise ValueError(f"season_length must be >= 1, got {season_length}")
        self.season_length = season_length
        self._series: Series | None = None
        self._constant: float | None = None

    @property
    def min_history(self) -> int:
        """Fewest observations this model needs; shorter series are refused before fitting."""
        return 2

    def fit(self, series: Series) -> Self:
        if len(series) < self.min_history:
            raise ForecastError(
                f"{self.name} needs at least {self.min_history} observations, "
                f"series {series.series_id!r} has {len(series)}"
            )
        self._series = series
        # A constant history has one sensible forecast; several statsmodels estimators
        # misbehave on zero variance (Theta extrapolates a spurious trend), so skip them.
        self._constant = float(series.y[0]) if np.ptp(series.y) == 0 else None
        if self._constant is None:
            self._fit(series)
        return self

    def forecast(self, horizon: int) -> Forecast:
        if self._series is None:
            raise ForecastError(f"{self.name}: call fit() before forecast()")
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        if self._constant is not None:
            return Forecast(np.full(horizon, self._constant), np.zeros(horizon))
        result = self._forecast(horizon)
        if len(result.mean) != horizon:
            raise ForecastError(f"{self.name} returned {len(result.mean)} steps, not {horizon}")
        return Forecast(result.mean, np.maximum(result.sigma, 0.0))

    @abstractmethod
    def _fit(self, series: Series) -> None: ...

    @abstractmethod
    def _forecast(self, horizon: int) -> Forecast: ...


def seasonal_period(season_length: int, n_obs: int, cycles: int = 2) -> int:
    """Use seasonality only with at least ``cycles`` full seasons of history."""
    return season_length if season_length > 1 and n_obs >= cycles * season_length else 1
