"""Model health: the drift history of a model, its Evidently reports, and its live accuracy."""

from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from astralytiq.db import AccuracyReport, DriftReport
from serving.deps import SessionDep, SettingsDep, Viewer, check_model_scope
from serving.errors import COMMON_RESPONSES
from serving.schemas import (
    AccuracyHistoryOut,
    AccuracyPointOut,
    DriftFeatureOut,
    DriftHistoryOut,
    DriftReportOut,
    ErrorDetail,
)

router = APIRouter(prefix="/v1/models", tags=["monitoring"])


def _out(row: DriftReport) -> DriftReportOut:
    return DriftReportOut(
        id=row.id,
        model_name=row.model_name,
        model_version=row.model_version,
        created_at=row.created_at,
        reference_start=row.reference_start,
        reference_end=row.reference_end,
        current_start=row.current_start,
        current_end=row.current_end,
        drift_share=row.drift_share,
        dataset_drift=row.dataset_drift,
        features=[DriftFeatureOut(feature=k, **v) for k, v in sorted(row.features.items())],
    )


@router.get("/{name}/drift", response_model=DriftHistoryOut)
def drift_history(name: str, session: SessionDep, principal: Viewer, limit: int = 30) -> DriftHistoryOut:
    """The latest drift result of a model and up to ``limit`` earlier ones, newest first."""
    check_model_scope(principal, name)
    limit = max(1, min(limit, 500))
    rows = session.scalars(
        select(DriftReport).where(DriftReport.model_name == name).order_by(DriftReport.id.desc()).limit(limit)
    ).all()
    history = [_out(r) for r in rows]
    return DriftHistoryOut(model_name=name, latest=history[0] if history else None, history=history)


@router.get(
    "/{name}/drift/{report_id}/html",
    response_class=HTMLResponse,
    # Refusals are JSON like everywhere else, only the report itself is HTML.
    responses={
        code: {
            **COMMON_RESPONSES[code],
            "content": {"application/json": {"schema": ErrorDetail.model_json_schema()}},
        }
        for code in (401, 403, 404, 422, 503)
    },
)
def drift_report_html(
    name: str, report_id: int, session: SessionDep, settings: SettingsDep, principal: Viewer
) -> HTMLResponse:
    """The full Evidently report of one drift check."""
    check_model_scope(principal, name)
    row = session.get(DriftReport, report_id)
    if row is None or row.model_name != name:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no drift report {report_id} for model {name!r}"
        )
    path = Path(row.report_path)
    reports = settings.reports_dir.resolve()
    if not path.resolve().is_relative_to(reports) or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="the report file is no longer kept")
    return HTMLResponse(path.read_text(encoding="utf-8"))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.get("/{name}/accuracy", response_model=AccuracyHistoryOut)
def accuracy_history(
    name: str, session: SessionDep, principal: Viewer, limit: int = 100
) -> AccuracyHistoryOut:
    """Live accuracy of the champion's forecasts against arrived actuals: the newest ``limit``
    evaluations, oldest first (MASE, WAPE in percent, interval coverage per level)."""
    check_model_scope(principal, name)
    limit = max(1, min(limit, 1000))
    rows = session.scalars(
        select(AccuracyReport)
        .where(AccuracyReport.model_name == name)
        .order_by(AccuracyReport.id.desc())
        .limit(limit)
    ).all()
    points = [
        AccuracyPointOut(
            evaluated_at=row.evaluated_at
            if row.evaluated_at.tzinfo
            else row.evaluated_at.replace(tzinfo=UTC),
            model_version=row.model_version,
            window_start=row.window_start.date(),
            window_end=row.window_end.date(),
            mase=_finite(row.mase),
            wape=_finite(row.wape),
            coverage=row.coverage,
            n_series=row.n_series,
            n_points=row.n_points,
        )
        for row in reversed(rows)
    ]
    return AccuracyHistoryOut(model=name, points=points)
