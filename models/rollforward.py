"""Roll a trained model forward: its per-series choices applied to newer actuals, no new selection.

Each series keeps the candidate its training chose (and a combination keeps its members); the
local models are refitted on the series' whole history up to the newest actual, the pooled
boosted trees once across all series, and the forecast path starts the step after each series'
last actual. A calibrated series keeps its calibrated spread: its interval scale times the
training's factor per step (the bundle's ``interval_scales`` and ``sigma_factors``, as
``models.engine.calibrate`` set them); a series that falls back to another model, or was not
calibrated, gets that model's own spread. The band's tail ratios are the bundle's own. The result is a bundle of the
same format, so the API serves a snapshot exactly as it serves a version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from models.backtest import fit_window
from models.base import Forecast, ForecastError
from models.bundle import ForecastBundle, SeriesForecast
from models.engine import TrainingConfig, _combine, gbm_settings
from models.frame import DS, Series, iter_series
from models.gbm import GBMSettings, GlobalGBM
from models.parallel import worker_pool
from models.zoo import COMBINATIONS, GLOBAL_CANDIDATES, make_forecaster

FALLBACKS = ("seasonal_naive", "naive")

StageCallback = Callable[[str], None]


class RollForwardError(ValueError):
    """The new actuals cannot carry this model forward (the message says why and what to do)."""


def _members(bundle: ForecastBundle, series_id: str, model: str) -> list[str]:
    if model not in COMBINATIONS:
        return [model]
    members = bundle.metadata.get("combo_members", {}).get(series_id)
    if not members:
        raise RollForwardError(
            f"series {series_id!r} chose {model} but the bundle does not record its members "
            "(trained before roll-forward existed); retrain the model once"
        )
    return list(members)


def _fit_global(name: str, settings: GBMSettings, series: list[Series]) -> dict[str, Forecast | str]:
    try:
        model = GlobalGBM(settings).fit(series)
        return dict(model.forecast(series))
    except (ForecastError, ValueError) as exc:
        return {s.series_id: f"{name}: {exc}" for s in series}


def _pooled(
    series: list[Series], wanted: set[str], config: TrainingConfig, horizon: int
) -> dict[str, dict[str, Forecast | str]]:
    """Global candidates fitted once across every series: candidate -> series -> forecast.

    In a worker process with one OpenMP thread (``models.parallel``): in this process the
    boosted trees' OpenMP threads spin against whatever else runs, which made one fit of the
    demo take 155 s of CPU instead of 18 s."""
    found: dict[str, dict[str, Forecast | str]] = {}
    names = sorted(wanted & GLOBAL_CANDIDATES)
    if not names:
        return found
    with worker_pool(1) as pool:
        for name in names:
            settings = dataclasses.replace(gbm_settings(config), horizon=horizon)
            found[name] = pool.submit(_fit_global, name, settings, series).result()
    return found


def roll_forward(
    bundle: ForecastBundle,
    df: pd.DataFrame,
    config: TrainingConfig,
    stage: StageCallback | None = None,
) -> ForecastBundle:
    """``bundle``'s choices refitted on ``df`` (long frame, contract-checked), as a new bundle.

    Every series the bundle serves must be in ``df``; series of ``df`` the bundle does not know
    are left out (a new series needs a training, which selects its model)."""
    known = [s for s in iter_series(df, bundle.freq, config.covariates) if s.series_id in bundle.series]
    missing = sorted(set(bundle.series) - {s.series_id for s in known})
    if missing:
        shown = ", ".join(repr(s)[:60] for s in missing[:5])
        raise RollForwardError(
            f"the actuals lack {len(missing)} series the model serves ({shown}); "
            "a snapshot covers every series: fix the source, or retrain without them"
        )
    horizon = bundle.max_horizon
    m = bundle.season_length
    periods = tuple(bundle.metadata.get("season_lengths") or config.periods)
    members = {s.series_id: _members(bundle, s.series_id, bundle.series[s.series_id].model) for s in known}
    wanted = {name for names in members.values() for name in names}
    pooled = _pooled(known, wanted, config, horizon)
    if stage and pooled:
        stage(f"{', '.join(pooled)} refitted across {len(known)} series")
    factors = bundle.metadata.get("sigma_factors", {})
    scales = bundle.metadata.get("interval_scales", {})
    fallbacks: dict[str, str] = {}
    series: dict[str, SeriesForecast] = {}
    for item in known:
        entry = bundle.series[item.series_id]

        def fit(name: str, item: Series = item) -> Forecast:
            if name in pooled:
                result = pooled[name][item.series_id]
                if isinstance(result, str):
                    raise ForecastError(result)
                return result
            return fit_window(item, make_forecaster(name, m, periods), horizon, config.max_history)

        model = entry.model
        try:
            parts = [fit(name) for name in members[item.series_id]]
            forecast = _combine(model, parts) if model in COMBINATIONS else parts[0]
        except (ForecastError, ValueError, np.linalg.LinAlgError) as failure:
            # The served answer must stay whole: fall back as training does, and say so.
            why = str(failure)
            for model in FALLBACKS:
                try:
                    forecast = fit(model)
                    break
                except (ForecastError, ValueError) as fallback_failure:
                    last = str(fallback_failure)
            else:
                raise RollForwardError(
                    f"no forecaster could refit series {item.series_id!r}: {last}"
                ) from None
            fallbacks[item.series_id] = f"{entry.model} failed ({why}); {model} used"
        step_factors = factors.get(model)
        scale = scales.get(item.series_id) if model == entry.model else None
        if step_factors and scale is not None:
            # The factors are multiples of the series' interval scale, not of a model's sigma.
            sigma = [float(scale * f) for f in step_factors[:horizon]]
        else:
            sigma = [float(v) for v in forecast.sigma]
        keep = len(entry.history_values) or 4 * horizon
        series[item.series_id] = SeriesForecast(
            series_id=item.series_id,
            model=model,
            dates=[d.isoformat() for d in item.future_dates(horizon).date],
            mean=[float(v) for v in forecast.mean],
            sigma=sigma,
            history_dates=[d.isoformat() for d in item.ds[-keep:].date],
            history_values=[float(v) for v in item.y[-keep:]],
        )
    newest = max(s.ds[-1] for s in known)
    return dataclasses.replace(
        bundle,
        series=series,
        metadata={
            **bundle.metadata,
            "snapshot": {
                "actuals_end": str(pd.Timestamp(newest).date()),
                "actuals_start": str(pd.Timestamp(df[DS].min()).date()),
                "fallbacks": fallbacks,
            },
        },
    )
