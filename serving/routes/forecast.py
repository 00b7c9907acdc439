"""Forecasts from a model's champion: any series, any horizon up to the maximum, any levels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response

from serving import metrics
from serving.deps import ModelStoreDep, Viewer, check_model_scope
from serving.forecasts import batch_json, check_request, forecast_json, served_or_404
from serving.schemas import BatchForecastRequest, BatchForecastResponse, ForecastRequest, ForecastResponse

router = APIRouter(tags=["forecasts"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    403: {"description": "The API key is not scoped to this model"},
    404: {"description": "Unknown model or series"},
    413: {"description": "Body over ASTRALYTIQ_MAX_REQUEST_BYTES"},
    422: {"description": "Invalid request: the body says which field and why"},
}


@router.post(
    "/v1/models/{name}/forecast",
    response_model=ForecastResponse,
    responses={
        200: {"headers": {"X-Model-Version": {"description": "The version that answered"}}},
        **ERRORS,
    },
)
async def forecast(name: str, body: ForecastRequest, store: ModelStoreDep, principal: Viewer) -> Response:
    """Point forecasts and interval bounds per series and date, from the champion.

    Any horizon from 1 to the model's `max_horizon`, any interval levels; the answer carries
    the serving version in `X-Model-Version`.
    """
    check_model_scope(principal, name)
    served = served_or_404(store, name)  # one lookup: the whole answer comes from this version
    headers = {"X-Model-Version": served.version}
    try:
        check_request(served, body.series_ids, body.horizon)
    except HTTPException as exc:
        exc.headers = headers
        raise
    content = forecast_json(served, body.series_ids, body.horizon, body.levels, body.include_history)
    metrics.FORECASTS.labels(model=name, version=served.version).inc(len(body.series_ids))
    return Response(content, media_type="application/json", headers=headers)


@router.post(
    "/v1/forecasts",
    response_model=BatchForecastResponse,
    responses={
        200: {
            "headers": {
                "X-Model-Version": {"description": "model=version for each model answering, comma-separated"}
            }
        },
        **ERRORS,
    },
)
async def batch_forecast(body: BatchForecastRequest, store: ModelStoreDep, principal: Viewer) -> Response:
    """Several forecast requests in one call, possibly over several models, answered in order.

    All or nothing: if any request is invalid, the error names it (`requests[2]: ...`) and no
    forecast is returned. `X-Model-Version` lists `model=version` for every model used.
    """
    checked = []
    for index, item in enumerate(body.requests):
        try:
            check_model_scope(principal, item.model)
            served = served_or_404(store, item.model)
            check_request(served, item.series_ids, item.horizon)
        except HTTPException as exc:
            raise HTTPException(exc.status_code, detail=f"requests[{index}]: {exc.detail}") from None
        checked.append((item, served))
    results = []
    versions: dict[str, str] = {}
    for item, served in checked:
        results.append(
            forecast_json(served, item.series_ids, item.horizon, item.levels, item.include_history)
        )
        versions[served.name] = served.version
        metrics.FORECASTS.labels(model=served.name, version=served.version).inc(len(item.series_ids))
    header = ", ".join(f"{model}={version}" for model, version in versions.items())
    return Response(batch_json(results), media_type="application/json", headers={"X-Model-Version": header})
