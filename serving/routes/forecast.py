"""Forecasts from a model's champion: any series, any horizon up to the maximum, any levels."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from serving import metrics
from serving.deps import ModelStoreDep, Viewer
from serving.model_store import ServedModel
from serving.schemas import (
    ForecastPoint,
    ForecastRequest,
    ForecastResponse,
    HistoryPoint,
    Interval,
    SeriesForecastOut,
)

router = APIRouter(prefix="/v1/models", tags=["forecasts"])


def served_or_404(store: ModelStoreDep, name: str) -> ServedModel:
    served = store.get(name)
    if served is None:
        known = ", ".join(sorted(store.all())) or "none yet"
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"model {name!r} is not served; served models: {known}"
        )
    return served


@router.post(
    "/{name}/forecast",
    response_model=ForecastResponse,
    responses={404: {"description": "Unknown model or series"}, 422: {"description": "Invalid request"}},
)
def forecast(
    name: str, body: ForecastRequest, store: ModelStoreDep, principal: Viewer, response: Response
) -> ForecastResponse:
    """Point forecasts and interval bounds per series and date, from the champion."""
    if not principal.can_use(name):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"this API key is not allowed to use model {name!r}"
        )
    served = served_or_404(store, name)
    bundle = served.bundle
    if body.horizon > bundle.max_horizon:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"horizon {body.horizon} exceeds this model's maximum of {bundle.max_horizon}",
        )
    unknown = [s for s in body.series_ids if s not in bundle.series]
    if unknown:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"{len(unknown)} unknown series for model {name!r}: {', '.join(unknown[:5])}"
            + (" ..." if len(unknown) > 5 else ""),
        )
    rows = bundle.forecast(body.series_ids, body.horizon, body.levels)
    out: list[SeriesForecastOut] = []
    for index, series_id in enumerate(body.series_ids):
        chunk = rows[index * body.horizon : (index + 1) * body.horizon]
        entry = bundle.series[series_id]
        points = [
            ForecastPoint(
                ds=row["ds"],
                yhat=row["yhat"],
                intervals=[
                    Interval(level=lv, lower=row[f"yhat_lower_{lv:g}"], upper=row[f"yhat_upper_{lv:g}"])
                    for lv in body.levels
                ],
            )
            for row in chunk
        ]
        history = (
            [HistoryPoint(ds=d, y=v) for d, v in zip(entry.history_dates, entry.history_values, strict=True)]
            if body.include_history
            else None
        )
        out.append(
            SeriesForecastOut(series_id=series_id, selected_model=entry.model, points=points, history=history)
        )
    metrics.FORECASTS.labels(model=name, version=served.version).inc(len(out))
    response.headers["X-Model-Version"] = served.version
    return ForecastResponse(
        model=name, version=served.version, horizon=body.horizon, levels=body.levels, forecasts=out
    )
