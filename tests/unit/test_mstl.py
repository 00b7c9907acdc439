"""The multiple-seasonality candidate: MSTL recovers two known periods and forecasts both."""

import numpy as np
import pandas as pd
import pytest

from models.base import ForecastError
from models.frame import Series
from models.mstl import MSTLForecaster, usable_periods
from models.zoo import make_forecaster

DAY, WEEK = 24, 168


def hourly(n: int = 6 * WEEK, seed: int = 0) -> tuple[Series, np.ndarray]:
    """Hourly data with a daily cycle (amplitude 10) and a weekly one (amplitude 6), noise 1."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + 2 * DAY)
    truth = 100 + 10 * np.sin(2 * np.pi * t / DAY) + 6 * np.sin(2 * np.pi * t / WEEK)
    y = truth[:n] + rng.normal(0, 1, n)
    return Series("h", pd.date_range("2024-01-01", periods=n, freq="h"), y, "h"), truth[n:]


def test_mstl_recovers_the_daily_and_the_weekly_period() -> None:
    series, future = hourly()
    model = make_forecaster("mstl", DAY, (DAY, WEEK))
    forecast = model.fit(series).forecast(2 * DAY)
    assert isinstance(model, MSTLForecaster) and model.fitted_periods == (DAY, WEEK)
    t = np.arange(len(series), len(series) + WEEK)
    daily, weekly = model.components(WEEK)
    assert np.corrcoef(daily, np.sin(2 * np.pi * t / DAY))[0, 1] > 0.95
    assert np.corrcoef(weekly, np.sin(2 * np.pi * t / WEEK))[0, 1] > 0.95
    assert np.ptp(daily) == pytest.approx(20, rel=0.15) and np.ptp(weekly) == pytest.approx(12, rel=0.2)
    assert np.mean(np.abs(forecast.mean - future)) < 1.5  # the noise alone has MAE 0.8
    # The daily period alone misses the weekly swing of +-6.
    alone = make_forecaster("mstl", DAY, (DAY,)).fit(series).forecast(2 * DAY)
    assert np.mean(np.abs(alone.mean - future)) > 2 * np.mean(np.abs(forecast.mean - future))


def test_periods_without_two_cycles_are_left_out() -> None:
    assert usable_periods((24, 168, 8766), 400) == (24, 168)
    assert usable_periods((1, 7), 10) == ()
    short, _ = hourly(n=40)
    with pytest.raises(ForecastError, match="mstl needs at least 336 observations"):
        MSTLForecaster(168, (168,)).fit(short)
