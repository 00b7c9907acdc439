"""Request and response bodies of the API (pydantic), with the examples OpenAPI shows."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SERIES_PER_REQUEST = 1000


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    role: str


class Me(BaseModel):
    username: str
    role: str
    kind: Literal["user", "api_key"]


class ForecastRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"series_ids": ["ATL", "BOS"], "horizon": 14, "levels": [80, 95]}]},
    )

    series_ids: list[str] = Field(min_length=1, max_length=MAX_SERIES_PER_REQUEST)
    horizon: int = Field(ge=1, description="Steps ahead; at most the model's max_horizon.")
    levels: list[float] = Field(default_factory=lambda: [80.0, 95.0], max_length=10)
    include_history: bool = Field(False, description="Also return the recent actuals, for charts.")

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[float]) -> list[float]:
        for level in levels:
            if not math.isfinite(level) or not 0 < level < 100:
                raise ValueError(f"each level is a percentage strictly between 0 and 100, got {level}")
        return sorted(set(levels))

    @field_validator("series_ids")
    @classmethod
    def _ids(cls, ids: list[str]) -> list[str]:
        for series_id in ids:
            if not 0 < len(series_id) <= 200:
                raise ValueError("each series id is 1-200 characters")
        return list(dict.fromkeys(ids))  # keep order, drop repeats


class Interval(BaseModel):
    level: float
    lower: float
    upper: float


class ForecastPoint(BaseModel):
    ds: str
    yhat: float
    intervals: list[Interval]


class HistoryPoint(BaseModel):
    ds: str
    y: float


class SeriesForecastOut(BaseModel):
    series_id: str
    selected_model: str
    points: list[ForecastPoint]
    history: list[HistoryPoint] | None = None


class ForecastResponse(BaseModel):
    model: str
    version: str
    horizon: int
    levels: list[float]
    forecasts: list[SeriesForecastOut]


class ModelSummary(BaseModel):
    name: str
    champion_version: str | None
    serving_version: str | None
    aliases: dict[str, str]
    series_count: int | None = None
    max_horizon: int | None = None
    frequency: str | None = None
    train_start: str | None = None
    train_end: str | None = None


class VersionOut(BaseModel):
    version: str
    aliases: list[str]
    run_id: str
    created_at: datetime
    metrics: dict[str, float]
    gate: str | None = None


class SelectionRow(BaseModel):
    series_id: str
    model: str


class ModelDetail(ModelSummary):
    versions: list[VersionOut]
    selection: list[SelectionRow] = []


class DriftFeatureOut(BaseModel):
    feature: str
    score: float
    method: str
    drifted: bool


class DriftReportOut(BaseModel):
    id: int
    model_name: str
    model_version: str
    created_at: datetime
    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime
    drift_share: float
    dataset_drift: bool
    features: list[DriftFeatureOut]


class DriftHistoryOut(BaseModel):
    model_name: str
    latest: DriftReportOut | None
    history: list[DriftReportOut]


class Problem(BaseModel):
    detail: str
