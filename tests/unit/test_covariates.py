"""Covariates: declared in the spec, used by the candidates that can, never leaked into a backtest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.spec import DatasetSpec, SpecError, load_spec
from models import engine, exog
from models.backtest import BacktestConfig, backtest
from models.covariates import Covariates
from models.frame import Series, iter_series
from models.zoo import make_forecaster

REPO = Path(__file__).resolve().parents[2]


def _spec(**fields: object) -> DatasetSpec:
    base: dict[str, object] = {
        "name": "shop",
        "source": {"kind": "csv", "path": "shop.csv"},
        "frequency": "D",
        "season_length": 7,
        "horizon": 14,
    }
    return DatasetSpec.model_validate({**base, **fields})


def test_a_spec_declares_known_and_unknown_covariates_calendar_and_holidays() -> None:
    spec = _spec(
        covariates=["temp", {"name": "price", "future": "known"}],
        calendar=["day_of_week", "month"],
        holidays="us-ny",
    )
    assert spec.covariate_names == ["temp", "price"]
    # A bare name is an unknown future: the reading that cannot leak.
    assert spec.model_covariates == Covariates(
        known=("price",), unknown=("temp",), calendar=("day_of_week", "month"), holidays="US-NY"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"holidays": "XX"}, "not a country the holidays package knows"),
        ({"holidays": "US-ZZ"}, "not a subdivision of US"),
        ({"calendar": ["moon_phase"]}, "day_of_week"),
        ({"covariates": [{"name": "price", "future": "maybe"}]}, "'known' or 'unknown'"),
        ({"covariates": ["y"]}, "also the series_id, ds or y column"),
        ({"covariates": ["price", "price"]}, "listed more than once"),
    ],
)
def test_a_bad_covariate_declaration_is_refused_saying_why(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _spec(**fields)


def test_the_demo_spec_uses_calendar_and_holiday_covariates() -> None:
    spec = load_spec("nyc_flights", REPO / "datasets")
    covariates = spec.model_covariates
    assert covariates.calendar and covariates.holidays == "US"
    # The weather is an actual, observed after the day: it must not be declared known.
    assert set(covariates.unknown) == {"temp_mean_f", "precip_in"}


def test_a_spec_file_with_a_bad_holiday_country_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(
        "name: shop\nsource: {kind: csv, path: shop.csv}\nfrequency: D\nseason_length: 7\n"
        "horizon: 7\nholidays: Narnia\n"
    )
    with pytest.raises(SpecError, match="line 6: holidays: 'Narnia' is not a country"):
        load_spec(path, tmp_path)


def _frame(n_series: int = 4, length: int = 150, seed: int = 0) -> pd.DataFrame:
    """Series driven by a coin toss each day (no forecaster can predict it from the past) and a
    covariate that is that coin: an oracle of the future target, if a model is ever shown it."""
    rng = np.random.default_rng(seed)
    rows = []
    dates = pd.date_range("2022-01-01", periods=length, freq="D")
    for k in range(n_series):
        coin = rng.integers(0, 2, length).astype(float)
        y = 100 * (k + 1) + 50 * (k + 1) * coin + rng.normal(0, 1, length)
        rows.append(pd.DataFrame({"series_id": f"s{k}", "ds": dates, "y": y, "oracle": coin, "planned": y}))
    return pd.concat(rows, ignore_index=True)


def test_a_cut_history_keeps_known_covariates_ahead_and_drops_unknown_ones() -> None:
    covariates = Covariates(known=("planned",), unknown=("oracle",))
    (series,) = list(iter_series(_frame(1, 30), "D", covariates))
    cut = series.head(20)
    assert cut.x is not None and cut.x.shape == (20, 2)
    assert cut.x_future is not None and cut.x_future.shape == (10, 1)  # only the known column
    np.testing.assert_allclose(cut.x_future[:, 0], series.y[20:])
    assert series.x is not None
    np.testing.assert_allclose(exog.unknown_history(cut)[:, 0], series.x[:20, 1])
    # A known column past what the data says carries its last value forward.
    np.testing.assert_allclose(exog.future_known(cut, 12)[-2:, 0], series.y[-1])


def _gbm_backtest_mase(df: pd.DataFrame, covariates: Covariates) -> float:
    config = engine.TrainingConfig(
        freq="D",
        horizon=7,
        season_length=7,
        candidates=("gbm",),
        backtest_windows=2,
        calendar_features=False,
        calibrate_intervals=False,
        covariates=covariates,
    )
    result = engine.train(df, config, "leak", n_jobs=1)
    return result.summary["candidate_gbm_mase"]


@pytest.mark.slow  # three pooled trainings of the boosted trees
def test_a_past_only_covariate_never_leaks_into_the_gbm_backtest() -> None:
    """The oracle covariate equals the target. Declared known (its future values given), the
    backtest error collapses: that is what a leak looks like, and shows the test can see one.
    Declared unknown, the backtest must score about as without it: were its values after each
    origin ever shown to the trees, the error would collapse the same way."""
    df = _frame()
    without = _gbm_backtest_mase(df[["series_id", "ds", "y"]], Covariates())
    leaked = _gbm_backtest_mase(df, Covariates(known=("oracle",)))
    past_only = _gbm_backtest_mase(df, Covariates(unknown=("oracle",)))
    assert leaked < 0.3 * without, (leaked, without)  # the control: a leak is visible
    assert past_only > 0.7 * without, (past_only, without)


@pytest.mark.parametrize("name", ["arima", pytest.param("prophet", marks=pytest.mark.slow)])
def test_a_past_only_covariate_never_leaks_into_a_local_backtest(name: str) -> None:
    df = _frame(1, 150)
    config = BacktestConfig(horizon=7, windows=2)

    def mase(covariates: Covariates | None) -> float:
        (series,) = list(iter_series(df, "D", covariates))
        scores = backtest(series, lambda: make_forecaster(name, 7), config, 7)
        return float(np.mean([s.mase for s in scores]))

    without = mase(None)
    assert mase(Covariates(known=("oracle",))) < 0.3 * without  # the control: a leak is visible
    assert mase(Covariates(unknown=("oracle",))) == pytest.approx(without, rel=0.05)


def _weekly_holiday_frame() -> pd.DataFrame:
    dates = pd.date_range("2021-01-01", "2023-12-31", freq="D")
    base = 200 + 40 * (dates.dayofweek < 5)
    dips = exog.holiday_matrix(dates, "US")[:, 0] * -120
    rng = np.random.default_rng(1)
    return pd.DataFrame({"series_id": "a", "ds": dates, "y": base + dips + rng.normal(0, 3, len(dates))})


def test_holiday_covariates_move_the_forecast_of_a_model_that_uses_them() -> None:
    df = _weekly_holiday_frame()
    cut = df[df.ds <= "2023-11-15"]
    covariates = Covariates(calendar=("day_of_week",), holidays="US")
    (plain,) = list(iter_series(cut, "D"))
    (with_holidays,) = list(iter_series(cut, "D", covariates))
    thanksgiving = list(plain.future_dates(14).date).index(pd.Timestamp("2023-11-23").date())
    for name in ("arima",):
        blind = make_forecaster(name, 7).fit(plain).forecast(14).mean
        aware = make_forecaster(name, 7).fit(with_holidays).forecast(14).mean
        # Thanksgiving is a holiday in the window: only the model given the holidays dips.
        assert aware[thanksgiving] < blind[thanksgiving] - 60, (aware[thanksgiving], blind[thanksgiving])
    # A model that ignores covariates forecasts the same with or without them.
    ets = [make_forecaster("ets", 7).fit(s).forecast(14).mean for s in (plain, with_holidays)]
    np.testing.assert_allclose(ets[0], ets[1])


def test_the_bundle_records_the_covariates_and_the_models_that_use_them() -> None:
    df = _frame(3, 120)
    covariates = Covariates(unknown=("oracle",), calendar=("day_of_week",), holidays="US")
    config = engine.TrainingConfig(
        freq="D", horizon=7, season_length=7, candidates=("naive", "arima", "gbm"), backtest_windows=1
    )
    result = engine.train(df, replace(config, covariates=covariates), "m", n_jobs=1)
    assert result.bundle.metadata["covariates"] == covariates.describe()
    assert result.bundle.metadata["covariate_models"] == ["arima", "gbm"]


def test_a_series_with_covariates_still_cuts_like_one_without() -> None:
    (series,) = list(iter_series(_frame(1, 30)[["series_id", "ds", "y"]], "D"))
    assert isinstance(series.head(10), Series) and series.head(10).x is None


def _priced(length: int = 120) -> pd.DataFrame:
    """Demand that falls as a planned price rises: a known-future covariate."""
    rng = np.random.default_rng(3)
    dates = pd.date_range("2023-01-01", periods=length + 14, freq="D")
    frames = []
    for k, sid in enumerate(("a", "b")):
        price = rng.uniform(5, 15, len(dates))
        y = 400 + 50 * k - 10 * price + rng.normal(0, 2, len(dates))
        frames.append(pd.DataFrame({"series_id": sid, "ds": dates, "y": y, "price": price}))
    return pd.concat(frames, ignore_index=True)


def _trained(candidate: str, df: pd.DataFrame) -> tuple[engine.TrainingResult, engine.TrainingConfig]:
    config = engine.TrainingConfig(
        freq="D",
        horizon=7,
        season_length=7,
        candidates=(candidate,),
        backtest_windows=1,
        covariates=Covariates(known=("price",)),
    )
    return engine.train(df, config, "m", n_jobs=1), config


@pytest.mark.slow  # two trainings
def test_a_what_if_changes_the_forecast_of_a_model_that_uses_the_covariate_and_not_of_one_that_ignores_it() -> (
    None
):
    from models.scenario import what_if

    df = _priced()
    cheap, dear = {"a": {"price": [5.0] * 7}}, {"a": {"price": [15.0] * 7}}
    result, config = _trained("arima", df)
    low, high = (what_if(result.bundle, df, config, s, 7)[0] for s in (cheap, dear))
    assert low.uses_covariates and low.model == "arima"
    # About -10 units per unit of price: 10 dearer is about 100 fewer.
    assert 70 < np.mean(low.mean) - np.mean(high.mean) < 130, (low.mean, high.mean)
    result, config = _trained("ets", df)
    low, high = (what_if(result.bundle, df, config, s, 7)[0] for s in (cheap, dear))
    assert not low.uses_covariates and low.mean == high.mean == result.bundle.series["a"].mean[:7]


@pytest.mark.parametrize(
    ("scenario", "horizon", "message"),
    [
        (
            {f"s{k}": {} for k in range(300)},
            7,
            "at most 2000 series x steps; this one asks for 300 series x 7",
        ),
        ({"a": {"temp": [1.0]}}, 7, "'temp' is not a known-future covariate of this model"),
        ({"a": {"price": [1.0] * 8}}, 7, "give 1 to 7 values, got 8"),
        ({"a": {"price": [float("nan")]}}, 7, "finite number"),
    ],
)
def test_a_what_if_out_of_bounds_is_refused_naming_the_limit(
    scenario: dict[str, dict[str, list[float]]], horizon: int, message: str
) -> None:
    from models.scenario import ScenarioError, check_scenario

    with pytest.raises(ScenarioError, match=message):
        check_scenario(scenario, Covariates(known=("price",)), horizon)
