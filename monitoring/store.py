"""Drift results as history in the app database; the HTML report as a file beside it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from astralytiq.db import DriftReport
from monitoring.drift import DriftResult


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
