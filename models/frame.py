"""The long data format every stage shares: one row per (series_id, ds) with target y."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.covariates import Covariates

SERIES_ID = "series_id"
DS = "ds"
Y = "y"


@dataclass(frozen=True)
class Series:
    """One series' history, sorted by time: what a local forecaster is fitted on.

    With covariates, ``x`` holds the source columns on the same dates (``covariates.columns``,
    known ones first) and ``x_future`` the known columns' values after the last date (from a cut
    history, or a what-if scenario); unknown columns have no future at all.
    """

    series_id: str
    ds: pd.DatetimeIndex
    y: np.ndarray
    freq: str
    x: np.ndarray | None = None  # (len, len(covariates.columns))
    x_future: np.ndarray | None = None  # (steps, len(covariates.known))
    covariates: Covariates | None = None

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int) -> Series:
        """The first ``n`` observations, as a forecaster at that origin would have seen them.

        The one place a backtest cuts a history: a known covariate's values after the cut stay
        (they were known at the origin), an unknown covariate's are dropped (they were not)."""
        if self.x is None or self.covariates is None:
            return Series(self.series_id, self.ds[:n], self.y[:n], self.freq)
        known = self.x[n:, : len(self.covariates.known)]
        future = known if self.x_future is None else np.vstack([known, self.x_future])
        return Series(self.series_id, self.ds[:n], self.y[:n], self.freq, self.x[:n], future, self.covariates)

    def tail(self, n: int) -> Series:
        x = None if self.x is None else self.x[-n:]
        return Series(self.series_id, self.ds[-n:], self.y[-n:], self.freq, x, self.x_future, self.covariates)

    def with_future(self, x_future: np.ndarray) -> Series:
        """The same history with other known-covariate values ahead (a what-if scenario)."""
        return Series(self.series_id, self.ds, self.y, self.freq, self.x, x_future, self.covariates)

    def future_dates(self, horizon: int) -> pd.DatetimeIndex:
        return pd.date_range(self.ds[-1], periods=horizon + 1, freq=self.freq)[1:]


def check_long_frame(df: pd.DataFrame) -> None:
    """Raise ValueError naming what is wrong if ``df`` is not long-format training data."""
    missing = [c for c in (SERIES_ID, DS, Y) if c not in df.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {missing}; expected long format with columns "
            f"{SERIES_ID!r}, {DS!r}, {Y!r} (got {list(df.columns)[:10]})"
        )
    if df.empty:
        raise ValueError("no rows: the training data is empty")
    if not pd.api.types.is_datetime64_any_dtype(df[DS]):
        raise ValueError(f"column {DS!r} must hold timestamps, not {df[DS].dtype}")
    if not pd.api.types.is_numeric_dtype(df[Y]):
        raise ValueError(f"column {Y!r} must be numeric, not {df[Y].dtype}")
    if not np.isfinite(df[Y].to_numpy(dtype=float)).all():
        raise ValueError(f"column {Y!r} holds NaN or infinite values; fill or drop them first")


def regular_grid(series_id: str, ds: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """The full ``freq`` grid from the first to the last timestamp; refuses what cannot sit on it.

    Gaps are allowed (the data contract sets the budget for them, ``max_gap_share``); repeated
    timestamps and timestamps off the grid are refused, naming the series.
    """
    if ds.has_duplicates:
        raise ValueError(f"series {series_id!r} repeats timestamps; keep one row per {DS}")
    grid = pd.date_range(ds[0], ds[-1], freq=freq)
    off_grid = ds.difference(grid)
    if len(off_grid):
        raise ValueError(
            f"series {series_id!r} has {len(off_grid)} timestamps off the {freq!r} grid "
            f"(first {off_grid[0]}); resample it first"
        )
    return grid


def iter_series(df: pd.DataFrame, freq: str, covariates: Covariates | None = None) -> Iterator[Series]:
    """Split a long frame into sorted per-series histories (with their covariate columns)."""
    check_long_frame(df)
    columns = list(covariates.columns) if covariates is not None else []
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"covariate column(s) {missing} are not in the data; the spec lists them")
    for series_id, group in df.sort_values([SERIES_ID, DS]).groupby(SERIES_ID, sort=True):
        ds = pd.DatetimeIndex(group[DS])
        grid = regular_grid(str(series_id), ds, freq)
        y = pd.Series(group[Y].to_numpy(dtype=float), index=ds)
        if len(grid) != len(ds):
            # Every model assumes one value per period: fill the gaps the contract let through
            # by linear interpolation between the neighbouring observations.
            y = y.reindex(grid).interpolate(method="linear")
        x = None
        if covariates is not None and covariates.any:
            values = group[columns].astype(float).set_axis(ds).reindex(grid)
            # Missing covariate values (within the contract's budget): the last one seen (the
            # first one for a leading gap), 0 for a column that has none.
            x = values.ffill().bfill().fillna(0.0)
            x = x.to_numpy(dtype=float).reshape(len(grid), len(columns))
        yield Series(
            series_id=str(series_id),
            ds=grid,
            y=y.to_numpy(dtype=float),
            freq=freq,
            x=x,
            covariates=covariates if x is not None else None,
        )


def fingerprint(df: pd.DataFrame) -> str:
    """A content hash of the data (order-independent), logged with every training run."""
    import hashlib

    canonical = df.sort_values([SERIES_ID, DS]).reset_index(drop=True)
    row_hashes = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()[:16]
