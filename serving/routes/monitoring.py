"""Model health: the drift history of a model, its Evidently reports, and its live accuracy."""

from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from astralytiq.db import AccuracyReport, DriftReport
from serving import security_headers
from serving.deps import SessionDep, SettingsDep, Viewer, check_model_scope
from serving.errors import COMMON_RESPONSES
from serving.report_streams import FreeStream, ReportFile, ReportStreams
from serving.schemas import (
    DB_ID_MAX,
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
def drift_history(
    name: str,
    session: SessionDep,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=500, description="How many checks, newest first.")] = 30,
) -> DriftHistoryOut:
    """The latest drift result of a model and up to ``limit`` earlier ones, newest first."""
    check_model_scope(principal, name)
    rows = session.scalars(
        select(DriftReport).where(DriftReport.model_name == name).order_by(DriftReport.id.desc()).limit(limit)
    ).all()
    history = [_out(r) for r in rows]
    return DriftHistoryOut(model_name=name, latest=history[0] if history else None, history=history)


@router.get(
    "/{name}/drift/{report_id}/html",
    response_class=HTMLResponse,
    responses={
        200: {
            "description": "The report, sandboxed (Content-Security-Policy: sandbox): its scripts run "
            "in an origin of their own and cannot reach the network",
            "headers": {"Content-Security-Policy": {"schema": {"type": "string"}}},
        },
        # Refusals are JSON like everywhere else, only the report itself is HTML.
        **{
            code: {
                **COMMON_RESPONSES[code],
                "content": {"application/json": {"schema": ErrorDetail.model_json_schema()}},
            }
            for code in (401, 403, 404, 422, 503)
        },
    },
)
def drift_report_html(
    _stream: Annotated[None, FreeStream],
    name: str,
    report_id: Annotated[int, PathParam(ge=1, le=DB_ID_MAX)],
    session: SessionDep,
    settings: SettingsDep,
    principal: Viewer,
    request: Request,
) -> Response:
    """The full Evidently report of one drift check, streamed from the reports folder."""
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
    # Streamed in chunks (a report is megabytes: read whole, 16 readers held 0.5 GB), a few at a time.
    report = ReportFile(path, media_type="text/html; charset=utf-8", headers=security_headers.REPORT_HEADERS)
    streams: ReportStreams = request.app.state.report_streams
    return streams.limited(report)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.get("/{name}/accuracy", response_model=AccuracyHistoryOut)
def accuracy_history(
    name: str,
    session: SessionDep,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many evaluations (the newest).")] = 100,
) -> AccuracyHistoryOut:
    """Live accuracy of the champion's forecasts against arrived actuals: the newest ``limit``
    evaluations, oldest first (MASE, WAPE in percent, interval coverage per level)."""
    check_model_scope(principal, name)
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
