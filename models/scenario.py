"""What-if forecasts: a trained model's choices refitted on request with other known-covariate
values ahead (a planned price, a promotion), for the few series a scenario names.

Bounded: at most ``MAX_SCENARIO_CELLS`` series x steps per scenario (``ScenarioTooLarge`` names
the limit), and only the series asked for are refitted. A series whose chosen model ignores
covariates keeps the model's own forecast, and the answer says so. The pooled boosted trees
are refitted on the scenario's series alone (one fit), not across every series.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.backtest import fit_window
from models.base import Forecast
from models.bundle import ForecastBundle
from models.covariates import Covariates, uses_covariates
from models.engine import TrainingConfig, _combine, gbm_settings
from models.frame import SERIES_ID, Series, iter_series
from models.gbm import GlobalGBM
from models.rollforward import _members
from models.zoo import COMBINATIONS, GLOBAL_CANDIDATES, make_forecaster

MAX_SCENARIO_CELLS = 2_000  # series x steps of one scenario: a refit per series is the cost


class ScenarioError(ValueError):
    """The scenario cannot be answered as asked (the message says what to change)."""


class ScenarioTooLarge(ScenarioError):
    """More series x steps than one request may ask for."""


# series id -> known covariate column -> its values for steps 1, 2, ...
Scenario = Mapping[str, Mapping[str, Sequence[float]]]


@dataclass(frozen=True)
class ScenarioForecast:
    series_id: str
    model: str
    uses_covariates: bool  # False: the model ignores covariates; the path is the served one
    dates: list[str]
    mean: list[float]


def check_scenario(
    scenario: Scenario, covariates: Covariates, horizon: int, max_cells: int = MAX_SCENARIO_CELLS
) -> None:
    """Refuse a scenario that is too large or names what the model was not given."""
    cells = len(scenario) * horizon
    if cells > max_cells:
        raise ScenarioTooLarge(
            f"a scenario may cover at most {max_cells} series x steps; this one asks for "
            f"{len(scenario)} series x {horizon} steps = {cells}: ask for fewer series or steps"
        )
    for series_id, columns in scenario.items():
        unknown = sorted(set(columns) - set(covariates.known))
        if unknown:
            known = ", ".join(covariates.known) or "none"
            raise ScenarioError(
                f"series {series_id[:60]!r}: {', '.join(repr(c[:60]) for c in unknown[:5])} is not a "
                f"known-future covariate of this model (its known covariates: {known})"
            )
        for column, values in columns.items():
            if not 1 <= len(values) <= horizon:
                raise ScenarioError(
                    f"series {series_id[:60]!r}, {column!r}: give 1 to {horizon} values, got {len(values)}"
                )
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
                raise ScenarioError(
                    f"series {series_id[:60]!r}, {column!r}: every value must be a finite number"
                )


def _ahead(
    item: Series, columns: Mapping[str, Sequence[float]], covariates: Covariates, horizon: int
) -> Series:
    """The series with the scenario's values ahead; a column it leaves out keeps the data's."""
    from models.exog import future_known

    ahead = future_known(item, horizon).copy()
    for index, name in enumerate(covariates.known):
        values = columns.get(name)
        if values is not None:
            ahead[: len(values), index] = values
            ahead[len(values) :, index] = values[-1]  # past the scenario: its last value
    return item.with_future(ahead)


def what_if(
    bundle: ForecastBundle,
    df: pd.DataFrame,
    config: TrainingConfig,
    scenario: Scenario,
    horizon: int,
    max_cells: int = MAX_SCENARIO_CELLS,
) -> list[ScenarioForecast]:
    """The forecast of each series ``scenario`` names, under its known-covariate values."""
    if not 1 <= horizon <= bundle.max_horizon:
        raise ScenarioError(f"horizon must be between 1 and {bundle.max_horizon}, got {horizon}")
    covariates = Covariates.from_description(bundle.metadata.get("covariates"))
    check_scenario(scenario, covariates, horizon, max_cells)
    missing = sorted(set(scenario) - set(bundle.series))
    if missing:
        raise ScenarioError(f"the model serves no series {', '.join(repr(s[:60]) for s in missing[:5])}")
    rows = df[df[SERIES_ID].isin(list(scenario))]
    history = {s.series_id: s for s in iter_series(rows, bundle.freq, covariates)}
    answers = []
    for series_id, columns in scenario.items():
        entry = bundle.series[series_id]
        members = _members(bundle, series_id, entry.model)
        if not uses_covariates(entry.model, members) or not covariates.any:
            answers.append(
                ScenarioForecast(series_id, entry.model, False, entry.dates[:horizon], entry.mean[:horizon])
            )
            continue
        item = _ahead(history[series_id], columns, covariates, bundle.max_horizon)
        parts = []
        for name in members:
            if name in GLOBAL_CANDIDATES:
                settings = dataclasses.replace(gbm_settings(config), horizon=bundle.max_horizon)
                parts.append(GlobalGBM(settings).fit([item]).forecast([item])[series_id])
            else:
                model = make_forecaster(name, bundle.season_length, config.periods)
                parts.append(fit_window(item, model, bundle.max_horizon, config.max_history))
        forecast: Forecast = _combine(entry.model, parts) if entry.model in COMBINATIONS else parts[0]
        mean = np.maximum(forecast.mean, 0.0) if bundle.nonnegative else forecast.mean
        dates = [d.isoformat() for d in item.future_dates(horizon).date]
        answers.append(
            ScenarioForecast(series_id, entry.model, True, dates, [float(v) for v in mean[:horizon]])
        )
    return answers
