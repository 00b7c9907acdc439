"""Proposals for a new dataset, read from its data: frequency, season length, horizon and a
contract that the data as it is passes (tightened where the data allows: no missing values, no
gaps, no negatives). A person reviews and edits them before the dataset is added."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from data_contracts.rules import missing_step_share
from models.frame import DS, SERIES_ID, Y

# Observations per cycle, and a horizon, by the frequency's base: a week of days, a year of
# months, a day of hours. Frequencies not listed have no cycle (season length 1).
SEASONS = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4}
HORIZONS = {
    "min": 60,
    "h": 48,
    "D": 14,
    "B": 10,
    "W": 13,
    "MS": 12,
    "ME": 12,
    "M": 12,
    "QS": 8,
    "QE": 8,
    "Q": 8,
}


@dataclass(frozen=True)
class Proposal:
    frequency: str
    season_length: int
    horizon: int
    contract: dict[str, Any]  # a data contract as its YAML file holds it


def propose_frequency(frame: pd.DataFrame) -> str:
    """The pandas frequency of the longest series; refuses, saying what to do, when it is unclear."""
    if frame.empty:
        raise ValueError("the data has no rows")
    longest = frame.groupby(SERIES_ID)[DS].size().idxmax()
    dates = pd.DatetimeIndex(frame.loc[frame[SERIES_ID] == longest, DS].drop_duplicates().sort_values())
    guessed = pd.infer_freq(dates) if len(dates) >= 3 else None
    if guessed is None and len(dates) >= 2:
        step = pd.Series(dates).diff().dropna().mode()
        if len(step) and step.iloc[0] > pd.Timedelta(0):
            guessed = pd.tseries.frequencies.to_offset(step.iloc[0]).freqstr
    if guessed is None:
        raise ValueError(f"cannot tell the frequency from series {longest!r}; give it (D, W-SUN, MS, h ...)")
    return str(guessed)


def _base(frequency: str) -> str:
    from pandas.tseries.frequencies import to_offset

    name = to_offset(frequency).name
    base = name.split("-")[0].lstrip("0123456789")
    return {"T": "min", "H": "h"}.get(base, base)


def propose(name: str, frame: pd.DataFrame, covariates: list[str], frequency: str | None = None) -> Proposal:
    """Frequency (unless given), season length, horizon and a contract for ``frame`` (long format)."""
    freq = frequency or propose_frequency(frame)
    base = _base(freq)
    season = SEASONS.get(base, 1)
    shortest = int(frame.groupby(SERIES_ID)[DS].size().min())
    # Room for the backtest windows: at most a quarter of the shortest series.
    horizon = max(1, min(HORIZONS.get(base, max(season, 1)), shortest // 4))
    return Proposal(freq, season, horizon, propose_contract(name, frame, covariates, freq))


def _share_ceiling(share: float) -> float:
    return 0.0 if share <= 0 else min(1.0, math.ceil(share * 100) / 100)


def propose_contract(name: str, frame: pd.DataFrame, covariates: list[str], freq: str) -> dict[str, Any]:
    columns: dict[str, Any] = {SERIES_ID: {"type": "string"}, DS: {"type": "datetime"}}
    for column in (Y, *covariates):
        rule: dict[str, Any] = {"type": "number"}
        values = frame[column]
        if values.notna().any() and float(values.min()) >= 0:
            rule["min"] = 0
        missing = float(values.isna().mean())
        if missing:
            rule["max_missing_share"] = _share_ceiling(missing)
        columns[column] = rule
    gaps = float(missing_step_share(frame, freq).max()) if len(frame) else 0.0
    history = int(frame.groupby(SERIES_ID)[DS].size().min()) if len(frame) else 1
    return {
        "dataset": name,
        "columns": columns,
        "series": {"max_gap_share": _share_ceiling(gaps), "min_history": max(1, history)},
    }
