"""Request and response bodies of the API (pydantic), with the examples OpenAPI shows."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_SERIES_PER_REQUEST = 1000
MAX_BATCH_REQUESTS = 50
MAX_LEVELS = 10
# 99.99% is z = 3.89; a level nearer 100 rounds 0.5 + level/200 to 1.0, an unbounded interval.
MAX_LEVEL = 99.99
VERSION_PATTERN = r"^[1-9][0-9]{0,9}$"
# Documented in the schema as well as checked by the validators (which say what was wrong in
# friendlier words than a pattern), so a client generating requests from OpenAPI stays valid.
SERIES_ID_SCHEMA: dict[str, JsonValue] = {"type": "string", "minLength": 1, "maxLength": 200}
KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
USERNAME_PATTERN = r"^[A-Za-z0-9._-]*[A-Za-z0-9][A-Za-z0-9._-]*$"
MODEL_NAME_SCHEMA: dict[str, JsonValue] = {"type": "string", "pattern": r"^[^\x00-\x1f/]{1,128}$"}
DATASET_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"  # a dataset spec's name and file stem (data_contracts.spec)


# Row ids of the app database (SQLite and PostgreSQL integers are 64-bit): a larger one in a path
# or query is a 422, not an overflow deep in the driver.
DB_ID_MAX = 2**63 - 1


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (written in UTC); OpenAPI's date-time needs the offset.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _iso_text(value: Any) -> Any:
    # OpenAPI says date-time: an ISO 8601 string. Pydantic alone would also take a bare number
    # (as a Unix time), so "since=1.5" would mean 1970.
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    elif isinstance(value, datetime):
        return value
    raise PydanticCustomError(
        "datetime_type", "Input should be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z"
    )


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_text)]


def _json_integer(value: Any) -> Any:
    # JSON Schema's integer includes 3.0, so a float with no fraction is one; true and "3" are not
    # (the request models are otherwise strict).
    if isinstance(value, bool | str):
        raise PydanticCustomError(
            "int_type", "Input should be a valid integer (a JSON number, not a string or true/false)"
        )
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer), Field(strict=False)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: UtcDatetime
    role: str
    username: str = Field(description="The account's name as it was created (logins ignore case).")


class Me(BaseModel):
    username: str
    role: str
    kind: Literal["user", "api_key"]


class SeriesForecastQuery(BaseModel):
    """What every forecast request asks: which series, how far ahead, which intervals."""

    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as documented: no "1" for 1

    series_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_SERIES_PER_REQUEST,
        description=f"Series to forecast (1-{MAX_SERIES_PER_REQUEST}); GET /v1/models/{{name}}/series lists them.",
        json_schema_extra={"items": SERIES_ID_SCHEMA},
    )
    horizon: JsonInt = Field(ge=1, description="Steps ahead, from 1 to the model's max_horizon.")
    levels: list[float] = Field(
        default_factory=lambda: [80.0, 95.0],
        max_length=MAX_LEVELS,
        description=f"Central prediction interval levels in percent, each above 0 and at most {MAX_LEVEL} "
        "(a 100% interval is unbounded); levels equal to 6 significant digits count once.",
        json_schema_extra={"items": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_LEVEL}},
    )
    include_history: bool = Field(False, description="Also return the recent actuals, for charts.")

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[float]) -> list[float]:
        for level in levels:
            if not math.isfinite(level) or not 0 < level <= MAX_LEVEL:
                raise ValueError(f"each level is a percentage above 0 and at most {MAX_LEVEL}, got {level}")
        # The answer names each level's bounds by its 6-digit form ("80"): one level per name.
        distinct = {f"{level:g}": level for level in sorted(levels, reverse=True)}
        return sorted(distinct.values())

    @field_validator("series_ids")
    @classmethod
    def _ids(cls, ids: list[str] | None) -> list[str] | None:
        if ids is None:
            return None
        for series_id in ids:
            if not 0 < len(series_id) <= 200:
                raise ValueError("each series id is 1-200 characters")
        return list(dict.fromkeys(ids))  # keep order, drop repeats


class ForecastRequest(SeriesForecastQuery):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"series_ids": ["ATL", "BOS"], "horizon": 14, "levels": [80, 95]},
                {"all_series": True, "horizon": 7, "levels": [80], "layout": "long"},
            ]
        },
    )

    series_ids: list[str] | None = Field(  # type: ignore[assignment]
        None,
        min_length=1,
        max_length=MAX_SERIES_PER_REQUEST,
        description=f"Series to forecast (1-{MAX_SERIES_PER_REQUEST}); GET /v1/models/{{name}}/series lists "
        "them. Leave out with `all_series`.",
        json_schema_extra={"items": SERIES_ID_SCHEMA},
    )
    all_series: bool = Field(
        False,
        description=f"Forecast every series of the model instead of naming them (a model of more than "
        f"{MAX_SERIES_PER_REQUEST} series gets a 422: name them in pages of series_ids).",
    )
    layout: Literal["nested", "long"] = Field(
        "nested",
        description="`nested`: ForecastResponse, points grouped per series. `long`: a flat JSON array, one "
        "record per series and date (`series_id, ds, yhat, lo_<level>, hi_<level>, ..., model_version, "
        "origin`, plus `y` for history rows), that `pandas.DataFrame(body)` reads as is. "
        "`Accept: text/csv` answers the long layout as CSV whatever this says.",
    )

    snapshot_id: (
        Annotated[int, Field(strict=False, ge=1, le=DB_ID_MAX), BeforeValidator(_json_integer)] | None
    ) = Field(
        None,
        description="Answer from this past forecast snapshot (its id is in X-Forecast-Snapshot and "
        "`snapshot_id` of an earlier answer) instead of the newest: the same numbers as then.",
    )

    @model_validator(mode="after")
    def _one_selection(self) -> ForecastRequest:
        if self.all_series == (self.series_ids is not None):
            raise ValueError("name the series in series_ids or set all_series to true (one of the two)")
        return self


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "nyc_flights",
                    "version": "3",
                    "origin": "2013-12-04",
                    "snapshot_id": None,
                    "horizon": 1,
                    "levels": [80.0, 95.0],
                    "forecasts": [
                        {
                            "series_id": "ATL",
                            "selected_model": "ets",
                            "points": [
                                {
                                    "ds": "2013-12-04",
                                    "yhat": 31.4,
                                    "intervals": [
                                        {"level": 80.0, "lower": 27.9, "upper": 34.9},
                                        {"level": 95.0, "lower": 26.0, "upper": 36.8},
                                    ],
                                }
                            ],
                            "history": None,
                        }
                    ],
                }
            ]
        }
    )

    model: str
    version: str = Field(description="The model version that made these forecasts (also X-Model-Version).")
    origin: str = Field(
        description="The first forecast date: the day (step) after the newest actual these forecasts "
        "start from (also X-Forecast-Origin)."
    )
    snapshot_id: int | None = Field(
        None,
        description="The forecast snapshot that answered (also X-Forecast-Snapshot); null: the "
        "version's own forecast from its training cutoff.",
    )
    horizon: int
    levels: list[float]
    forecasts: list[SeriesForecastOut]


class LongForecastRow(BaseModel):
    """One record of the `long` layout (and one line of the CSV answer)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "series_id": "ATL",
                    "ds": "2013-12-04",
                    "yhat": 31.4,
                    "lo_80": 27.9,
                    "hi_80": 34.9,
                    "lo_95": 26.0,
                    "hi_95": 36.8,
                    "model_version": "3",
                    "origin": "2013-12-04",
                }
            ]
        },
    )

    series_id: str
    ds: str
    yhat: float | None = Field(description="Point forecast; null on a history row.")
    model_version: str
    origin: str
    y: float | None = Field(
        None, description="Only with include_history: the actual on a history row, null on a forecast row."
    )
    # lo_<level>, hi_<level> per level asked for, named by the level's 6-digit form ("80", "97.5")


