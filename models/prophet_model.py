"""Prophet (Taylor & Letham, 2018): trend, weekly and yearly seasonality, holidays-free."""

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

        self._model = Prophet(
            interval_width=_INTERVAL_LEVEL / 100,
            uncertainty_samples=300,
            yearly_seasonality="auto",
            weekly_seasonality="auto",
            daily_seasonality=False,
        )
        self._model.fit(pd.DataFrame({"ds": series.ds, "y": series.y}))
        self._future = series.future_dates

    def _forecast(self, horizon: int) -> Forecast:
        frame = self._model.predict(pd.DataFrame({"ds": self._future(horizon)}))
        mean = frame["yhat"].to_numpy(dtype=float)
        width = frame["yhat_upper"].to_numpy(dtype=float) - frame["yhat_lower"].to_numpy(dtype=float)
        return Forecast(mean, np.maximum(width, 0.0) / (2 * z_score(_INTERVAL_LEVEL)))
