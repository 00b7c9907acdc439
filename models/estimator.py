"""Any candidate as a long-format estimator: ``fit(df) -> self``, ``predict(horizon, levels)``.

A local candidate is fitted once per series; ``gbm`` is fitted once across all series (global).
Input is the long frame every stage shares (``series_id``, ``ds``, ``y``; other columns are
ignored); output has ``yhat`` and ``yhat_lower_<level>``/``yhat_upper_<level>`` per level.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Self

import pandas as pd

from models.base import Forecast, ForecastError
from models.frame import DS, SERIES_ID, Series, iter_series
from models.gbm import GBMSettings, GlobalGBM, default_lags
from models.intervals import z_score
from models.zoo import GLOBAL_CANDIDATES, make_forecaster

_FORMAT = "astralytiq-estimator-1"


class Estimator:
    def __init__(self, name: str, freq: str, season_length: int = 1, max_horizon: int = 0) -> None:
        make_forecaster(name, season_length)  # fails fast on an unknown name
        self.name = name
        self.freq = freq
        self.season_length = season_length
        self.max_horizon = max_horizon  # global models learn one model per step up to this
        self._series: list[Series] = []
        self._local: dict[str, object] = {}
        self._global: GlobalGBM | None = None

    def fit(self, df: pd.DataFrame) -> Self:
        self._series = list(iter_series(df, self.freq))
        if self.name in GLOBAL_CANDIDATES and len(self._series) > 1:
            if self.max_horizon < 1:
                raise ValueError(f"{self.name} is fitted across series: give max_horizon >= 1")
            settings = GBMSettings(self.max_horizon, default_lags(self.max_horizon, self.season_length))
            self._global = GlobalGBM(settings).fit(self._series)
        else:
            self._local = {
                s.series_id: make_forecaster(self.name, self.season_length).fit(s) for s in self._series
            }
        return self

    def _forecasts(self, horizon: int) -> dict[str, Forecast]:
        if not self._series:
            raise ForecastError("call fit() before predict()")
        if self._global is not None:
            if horizon > self.max_horizon:
                raise ValueError(f"horizon must be at most {self.max_horizon}, got {horizon}")
            return {
                sid: Forecast(f.mean[:horizon], f.sigma[:horizon])
                for sid, f in self._global.forecast(self._series).items()
            }
        return {sid: model.forecast(horizon) for sid, model in self._local.items()}  # type: ignore[attr-defined]

    def predict(self, horizon: int, levels: Iterable[float] = (80.0, 95.0)) -> pd.DataFrame:
        """One row per (series, step): ``ds``, ``yhat`` and the bounds of each interval level."""
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        levels = list(levels)
        frames = []
        forecasts = self._forecasts(horizon)
        for series in self._series:
            forecast = forecasts[series.series_id]
            frame = pd.DataFrame(
                {SERIES_ID: series.series_id, DS: series.future_dates(horizon), "yhat": forecast.mean}
            )
            for level in levels:
                half = z_score(level) * forecast.sigma
                frame[f"yhat_lower_{level:g}"] = forecast.mean - half
                frame[f"yhat_upper_{level:g}"] = forecast.mean + half
            frames.append(frame)
        result = pd.concat(frames, ignore_index=True)
        if result.drop(columns=[SERIES_ID, DS]).isna().to_numpy().any():
            raise ForecastError(f"{self.name} produced NaN forecasts")
        return result

    def save(self, path: Path) -> Path:
        # Trusted local artifacts only: pickle runs code on load, as MLflow's own flavors do.
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps((_FORMAT, self)))
        tmp.replace(path)
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> Estimator:
        tag, estimator = pickle.loads(Path(path).read_bytes())
        if tag != _FORMAT or not isinstance(estimator, cls):
            raise ValueError(f"{path} is not an AstralytiQ estimator ({tag!r}); refit and save it")
        return estimator
