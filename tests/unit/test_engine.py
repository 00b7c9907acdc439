"""Backtests, per-series selection, the bundle the API serves."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from models.backtest import BacktestConfig, WindowScore
from models.bundle import ForecastBundle
from models.engine import TrainingConfig, select, train


def long_frame(n_series: int = 3, n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frames = []
    for i in range(n_series):
        t = np.arange(n)
        y = 20 + 5 * i + 4 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.5, n)
        frames.append(
            pd.DataFrame({"series_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=n), "y": y})
        )
    return pd.concat(frames, ignore_index=True)


def test_cutoffs_are_rolling_origins() -> None:
    assert BacktestConfig(horizon=7, windows=3, step=7).cutoffs(100, min_train=10) == [79, 86, 93]
    assert BacktestConfig(horizon=7, windows=3).cutoffs(20, min_train=10) == [13]  # short: fewer windows


def test_train_selects_per_series_and_builds_bundle() -> None:
    config = TrainingConfig(
        freq="D",
        horizon=7,
        season_length=7,
        candidates=("naive", "seasonal_naive", "ets"),
        backtest_windows=2,
        nonnegative=True,
    )
    result = train(long_frame(), config, "demo", n_jobs=1)
    assert set(result.selection["series_id"]) == {"s0", "s1", "s2"}
    # A strongly weekly series is never best served by a random walk.
    assert "naive" not in set(result.selection["model"])
    assert len(result.scores) == 3 * 3 * 2  # series x candidates x windows
    assert result.bundle.max_horizon == 7 and result.bundle.train_end == "2024-04-09"
    assert math.isfinite(result.summary["backtest_mase"])


def test_bundle_round_trip_and_forecast_rows() -> None:
    config = TrainingConfig(
        freq="D", horizon=5, season_length=7, candidates=("seasonal_naive",), backtest_windows=1
    )
    bundle = train(long_frame(1), config, "demo", n_jobs=1).bundle
    again = ForecastBundle.from_json(bundle.to_json())
    assert again == bundle
    rows = again.forecast(["s0"], 3, [80, 95])
    assert [r["ds"] for r in rows] == ["2024-04-10", "2024-04-11", "2024-04-12"]
    assert all(
        r["yhat_lower_95"] <= r["yhat_lower_80"] <= r["yhat"] <= r["yhat_upper_80"] <= r["yhat_upper_95"]
        for r in rows
    )
    with pytest.raises(ValueError, match="between 1 and 5"):
        again.forecast(["s0"], 6, [80])
    with pytest.raises(KeyError):
        again.forecast(["nope"], 1, [80])


def test_bundle_refuses_other_format_versions() -> None:
    with pytest.raises(ValueError, match="retrain"):
        ForecastBundle.from_json(json.dumps({"format_version": 99}))


def test_nonnegative_bundle_clips_bands() -> None:
    frame = long_frame(1)
    frame["y"] = np.where(np.arange(len(frame)) % 7 == 0, 0.0, 1.0)
    config = TrainingConfig(
        freq="D", horizon=7, season_length=1, candidates=("naive",), backtest_windows=1, nonnegative=True
    )
    rows = train(frame, config, "demo", n_jobs=1).bundle.forecast(["s0"], 7, [99])
    assert min(r["yhat_lower_99"] for r in rows) >= 0.0


def test_selection_skips_candidates_that_failed_a_window() -> None:
    ok = WindowScore("s", "a", 0, "2024-01-01", 1, 2.0, 1, 1, 1, {})
    nan = float("nan")
    failed = WindowScore("s", "b", 0, "2024-01-01", nan, nan, nan, nan, nan, {}, error="boom")
    assert select([ok, failed], ["b", "a"], "mase") == ("a", "lowest mean backtest mase (2.000)")
    assert select([failed], ["b"], "mase")[0] == ""


def test_parallel_and_serial_training_agree() -> None:
    config = TrainingConfig(
        freq="D", horizon=7, season_length=7, candidates=("seasonal_naive", "theta"), backtest_windows=1
    )
    serial = train(long_frame(), config, "demo", n_jobs=1)
    parallel = train(long_frame(), config, "demo", n_jobs=2)
    assert serial.bundle == parallel.bundle
