"""A gradient-boosted regressor on lag (and calendar) features, global across series.

One scikit-learn ``HistGradientBoostingRegressor`` per step ahead (the direct strategy) learns
from windows of every series at once: each window's lags are divided by their mean absolute
value, and the target is the change from the last observed value on that scale, so series of
any magnitude share one model (the recipe that made global models win on M4 and M5). Fitted on
a single series it is a local lag regressor. Intervals use the spread of each step's scaled
errors on held-out windows, times the series' own scale.

Two settings carry most of the accuracy (measured on M4 Weekly, h=13, 359 series, OWA against
Naive2): the absolute-error loss (0.70 against 0.85 with squared error: a few windows with level
shifts otherwise dominate the fit, and sMAPE and MASE are absolute-error scores) and a look-back
of several horizons (0.90 with 26 lags, 0.70 with 52: the window then spans a year, so the trees
see last year's same week even when no season length is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from models.base import Forecast, ForecastError, LocalForecaster
from models.frame import Series

LOSSES = ("absolute_error", "squared_error")


@dataclass(frozen=True)
class GBMSettings:
    horizon: int
    lags: int
    calendar: bool = True
    max_windows_per_series: int = 200  # the most recent windows; older ones add time, not skill
    max_iter: int = 200
    learning_rate: float = 0.05
    loss: str = "absolute_error"  # or "squared_error"; see the module docstring
    seed: int = 0

    def __post_init__(self) -> None:
        check_loss(self.loss)
        if self.horizon < 1 or self.lags < 2:
            raise ValueError(f"gbm needs horizon >= 1 and lags >= 2, got {self.horizon} and {self.lags}")


def check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"gbm loss must be {' or '.join(map(repr, LOSSES))}, got {loss!r}")


def default_lags(horizon: int, season_length: int) -> int:
    """Four horizons back (N-BEATS looks back 2 to 7 horizons) and at least two seasons."""
    return max(4 * horizon, 2 * season_length, 8)


def _scale(window: np.ndarray) -> np.ndarray:
    """Mean absolute value of each row; a zero window gets scale 1 so it stays finite."""
    level = np.mean(np.abs(window), axis=-1)
    return np.where(level > 1e-9, level, 1.0)


def _calendar(dates: np.ndarray) -> np.ndarray:
    """Month, ISO week and weekday of each target date (columns)."""
    import pandas as pd

    index = pd.DatetimeIndex(dates)
    return np.column_stack(
        [index.month, index.isocalendar().week.to_numpy(dtype=int), index.dayofweek]
    ).astype(float)


def _padded(y: np.ndarray, lags: int) -> np.ndarray:
    """The series with its first value repeated in front, so a short one still fills a window."""
    if len(y) >= lags:
        return y
    return np.r_[np.full(lags - len(y), y[0]), y]


class GlobalGBM:
    """Direct multi-step boosted trees on scaled lag windows pooled over many series."""

    name = "gbm"

    def __init__(self, settings: GBMSettings) -> None:
        self.settings = settings
        self._models: list[object] = []
        self._error_scale = np.zeros(settings.horizon)

    def _features(self, windows: np.ndarray, scale: np.ndarray) -> np.ndarray:
        scaled = windows / scale[:, None]
        last = scaled[:, -1:]
        # Lags relative to the last value, the window's level and its recent slope.
        return np.column_stack([scaled - last, last, np.log1p(scale), scaled[:, -1] - scaled[:, -2]])

    def _training_windows(
        self, series: Sequence[Series]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
        s = self.settings
        features, targets, groups, dates = [], [], [], []
        for number, item in enumerate(series):
            y = _padded(item.y, s.lags)
            ends = np.arange(s.lags, len(y) - s.horizon + 1)  # window y[end - lags:end]
            if ends.size == 0:
                continue
            ends = ends[-s.max_windows_per_series :]
            windows = np.lib.stride_tricks.sliding_window_view(y, s.lags)[ends - s.lags]
            future = np.lib.stride_tricks.sliding_window_view(y, s.horizon)[ends]
            scale = _scale(windows)
            features.append(self._features(windows, scale))
            targets.append((future - windows[:, -1:]) / scale[:, None])
            groups.append(np.full(len(ends), number))
            if s.calendar:
                offset = len(y) - len(item.y)
                index = np.clip(ends[:, None] + np.arange(s.horizon) - offset, 0, len(item.ds) - 1)
                dates.append(np.asarray(item.ds)[index])
        if not features:
            raise ForecastError(f"gbm: no series is longer than {s.horizon} observations")
        return np.vstack(features), np.vstack(targets), np.concatenate(groups), dates

    def fit(self, series: Sequence[Series]) -> Self:
        from threadpoolctl import threadpool_limits

        # One OpenMP thread: parallelism comes from processes over series, and OpenMP's spinning
        # barriers on a busy machine made a two-thread fit many times slower than one thread.
        with threadpool_limits(1):
            return self._fit(series)

    def _fit(self, series: Sequence[Series]) -> Self:
        from sklearn.ensemble import HistGradientBoostingRegressor

        s = self.settings
        x, targets, _, dates = self._training_windows(series)
        calendar = _calendar(np.concatenate(dates).ravel()).reshape(len(x), s.horizon, 3) if dates else None
        # Hold out every tenth window to measure each step's error spread honestly.
        held_out = np.arange(len(x)) % 10 == 9
        if held_out.sum() < 5:
            held_out[:] = False
        self._models = []
        scales = np.zeros(s.horizon)
        for step in range(s.horizon):
            features = x if calendar is None else np.column_stack([x, calendar[:, step]])
            model = HistGradientBoostingRegressor(
                loss=s.loss,
                max_iter=s.max_iter,
                learning_rate=s.learning_rate,
                max_leaf_nodes=31,
                min_samples_leaf=20,
                random_state=s.seed,
            )
            target = targets[:, step]
            # One fit on nine windows in ten: the tenth measures the step's error spread honestly
            # (a second fit on everything would double the cost for little gain).
            model.fit(features[~held_out], target[~held_out])
            if held_out.any():
                errors = target[held_out] - model.predict(features[held_out])
            else:
                errors = target - model.predict(features)
            scales[step] = float(np.sqrt(np.mean(errors**2)))
            self._models.append(model)
        self._error_scale = np.maximum.accumulate(scales)  # uncertainty never shrinks with the step
        return self

    def forecast(self, series: Sequence[Series]) -> dict[str, Forecast]:
        """Forecast ``horizon`` steps after the end of each series."""
        if not self._models:
            raise ForecastError("gbm: call fit() before forecast()")
        s = self.settings
        windows = np.vstack([_padded(item.y, s.lags)[-s.lags :] for item in series])
        scale = _scale(windows)
        x = self._features(windows, scale)
        calendar = None
        if s.calendar:
            future = np.concatenate([item.future_dates(s.horizon) for item in series])
            calendar = _calendar(future).reshape(len(series), s.horizon, 3)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            deltas = self._predict(x, calendar)
        means = windows[:, -1:] + deltas * scale[:, None]
        sigmas = scale[:, None] * self._error_scale[None, :]
        return {item.series_id: Forecast(means[row], sigmas[row]) for row, item in enumerate(series)}

    def _predict(self, x: np.ndarray, calendar: np.ndarray | None) -> np.ndarray:
        return np.column_stack(
            [
                model.predict(x if calendar is None else np.column_stack([x, calendar[:, step]]))  # type: ignore[attr-defined]
                for step, model in enumerate(self._models)
            ]
        )


class LocalGBM(LocalForecaster):
    """The same regressor fitted on one series alone (when no pooled fit is available)."""

    name = "gbm"

    def __init__(self, season_length: int = 1, horizon: int = 0, lags: int = 0) -> None:
        super().__init__(season_length)
        self._horizon = horizon
        self._lags = lags

    @property
    def min_history(self) -> int:
        return 20

    def _fit(self, series: Series) -> None:
        self._fitted_on = series

    def _forecast(self, horizon: int) -> Forecast:
        horizon_trained = max(horizon, self._horizon)
        lags = self._lags or default_lags(horizon_trained, self.season_length)
        # A single series has few windows; shorten the lag window so there are some to learn from.
        lags = min(lags, max(4, (len(self._fitted_on) - horizon_trained) // 2))
        settings = GBMSettings(horizon=horizon_trained, lags=lags, max_windows_per_series=10_000)
        model = GlobalGBM(settings).fit([self._fitted_on])
        result = model.forecast([self._fitted_on])[self._fitted_on.series_id]
        return Forecast(result.mean[:horizon], result.sigma[:horizon])
