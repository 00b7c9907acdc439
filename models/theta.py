"""The Theta method (Assimakopoulos & Nikolopoulos, 2000), via statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import Forecast, LocalForecaster, seasonal_period
from models.frame import Series


class Theta(LocalForecaster):
    """Standard Theta with multiplicative deseasonalising when the series is positive."""

    name = "theta"

    @property
    def min_history(self) -> int:
        return 4

    def _fit(self, series: Series) -> None:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        m = seasonal_period(self.season_length, len(series))
        endog = pd.Series(series.y, index=pd.RangeIndex(len(series)))
        multiplicative = bool((series.y > 0).all())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._result = ThetaModel(
                endog,
                period=m,
                deseasonalize=m > 1,
                method="auto" if multiplicative else "additive",
            ).fit()

    def _forecast(self, horizon: int) -> Forecast:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = np.asarray(self._result.forecast(horizon), dtype=float)
        # statsmodels' prediction_intervals uses this variance but forecasts a second time to
        # centre it (doubling the cost); apply its formula here instead.
        alpha = float(self._result.params.iloc[1])
        steps = np.arange(horizon)
        sigma = np.sqrt((1 + steps * (1 + (alpha - 1) ** 2)) * float(self._result.sigma2))
        return Forecast(mean, sigma)
