"""The latest stored health of every model, read from the app database in a few small queries.

The API exports it as Prometheus gauges; the monitor flow is another process, so the database
(not the flow's memory) is the source: gauges survive restarts and agree across API replicas.
Lean on purpose (SQLAlchemy and the standard library only): the API imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from astralytiq.db import AccuracyReport, DriftReport, MonitorRun


@dataclass(frozen=True)
class DriftState:
    model_version: str
    drift_share: float
    dataset_drift: bool
    features: dict[str, tuple[float, bool]]  # feature -> (score, drifted)
    checked_at: datetime


@dataclass(frozen=True)
class AccuracyState:
    model_version: str
    mase: float
    wape: float  # percent
    coverage: dict[str, float]  # level -> share inside
    evaluated_at: datetime


@dataclass(frozen=True)
class ModelHealth:
    drift: DriftState | None = None
    accuracy: AccuracyState | None = None
    newest_actual: datetime | None = None
    monitored_at: datetime | None = None


@dataclass(frozen=True)
class HealthSnapshot:
    models: dict[str, ModelHealth] = field(default_factory=dict)
    read_at: datetime | None = None


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _latest_ids(
    session: Session, table: type[DriftReport] | type[AccuracyReport] | type[MonitorRun]
) -> list[int]:
    return list(session.scalars(select(func.max(table.id)).group_by(table.model_name)))


def read_snapshot(session: Session) -> HealthSnapshot:
    """One row per model and table (the newest), whatever the history's length."""
    models: dict[str, dict[str, object]] = {}
    for drift in session.scalars(
        select(DriftReport).where(DriftReport.id.in_(_latest_ids(session, DriftReport)))
    ):
        features = {
            name: (float(value.get("score", 0.0)), bool(value.get("drifted", False)))
            for name, value in drift.features.items()
        }
        models.setdefault(drift.model_name, {})["drift"] = DriftState(
            drift.model_version, drift.drift_share, drift.dataset_drift, features, _aware(drift.created_at)
        )
    for acc in session.scalars(
        select(AccuracyReport).where(AccuracyReport.id.in_(_latest_ids(session, AccuracyReport)))
    ):
        models.setdefault(acc.model_name, {})["accuracy"] = AccuracyState(
            acc.model_version, acc.mase, acc.wape, dict(acc.coverage), _aware(acc.evaluated_at)
        )
    for run in session.scalars(select(MonitorRun).where(MonitorRun.id.in_(_latest_ids(session, MonitorRun)))):
        entry = models.setdefault(run.model_name, {})
        entry["newest_actual"], entry["monitored_at"] = _aware(run.newest_actual), _aware(run.ran_at)
    return HealthSnapshot(
        models={name: ModelHealth(**parts) for name, parts in models.items()},  # type: ignore[arg-type]
        read_at=datetime.now(UTC),
    )
