"""Forecast snapshots in the app database: the flow records one per publication, the API reads the
newest for the version it serves (and any older one by id, to reproduce a past answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from astralytiq.db import ForecastSnapshot


@dataclass(frozen=True)
class SnapshotRecord:
    id: int
    model_name: str
    model_version: str
    origin: str
    actuals_end: str
    series_count: int
    created_at: datetime
    artifact_uri: str
    artifact_path: str
    sha256: str
    seconds: float

    @classmethod
    def of(cls, row: ForecastSnapshot) -> SnapshotRecord:
        return cls(
            row.id,
            row.model_name,
            row.model_version,
            row.origin,
            row.actuals_end,
            row.series_count,
            row.created_at,
            row.artifact_uri,
            row.artifact_path,
            row.sha256,
            row.seconds,
        )


def record_snapshot(
    session: Session,
    model_name: str,
    model_version: str,
    origin: str,
    actuals_end: str,
    series_count: int,
    artifact_uri: str,
    artifact_path: str,
    sha256: str,
    seconds: float,
) -> SnapshotRecord:
    """Add a snapshot row (its bundle already stored: a row never points at a missing file)."""
    row = ForecastSnapshot(
        model_name=model_name,
        model_version=model_version,
        origin=origin,
        actuals_end=actuals_end,
        series_count=series_count,
        artifact_uri=artifact_uri,
        artifact_path=artifact_path,
        sha256=sha256,
        seconds=seconds,
    )
    session.add(row)
    session.flush()
    return SnapshotRecord.of(row)


def newest_snapshot(session: Session, model_name: str, model_version: str) -> SnapshotRecord | None:
    """The latest published snapshot of this version (highest id: ids grow with publication)."""
    row = session.scalars(
        select(ForecastSnapshot)
        .where(ForecastSnapshot.model_name == model_name, ForecastSnapshot.model_version == model_version)
        .order_by(ForecastSnapshot.id.desc())
        .limit(1)
    ).first()
    return SnapshotRecord.of(row) if row is not None else None


def snapshot_by_id(session: Session, model_name: str, snapshot_id: int) -> SnapshotRecord | None:
    row = session.get(ForecastSnapshot, snapshot_id)
    return SnapshotRecord.of(row) if row is not None and row.model_name == model_name else None


def list_snapshots(session: Session, model_name: str, limit: int = 50) -> list[SnapshotRecord]:
    """Newest first."""
    rows = session.scalars(
        select(ForecastSnapshot)
        .where(ForecastSnapshot.model_name == model_name)
        .order_by(ForecastSnapshot.id.desc())
        .limit(limit)
    )
    return [SnapshotRecord.of(row) for row in rows]
