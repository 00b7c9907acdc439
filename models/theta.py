"""The Theta method (Assimakopoulos & Nikolopoulos, 2000), via statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import Forecast, LocalForecaster, seasonal_period
from models.frame import Series
from models.intervals import z_score


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
            bounds = self._result.prediction_intervals(horizon, alpha=0.05)
        # statsmodels gives the 95% interval; recover the error standard deviation from it.
        sigma = (bounds["upper"].to_numpy() - bounds["lower"].to_numpy()) / (2 * z_score(95))
        return Forecast(mean, sigma)
