"""The shapes of the API's answers as the portal reads them (mirrors serving/schemas.py).

TypedDicts, not classes: the JSON is used as it arrives, and mypy still checks every key a page
reads. Two groups mirror routes other issues add (accuracy: issue 7, pipelines: issue 6); the
portal says "not available on this server" when the API it talks to does not have them yet.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class ModelSummary(TypedDict):
    name: str
    champion_version: str | None
    serving_version: str | None
    aliases: dict[str, str]
    load_error: str | None
    series_count: int | None
    max_horizon: int | None
    frequency: str | None
    train_start: str | None
    train_end: str | None


class VersionOut(TypedDict):
    version: str
    aliases: list[str]
    run_id: str
    created_at: str
    metrics: dict[str, float]
    gate: str | None


class SelectionRow(TypedDict):
    series_id: str
    model: str


class ModelDetail(ModelSummary):
    versions: list[VersionOut]
    selection: list[SelectionRow]


class Interval(TypedDict):
    level: float
    lower: float
    upper: float


class ForecastPoint(TypedDict):
    ds: str
    yhat: float
    intervals: list[Interval]


class HistoryPoint(TypedDict):
    ds: str
    y: float


class SeriesForecastOut(TypedDict):
    series_id: str
    selected_model: str
    points: list[ForecastPoint]
    history: list[HistoryPoint] | None


class ForecastResponse(TypedDict):
    model: str
    version: str
    origin: str
    snapshot_id: int | None
    horizon: int
    levels: list[float]
    forecasts: list[SeriesForecastOut]


class ChampionChange(TypedDict):
    model: str
    action: str
    previous_version: str | None
    champion_version: str
    serving_version: str
    load_seconds: float


class DriftFeatureOut(TypedDict):
    feature: str
    score: float
    method: str
    drifted: bool


class DriftReportOut(TypedDict):
    id: int
    model_name: str
    model_version: str
    created_at: str
    reference_start: str
    reference_end: str
    current_start: str
    current_end: str
    drift_share: float
    dataset_drift: bool
    features: list[DriftFeatureOut]


class DriftHistoryOut(TypedDict):
    model_name: str
    latest: DriftReportOut | None
    history: list[DriftReportOut]


class AccuracyPointOut(TypedDict):
    """One evaluation of served forecasts against the actuals that arrived (issue 7)."""

    evaluated_at: str
    model_version: str
    window_start: str
    window_end: str
    mase: float | None  # null only when not finite
    wape: float | None  # in percent, as the backtests report it
    coverage: dict[str, float]  # interval level ("80", "95") -> share of actuals inside, 0-1
    n_series: int
    n_points: int


class AccuracyHistoryOut(TypedDict):
    model: str
    points: list[AccuracyPointOut]


class PipelineRun(TypedDict):
    """A Prefect flow run as the API lists it (issue 6)."""

    id: str
    name: str
    flow: str
    dataset: str | None
    state: str
    message: str | None  # why it is in its state; server paths shown by file name
    started_at: str | None
    ended_at: str | None
    duration_seconds: float | None
    prefect_url: str | None  # the run in Prefect's UI; None when the API knows no UI address


class PipelineSchedule(TypedDict):
    dataset: str
    flow: str  # train, monitor or forecast
    schedule: str | None  # in words; None: runs only when started
    paused: bool
    next_run_at: str | None
    prefect_url: str | None


class RunLogLine(TypedDict):
    timestamp: str
    level: str
    message: str  # plain text from the flow: escape it


class RunLogs(TypedDict):
    flow_run_id: str
    offset: int
    lines: list[RunLogLine]
    next_offset: int | None


class TrainTriggered(TypedDict):
    flow_run_id: str
    dataset: str
    state: str


class DatasetOut(TypedDict):
    name: str
    kept: str  # "yaml" (a spec in the datasets folder) or "added" (at run time)


class DatasetSubmitted(TypedDict):
    dataset: str
    flow_run_id: str
    state: str


class ContractRunOut(TypedDict):
    run_id: str
    dataset: str
    status: str
    stage: str | None
    started_at: str
    rules: int | None
    failures: int | None
    model_version: str | None


class RuleOut(TypedDict):
    rule: str
    column: str
    success: bool
    expectation: str
    message: str
    unexpected: int


class ContractReportOut(ContractRunOut):
    summary: str
    rows: int | None
    series: int | None
    quarantined: int
    quarantine_counts: dict[str, int]
    results: list[RuleOut]
    docs_url: str | None


class UserOut(TypedDict):
    username: str
    role: str
    active: bool
    created_at: str


class ApiKeyOut(TypedDict):
    id: int
    name: str
    prefix: str
    role: str
    models: list[str]
    created_at: str
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None
    active: bool


class ApiKeyIssued(ApiKeyOut):
    key: str


class BacktestPointOut(TypedDict):
    ds: str
    y: float
    yhat: float


class BacktestWindowOut(TypedDict):
    """The chosen model's forecast from one rolling origin of the training backtest."""

    window: int
    cutoff: str
    model: str
    mase: float | None
    smape: float | None
    wape: float | None
    points: list[BacktestPointOut]


class BacktestOut(TypedDict):
    model: str
    version: str
    series_id: str
    windows: list[BacktestWindowOut]


class SnapshotOut(TypedDict):
    id: int
    model_version: str
    origin: str
    actuals_end: str
    series_count: int
    created_at: str
    served: bool


class ForecastActualPoint(TypedDict):
    ds: str
    yhat: float
    lower: float
    upper: float
    y: float | None  # null: that date's actual has not arrived


class ForecastVsActualOut(TypedDict):
    """A forecast made earlier, with the actuals that arrived after its origin and its error."""

    model: str
    version: str
    snapshot_id: int | None
    origin: str
    series_id: str
    selected_model: str
    level: float
    actuals_end: str | None
    points: list[ForecastActualPoint]
    arrived: int
    mae: float | None
    wape: float | None  # percent
    inside: float | None  # share of arrived actuals inside the interval, 0-1


class AlertOut(TypedDict):
    """An alert as Alertmanager last reported it to the API's webhook receiver."""

    fingerprint: str
    alertname: str
    status: Literal["firing", "resolved"]
    severity: str
    model: str | None
    summary: str | None
    description: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str | None
    updated_at: str


class AlertsOut(TypedDict):
    status: Literal["firing", "resolved"]
    alerts: list[AlertOut]
