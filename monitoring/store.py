"""Monitoring results as history in the app database: drift (with its HTML report as a file
beside it), live accuracy, and each run's view of the data (for freshness)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from astralytiq.db import AccuracyReport, DriftReport, MonitorRun
from monitoring.accuracy import AccuracyResult
from monitoring.drift import DriftResult


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def save_drift(
    session: Session, reports_dir: Path, model_name: str, model_version: str, result: DriftResult
) -> DriftReport:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = reports_dir / "drift" / model_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp}-v{model_version}.html"
    path.write_text(result.html, encoding="utf-8")
    w = result.windows
    row = DriftReport(
        model_name=model_name,
        model_version=model_version,
        reference_start=datetime.combine(w.reference_start, datetime.min.time(), UTC),
        reference_end=datetime.combine(w.reference_end, datetime.min.time(), UTC),
        current_start=datetime.combine(w.current_start, datetime.min.time(), UTC),
        current_end=datetime.combine(w.current_end, datetime.min.time(), UTC),
        drift_share=result.drift_share,
        dataset_drift=result.dataset_drift,
        features={name: asdict(f) for name, f in result.features.items()},
        report_path=str(path),
    )
    session.add(row)
    session.flush()
    return row


def save_accuracy(
    session: Session, model_name: str, model_version: str, result: AccuracyResult
) -> AccuracyReport:
    row = AccuracyReport(
        model_name=model_name,
        model_version=model_version,
        window_start=midnight(result.window_start),
        window_end=midnight(result.window_end),
        mase=result.mase,
        wape=result.wape,
        coverage=dict(result.coverage),
        n_series=result.n_series,
        n_points=result.n_points,
    )
    session.add(row)
    session.flush()
    return row


def save_monitor_run(
    session: Session, model_name: str, dataset: str, model_version: str, newest_actual: datetime
) -> MonitorRun:
    if newest_actual.tzinfo is None:
        newest_actual = newest_actual.replace(tzinfo=UTC)  # dataset timestamps are read as UTC
    row = MonitorRun(
        model_name=model_name,
        dataset=dataset,
        model_version=model_version,
        newest_actual=newest_actual,
    )
    session.add(row)
    session.flush()
    return row
