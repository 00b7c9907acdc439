"""Liveness, readiness and Prometheus metrics.

/healthz says only that the process is up. /readyz says whether it can serve (for probes and load
balancers, without credentials) and, to the metrics token or a person, what it serves and what
failed to load. /metrics names every model, version, run and drifting series, so on the API port
it needs the metrics token or a person's token; ``ASTRALYTIQ_METRICS_PORT`` (on by default in
production) serves it without credentials on a port only the cluster reaches.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from serving import metrics
from serving.deps import Operator
from serving.errors import ErrorDetail
from serving.schemas import Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (async: a liveness probe never waits for a worker thread)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={
        401: {"model": ErrorDetail, "description": "A token was sent and it is not valid"},
        403: {"model": ErrorDetail, "description": "API keys cannot read the details"},
        503: {"model": Readiness, "description": "Not ready; the checks say what is missing"},
    },
)
def readyz(request: Request, response: Response, reader: Operator) -> Readiness:  # sync: the DB check blocks
    """Ready when the app database answers and the registry was read (or champions are served
    while it is away). With the metrics token or a person's token: the models served, and the
    versions that failed to load and why."""
    store = request.app.state.store
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means "not ready", with its name
        database = f"error: {exc.__class__.__name__}"
    registry = "ok" if store.status.registry_ok else "error: unreachable"
    served = {name: m.version for name, m in store.all().items()}
    # Serving the last loaded champions counts as ready while MLflow is away.
    ready = database == "ok" and (store.status.registry_ok or bool(served))
    response.status_code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
    answer = Readiness(status="ready" if ready else "not ready", database=database, registry=registry)
    if reader is not None:
        answer.registry_detail = store.status.registry_error or None
        answer.models = served
        answer.failed = dict(store.status.failed)
    return answer


@router.get(
    "/metrics",
    include_in_schema=False,  # Prometheus text for scrapers, not a resource of the API
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            "description": "Prometheus text",
        },
        401: {"model": ErrorDetail, "description": "No token, or not the metrics token nor a person's"},
        403: {"model": ErrorDetail, "description": "API keys cannot read the metrics"},
    },
)
def prometheus_metrics(reader: Operator) -> Response:  # sync: a scrape of many series takes a while
    """The API's Prometheus metrics (requests, latency, forecasts, model loads, model health).
    Send `Authorization: Bearer <ASTRALYTIQ_METRICS_TOKEN>` or a person's token."""
    if reader is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="the metrics need 'Authorization: Bearer <ASTRALYTIQ_METRICS_TOKEN>' or a person's "
            "token; Prometheus inside the cluster can read ASTRALYTIQ_METRICS_PORT instead",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
