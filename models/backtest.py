"""Rolling-origin backtests: refit at several cutoffs and score each forecast against actuals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models import metrics
from models.base import Forecast, ForecastError, LocalForecaster
from models.frame import Series
from models.intervals import z_score


@dataclass(frozen=True)
class BacktestConfig:
    horizon: int
    windows: int = 3
    step: int | None = None  # distance between cutoffs; default: the horizon
    levels: tuple[float, ...] = (80.0, 95.0)
    max_history: int = 0  # fit on at most this many recent observations; 0: all of them

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if self.windows < 1:
            raise ValueError(f"backtest windows must be >= 1, got {self.windows}")
        if self.step is not None and self.step < 1:
            raise ValueError(f"backtest step must be >= 1, got {self.step}")
        if self.max_history < 0:
            raise ValueError(f"max_history must be >= 0, got {self.max_history}")

    def cutoffs(self, n_obs: int, min_train: int) -> list[int]:
        """Training lengths of each window, oldest first; windows without enough history drop."""
        step = self.step or self.horizon
        ends = [n_obs - self.horizon - step * k for k in range(self.windows)]
        return sorted(c for c in ends if c >= min_train)


@dataclass(frozen=True)
class WindowScore:
    series_id: str
    model: str
    window: int
    cutoff: str  # last training date of the window
    smape: float
    mase: float
    rmsse: float
    wape: float
    msis: float
    coverage: dict[float, float]
    error: str = ""  # why the model failed on this window, if it did


def fit_window(train: Series, model: LocalForecaster, horizon: int, max_history: int = 0) -> Forecast:
    """Fit on ``train`` (its most recent ``max_history`` points when set) and forecast."""
    recent = train.tail(max_history) if max_history else train
    return model.fit(recent).forecast(horizon)


def score_forecast(
    series: Series,
    model_name: str,
    cutoff: int,
    window: int,
    forecast: Forecast | str,
    config: BacktestConfig,
    season_length: int,
) -> WindowScore:
    """Score a forecast made at ``cutoff`` (or record why there is none: ``forecast`` a message)."""
    train_y = series.y[:cutoff]
    actual = series.y[cutoff : cutoff + config.horizon]
    cutoff_date = str(series.ds[cutoff - 1].date())
    if isinstance(forecast, str):
        nan = float("nan")
        return WindowScore(
            series.series_id, model_name, window, cutoff_date, nan, nan, nan, nan, nan, {}, forecast
        )
    covered = {}
    for level in config.levels:
        half = z_score(level) * forecast.sigma
        covered[level] = metrics.coverage(actual, forecast.mean - half, forecast.mean + half)
    half95 = z_score(95) * forecast.sigma
    return WindowScore(
        series_id=series.series_id,
        model=model_name,
        window=window,
        cutoff=cutoff_date,
        smape=metrics.smape(actual, forecast.mean),
        mase=metrics.mase(actual, forecast.mean, train_y, season_length),
        rmsse=metrics.rmsse(actual, forecast.mean, train_y, season_length),
        wape=metrics.wape(actual, forecast.mean),
        msis=metrics.msis(actual, forecast.mean - half95, forecast.mean + half95, train_y, season_length),
        coverage=covered,
    )


def score_window(
    series: Series,
    model: LocalForecaster,
    cutoff: int,
    window: int,
    config: BacktestConfig,
    season_length: int,
) -> WindowScore:
    return score_forecast(
        series,
        model.name,
        cutoff,
        window,
        window_forecast(series, model, cutoff, config),
        config,
        season_length,
    )


def window_forecast(
    series: Series, model: LocalForecaster, cutoff: int, config: BacktestConfig
) -> Forecast | str:
    """The forecast of one window, or the reason the model could not make it."""
    try:
        return fit_window(series.head(cutoff), model, config.horizon, config.max_history)
    except (ForecastError, ValueError, np.linalg.LinAlgError) as exc:
        return str(exc) or type(exc).__name__


def min_train(probe: LocalForecaster, season_length: int) -> int:
    # The scale of MASE needs more than one season of training history.
    return max(probe.min_history, season_length + 1)


def backtest_forecasts(
    series: Series,
    make_model: Callable[[], LocalForecaster],
    config: BacktestConfig,
    season_length: int,
) -> dict[int, Forecast | str]:
    """Each window's forecast (or failure reason), keyed by the window's training length."""
    cutoffs = config.cutoffs(len(series), min_train(make_model(), season_length))
    return {cutoff: window_forecast(series, make_model(), cutoff, config) for cutoff in cutoffs}


def backtest(
    series: Series,
    make_model: Callable[[], LocalForecaster],
    config: BacktestConfig,
    season_length: int,
) -> list[WindowScore]:
    """Score one candidate on every rolling-origin window the series is long enough for."""
    name = make_model().name
    forecasts = backtest_forecasts(series, make_model, config, season_length)
    return [
        score_forecast(series, name, cutoff, window, forecast, config, season_length)
        for window, (cutoff, forecast) in enumerate(sorted(forecasts.items()))
    ]
