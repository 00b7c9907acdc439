"""The newer candidates: auto ARIMA, global boosted trees, combinations, the long-format estimator."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.arima import AutoARIMA, regular_differences
from models.engine import TrainingConfig, pool_forecasts, train, train_series
from models.estimator import Estimator
from models.frame import Series, iter_series


def ar1(n: int = 300, phi: float = 0.7, level: float = 10.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = phi * y[t - 1] + rng.normal()
    return level + y


def as_series(y: np.ndarray, sid: str = "s") -> Series:
    return Series(sid, pd.date_range("2024-01-01", periods=len(y), freq="D"), y, "D")


def long_frame(n_series: int = 4, n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    parts = []
    for i in range(n_series):
        t = np.arange(n)
        y = (i + 1) * 100 + 10 * np.sin(2 * np.pi * t / 7) + 0.3 * t + rng.normal(0, 2, n)
        parts.append(
            pd.DataFrame({"series_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=n), "y": y})
        )
    return pd.concat(parts, ignore_index=True)


def test_arima_recovers_an_ar1() -> None:
    model = AutoARIMA(1).fit(as_series(ar1()))
    assert model.order[1] == 0  # stationary: no difference
    forecast = model.forecast(30)
    # An AR(1) forecast decays towards the mean and its uncertainty grows to the process variance.
    assert abs(forecast.mean[-1] - 10.0) < 0.5
    assert forecast.sigma[0] < forecast.sigma[-1] < 1.6


def test_arima_differences_a_random_walk() -> None:
    walk = np.cumsum(np.random.default_rng(1).normal(size=300)) + 50
    assert regular_differences(walk) >= 1
    assert regular_differences(np.random.default_rng(2).normal(size=300)) == 0


def test_arima_takes_a_seasonal_difference_for_seasonal_data() -> None:
    t = np.arange(140)
    y = 50 + 10 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(4).normal(0, 0.5, 140)
    model = AutoARIMA(7).fit(as_series(y))
    assert model.seasonal_difference == 1
    truth = 50 + 10 * np.sin(2 * np.pi * np.arange(140, 154) / 7)
    assert np.max(np.abs(model.forecast(14).mean - truth)) < 3


def test_pooled_gbm_windows_never_see_their_future() -> None:
    frame = long_frame()
    config = TrainingConfig(freq="D", horizon=7, season_length=7, candidates=("gbm",), backtest_windows=2)
    series = list(iter_series(frame, "D"))
    pooled = pool_forecasts(series, config)
    assert set(pooled) == {"s0", "s1", "s2", "s3"}
    assert sorted(pooled["s0"].windows["gbm"]) == [76, 83]  # training lengths of the two windows
    # Changing the data after the first cutoff must not change that window's forecast.
    changed = frame.copy()
    late = (changed["series_id"] == "s1") & (
        changed["ds"] >= pd.Timestamp("2024-01-01") + pd.Timedelta(days=76)
    )
    changed.loc[late, "y"] += 1000
    again = pool_forecasts(list(iter_series(changed, "D")), config)
    first = pooled["s0"].windows["gbm"][76]
    assert np.allclose(again["s0"].windows["gbm"][76].mean, first.mean)  # type: ignore[union-attr]


def test_combination_is_scored_and_can_be_selected() -> None:
    config = TrainingConfig(
        freq="D",
        horizon=7,
        season_length=7,
        candidates=("seasonal_naive", "theta", "arima", "combo_mean", "combo_median"),
        backtest_windows=2,
        combine_top_k=2,
    )
    outcome = train_series(next(iter(iter_series(long_frame(1), "D"))), config)
    combos = [s for s in outcome.scores if s.model.startswith("combo_")]
    assert {s.model for s in combos} == {"combo_mean", "combo_median"}
    assert all(np.isfinite(s.mase) for s in combos)
    if outcome.selected.startswith("combo_"):
        assert "members:" in outcome.reason


def test_unknown_candidate_in_config_lists_choices() -> None:
    with pytest.raises(ValueError, match="combo_median"):
        TrainingConfig(freq="D", horizon=7, candidates=("ets", "lstm"))


def test_train_with_gbm_and_combos_builds_a_bundle() -> None:
    config = TrainingConfig(
        freq="D", horizon=7, season_length=7, candidates=("naive2", "gbm", "combo_median"), backtest_windows=1
    )
    result = train(long_frame(), config, "demo", n_jobs=1)
    assert set(result.selection["series_id"]) == {"s0", "s1", "s2", "s3"}
    rows = result.bundle.forecast(["s2"], 7, [80, 95])
    assert all(r["yhat_lower_95"] <= r["yhat_lower_80"] <= r["yhat"] <= r["yhat_upper_80"] for r in rows)


@pytest.mark.parametrize("name", ["arima", "gbm", "naive2", "ets"])
def test_long_format_estimator_predicts_saves_and_loads(name: str, tmp_path: Path) -> None:
    frame = long_frame(3)
    estimator = Estimator(name, "D", season_length=7, max_horizon=10).fit(frame)
    prediction = estimator.predict(10, [50, 90])
    assert len(prediction) == 3 * 10
    assert not prediction.isna().to_numpy().any()
    assert (prediction["yhat_lower_90"] <= prediction["yhat_lower_50"]).all()
    assert (prediction["yhat_lower_50"] <= prediction["yhat"]).all()
    assert (prediction["yhat"] <= prediction["yhat_upper_50"]).all()
    assert (prediction["yhat_upper_50"] <= prediction["yhat_upper_90"]).all()
    assert prediction["ds"].min() == pd.Timestamp("2024-03-31")  # the day after the last one
    path = estimator.save(tmp_path / "model.pkl")
    pd.testing.assert_frame_equal(Estimator.load(path).predict(10, [50, 90]), prediction)


def test_estimator_refuses_unfitted_and_unknown() -> None:
    with pytest.raises(ValueError, match="choose from"):
        Estimator("lstm", "D")
    with pytest.raises(RuntimeError, match="fit"):
        Estimator("naive2", "D").predict(3)
