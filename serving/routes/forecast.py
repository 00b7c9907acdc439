"""Forecasts from a model's champion: any series, any horizon up to the maximum, any levels.

Every answer is bounded: at most ``ASTRALYTIQ_MAX_FORECAST_VALUES`` numbers per call (a batch
counts whole), and large answers are rendered off the event loop, a few at a time
(``serving.rendering``), so one heavy client cannot stall the others or /healthz.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from serving import metrics
from serving.deps import Viewer, check_model_scope
from serving.errors import ErrorDetail
from serving.forecasts import (
    answer_values,
    batch_json,
    check_answer_size,
    check_request,
    forecast_json,
    served_or_404,
)
from serving.rendering import Renderer, RendererBusy
from serving.schemas import BatchForecastRequest, BatchForecastResponse, ForecastRequest, ForecastResponse

router = APIRouter(tags=["forecasts"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Not authenticated"},
    403: {"model": ErrorDetail, "description": "The API key is not scoped to this model"},
    404: {"model": ErrorDetail, "description": "Unknown model or series"},
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


@router.post(
    "/v1/models/{name}/forecast",
    response_model=ForecastResponse,
    responses={
        200: {
            "headers": {
                "X-Model-Version": {"description": "The version that answered", "schema": {"type": "string"}}
            }
        },
        **ERRORS,
    },
)
async def forecast(name: str, body: ForecastRequest, principal: Viewer, request: Request) -> Response:
    """Point forecasts and interval bounds per series and date, from the champion.

    Any horizon from 1 to the model's `max_horizon`, any interval levels; the answer carries
    the serving version in `X-Model-Version`. An answer holds at most
    ASTRALYTIQ_MAX_FORECAST_VALUES numbers: series x horizon x (1 + 2 x levels), plus the
    history points with `include_history` (422 past it).
    """
    check_model_scope(principal, name)
    served = served_or_404(
        request.app.state.store, name
    )  # one lookup: the whole answer comes from this version
    headers = {"X-Model-Version": served.version}
    try:
        check_request(served, body.series_ids, body.horizon)
        values = answer_values(served, body.series_ids, body.horizon, body.levels, body.include_history)
        check_answer_size(values, request.app.state.settings.max_forecast_values)
    except HTTPException as exc:
        exc.headers = headers
        raise

    def work() -> bytes:
        return forecast_json(served, body.series_ids, body.horizon, body.levels, body.include_history)

    content = await _render(request, values, work)
    metrics.count_forecasts(name, served.version, len(body.series_ids))
    return Response(content, media_type="application/json", headers=headers)


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
