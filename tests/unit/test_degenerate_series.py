"""Degenerate histories: forecast sensibly or refuse with a reason that names the problem."""

import numpy as np
import pandas as pd
import pytest

from models.base import ForecastError
from models.engine import TrainingConfig, train, train_series
from models.frame import Series, iter_series

CHEAP = ("naive2", "ets", "theta", "arima", "combo_median")


def series(y: np.ndarray, sid: str = "s") -> Series:
    return Series(sid, pd.date_range("2024-01-01", periods=len(y), freq="D"), np.asarray(y, float), "D")


def config(**overrides: object) -> TrainingConfig:
    settings: dict = {
        "freq": "D",
        "horizon": 7,
        "season_length": 7,
        "candidates": CHEAP,
        "backtest_windows": 2,
    }
    settings.update(overrides)
    return TrainingConfig(**settings)


@pytest.mark.parametrize("level", [0.0, 42.0])
def test_constant_and_all_zero_series_forecast_their_level(level: float) -> None:
    outcome = train_series(series(np.full(60, level)), config())
    assert outcome.forecast.mean == pytest.approx([level] * 7)
    assert all(np.isfinite(outcome.forecast.sigma))


def test_huge_magnitudes_stay_on_scale() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(120)
    y = 1e12 * (5 + np.sin(2 * np.pi * t / 7) + 0.1 * rng.normal(size=120))
    outcome = train_series(series(y), config())
    mean = np.asarray(outcome.forecast.mean)
    assert np.isfinite(mean).all() and np.isfinite(outcome.forecast.sigma).all()
    assert mean.min() > 3e12 and mean.max() < 7e12


def test_very_short_series_falls_back_to_what_can_fit() -> None:
    outcome = train_series(series(np.array([3.0, 4.0, 5.0])), config())
    assert outcome.selected in {"naive2", "seasonal_naive", "naive"}
    assert len(outcome.forecast.mean) == 7
    assert "no candidate could be backtested" in outcome.reason


def test_single_observation_is_refused_with_the_series_name() -> None:
    with pytest.raises(ForecastError, match="'lonely'"):
        train_series(series(np.array([3.0]), "lonely"), config())


def test_gaps_are_interpolated_and_forecast() -> None:
    # The data contract decides how many gaps are acceptable; the engine fills those it lets through.
    dates = pd.date_range("2024-01-01", periods=40, freq="D").delete([10, 11, 25])
    frame = pd.DataFrame(
        {"series_id": "gappy", "ds": dates, "y": np.arange(40.0)[dates.day - 1 + 31 * (dates.month - 1)]}
    )
    (filled,) = list(iter_series(frame, "D"))
    assert len(filled) == 40 and filled.y[10:12].tolist() == [10.0, 11.0] and filled.y[25] == 25.0
    outcome = train_series(filled, config())
    assert np.isfinite(outcome.forecast.mean).all() and outcome.forecast.mean[0] > 35


def test_off_grid_and_repeated_timestamps_are_refused_naming_the_series() -> None:
    dates = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-02 12:00", "2024-01-03"])
    frame = pd.DataFrame({"series_id": "odd", "ds": dates, "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match=r"'odd' has 1 timestamps off the 'D' grid"):
        list(iter_series(frame, "D"))
    repeated = pd.DataFrame({"series_id": "dup", "ds": dates[[0, 1, 1]], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"'dup' repeats timestamps"):
        list(iter_series(repeated, "D"))


def test_missing_values_are_refused() -> None:
    frame = pd.DataFrame(
        {"series_id": "s", "ds": pd.date_range("2024-01-01", periods=5), "y": [1, 2, np.nan, 4, 5]}
    )
    with pytest.raises(ValueError, match="NaN"):
        train(frame, config(), "demo", n_jobs=1)
