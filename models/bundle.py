"""The trained artifact the API serves: every series' forecast path with its error spread.

A fitted local model's forecast from the end of its history is fixed, so the bundle stores the
path for every step up to ``max_horizon`` and the error standard deviation per step; any
horizon up to the maximum and any interval level are then cheap arithmetic. Since format 2 the
spread is calibrated on backtest errors (``models.calibration``), and ``interval_tails`` holds,
per chosen model, how much wider than normal each trained level's band is; format 1 bundles
(no calibration) still load and serve their normal bands. The module is pure
Python (json, dataclasses) so the serving process loads it without pandas or NumPy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.intervals import scaled_bands, tail_ratio, z_score

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class SeriesForecast:
    series_id: str
    model: str  # the candidate chosen for this series by backtest
    dates: list[str]  # ISO dates of steps 1..max_horizon
    mean: list[float]
    sigma: list[float]
    history_dates: list[str]  # the recent history, for charts
    history_values: list[float]


@dataclass(frozen=True)
class ForecastBundle:
    model_name: str
    freq: str
    season_length: int
    max_horizon: int
    train_start: str
    train_end: str
    nonnegative: bool
    series: dict[str, SeriesForecast]
    metadata: dict[str, Any] = field(default_factory=dict)
    # model -> {level ("95") -> ratio of its calibrated band to the normal one}; empty: normal
    interval_tails: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """The first forecast date: the step after the newest actual any series was fitted on.

        Series that end earlier start their path earlier; the model's origin is the latest start."""
        return max(entry.dates[0] for entry in self.series.values())

    def band_scales(self, model: str, levels: Iterable[float]) -> list[float]:
        """The multiplier of sigma for each level's band of a series ``model`` was chosen for
        (the normal quantile times the calibrated tail ratio)."""
        tails = self.interval_tails.get(model)
        return [z_score(level) * tail_ratio(tails, level) for level in levels]

    def paths(
        self,
        series_id: str,
        horizon: int,
        levels: Iterable[float],
        scales: Sequence[float] | None = None,
    ) -> tuple[list[str], list[float], list[tuple[float, list[float], list[float]]]]:
        """One series' ``horizon`` steps as columns: (dates, yhat, [(level, lower, upper), ...]).
        The API renders from these directly (no row per step); ``forecast`` makes rows of them.
        ``scales``: ``band_scales`` of the series' model and these levels, if already known."""
        entry = self.series.get(series_id)
        if entry is None:
            raise KeyError(series_id)
        levels = list(levels)
        floor = 0.0 if self.nonnegative else None
        mean = entry.mean[:horizon]
        sigma = entry.sigma[:horizon]
        if scales is None:
            scales = self.band_scales(entry.model, levels)
        level_bands = [
            (level, *scaled_bands(mean, sigma, z, floor)) for level, z in zip(levels, scales, strict=True)
        ]
        yhat = [0.0 if m < 0.0 else m for m in mean] if floor is not None else mean  # max(m, 0.0)
        return entry.dates[:horizon], yhat, level_bands

    def forecast(
        self, series_ids: Iterable[str], horizon: int, levels: Iterable[float]
    ) -> list[dict[str, Any]]:
        """Rows of (series_id, ds, yhat, lower/upper per level) for ``horizon`` steps."""
        if not 1 <= horizon <= self.max_horizon:
            raise ValueError(f"horizon must be between 1 and {self.max_horizon}, got {horizon}")
        levels = list(levels)
        names = [(f"yhat_lower_{level:g}", f"yhat_upper_{level:g}") for level in levels]
        rows: list[dict[str, Any]] = []
        for series_id in series_ids:
            dates, yhat, level_bands = self.paths(series_id, horizon, levels)
            for step in range(horizon):
                row: dict[str, Any] = {"series_id": series_id, "ds": dates[step], "yhat": yhat[step]}
                for (lower_name, upper_name), (_, lower, upper) in zip(names, level_bands, strict=True):
                    row[lower_name] = lower[step]
                    row[upper_name] = upper[step]
                rows.append(row)
        return rows

    def to_json(self) -> str:
        return json.dumps({"format_version": FORMAT_VERSION, **asdict(self)}, separators=(",", ":"))

    def save(self, path: Path) -> Path:
        # Write then rename, so a reader never sees a half-written bundle.
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    @classmethod
    def from_json(cls, text: str | bytes) -> ForecastBundle:
        data = json.loads(text)
        version = data.pop("format_version", None)
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"bundle format {version!r} is not one of {READABLE_VERSIONS}; retrain the model"
            )
        data["series"] = {k: SeriesForecast(**v) for k, v in data["series"].items()}
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> ForecastBundle:
        return cls.from_json(Path(path).read_bytes())
