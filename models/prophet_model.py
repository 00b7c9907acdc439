"""Prophet (Taylor & Letham, 2018): trend, weekly and yearly seasonality, and the dataset's covariates:
its holidays as Prophet holidays, its known columns as extra regressors. Calendar features are
left to Prophet's own seasonalities, and unknown columns are ignored (Prophet needs a
regressor's value at every forecast date)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from models.base import Forecast, LocalForecaster
from models.frame import Series
from models.intervals import z_score

_INTERVAL_LEVEL = 80  # Prophet simulates one interval width; the error sigma is derived from it


class ProphetForecaster(LocalForecaster):
    name = "prophet"

    @property
    def min_history(self) -> int:
        return max(10, 2 * self.season_length)

    def _fit(self, series: Series) -> None:
        from prophet import Prophet

        # cmdstanpy logs every chain start at INFO (it sets its level on import); that would
        # bury the flow's own progress.
        logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
        logging.getLogger("prophet").setLevel(logging.WARNING)

        covariates = series.covariates
        holidays = None
        if covariates is not None and covariates.holidays:
            from models.exog import holiday_dates

            years = (series.ds[0].year - 1, series.ds[-1].year + 2)
            days = sorted(holiday_dates(covariates.holidays, *years))
            # The day before and after carry the travel peaks: Prophet's holiday window.
            holidays = pd.DataFrame(
                {"holiday": "public holiday", "ds": days, "lower_window": -1, "upper_window": 1}
            )
        self._model = Prophet(
            interval_width=_INTERVAL_LEVEL / 100,
            uncertainty_samples=300,
            yearly_seasonality="auto",
            weekly_seasonality="auto",
            daily_seasonality=False,
            holidays=holidays,
        )
        history = pd.DataFrame({"ds": series.ds, "y": series.y})
        self._regressors = list(covariates.known) if covariates is not None and series.x is not None else []
        for column, name in enumerate(self._regressors):
            self._model.add_regressor(name)
            history[name] = series.x[:, column] if series.x is not None else 0.0
        self._model.fit(history)
        self._series_for_future = series

    def _forecast(self, horizon: int) -> Forecast:
        from models.exog import future_known

        series = self._series_for_future
        future = pd.DataFrame({"ds": series.future_dates(horizon)})
        ahead = future_known(series, horizon)
        for column, name in enumerate(self._regressors):
            future[name] = ahead[:, column]
        frame = self._model.predict(future)
        mean = frame["yhat"].to_numpy(dtype=float)
        width = frame["yhat_upper"].to_numpy(dtype=float) - frame["yhat_lower"].to_numpy(dtype=float)
        return Forecast(mean, np.maximum(width, 0.0) / (2 * z_score(_INTERVAL_LEVEL)))
