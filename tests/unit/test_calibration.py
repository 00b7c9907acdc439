"""Calibrated intervals: every candidate covers its nominal share of held-out data with known
noise, and a band far too wide (the portal's Theta case) is brought back before it is served."""

import numpy as np
import pandas as pd
import pytest

from models import engine, zoo
from models.base import Forecast
from models.bundle import ForecastBundle
from models.calibration import conformal_quantile, fit_calibration
from models.engine import TrainingConfig
from models.frame import iter_series
from models.smoothing import Theta

HORIZON = 14
NOISE = 0.05  # 5% noise around a weekly pattern, as in the portal report


def frame(n_series: int, length: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    rows = []
    for i in range(n_series):
        level = 144 * (1 + 0.5 * i / n_series)
        pattern = level * (1 + 0.2 * np.sin(2 * np.pi * (t + i) / 7))
        y = pattern * (1 + NOISE * rng.standard_normal(length))
        rows.append(
            pd.DataFrame(
                {"series_id": f"s{i:02d}", "ds": pd.date_range("2023-01-01", periods=length), "y": y}
            )
        )
    return pd.concat(rows, ignore_index=True)


def held_out_coverage(name: str, df: pd.DataFrame, calibrate: bool = True) -> tuple[dict[int, float], float]:
    """Coverage of the served 80% and 95% bands on the last HORIZON days, and the mean 80% width."""
    cutoff = df["ds"].max() - pd.Timedelta(days=HORIZON)
    train, test = df[df["ds"] <= cutoff], df[df["ds"] > cutoff]
    config = TrainingConfig(
        freq="D", horizon=HORIZON, season_length=7, candidates=(name,), calibrate_intervals=calibrate
    )
    # Two processes: the pooled gbm fits then run in workers with one OpenMP thread each.
    bundle = engine.train(train, config, "m", n_jobs=2).bundle
    rows = pd.DataFrame(bundle.forecast(sorted(train["series_id"].unique()), HORIZON, [80, 95]))
    rows["ds"] = pd.to_datetime(rows["ds"])
    joined = rows.merge(test, on=["series_id", "ds"])
    assert len(joined) == len(test)
    coverage = {
        level: float(
            ((joined.y >= joined[f"yhat_lower_{level}"]) & (joined.y <= joined[f"yhat_upper_{level}"])).mean()
        )
        for level in (80, 95)
    }
    return coverage, float((joined.yhat_upper_80 - joined.yhat_lower_80).mean())


@pytest.mark.parametrize("name", ["naive2", "seasonal_naive", "ets", "theta", "arima", "mstl", "gbm"])
def test_each_candidate_covers_its_nominal_level_on_held_out_data(name: str) -> None:
    # Prophet is left out here only for time (about a second per fit); it is calibrated the same way.
    coverage, _ = held_out_coverage(name, frame(16, 150))
    assert 0.68 <= coverage[80] <= 0.92, coverage
    assert 0.85 <= coverage[95] <= 1.0, coverage


class FarTooWide(Theta):
    """Theta's mean with a band twenty times too wide: the shape of the portal's report."""

    name = "far_too_wide"

    def _forecast(self, horizon: int) -> Forecast:
        forecast = super()._forecast(horizon)
        return Forecast(forecast.mean, 20 * forecast.sigma)


def test_a_far_too_wide_band_is_calibrated_before_it_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a Theta band of 0 to 297 around 144 on data with 5% noise (coverage 1.0)."""
    monkeypatch.setitem(zoo.CANDIDATES, FarTooWide.name, FarTooWide)
    df = frame(1, 300)
    raw, raw_width = held_out_coverage(FarTooWide.name, df, calibrate=False)
    coverage, width = held_out_coverage(FarTooWide.name, df)
    assert raw[80] == 1.0 and raw_width > 150  # the defect, as reported
    noise_band = 2 * 1.2816 * NOISE * 144  # the 80% band of the noise alone: about 18
    assert width < 3 * noise_band, f"80% band {width:.1f} wide"
    assert coverage[80] >= 0.6


def test_conformal_quantile_and_tail_ratios() -> None:
    scores = np.arange(1, 101, dtype=float)  # 1..100
    assert conformal_quantile(scores, 80) == 81  # ceil(101 * 0.8) = 81st smallest
    assert conformal_quantile(scores, 95) == 96
    rng = np.random.default_rng(1)
    heavy = np.abs(rng.standard_t(3, size=(4000, 6)))  # heavier tails than the normal
    calibration = fit_calibration({"m": [heavy]}, (80, 95), 6)
    assert calibration.tails["m"][80] == 1.0 and calibration.tails["m"][95] > 1.1
    assert calibration.scores["m"] == heavy.size
    few = fit_calibration({"m": [np.ones((1, 6))]}, (80, 95), 6)  # too few errors: left alone
    assert "m" not in few.step_factors and np.array_equal(few.factors("m", 6), np.ones(6))


def test_bundle_serves_the_calibrated_tails_and_still_reads_format_1() -> None:
    df = frame(3, 120)
    config = TrainingConfig(freq="D", horizon=7, season_length=7, candidates=("ets",))
    bundle = engine.train(df, config, "m", n_jobs=1).bundle
    assert bundle.interval_tails["ets"]["80"] == 1.0
    row = bundle.forecast(["s00"], 1, [80, 95])[0]
    entry = bundle.series["s00"]
    z95 = 1.959964 * bundle.interval_tails["ets"]["95"]
    assert row["yhat_upper_95"] - row["yhat"] == pytest.approx(z95 * entry.sigma[0], rel=1e-6)
    old = bundle.to_json().replace('"format_version":2', '"format_version":1')
    old_bundle = ForecastBundle.from_json(old.replace(',"interval_tails":' + _tails_json(bundle), ""))
    assert old_bundle.interval_tails == {}
    assert old_bundle.forecast(["s00"], 1, [95])[0]["yhat_upper_95"] == pytest.approx(
        row["yhat"] + 1.959964 * entry.sigma[0], rel=1e-6
    )
    series = list(iter_series(df, "D"))
    assert len(series) == 3


def _tails_json(bundle: ForecastBundle) -> str:
    import json

    return json.dumps(bundle.interval_tails, separators=(",", ":"))


class LevelSigma(Theta):
    """Theta's mean with a sigma of 5% of the level whatever the noise: the shape of the boosted
    trees' own spread, which follows the level of each series' look-back window."""

    name = "level_sigma"

    def _forecast(self, horizon: int) -> Forecast:
        forecast = super()._forecast(horizon)
        return Forecast(forecast.mean, 0.05 * np.abs(forecast.mean))


def test_each_series_band_follows_its_own_noise_not_the_model_s_sigma(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Series with 1% and 15% noise at the same level: a model sigma of 5% of the level is far
    too wide for the first and too narrow for the second; the calibrated bands cover both."""
    monkeypatch.setitem(zoo.CANDIDATES, LevelSigma.name, LevelSigma)
    rng = np.random.default_rng(7)
    t = np.arange(200)
    rows = []
    for i in range(24):
        noise = 0.01 if i % 2 else 0.15
        y = 100 * (1 + 0.2 * np.sin(2 * np.pi * t / 7)) * (1 + noise * rng.standard_normal(len(t)))
        rows.append(
            pd.DataFrame(
                {"series_id": f"s{i:02d}", "ds": pd.date_range("2023-01-01", periods=len(t)), "y": y}
            )
        )
    df = pd.concat(rows, ignore_index=True)
    cutoff = df["ds"].max() - pd.Timedelta(days=HORIZON)
    train, test = df[df["ds"] <= cutoff], df[df["ds"] > cutoff]
    config = TrainingConfig(freq="D", horizon=HORIZON, season_length=7, candidates=(LevelSigma.name,))
    bundle = engine.train(train, config, "m", n_jobs=1).bundle
    served = pd.DataFrame(bundle.forecast(sorted(train["series_id"].unique()), HORIZON, [80, 95]))
    served["ds"] = pd.to_datetime(served["ds"])
    joined = served.merge(test, on=["series_id", "ds"])
    joined["quiet"] = joined["series_id"].str[-2:].astype(int) % 2 == 1
    for quiet, group in joined.groupby("quiet"):
        for level, low, high in ((80, 0.65, 0.93), (95, 0.85, 1.0)):
            inside = (group.y >= group[f"yhat_lower_{level}"]) & (group.y <= group[f"yhat_upper_{level}"])
            assert low <= inside.mean() <= high, (quiet, level, inside.mean())
    quiet_width = (joined.yhat_upper_80 - joined.yhat_lower_80)[joined.quiet].mean()
    assert quiet_width < 2 * 1.2816 * 0.01 * 100 * 2  # within twice the noise's own 80% band