class BatchItem(SeriesForecastQuery):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "1" for 1, no true for 1
        json_schema_extra={
            "examples": [
                {"model": "nyc_flights", "series_ids": ["ATL", "BOS"], "horizon": 14, "levels": [80, 95]}
            ]
        },
    )

    model: str = Field(min_length=1, max_length=128, description="Registered model name.")


class BatchForecastRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "1" for 1, no true for 1
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {"model": "nyc_flights", "series_ids": ["ATL", "BOS"], "horizon": 14},
                        {"model": "nyc_flights", "series_ids": ["ORD"], "horizon": 28, "levels": [50, 90]},
                    ]
                }
            ]
        },
    )

    requests: list[BatchItem] = Field(
        min_length=1,
        max_length=MAX_BATCH_REQUESTS,
        description=f"1-{MAX_BATCH_REQUESTS} forecast requests, answered in order; at most "
        f"{MAX_SERIES_PER_REQUEST} series in all.",
    )

    @model_validator(mode="after")
    def _total_series(self) -> BatchForecastRequest:
        total = sum(len(r.series_ids) for r in self.requests)
        if total > MAX_SERIES_PER_REQUEST:
            raise ValueError(
                f"the batch asks for {total} series; the limit is {MAX_SERIES_PER_REQUEST} per call, split it"
            )
        return self


