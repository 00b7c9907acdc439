"""The long data format every stage shares: one row per (series_id, ds) with target y."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

SERIES_ID = "series_id"
DS = "ds"
Y = "y"


@dataclass(frozen=True)
class Series:
    """One series' history, sorted by time: what a local forecaster is fitted on."""

    series_id: str
    ds: pd.DatetimeIndex
    y: np.ndarray
    freq: str

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int) -> Series:
        return Series(self.series_id, self.ds[:n], self.y[:n], self.freq)

    def tail(self, n: int) -> Series:
        return Series(self.series_id, self.ds[-n:], self.y[-n:], self.freq)

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


def iter_series(df: pd.DataFrame, freq: str) -> Iterator[Series]:
    """Split a long frame into sorted per-series histories."""
    check_long_frame(df)
    for series_id, group in df.sort_values([SERIES_ID, DS]).groupby(SERIES_ID, sort=True):
        yield Series(
            series_id=str(series_id),
            ds=pd.DatetimeIndex(group[DS]),
            y=group[Y].to_numpy(dtype=float),
            freq=freq,
        )


def fingerprint(df: pd.DataFrame) -> str:
    """A content hash of the data (order-independent), logged with every training run."""
    import hashlib

    canonical = df.sort_values([SERIES_ID, DS]).reset_index(drop=True)
    row_hashes = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()[:16]
