"""Naive2 as the M4 organisers compute it, down to the published Weekly figures."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import metrics
from models.frame import Series
from models.naive2 import Naive2, autocorrelation, is_seasonal, multiplicative_indices

M4 = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "m4"


def as_series(y: np.ndarray) -> Series:
    return Series("s", pd.date_range("2020-01-06", periods=len(y), freq="W-MON"), y, "W-MON")


def test_autocorrelation_hand_computed() -> None:
    # x - mean = [-1.5, -0.5, 0.5, 1.5]; sum sq = 5; lag 1: (0.75 - 0.25 + 0.75) / 5 = 0.25
    assert autocorrelation(np.array([1.0, 2.0, 3.0, 4.0]), 1)[0] == pytest.approx(0.25)


def test_seasonality_test_needs_three_seasons_and_a_strong_lag() -> None:
    t = np.arange(48)
    seasonal = 100 + 20 * np.sin(2 * np.pi * t / 12)
    assert is_seasonal(seasonal, 12)
    assert not is_seasonal(seasonal[:35], 12)  # under three seasons: never seasonal
    noise = np.random.default_rng(0).normal(100, 1, 48)
    assert not is_seasonal(noise, 12)
    assert not is_seasonal(seasonal, 1)


def test_multiplicative_indices_match_r_decompose() -> None:
    # R: decompose(ts(c(1,2,3,4, 2,4,6,8, 3,6,9,12), frequency = 4), "multiplicative")$figure
    # trend (2x4 MA) at t=3..10: 2.625 3.25 3.875 4.5 5.125 5.75 ...; figure computed by hand below.
    y = np.array([1, 2, 3, 4, 2, 4, 6, 8, 3, 6, 9, 12], dtype=float)
    trend = np.convolve(y, np.r_[0.5, 1, 1, 1, 0.5] / 4, mode="valid")  # positions 2..9
    ratio = y[2:10] / trend
    raw = np.array(
        [np.mean(ratio[[2, 6]]), np.mean(ratio[[3, 7]]), np.mean(ratio[[0, 4]]), np.mean(ratio[[1, 5]])]
    )
    expected = raw / raw.mean()
    indices = multiplicative_indices(y, 4)
    assert indices[:4] == pytest.approx(expected)
    assert indices[8:12] == pytest.approx(expected)  # the pattern repeats from the first observation


def test_naive2_repeats_last_adjusted_value_times_season() -> None:
    t = np.arange(60)
    y = 100 * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) + 0.1 * t
    model = Naive2(season_length=12).fit(as_series(y))
    forecast = model.forecast(24)
    indices = multiplicative_indices(y, 12)
    level = y[-1] / indices[-1]
    assert forecast.mean[:12] == pytest.approx(level * indices[-12:])
    assert forecast.mean[12:] == pytest.approx(forecast.mean[:12])
    assert forecast.sigma[12] == pytest.approx(forecast.sigma[0] * np.sqrt(13))  # same season slot


def test_naive2_without_seasonality_is_naive() -> None:
    y = np.array([3.0, 5.0, 4.0, 6.0, 7.0])
    assert Naive2(season_length=1).fit(as_series(y)).forecast(3).mean.tolist() == [7.0, 7.0, 7.0]


def test_naive2_reproduces_published_m4_weekly_scores() -> None:
    """M4 Evaluation and Ranks: Naive2 on Weekly scores sMAPE 9.161 and MASE 2.777."""
    train = pd.read_csv(M4 / "Weekly-train.csv", index_col=0)
    test = pd.read_csv(M4 / "Weekly-test.csv", index_col=0)
    smapes, mases = [], []
    for series_id, row in train.iterrows():
        history = row.dropna().to_numpy(dtype=float)
        actual = test.loc[series_id].to_numpy(dtype=float)
        forecast = Naive2(season_length=1).fit(as_series(history)).forecast(len(actual)).mean
        smapes.append(metrics.smape(actual, forecast))
        mases.append(metrics.mase(actual, forecast, history, 1))
    assert len(smapes) == 359
    assert round(float(np.mean(smapes)), 3) == 9.161
    assert round(float(np.mean(mases)), 3) == 2.777
