"""What the flows return: frozen records with named fields, read by the CLI, the drift demo and
tests (and kept by Prefect as the flow run's result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from registry.names import CHAMPION, Alias

MonitorStatus = Literal["ok", "drift", "no new actuals"]


@dataclass(frozen=True)
class TrainOutcome:
    """A training run: the version that holds it and where the gate put it."""

    model_name: str
    version: str
    run_id: str
    alias: Alias
    reason: str  # the gate's, in words
    idempotency_key: str
    skipped: bool  # this training (same data, configuration, code) was registered and judged before
    resumed: int = 0  # series taken from the checkpoints of an attempt that died
    backtest_mase: float | None = None  # None when skipped
    selection: dict[str, int] = field(default_factory=dict)  # model -> how many series chose it

    @property
    def promoted(self) -> bool:
        return self.alias == CHAMPION


@dataclass(frozen=True)
class RetrainTriggered:
    """Drift started a run of the ``train/<dataset>`` deployment; a worker trains."""

    flow_run_id: str


@dataclass(frozen=True)
class Retrained:
    """Drift retrained here, as a subflow (no Prefect server, or no deployment for the dataset)."""

    training: TrainOutcome


@dataclass(frozen=True)
class ForecastOutcome:
    """A forecast snapshot published for the champion ``version`` of ``model_name``."""

    model_name: str
    version: str
    snapshot_id: int
    origin: str  # the first forecast date
    series: int
    seconds: float  # the roll-forward (refits and forecasts), without loading or publishing
    fallbacks: tuple[str, ...] = ()  # series whose chosen model failed on the new data


@dataclass(frozen=True)
class MonitorOutcome:
    """A monitoring run of the champion ``version`` of ``model_name``."""

    model_name: str
    version: str
    status: MonitorStatus
    drift_share: float | None = None  # None when there were no new actuals
    report_id: int | None = None  # the stored drift report
    accuracy_id: int | None = None  # the stored live accuracy, if any could be scored
    retrain: RetrainTriggered | Retrained | None = None  # None: drift at or under the threshold
    forecast: ForecastOutcome | None = None  # the snapshot published from these actuals


@dataclass(frozen=True)
class DatasetAdded:
    """A dataset checked and stored at run time (`datasets add`, ``POST /v1/datasets``)."""

    name: str
    rows: int
    series: int
    frequency: str
    season_length: int
    horizon: int
    rules: int  # contract rules it passed
