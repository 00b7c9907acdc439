"""Model behaviour: horizon length, intervals around the point, wider levels wider, no NaN."""

import numpy as np
import pandas as pd
import pytest

from models.base import ForecastError
from models.frame import Series
from models.intervals import bands
from models.zoo import CANDIDATES, make_forecaster


def weekly_series(n: int = 120, level: float = 50.0, seed: int = 0) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = level + 10 * np.sin(2 * np.pi * t / 7) + 0.05 * t + rng.normal(0, 1.5, n)
    return Series("s1", pd.date_range("2023-01-02", periods=n, freq="D"), y, "D")


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_forecast_shape_and_intervals(name: str) -> None:
    horizon = 14
    forecast = make_forecaster(name, 7).fit(weekly_series()).forecast(horizon)
    assert forecast.mean.shape == (horizon,) and forecast.sigma.shape == (horizon,)
    assert np.isfinite(forecast.mean).all() and (forecast.sigma >= 0).all()
    lo80, hi80 = bands(forecast.mean.tolist(), forecast.sigma.tolist(), 80)
    lo95, hi95 = bands(forecast.mean.tolist(), forecast.sigma.tolist(), 95)
    for m, a, b, c, d in zip(forecast.mean, lo80, hi80, lo95, hi95, strict=True):
        assert c <= a <= m <= b <= d


@pytest.mark.parametrize("name", ["seasonal_naive", "ets", "theta", "mstl"])
def test_seasonal_models_follow_the_weekly_cycle(name: str) -> None:
    series = weekly_series()
    forecast = make_forecaster(name, 7).fit(series).forecast(7)
    truth = 50 + 10 * np.sin(2 * np.pi * np.arange(120, 127) / 7) + 0.05 * np.arange(120, 127)
    assert np.corrcoef(forecast.mean, truth)[0, 1] > 0.9


def test_seasonal_naive_repeats_last_season() -> None:
    series = Series("s", pd.date_range("2024-01-01", periods=14, freq="D"), np.arange(14, dtype=float), "D")
    forecast = make_forecaster("seasonal_naive", 7).fit(series).forecast(9)
    assert forecast.mean.tolist() == [7, 8, 9, 10, 11, 12, 13, 7, 8]
    assert forecast.sigma[7] > forecast.sigma[0]  # the second season ahead is less certain


def test_too_short_history_is_refused_with_reason() -> None:
    short = Series("tiny", pd.date_range("2024-01-01", periods=3, freq="D"), np.array([1.0, 2.0, 3.0]), "D")
    with pytest.raises(ForecastError, match=r"needs at least .* series 'tiny' has 3"):
        make_forecaster("prophet", 7).fit(short)


def test_unknown_forecaster_lists_choices() -> None:
    with pytest.raises(ValueError, match="choose from"):
        make_forecaster("lstm", 7)


def test_constant_series_forecasts_its_level() -> None:
    flat = Series("flat", pd.date_range("2024-01-01", periods=60, freq="D"), np.full(60, 5.0), "D")
    for name in ("seasonal_naive", "ets", "theta"):
        forecast = make_forecaster(name, 7).fit(flat).forecast(5)
        assert np.allclose(forecast.mean, 5.0, atol=1e-3), name
