"""Exponential smoothing (ETS) with additive errors and a damped trend, via statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import Forecast, ForecastError, LocalForecaster, seasonal_period
from models.frame import Series


class DampedETS(LocalForecaster):
    """ETS(A,Ad,A) when two seasons of history exist, else ETS(A,Ad,N)."""

    name = "ets"

    @property
    def min_history(self) -> int:
        return 6

    def _fit(self, series: Series) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        m = seasonal_period(self.season_length, len(series))
        # statsmodels 0.15 needs a pandas index for its prediction results.
        endog = pd.Series(series.y, index=pd.RangeIndex(len(series)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ETSModel(
                endog,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add" if m > 1 else None,
                seasonal_periods=m if m > 1 else None,
            )
            self._result = model.fit(disp=False, maxiter=200)
        self._n = len(series)

    def _forecast(self, horizon: int) -> Forecast:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prediction = self._result.get_prediction(start=self._n, end=self._n + horizon - 1)
        mean = np.asarray(prediction.predicted_mean, dtype=float)
        variance = np.asarray(prediction.forecast_variance, dtype=float)
        if not np.isfinite(variance).all():
            raise ForecastError("ETS forecast variance is not finite")
        return Forecast(mean, np.sqrt(np.maximum(variance, 0.0)))