class BatchForecastResponse(BaseModel):
    results: list[ForecastResponse]


class ModelSummary(BaseModel):
    name: str
    champion_version: str | None
    serving_version: str | None
    aliases: dict[str, str]
    load_error: str | None = Field(
        None, description="Why the champion is not the version served, if it is not."
    )
    series_count: int | None = None
    max_horizon: int | None = None
    frequency: str | None = None
    train_start: str | None = None
    train_end: str | None = None


class VersionOut(BaseModel):
    version: str
    aliases: list[str]
    run_id: str
    created_at: UtcDatetime
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
    created_at: UtcDatetime
    reference_start: UtcDatetime
    reference_end: UtcDatetime
    current_start: UtcDatetime
    current_end: UtcDatetime
    drift_share: float
    dataset_drift: bool
    features: list[DriftFeatureOut]


class DriftHistoryOut(BaseModel):
    model_name: str
    latest: DriftReportOut | None
    history: list[DriftReportOut]


class AccuracyPointOut(BaseModel):
    evaluated_at: datetime
    model_version: str
    window_start: date
    window_end: date
    mase: float | None = Field(description="Mean over series of MASE; null only if not finite.")
    wape: float | None = Field(
        description="WAPE in percent, pooled over every point; null only if not finite."
    )
    coverage: dict[str, float] = Field(description='Interval level ("80") -> share of actuals inside, 0-1.')
    n_series: int
    n_points: int


class AccuracyHistoryOut(BaseModel):
    model: str
    points: list[AccuracyPointOut]


class PromotionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "1" for 1, no true for 1
        json_schema_extra={"examples": [{"version": "4", "reason": "beats v3 on December"}]},
    )

    version: str = Field(pattern=VERSION_PATTERN, description="The registered version to make champion.")
    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit log.")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "1" for 1, no true for 1
        json_schema_extra={"examples": [{"reason": "v4 under-forecasts holidays"}]},
    )

    version: str | None = Field(
        None,
        pattern=VERSION_PATTERN,
        description="Version to return to; default: the champion before the current one.",
    )
    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit log.")


class ChampionChange(BaseModel):
    model: str
    action: Literal["promote", "rollback"]
    previous_version: str | None
    champion_version: str
    serving_version: str
    load_seconds: float


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "1" for 1, no true for 1
        json_schema_extra={
            "examples": [
                {
                    "name": "billing-service",
                    "role": "viewer",
                    "models": ["nyc_flights"],
                    "expires_in_days": 90,
                }
            ]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=64,
        description="Who uses the key, e.g. a service name.",
        json_schema_extra={"pattern": KEY_NAME_PATTERN},
    )
    role: Literal["viewer", "engineer"] = "viewer"
    models: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Models the key may use; empty: every model.",
        json_schema_extra={"items": MODEL_NAME_SCHEMA},
    )
    # The bounds inside the union's integer branch, before the validator: otherwise pydantic
    # writes them as "ge"/"le", which are not JSON Schema and no client reads.
    expires_in_days: (
        Annotated[int, Field(strict=False, ge=1, le=3650), BeforeValidator(_json_integer)] | None
    ) = Field(None, description="Days until the key stops working, 1-3650; empty: never.")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(
        description="Identifies the key in lists and logs; the key itself is never shown again."
    )
    role: str
    models: list[str]
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None = Field(description="Exact to the minute.")
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    active: bool


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="The secret key, shown only in this response: store it now.")


# What bcrypt can hash honestly: 8 characters to 72 bytes of UTF-8 (it would ignore the rest),
# no control characters (it stops at NUL). The byte limit is checked by astralytiq.accounts.
PASSWORD_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
NewPassword = Annotated[
    str,
    Field(
        min_length=8,
        # Up to 200 characters reach the policy, whose refusal says how many bytes were sent.
        max_length=200,
        description="8 characters to 72 bytes of UTF-8, no control characters.",
        json_schema_extra={"maxLength": 72, "pattern": PASSWORD_PATTERN},
    ),
]


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "1" for 1, no true for 1
        json_schema_extra={
            "examples": [{"username": "ana", "password": "a-long-passphrase", "role": "engineer"}]
        },
    )

    username: str = Field(
        min_length=1,
        max_length=64,
        description="Letters, digits, '.', '_' or '-'.",
        json_schema_extra={"pattern": USERNAME_PATTERN},
    )
    password: NewPassword
    role: Literal["admin", "engineer", "viewer"] = "viewer"


class UserUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"active": False}]}
    )

    role: Literal["admin", "engineer", "viewer"] | None = None
    active: bool | None = None


class UserOut(BaseModel):
    username: str
    role: str
    active: bool
    created_at: UtcDatetime


class AuditEventOut(BaseModel):
    id: int
    at: UtcDatetime
    actor: str
    actor_kind: str
    action: str
    target: str
    detail: dict[str, Any]
    client: str | None


class ErrorDetail(BaseModel):
    """Every refusal: a sentence saying what was wrong, or (422) one entry per invalid field."""

    detail: str | list[dict[str, Any]]


class PipelineRun(BaseModel):
    id: str
    name: str = Field(description="The run's name in Prefect, e.g. 'brave-otter'")
    flow: str = Field(description="train, monitor, forecast or add-dataset")
    dataset: str | None
    state: str = Field(description="SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLED, ...")
    message: str | None = Field(
        description="Why the run is in its state (a failed run's reason); server paths shown by file name"
    )
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float | None
    prefect_url: str | None = Field(description="The run in Prefect's UI; null when no UI address is set")


class PipelineSchedule(BaseModel):
    """A dataset's deployment and when it runs by itself."""

    dataset: str
    flow: Literal["train", "monitor", "forecast"]
    schedule: str | None = Field(
        description="In words, e.g. 'daily at 06:00 (UTC)'; null: no schedule, runs only when started",
        examples=["weekly on Monday at 06:00 (UTC)"],
    )
    paused: bool
    next_run_at: datetime | None = Field(description="The next scheduled run; null when paused or none")
    prefect_url: str | None = Field(
        description="The deployment in Prefect's UI; null when no UI address is set"
    )


class RunLogLine(BaseModel):
    timestamp: datetime
    level: str = Field(description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    message: str = Field(description="As the flow logged it (plain text; cut at 4,000 characters)")


class RunLogs(BaseModel):
    flow_run_id: str
    offset: int
    lines: list[RunLogLine] = Field(description="Oldest first")
    next_offset: int | None = Field(description="Where the next page starts; null: no more lines yet")


class TrainRequest(BaseModel):
    dataset: str = Field(pattern=DATASET_PATTERN, examples=["nyc_flights"])


class TrainTriggered(BaseModel):
    flow_run_id: str
    dataset: str
    state: str


class DatasetOut(BaseModel):
    name: str
    kept: Literal["yaml", "added"]  # a YAML spec in the datasets folder, or added at run time


class DatasetSubmitted(BaseModel):
    """An upload staged for its check; the add-dataset run stores it only if it passes."""

    dataset: str
    flow_run_id: str
    state: str


class ContractRunOut(BaseModel):
    run_id: str
    dataset: str
    status: Literal["passed", "failed"]
    stage: str | None
    started_at: datetime
    rules: int | None = None
    failures: int | None = None
    model_version: str | None = None


class RuleOut(BaseModel):
    rule: str
    column: str
    success: bool
    expectation: str
    message: str = ""
    unexpected: int = 0


class ContractReportOut(ContractRunOut):
    summary: str
    rows: int | None = None
    series: int | None = None
    quarantined: int = 0
    quarantine_counts: dict[str, int] = {}
    results: list[RuleOut] = []
    docs_url: str | None = None  # the GX Data Docs page of this check, under this API


class Readiness(BaseModel):
    """/readyz. Without credentials only the verdicts; with the metrics token or a person's
    token also what is served and what failed to load."""

    status: Literal["ready", "not ready"]
    database: str = Field(description='"ok", or "error: <driver error class>"')
    registry: str = Field(description='"ok" or "error: unreachable"')
    registry_detail: str | None = Field(None, description="Why the registry was not read (with credentials).")
    models: dict[str, str] | None = Field(None, description="Model -> served version (with credentials).")
    failed: dict[str, str] | None = Field(
        None, description='"model/version" -> why it is not served (with credentials).'
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"current_password": "the-old-passphrase", "new_password": "a-new-long-passphrase"}]
        },
    )

    current_password: str = Field(min_length=1, max_length=200, description="The password in use now.")
    new_password: NewPassword


class PasswordReset(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"password": "a-new-long-passphrase"}]}
    )

    password: NewPassword


