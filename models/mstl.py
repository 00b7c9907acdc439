"""Several seasonalities at once: MSTL decomposition, a damped trend on the adjusted series.

Hourly data has daily and weekly cycles, daily data weekly and yearly ones. statsmodels' MSTL
(Bandara et al., 2021) peels one STL seasonal component per period off the series; the sum of
trend and remainder is forecast with damped-trend smoothing (``models.smoothing``) and every
seasonal component repeats its last cycle. Periods without two full cycles of history are left
out, as STL cannot estimate them.
"""

from __future__ import annotations

import warnings

import numpy as np

from models.base import Forecast, ForecastError, LocalForecaster
from models.frame import Series
from models.smoothing import damped_trend_grid

MAX_FIT_CYCLES = 12  # of the longest period: older history adds decomposition time, not skill


def usable_periods(periods: tuple[int, ...], n_obs: int) -> tuple[int, ...]:
    """The distinct periods above 1 with at least two full cycles in ``n_obs``, shortest first."""
    return tuple(sorted({p for p in periods if p > 1 and n_obs >= 2 * p}))


class MSTLForecaster(LocalForecaster):
    """MSTL seasonal components repeated, damped trend on the seasonally adjusted remainder."""

    name = "mstl"

    def __init__(self, season_length: int = 1, periods: tuple[int, ...] = ()) -> None:
        super().__init__(season_length)
        self.periods = tuple(periods) or (season_length,)

    @property
    def min_history(self) -> int:
        return max(8, 2 * min((p for p in self.periods if p > 1), default=4))

    def _fit(self, series: Series) -> None:
        from statsmodels.tsa.seasonal import MSTL

        periods = usable_periods(self.periods, len(series))
        if not periods:
            raise ForecastError(
                f"mstl needs two full cycles of a season length above 1 (season lengths "
                f"{list(self.periods)}, {len(series)} observations)"
            )
        y = np.asarray(series.y[-MAX_FIT_CYCLES * periods[-1] :], dtype=float)
        periods = usable_periods(periods, len(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = MSTL(y, periods=periods if len(periods) > 1 else periods[0]).fit()
        seasonal = np.asarray(result.seasonal, dtype=float).reshape(len(y), -1)
        adjusted = y - seasonal.sum(axis=1)
        self.fitted_periods = periods
        # Each component's next cycle: the mean of its last cycles (at most three), since the
        # end of an STL fit is its noisiest part and a long period has few cycles to smooth over.
        self._seasonal = [
            np.mean(seasonal[len(y) - p * c :, k].reshape(c, p), axis=0)
            for k, p in enumerate(periods)
            for c in [min(3, len(y) // p)]
        ]
        self._alpha, self._beta, self._phi, self._level, self._slope, self._variance = damped_trend_grid(
            adjusted
        )

    def components(self, horizon: int) -> list[np.ndarray]:
        """Each fitted period's seasonal component over the next ``horizon`` steps."""
        return [np.resize(cycle, horizon) for cycle in self._seasonal]

    def _forecast(self, horizon: int) -> Forecast:
        steps = np.arange(1, horizon + 1)
        mean = self._level + np.cumsum(self._phi**steps) * self._slope
        for component in self.components(horizon):
            mean = mean + component
        j = np.arange(1, horizon)
        c = self._alpha + self._beta * self._phi * (1 - self._phi**j) / (1 - self._phi)
        sigma = np.sqrt(self._variance * (1 + np.r_[0.0, np.cumsum(c**2)]))
        return Forecast(mean, sigma)
