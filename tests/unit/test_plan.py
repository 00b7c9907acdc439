"""The training plan: candidates that cannot apply or would not fit the time budget are dropped,
each with a logged reason, never silently; without a budget nothing that applies is dropped."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.spec import SpecError, load_spec, parse_duration
from models import defaults, engine
from models.engine import TrainingConfig
from models.frame import Series
from models.plan import applicable, within_budget


def daily(n_series: int = 6, length: int = 200) -> list[Series]:
    rng = np.random.default_rng(0)
    return [
        Series(
            f"s{i}", pd.date_range("2024-01-01", periods=length), 50 + rng.normal(0, 1, length).cumsum(), "D"
        )
        for i in range(n_series)
    ]


def test_mstl_without_a_season_length_above_one_is_dropped_with_the_reason() -> None:
    config = TrainingConfig(freq="D", horizon=7, season_length=1)
    planned, dropped = applicable(config, daily())
    assert "mstl" not in planned.candidates and "gbm" in planned.candidates
    assert [d.candidate for d in dropped] == ["mstl"]
    assert "no season length above 1" in dropped[0].reason
    weekly, none = applicable(TrainingConfig(freq="D", horizon=7, season_length=7), daily())
    assert "mstl" in weekly.candidates and none == []


def test_a_tight_budget_drops_the_dearest_candidates_and_logs_each() -> None:
    lines: list[str] = []
    config = TrainingConfig(
        freq="D", horizon=7, season_length=7, candidates=("naive2", "arima", "combo_mean"), time_budget=0.01
    )
    planned = engine.plan_training(daily(), config, n_jobs=1, stage=lines.append)
    assert planned.candidates == ("naive2",)  # the cheapest is kept, so every series is forecast
    assert any(line.startswith("arima dropped: projected") and "time budget" in line for line in lines)
    assert any(line.startswith("combo_mean dropped") for line in lines)
    assert any("short even for naive2 alone" for line in lines)


def test_without_a_budget_every_applicable_candidate_stays() -> None:
    config = TrainingConfig(
        freq="D", horizon=7, season_length=7, candidates=("naive2", "arima", "combo_mean")
    )
    plan = within_budget(config, daily(), workers=1)
    assert plan.config.candidates == config.candidates and plan.dropped == ()


def test_a_generous_budget_keeps_every_candidate_and_projects_each() -> None:
    config = TrainingConfig(
        freq="D", horizon=7, season_length=7, candidates=("naive2", "ets"), time_budget=3600
    )
    plan = within_budget(config, daily(), workers=1)
    assert plan.config.candidates == ("naive2", "ets") and set(plan.projected_seconds) == {"naive2", "ets"}


def test_spec_defaults_are_the_benchmarks_and_take_several_season_lengths(tmp_path: Path) -> None:
    spec_file = tmp_path / "hourly.yaml"
    spec_file.write_text(
        "name: hourly\nsource: {kind: csv, path: x.csv}\nfrequency: h\nseason_length: [24, 168]\n"
        "horizon: 48\ntraining: {time_budget: 10m}\n"
    )
    spec = load_spec(spec_file, tmp_path)
    assert spec.season_lengths == (24, 168) and spec.primary_season_length == 24
    assert tuple(spec.training.candidates) == defaults.CANDIDATES
    assert spec.training.backtest_windows == defaults.BACKTEST_WINDOWS
    assert spec.training.time_budget_seconds == 600
    from flows.train import training_config

    config = training_config(spec)
    assert config.periods == (24, 168) and config.time_budget == 600
    assert config.candidates == TrainingConfig(freq="h", horizon=48).candidates


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1.5h", 5400.0), (45, 45.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("value", "message"), [("ten minutes", "not a duration"), ("-5m", "positive")])
def test_bad_budgets_and_season_lengths_are_refused_by_name(tmp_path: Path, value: str, message: str) -> None:
    spec_file = tmp_path / "d.yaml"
    base = "name: d\nsource: {kind: csv, path: x.csv}\nfrequency: D\nhorizon: 7\n"
    spec_file.write_text(base + f"season_length: 7\ntraining: {{time_budget: '{value}'}}\n")
    with pytest.raises(SpecError, match=rf"training.time_budget.*{message}"):
        load_spec(spec_file, tmp_path)
    spec_file.write_text(base + "season_length: [24, 0]\n")
    with pytest.raises(SpecError, match=r"season_length.*between 1 and"):
        load_spec(spec_file, tmp_path)
