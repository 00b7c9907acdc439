"""Forecasts from a model's champion: any series, any horizon up to the maximum, any levels.

Every answer is bounded: at most ``ASTRALYTIQ_MAX_FORECAST_VALUES`` numbers per call (a batch
counts whole), and large answers are rendered off the event loop, a few at a time
(``serving.rendering``), so one heavy client cannot stall the others or /healthz.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from serving import metrics
from serving.deps import Viewer, check_model_scope
from serving.errors import ErrorDetail
from serving.forecasts import (
    answer_headers,
    answer_values,
    batch_json,
    check_answer_size,
    check_request,
    forecast_json,
    select_series,
    served_or_404,
)
from serving.hot_route import HotRoute
from serving.model_store import LoadError, ModelStore, ServedModel
from serving.rendering import Renderer, RendererBusy
from serving.schemas import (
    BatchForecastRequest,
    BatchForecastResponse,
    ForecastRequest,
    ForecastResponse,
    LongForecastRow,
)
from serving.snapshots import SnapshotsUnavailable
from serving.tabular import CSV_MEDIA_TYPE, long_csv, long_json, preferred_media_type

# The hot routes: HotRoute answers them without FastAPI's general request handler.
router = APIRouter(tags=["forecasts"], route_class=HotRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Not authenticated"},
    403: {"model": ErrorDetail, "description": "The API key is not scoped to this model"},
    404: {"model": ErrorDetail, "description": "Unknown model, series or snapshot"},
    413: {"model": ErrorDetail, "description": "Body over ASTRALYTIQ_MAX_REQUEST_BYTES"},
    422: {
        "model": ErrorDetail,
        "description": "Invalid request (the body says which field and why), a horizon past the "
        "model's maximum, or an answer over ASTRALYTIQ_MAX_FORECAST_VALUES numbers",
    },
    503: {
        "model": ErrorDetail,
        "description": "Busy rendering other large answers (see Retry-After), or the app database "
        "is unavailable",
    },
}


async def _render(request: Request, values: int, work: Any) -> bytes:
    renderer: Renderer = request.app.state.renderer
    try:
        return await renderer.render(values, work)  # type: ignore[no-any-return]
    except RendererBusy as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc), headers={"Retry-After": "1"}
        ) from None


ANSWER_HEADERS = {
    "X-Model-Version": {"description": "The version that answered", "schema": {"type": "string"}},
    "X-Forecast-Origin": {
        "description": "The first forecast date (the step after the newest actual used)",
        "schema": {"type": "string"},
    },
    "X-Forecast-Snapshot": {
        "description": "The forecast snapshot that answered; absent: the version's own forecast",
        "schema": {"type": "string"},
    },
}


async def _past_snapshot(store: ModelStore, name: str, snapshot_id: int) -> ServedModel:
    """A past snapshot, loaded off the event loop (a child process parses it)."""
    try:
        found = await run_in_threadpool(store.old_snapshot, name, snapshot_id)
    except SnapshotsUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    except LoadError as exc:
        code = status.HTTP_503_SERVICE_UNAVAILABLE if not exc.permanent else status.HTTP_410_GONE
        raise HTTPException(code, detail=f"snapshot {snapshot_id} cannot be served: {exc}") from None
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"model {name!r} has no forecast snapshot {snapshot_id}; "
            f"X-Forecast-Snapshot of an answer gives the id of the one that answered",
        )
    return found


@router.post(
    "/v1/models/{name}/forecast",
    response_model=ForecastResponse | list[LongForecastRow],
    responses={
        200: {
            "headers": ANSWER_HEADERS,
            "description": "`nested` (ForecastResponse) or, with `layout: long`, an array of "
            "LongForecastRow; `Accept: text/csv` gives the long rows as CSV.",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "series_id,ds,yhat,lo_80,hi_80,model_version,origin\n"
                    "ATL,2013-12-04,31.4,27.9,34.9,3,2013-12-04\n",
                },
            },
        },
        406: {"model": ErrorDetail, "description": "Accept names neither application/json nor text/csv"},
        410: {"model": ErrorDetail, "description": "The snapshot_id asked for can no longer be loaded"},
        **ERRORS,
    },
)
async def forecast(name: str, body: ForecastRequest, principal: Viewer, request: Request) -> Response:
    """Point forecasts and interval bounds per series and date, from the champion.

    Name the series in `series_ids` or ask for `all_series`; any horizon from 1 to the model's
    `max_horizon`, any interval levels. The answer is nested per series (default), a flat array of
    records with `layout: long`, or CSV with `Accept: text/csv`; it carries the serving version
    (`X-Model-Version`) and the forecast origin (`X-Forecast-Origin`), also in the body. An
    answer holds at most ASTRALYTIQ_MAX_FORECAST_VALUES numbers: series x horizon x
    (1 + 2 x levels), plus the history points with `include_history` (422 past it).
    """
    check_model_scope(principal, name)
    media_type = preferred_media_type(request.headers.get("accept"))
    if media_type is None:
        raise HTTPException(
            status.HTTP_406_NOT_ACCEPTABLE,
            detail="this endpoint answers application/json or text/csv; send one of them in Accept",
        )
    store = request.app.state.store
    served = served_or_404(store, name)  # one lookup: the whole answer comes from this version
    if body.snapshot_id is not None:
        served = await _past_snapshot(store, name, body.snapshot_id)
    headers = answer_headers(served)
    try:
        series_ids = select_series(served, body.series_ids)
        check_request(served, series_ids, body.horizon)
        values = answer_values(served, series_ids, body.horizon, body.levels, body.include_history)
        check_answer_size(values, request.app.state.settings.max_forecast_values)
    except HTTPException as exc:
        exc.headers = headers
        raise

    args = (served, series_ids, body.horizon, body.levels, body.include_history)
    if media_type == CSV_MEDIA_TYPE:
        content = await _render(request, values, lambda: long_csv(*args))
        headers["Content-Disposition"] = f'attachment; filename="forecast-v{served.version}.csv"'
    elif body.layout == "long":
        content = await _render(request, values, lambda: long_json(*args))
    else:
        content = await _render(request, values, lambda: forecast_json(*args))
    metrics.count_forecasts(name, served.version, len(series_ids))
    return Response(content, media_type=media_type, headers=headers)


@router.post(
    "/v1/forecasts",
    response_model=BatchForecastResponse,
    responses={
        200: {
            "headers": {
                "X-Model-Version": {
                    "description": "model=version for each model answering, comma-separated",
                    "schema": {"type": "string"},
                }
            }
        },
        **ERRORS,
    },
)
async def batch_forecast(body: BatchForecastRequest, principal: Viewer, request: Request) -> Response:
    """Several forecast requests in one call, possibly over several models, answered in order.

    All or nothing: if any request is invalid, the error names it (`requests[2]: ...`) and no
    forecast is returned. `X-Model-Version` lists `model=version` for every model used. The
    whole batch holds at most ASTRALYTIQ_MAX_FORECAST_VALUES numbers (422 past it).
    """
    # The store from app state, not a dependency: on the hot routes each dependency costs.
    store = request.app.state.store
    checked = []
    values = 0
    for index, item in enumerate(body.requests):
        try:
            check_model_scope(principal, item.model)
            served = served_or_404(store, item.model)
            check_request(served, item.series_ids, item.horizon)
        except HTTPException as exc:
            raise HTTPException(exc.status_code, detail=f"requests[{index}]: {exc.detail}") from None
        values += answer_values(served, item.series_ids, item.horizon, item.levels, item.include_history)
        checked.append((item, served))
    check_answer_size(values, request.app.state.settings.max_forecast_values, "the batch: ")

    def work() -> bytes:
        return batch_json(
            [
                forecast_json(served, item.series_ids, item.horizon, item.levels, item.include_history)
                for item, served in checked
            ]
        )

    content = await _render(request, values, work)
    versions: dict[str, str] = {}
    for item, served in checked:
        versions[served.name] = served.version
        metrics.count_forecasts(served.name, served.version, len(item.series_ids))
    header = ", ".join(f"{model}={version}" for model, version in versions.items())
    return Response(content, media_type="application/json", headers={"X-Model-Version": header})
