"""Covariate matrices for the models that use them: calendar, holidays and source columns.

``known_design`` gives a series' known covariates on its history and on the ``steps`` dates
after it: generated calendar features and holiday flags (computable for any date) and the known
source columns (their values after the end come from ``Series.x_future``: the data after a
backtest cut, or a what-if scenario; past those, the last known value is carried forward).
Unknown columns never appear there: ``origin_values`` gives their value at the origin, the
only way a model may see them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from models.covariates import HOLIDAY_FEATURES, Covariates, split_holidays
from models.frame import Series


def _calendar_column(index: pd.DatetimeIndex, feature: str) -> np.ndarray:
    if feature == "day_of_week":
        return np.asarray(index.dayofweek)
    if feature == "month":
        return np.asarray(index.month)
    if feature == "day_of_month":
        return np.asarray(index.day)
    if feature == "week_of_year":
        return index.isocalendar().week.to_numpy(dtype=int)
    if feature == "day_of_year":
        return np.asarray(index.dayofyear)
    if feature == "hour":
        return np.asarray(index.hour)
    if feature == "weekend":
        return np.asarray(index.dayofweek >= 5)
    raise ValueError(f"unknown calendar feature {feature!r}")


# One-hot widths for linear models (a day-of-week number is not a quantity): the first level
# is the baseline the intercept carries.
_LEVELS = {"day_of_week": range(7), "month": range(1, 13), "hour": range(24)}


def calendar_matrix(dates: pd.DatetimeIndex, features: tuple[str, ...], onehot: bool = False) -> np.ndarray:
    columns: list[np.ndarray] = []
    for feature in features:
        values = _calendar_column(dates, feature).astype(float)
        if onehot and feature in _LEVELS:
            levels = list(_LEVELS[feature])[1:]
            columns += [(values == level).astype(float) for level in levels]
        else:
            columns.append(values)
    return np.column_stack(columns) if columns else np.empty((len(dates), 0))


@lru_cache(maxsize=64)
def holiday_dates(code: str, first_year: int, last_year: int) -> frozenset[pd.Timestamp]:
    import holidays

    country, subdivision = split_holidays(code)
    found = holidays.country_holidays(country, subdiv=subdivision, years=range(first_year, last_year + 1))
    return frozenset(pd.Timestamp(day) for day in found)


def holiday_matrix(dates: pd.DatetimeIndex, code: str) -> np.ndarray:
    """Per date: a public holiday, the day before one, the day after one (0/1 columns)."""
    days = dates.normalize()
    found = holiday_dates(code, int(days.min().year) - 1, int(days.max().year) + 1)
    one = pd.Timedelta(days=1)
    return np.column_stack(
        [
            days.isin(found),
            (days + one).isin(found),
            (days - one).isin(found),
        ]
    ).astype(float)


def feature_names(covariates: Covariates, onehot: bool = False) -> list[str]:
    names: list[str] = []
    for feature in covariates.calendar:
        if onehot and feature in _LEVELS:
            names += [f"{feature}_{level}" for level in list(_LEVELS[feature])[1:]]
        else:
            names.append(feature)
    if covariates.holidays:
        names += list(HOLIDAY_FEATURES)
    return names + list(covariates.known)


def generated(dates: pd.DatetimeIndex, covariates: Covariates, onehot: bool = False) -> np.ndarray:
    """Calendar and holiday features of ``dates``: known for any date."""
    parts = [calendar_matrix(dates, covariates.calendar, onehot)]
    if covariates.holidays:
        parts.append(holiday_matrix(dates, covariates.holidays))
    return np.hstack(parts)


def future_known(series: Series, steps: int) -> np.ndarray:
    """The known columns' values for the ``steps`` dates after the series' end."""
    covariates = series.covariates
    width = len(covariates.known) if covariates else 0
    if not width or series.x is None:
        return np.empty((steps, 0))
    ahead = series.x_future if series.x_future is not None else np.empty((0, width))
    ahead = ahead[:steps]
    if len(ahead) < steps:
        # Past what the data (or the scenario) says: the last known value, carried forward.
        last = ahead[-1] if len(ahead) else series.x[-1, :width]
        ahead = np.vstack([ahead, np.tile(last, (steps - len(ahead), 1))])
    return ahead


def known_past(series: Series, onehot: bool = False) -> np.ndarray:
    """Known covariates on the history (rows = ``series.ds``)."""
    covariates = series.covariates
    if covariates is None or not len(series):
        return np.empty((len(series), len(feature_names(covariates, onehot)) if covariates else 0))
    width = len(covariates.known)
    past_columns = series.x[:, :width] if series.x is not None else np.empty((len(series), 0))
    return np.hstack([generated(series.ds, covariates, onehot), past_columns])


def known_ahead(series: Series, steps: int, onehot: bool = False) -> np.ndarray:
    """Known covariates on the ``steps`` dates after the history."""
    covariates = series.covariates
    if covariates is None:
        return np.empty((steps, 0))
    return np.hstack([generated(series.future_dates(steps), covariates, onehot), future_known(series, steps)])


def known_design(series: Series, steps: int, onehot: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Known covariates on the history and on the next ``steps`` dates."""
    return known_past(series, onehot), known_ahead(series, steps, onehot)


def width(covariates: Covariates | None) -> int:
    """Columns the boosted trees add: the known design and each unknown column at the origin."""
    return 0 if covariates is None else len(feature_names(covariates)) + len(covariates.unknown)


def unknown_history(series: Series) -> np.ndarray:
    """The unknown columns on the history (never beyond it: ``Series.head`` dropped the rest)."""
    covariates = series.covariates
    if covariates is None or series.x is None:
        return np.empty((len(series), 0))
    return series.x[:, len(covariates.known) :]
