"""Rolling a trained model forward (models.rollforward) on real trainings of small data: the
choices stay, the origin moves to the step after the newest actual, the numbers follow the data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models import engine
from models.rollforward import RollForwardError, roll_forward

CONFIG = engine.TrainingConfig(
    freq="D",
    horizon=7,
    season_length=7,
    candidates=("seasonal_naive", "ets", "gbm", "combo_mean"),
    backtest_windows=2,
    calibrate_intervals=True,
)


def frame(length: int, n_series: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=length, freq="D")
    weekly = np.sin(2 * np.pi * np.arange(length) / 7)
    return pd.concat(
        pd.DataFrame(
            {"series_id": f"s{i}", "ds": ds, "y": 20 + 3 * weekly * (i + 1) + rng.normal(0, 1, length)}
        )
        for i in range(n_series)
    )


@pytest.fixture(scope="module")
def trained() -> engine.TrainingResult:
    return engine.train(frame(91), CONFIG, "rolling", n_jobs=1)


def test_choices_stay_and_the_origin_moves_past_the_new_actuals(trained: engine.TrainingResult) -> None:
    newer = frame(105)  # two more weeks of the same series
    snapshot = roll_forward(trained.bundle, newer, CONFIG)
    assert {s: e.model for s, e in snapshot.series.items()} == {
        s: e.model for s, e in trained.bundle.series.items()
    }
    assert trained.bundle.origin == "2024-04-01" and snapshot.origin == "2024-04-15"
    assert snapshot.metadata["snapshot"]["actuals_end"] == "2024-04-14"
    assert (snapshot.train_start, snapshot.train_end) == (
        trained.bundle.train_start,
        trained.bundle.train_end,
    )
    for series_id, entry in snapshot.series.items():
        assert len(entry.mean) == len(entry.sigma) == len(entry.dates) == CONFIG.horizon
        assert entry.history_dates[-1] == "2024-04-14"
        assert len(entry.history_values) == len(trained.bundle.series[series_id].history_values)
        assert all(np.isfinite(entry.mean)) and all(v > 0 for v in entry.sigma)
    assert ForecastBundleRoundTrip.same(snapshot)
    # A calibrated series keeps its calibrated spread (interval scale x factor per step), not
    # the refitted model's own sigma times factors meant for the scale.
    scales = trained.bundle.metadata["interval_scales"]
    assert scales
    for series_id in scales:
        np.testing.assert_allclose(
            snapshot.series[series_id].sigma, trained.bundle.series[series_id].sigma, rtol=1e-4
        )


def test_a_combination_keeps_its_members_and_calibrated_spreads_keep_their_factors(
    trained: engine.TrainingResult,
) -> None:
    bundle = trained.bundle
    assert set(bundle.metadata["sigma_factors"]) == {e.model for e in bundle.series.values()}
    series_id = next(iter(bundle.series))
    combo = dataclasses.replace(
        bundle,
        series={
            **bundle.series,
            series_id: dataclasses.replace(bundle.series[series_id], model="combo_mean"),
        },
        metadata={
            **bundle.metadata,
            "combo_members": {**bundle.metadata["combo_members"], series_id: ["seasonal_naive", "ets"]},
        },
    )
    naive_only = dataclasses.replace(
        bundle,
        series={
            **bundle.series,
            series_id: dataclasses.replace(bundle.series[series_id], model="seasonal_naive"),
        },
    )
    ets_only = dataclasses.replace(
        bundle,
        series={**bundle.series, series_id: dataclasses.replace(bundle.series[series_id], model="ets")},
    )
    newer = frame(98)
    mean = np.mean(
        [roll_forward(b, newer, CONFIG).series[series_id].mean for b in (naive_only, ets_only)], axis=0
    )
    np.testing.assert_allclose(roll_forward(combo, newer, CONFIG).series[series_id].mean, mean)
    # Without recorded members a combination cannot be repeated: it says so rather than guess.
    no_members = dataclasses.replace(combo, metadata={**combo.metadata, "combo_members": {}})
    with pytest.raises(RollForwardError, match="retrain the model once"):
        roll_forward(no_members, newer, CONFIG)


def test_new_actuals_change_the_forecast_and_missing_series_are_refused(
    trained: engine.TrainingResult,
) -> None:
    newer = frame(105)
    shifted = newer.assign(y=newer["y"] + 50 * (newer["ds"] > "2024-03-31"))
    level = roll_forward(trained.bundle, shifted, CONFIG)
    plain = roll_forward(trained.bundle, newer, CONFIG)
    for series_id in plain.series:
        assert np.mean(level.series[series_id].mean) > np.mean(plain.series[series_id].mean) + 20
    with pytest.raises(RollForwardError, match="lack 1 series"):
        roll_forward(trained.bundle, newer[newer["series_id"] != "s2"], CONFIG)


class ForecastBundleRoundTrip:
    @staticmethod
    def same(bundle: object) -> bool:
        from models.bundle import ForecastBundle

        assert isinstance(bundle, ForecastBundle)
        return ForecastBundle.from_json(bundle.to_json()) == bundle