# --- how forecasts did: the backtest per window, snapshots, forecast against actual ---------------


class BacktestPointOut(BaseModel):
    ds: str
    y: float = Field(description="What happened.")
    yhat: float = Field(description="What the model forecast from the window's cutoff.")


class BacktestWindowOut(BaseModel):
    window: int = Field(description="0: the oldest rolling origin (as in the run's backtest scores).")
    cutoff: str = Field(description="The last date the window's model was fitted on.")
    model: str = Field(description="The candidate the series chose (the one it is served by).")
    mase: float | None = Field(description="The window's MASE; null when not finite.")
    smape: float | None = Field(description="The window's sMAPE in percent.")
    wape: float | None = Field(description="The window's WAPE in percent.")
    points: list[BacktestPointOut]


class BacktestOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "nyc_flights",
                    "version": "3",
                    "series_id": "ATL",
                    "windows": [
                        {
                            "window": 0,
                            "cutoff": "2013-11-05",
                            "model": "ets",
                            "mase": 0.82,
                            "smape": 4.1,
                            "wape": 4.0,
                            "points": [{"ds": "2013-11-06", "y": 30.0, "yhat": 31.4}],
                        }
                    ],
                }
            ]
        }
    )

    model: str
    version: str
    series_id: str
    windows: list[BacktestWindowOut] = Field(
        description="Oldest first; empty when the series' model could not be backtested (a fallback)."
    )


class SnapshotOut(BaseModel):
    id: int = Field(description="Pass as `snapshot_id` to the forecast and forecast-vs-actual routes.")
    model_version: str
    origin: str = Field(description="The snapshot's first forecast date.")
    actuals_end: str = Field(description="The newest actual it was rolled forward to.")
    series_count: int
    created_at: UtcDatetime
    served: bool = Field(description="Whether this snapshot is the one the API answers from now.")


class ForecastActualPoint(BaseModel):
    ds: str
    yhat: float
    lower: float
    upper: float
    y: float | None = Field(
        description="The actual of that date; null: not arrived yet (or older than the served "
        "forecast's kept history)."
    )


class ForecastVsActualOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "nyc_flights",
                    "version": "3",
                    "snapshot_id": None,
                    "origin": "2013-12-04",
                    "series_id": "ATL",
                    "selected_model": "ets",
                    "level": 80.0,
                    "actuals_end": "2013-12-31",
                    "points": [{"ds": "2013-12-04", "yhat": 31.4, "lower": 27.9, "upper": 34.9, "y": 30.0}],
                    "arrived": 1,
                    "mae": 1.4,
                    "wape": 4.7,
                    "inside": 1.0,
                }
            ]
        }
    )

    model: str
    version: str = Field(description="The version that made the forecast.")
    snapshot_id: int | None = Field(description="The snapshot that made it; null: the version as trained.")
    origin: str = Field(description="The forecast's first date.")
    series_id: str
    selected_model: str
    level: float = Field(description="The interval level of `lower` and `upper`, in percent.")
    actuals_end: str | None = Field(
        description="The newest actual of this series the API holds (the served forecast's history)."
    )
    points: list[ForecastActualPoint] = Field(
        description="Every step of the forecast, the actual where known."
    )
    arrived: int = Field(description="How many steps have their actual.")
    mae: float | None = Field(description="Mean absolute error over the arrived steps; null before any.")
    wape: float | None = Field(
        description="WAPE over the arrived steps, in percent; null before any (or all 0)."
    )
    inside: float | None = Field(description="Share of the arrived actuals inside the interval, 0-1.")


class AlertOut(BaseModel):
    """An alert as Alertmanager last reported it (POST /v1/alerts/webhook)."""

    fingerprint: str
    alertname: str
    status: Literal["firing", "resolved"]
    severity: str
    model: str | None = Field(description="The alert's `model` label, when it concerns one model.")
    summary: str | None = Field(description="The `summary` annotation of the rule.")
    description: str | None = Field(description="The `description` annotation of the rule.")
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None
    updated_at: UtcDatetime


class AlertsOut(BaseModel):
    status: Literal["firing", "resolved"]
    alerts: list[AlertOut]


class AlertsRecorded(BaseModel):
    """What one Alertmanager notification changed."""

    firing: int = Field(description="Alerts stored as firing.")
    resolved: int = Field(description="Alerts stored as resolved (gone from the firing list).")
    stale: int = Field(description="Alerts older than the stored state of their labels, ignored.")
