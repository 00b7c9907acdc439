"""Training keeps the chosen model's forecast on every backtest window beside the actuals, with
the errors the backtest scored that window by; the JSON it is stored as reads back the same."""

from __future__ import annotations

import numpy as np
import pytest

from models import backtest_windows
from models.engine import TrainingConfig, train
from models.metrics import mase
from tests.unit.test_engine import long_frame


@pytest.fixture(scope="module")
def trained() -> tuple[TrainingConfig, object]:
    config = TrainingConfig(
        freq="D",
        horizon=7,
        season_length=7,
        candidates=("naive", "seasonal_naive", "ets"),
        backtest_windows=3,
    )
    return config, train(long_frame(n_series=2, n=80), config, "demo", n_jobs=1)


def test_each_series_keeps_its_chosen_models_windows_with_their_actuals(trained: tuple) -> None:  # type: ignore[type-arg]
    config, result = trained
    frame = long_frame(n_series=2, n=80)
    for series_id, chosen in zip(result.selection["series_id"], result.selection["model"], strict=True):
        windows = result.backtest_windows[series_id]
        assert [w.window for w in windows] == [0, 1, 2]
        assert {w.model for w in windows} == {chosen}
        # Rolling origins one horizon apart, the newest window ending on the last actual (03-20).
        assert [w.cutoff for w in windows] == ["2024-02-28", "2024-03-06", "2024-03-13"]
        own = frame[frame["series_id"] == series_id]
        actuals = dict(zip(own["ds"].dt.strftime("%Y-%m-%d"), own["y"], strict=True))
        for window in windows:
            assert len(window.ds) == len(window.y) == len(window.yhat) == config.horizon
            assert window.y == [float(actuals[d]) for d in window.ds]  # what happened, date by date
            assert window.ds[0] > window.cutoff
    assert windows[-1].ds[-1] == "2024-03-20"


def test_a_windows_error_is_the_one_the_backtest_scored(trained: tuple) -> None:  # type: ignore[type-arg]
    _, result = trained
    scores = result.scores
    for series_id, windows in result.backtest_windows.items():
        for window in windows:
            row = scores[
                (scores["series_id"] == series_id)
                & (scores["model"] == window.model)
                & (scores["window"] == window.window)
            ].iloc[0]
            assert window.cutoff == row["cutoff"]
            assert window.mase == pytest.approx(row["mase"]) and window.wape == pytest.approx(row["wape"])
    # And the score is the window's own forecast against its actuals (scaled by its training).
    frame = long_frame(n_series=2, n=80)
    first = result.backtest_windows["s0"][0]
    history = frame[(frame["series_id"] == "s0") & (frame["ds"] <= first.cutoff)]["y"].to_numpy()
    assert first.mase == pytest.approx(mase(np.array(first.y), np.array(first.yhat), history, 7))


def test_windows_round_trip_through_strict_json(trained: tuple) -> None:  # type: ignore[type-arg]
    _, result = trained
    text = backtest_windows.to_json(result.backtest_windows)
    assert "NaN" not in text
    assert backtest_windows.from_json(text) == result.backtest_windows
    flat = backtest_windows.BacktestWindow(
        0, "2024-01-01", "naive", ["2024-01-02"], [1.0], [1.0], None, 0.0, 0.0
    )
    assert backtest_windows.from_json(backtest_windows.to_json({"x": [flat]}))["x"][0].mase is None


def test_an_unknown_format_is_refused_with_its_number() -> None:
    with pytest.raises(ValueError, match="format 7"):
        backtest_windows.from_json('{"format_version": 7, "series": {}}')
