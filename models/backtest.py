"""Rolling-origin backtests: refit at several cutoffs and score each forecast against actuals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models import metrics
from models.base import ForecastError, LocalForecaster
from models.frame import Series
from models.intervals import z_score


@dataclass(frozen=True)
class BacktestConfig:
    horizon: int
    windows: int = 3
    step: int | None = None  # distance between cutoffs; default: the horizon
    levels: tuple[float, ...] = (80.0, 95.0)

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if self.windows < 1:
            raise ValueError(f"backtest windows must be >= 1, got {self.windows}")
        if self.step is not None and self.step < 1:
            raise ValueError(f"backtest step must be >= 1, got {self.step}")

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


def score_window(
    series: Series,
    model: LocalForecaster,
    cutoff: int,
    window: int,
    config: BacktestConfig,
    season_length: int,
) -> WindowScore:
    train = series.head(cutoff)
    actual = series.y[cutoff : cutoff + config.horizon]
    cutoff_date = str(train.ds[-1].date())
    try:
        forecast = model.fit(train).forecast(config.horizon)
    except (ForecastError, ValueError, np.linalg.LinAlgError) as exc:
        nan = float("nan")
        return WindowScore(
            series.series_id, model.name, window, cutoff_date, nan, nan, nan, nan, nan, {}, str(exc)
        )
    covered = {}
    for level in config.levels:
        half = z_score(level) * forecast.sigma
        covered[level] = metrics.coverage(actual, forecast.mean - half, forecast.mean + half)
    half95 = z_score(95) * forecast.sigma
    return WindowScore(
        series_id=series.series_id,
        model=model.name,
        window=window,
        cutoff=cutoff_date,
        smape=metrics.smape(actual, forecast.mean),
        mase=metrics.mase(actual, forecast.mean, train.y, season_length),
        rmsse=metrics.rmsse(actual, forecast.mean, train.y, season_length),
        wape=metrics.wape(actual, forecast.mean),
        msis=metrics.msis(actual, forecast.mean - half95, forecast.mean + half95, train.y, season_length),
        coverage=covered,
    )


def backtest(
    series: Series,
    make_model: Callable[[], LocalForecaster],
    config: BacktestConfig,
    season_length: int,
) -> list[WindowScore]:
    """Score one candidate on every rolling-origin window the series is long enough for."""
    probe = make_model()
    # The scale of MASE needs more than one season of training history.
    min_train = max(probe.min_history, season_length + 1)
    return [
        score_window(series, make_model(), cutoff, window, config, season_length)
        for window, cutoff in enumerate(config.cutoffs(len(series), min_train))
    ]
