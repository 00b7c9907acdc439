"""Live forecast accuracy: the champion's stored forecast from its training cutoff scored against
the actuals that have arrived since. Pure core: a bundle and a DataFrame in, a dataclass out.

The served bundle *is* the stored forecast: it holds every series' path and error spread for
``max_horizon`` steps after ``train_end``, exactly what the API serves, so scoring it against new
actuals scores what users were given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models import metrics
from models.bundle import ForecastBundle
from models.frame import DS, SERIES_ID, Y
from monitoring.drift import NoNewActuals


@dataclass(frozen=True)
class AccuracyResult:
    window_start: date
    window_end: date
    mase: float  # mean over series of each series' MASE (M4), scaled by its training history
    wape: float  # pooled over every point, in percent (as the backtests report it)
    coverage: dict[str, float]  # interval level ("80") -> share of actuals inside, 0-1
    n_series: int
    n_points: int


def level_key(level: float) -> str:
    return f"{level:g}"


def live_accuracy(
    bundle: ForecastBundle, df: pd.DataFrame, levels: list[float], window: int | None = None
) -> AccuracyResult:
    """Score the bundle's forecast on the actuals after its training window.

    ``window`` caps the steps scored (default: every step the bundle holds). Series the bundle
    does not know and dates it did not forecast are left out; raises ``NoNewActuals`` when no
    forecast step has an actual yet."""
    train_end = pd.Timestamp(bundle.train_end)
    steps = min(window or bundle.max_horizon, bundle.max_horizon)
    dates = pd.to_datetime(df[DS])
    known = df[SERIES_ID].astype(str).isin(bundle.series.keys())
    later = df[known & (dates > train_end) & df[Y].notna()]
    if later.empty:
        raise NoNewActuals(f"no actuals after the champion's training window (ends {bundle.train_end}) yet")
    forecast = pd.DataFrame(bundle.forecast(sorted(later[SERIES_ID].astype(str).unique()), steps, levels))
    forecast[DS] = pd.to_datetime(forecast[DS])
    actuals = pd.DataFrame(
        {SERIES_ID: later[SERIES_ID].astype(str), DS: dates[later.index], Y: later[Y].astype(float)}
    )
    scored = forecast.merge(actuals, on=[SERIES_ID, DS], how="inner")
    if scored.empty:
        raise NoNewActuals(f"no actuals yet for the {steps} forecast steps after {bundle.train_end}")
    past = df[known & (dates <= train_end)]
    history = pd.DataFrame(
        {SERIES_ID: past[SERIES_ID].astype(str), DS: dates[past.index], Y: past[Y].astype(float)}
    ).sort_values(DS)
    per_series = []
    for series_id, points in scored.groupby(SERIES_ID):
        insample = history.loc[history[SERIES_ID] == series_id, Y].dropna().to_numpy(dtype=float)
        if len(insample) <= 1:
            continue  # too short a history to scale its errors; WAPE and coverage still count it
        per_series.append(
            metrics.mase(
                points[Y].to_numpy(dtype=float),
                points["yhat"].to_numpy(dtype=float),
                insample,
                bundle.season_length,
            )
        )
    if not per_series:
        raise ValueError("no scored series has more than one training observation to scale its errors")
    actual, yhat = scored[Y].to_numpy(dtype=float), scored["yhat"].to_numpy(dtype=float)
    coverage = {
        level_key(level): metrics.coverage(
            actual,
            scored[f"yhat_lower_{level:g}"].to_numpy(dtype=float),
            scored[f"yhat_upper_{level:g}"].to_numpy(dtype=float),
        )
        for level in levels
    }
    return AccuracyResult(
        window_start=scored[DS].min().date(),
        window_end=scored[DS].max().date(),
        mase=float(np.mean(per_series)),
        wape=metrics.wape(actual, yhat),
        coverage=coverage,
        n_series=int(scored[SERIES_ID].nunique()),
        n_points=len(scored),
    )
